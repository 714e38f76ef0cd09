"""certificates: the mailed card's queue, 好差评 ratings and their follow-ups

Revision ID: 0019_cert_service
Revises: 0018_cert_sanctions

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019_cert_service'
down_revision = "0018_cert_sanctions"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('certificate_mailings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('matter', sa.String(length=20), nullable=False),
    sa.Column('certificate_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('authority_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('queued', 'sent', 'delivered', 'returned', name='mailing_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('address', sa.String(length=200), nullable=False),
    sa.Column('recipient', sa.String(length=30), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('courier', sa.String(length=16), nullable=False),
    sa.Column('tracking_number', sa.String(length=30), nullable=False),
    sa.Column('return_reason', sa.String(length=200), nullable=False),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('officer_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['authority_id'], ['organisations.id'], name=op.f('fk_certificate_mailings_authority_id_organisations')),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], name=op.f('fk_certificate_mailings_certificate_id_certificates')),
    sa.ForeignKeyConstraint(['officer_id'], ['users.id'], name=op.f('fk_certificate_mailings_officer_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_certificate_mailings_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_mailings')),
    sa.UniqueConstraint('source', name=op.f('uq_certificate_mailings_source'))
    )
    with op.batch_alter_table('certificate_mailings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_mailings_authority_id'), ['authority_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_mailings_certificate_id'), ['certificate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_mailings_user_id'), ['user_id'], unique=False)

    op.create_table('certificate_service_ratings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('subject', sa.String(length=40), nullable=False),
    sa.Column('matter', sa.String(length=20), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('authority_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Enum('very_satisfied', 'satisfied', 'basic', 'dissatisfied', 'very_dissatisfied', name='rating_level', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('comment', sa.String(length=500), nullable=False),
    sa.Column('rated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.ForeignKeyConstraint(['authority_id'], ['organisations.id'], name=op.f('fk_certificate_service_ratings_authority_id_organisations')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_certificate_service_ratings_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_service_ratings')),
    sa.UniqueConstraint('subject', name=op.f('uq_certificate_service_ratings_subject'))
    )
    with op.batch_alter_table('certificate_service_ratings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_service_ratings_authority_id'), ['authority_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_service_ratings_matter'), ['matter'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_service_ratings_month'), ['month'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_service_ratings_user_id'), ['user_id'], unique=False)

    op.create_table('certificate_rating_followups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('rating_id', sa.Integer(), nullable=False),
    sa.Column('authority_id', sa.Integer(), nullable=False),
    sa.Column('opened_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('closed_by', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['authority_id'], ['organisations.id'], name=op.f('fk_certificate_rating_followups_authority_id_organisations')),
    sa.ForeignKeyConstraint(['closed_by'], ['users.id'], name=op.f('fk_certificate_rating_followups_closed_by_users')),
    sa.ForeignKeyConstraint(['rating_id'], ['certificate_service_ratings.id'], name=op.f('fk_certificate_rating_followups_rating_id_certificate_service_ratings')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_rating_followups')),
    sa.UniqueConstraint('rating_id', name=op.f('uq_certificate_rating_followups_rating_id'))
    )
    with op.batch_alter_table('certificate_rating_followups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_rating_followups_authority_id'), ['authority_id'], unique=False)


def downgrade():
    with op.batch_alter_table('certificate_rating_followups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_rating_followups_authority_id'))

    op.drop_table('certificate_rating_followups')
    with op.batch_alter_table('certificate_service_ratings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_service_ratings_user_id'))
        batch_op.drop_index(batch_op.f('ix_certificate_service_ratings_month'))
        batch_op.drop_index(batch_op.f('ix_certificate_service_ratings_matter'))
        batch_op.drop_index(batch_op.f('ix_certificate_service_ratings_authority_id'))

    op.drop_table('certificate_service_ratings')
    with op.batch_alter_table('certificate_mailings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_mailings_user_id'))
        batch_op.drop_index(batch_op.f('ix_certificate_mailings_certificate_id'))
        batch_op.drop_index(batch_op.f('ix_certificate_mailings_authority_id'))

    op.drop_table('certificate_mailings')
