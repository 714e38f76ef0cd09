"""certificates: applications for a certificate and their review

Revision ID: 0015_certificate_applications
Revises: 0014_certificates

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_certificate_applications'
down_revision = '0014_certificates'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('certificate_applications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('authority_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('submitted', 'accepted', 'returned', 'approved', 'refused', name='application_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('open_key', sa.String(length=40), nullable=True),
    sa.Column('dossier', sa.Text(), nullable=False),
    sa.Column('commitment_version', sa.String(length=20), nullable=False),
    sa.Column('commitment_text', sa.Text(), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivery', sa.Enum('electronic', 'mail', name='application_delivery', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('mail_address', sa.String(length=200), nullable=False),
    sa.Column('mail_recipient', sa.String(length=30), nullable=False),
    sa.Column('mail_phone', sa.String(length=20), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accept_by', sa.Date(), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decide_by', sa.Date(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('corrections', sa.Text(), nullable=False),
    sa.Column('refusal_code', sa.String(length=30), nullable=False),
    sa.Column('refusal_text', sa.Text(), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=True),
    sa.Column('certificate_id', sa.Integer(), nullable=True),
    sa.Column('first_approved_by', sa.Integer(), nullable=True),
    sa.Column('first_approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['authority_id'], ['organisations.id'], name=op.f('fk_certificate_applications_authority_id_organisations')),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], name=op.f('fk_certificate_applications_certificate_id_certificates')),
    sa.ForeignKeyConstraint(['first_approved_by'], ['users.id'], name=op.f('fk_certificate_applications_first_approved_by_users')),
    sa.ForeignKeyConstraint(['item_id'], ['catalogue_items.id'], name=op.f('fk_certificate_applications_item_id_catalogue_items')),
    sa.ForeignKeyConstraint(['officer_id'], ['users.id'], name=op.f('fk_certificate_applications_officer_id_users')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_certificate_applications_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_applications')),
    sa.UniqueConstraint('open_key', name=op.f('uq_certificate_applications_open_key'))
    )
    with op.batch_alter_table('certificate_applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_applications_authority_id'), ['authority_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_applications_item_id'), ['item_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_applications_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('certificate_applications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_applications_user_id'))
        batch_op.drop_index(batch_op.f('ix_certificate_applications_item_id'))
        batch_op.drop_index(batch_op.f('ix_certificate_applications_authority_id'))

    op.drop_table('certificate_applications')
