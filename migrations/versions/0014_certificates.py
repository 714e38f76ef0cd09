"""certificates: holders, certificates, status history, status lists

Revision ID: 0014_certificates
Revises: 0012_examday

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_certificates'
down_revision = '0012_examday'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('certificate_status_lists',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_status_lists'))
    )
    with op.batch_alter_table('certificate_status_lists', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_status_lists_issued_at'), ['issued_at'], unique=False)

    op.create_table('certificate_holders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=19), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=30), nullable=False),
    sa.Column('sex', sa.String(length=1), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_certificate_holders_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_holders')),
    sa.UniqueConstraint('id_number', name=op.f('uq_certificate_holders_id_number')),
    sa.UniqueConstraint('number', name=op.f('uq_certificate_holders_number')),
    sa.UniqueConstraint('user_id', name=op.f('uq_certificate_holders_user_id'))
    )
    op.create_table('certificates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('holder_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('first_issued_on', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('review_due_on', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('valid', 'review_due', 'suspended', 'expired', 'revoked', 'cancelled', name='certificate_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('status_reason', sa.String(length=200), nullable=False),
    sa.Column('status_on', sa.Date(), nullable=False),
    sa.Column('authority', sa.String(length=60), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('theory_score', sa.Float(), nullable=True),
    sa.Column('theory_date', sa.Date(), nullable=True),
    sa.Column('practical_score', sa.Float(), nullable=True),
    sa.Column('practical_date', sa.Date(), nullable=True),
    sa.Column('theory_session_id', sa.Integer(), nullable=True),
    sa.Column('practical_session_id', sa.Integer(), nullable=True),
    sa.Column('sealed', sa.LargeBinary(), nullable=True),
    sa.Column('seal_alg', sa.String(length=16), nullable=False),
    sa.Column('seal_kid', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['holder_id'], ['certificate_holders.id'], name=op.f('fk_certificates_holder_id_certificate_holders')),
    sa.ForeignKeyConstraint(['item_id'], ['catalogue_items.id'], name=op.f('fk_certificates_item_id_catalogue_items')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificates')),
    sa.UniqueConstraint('holder_id', 'item_id', name='uq_certificates_holder_item')
    )
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificates_holder_id'), ['holder_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificates_item_id'), ['item_id'], unique=False)

    op.create_table('certificate_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('certificate_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('valid', 'review_due', 'suspended', 'expired', 'revoked', 'cancelled', name='certificate_event_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('on', sa.Date(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_certificate_events_actor_id_users')),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], name=op.f('fk_certificate_events_certificate_id_certificates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_events'))
    )
    with op.batch_alter_table('certificate_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_events_certificate_id'), ['certificate_id'], unique=False)



def downgrade():
    with op.batch_alter_table('certificate_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_events_certificate_id'))

    op.drop_table('certificate_events')
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificates_item_id'))
        batch_op.drop_index(batch_op.f('ix_certificates_holder_id'))

    op.drop_table('certificates')
    op.drop_table('certificate_holders')
    with op.batch_alter_table('certificate_status_lists', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_status_lists_issued_at'))

    op.drop_table('certificate_status_lists')
