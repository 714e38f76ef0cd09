"""certificates: sanctions (suspension, lifting, revocation, cancellation) with their legal grounds and bars;
holders' cancellation requests; the status list counts the events it has seen

Revision ID: 0018_cert_sanctions
Revises: 0017_cert_renewal

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018_cert_sanctions'
down_revision = "0017_cert_renewal"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('certificate_sanctions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('certificate_id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('suspend', 'lift', 'revoke', 'cancel', name='certificate_sanction_kind', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('ground', sa.String(length=30), nullable=False),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('on', sa.Date(), nullable=False),
    sa.Column('until', sa.Date(), nullable=True),
    sa.Column('bars_until', sa.Date(), nullable=True),
    sa.Column('officer_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], name=op.f('fk_certificate_sanctions_certificate_id_certificates')),
    sa.ForeignKeyConstraint(['event_id'], ['certificate_events.id'], name=op.f('fk_certificate_sanctions_event_id_certificate_events')),
    sa.ForeignKeyConstraint(['officer_id'], ['users.id'], name=op.f('fk_certificate_sanctions_officer_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_sanctions')),
    sa.UniqueConstraint('event_id', name=op.f('uq_certificate_sanctions_event_id'))
    )
    with op.batch_alter_table('certificate_sanctions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_sanctions_certificate_id'), ['certificate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_sanctions_on'), ['on'], unique=False)

    op.create_table('certificate_cancellation_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('certificate_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('open_key', sa.Integer(), nullable=True),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sanction_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], name=op.f('fk_certificate_cancellation_requests_certificate_id_certificates')),
    sa.ForeignKeyConstraint(['sanction_id'], ['certificate_sanctions.id'], name=op.f('fk_certificate_cancellation_requests_sanction_id_certificate_sanctions')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_certificate_cancellation_requests_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_cancellation_requests')),
    sa.UniqueConstraint('open_key', name=op.f('uq_certificate_cancellation_requests_open_key'))
    )
    with op.batch_alter_table('certificate_cancellation_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_cancellation_requests_certificate_id'), ['certificate_id'], unique=False)

    with op.batch_alter_table('certificate_status_lists', schema=None) as batch_op:
        batch_op.add_column(sa.Column('events_seen', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('certificate_status_lists', schema=None) as batch_op:
        batch_op.drop_column('events_seen')

    with op.batch_alter_table('certificate_cancellation_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_cancellation_requests_certificate_id'))

    op.drop_table('certificate_cancellation_requests')
    with op.batch_alter_table('certificate_sanctions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_sanctions_on'))
        batch_op.drop_index(batch_op.f('ix_certificate_sanctions_certificate_id'))

    op.drop_table('certificate_sanctions')
