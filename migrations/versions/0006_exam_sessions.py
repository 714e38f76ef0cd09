"""exams: rooms, sessions, commitments, bookings, waitlist

Revision ID: 0006_exam_sessions
Revises: 0005_notifications
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_exam_sessions"
down_revision = "0005_notifications"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('exam_rooms',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('centre_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('layout', sa.Enum('computer', 'practical', name='room_layout', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('seats', sa.Integer(), nullable=False),
    sa.Column('seats_per_row', sa.Integer(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.CheckConstraint('seats > 0 AND seats_per_row > 0', name=op.f('ck_exam_rooms_seats_positive')),
    sa.ForeignKeyConstraint(['centre_id'], ['organisations.id'], name=op.f('fk_exam_rooms_centre_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exam_rooms')),
    sa.UniqueConstraint('centre_id', 'name', name=op.f('uq_exam_rooms_centre_name'))
    )
    with op.batch_alter_table('exam_rooms', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exam_rooms_centre_id'), ['centre_id'], unique=False)

    op.create_table('exam_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('centre_id', sa.Integer(), nullable=False),
    sa.Column('room_id', sa.Integer(), nullable=False),
    sa.Column('part', sa.Enum('theory', 'practical', name='exam_part', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('seats_taken', sa.Integer(), nullable=False),
    sa.Column('booking_opens_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('booking_closes_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cancel_deadline', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('open', 'closed', 'cancelled', name='exam_session_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('booking_opens_at < booking_closes_at', name=op.f('ck_exam_sessions_booking_window_order')),
    sa.CheckConstraint('capacity > 0', name=op.f('ck_exam_sessions_capacity_positive')),
    sa.CheckConstraint('duration_minutes > 0', name=op.f('ck_exam_sessions_duration_positive')),
    sa.CheckConstraint('seats_taken >= 0 AND seats_taken <= capacity', name=op.f('ck_exam_sessions_seats_within_capacity')),
    sa.ForeignKeyConstraint(['centre_id'], ['organisations.id'], name=op.f('fk_exam_sessions_centre_id_organisations')),
    sa.ForeignKeyConstraint(['room_id'], ['exam_rooms.id'], name=op.f('fk_exam_sessions_room_id_exam_rooms')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exam_sessions'))
    )
    with op.batch_alter_table('exam_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exam_sessions_centre_id'), ['centre_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exam_sessions_room_id'), ['room_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exam_sessions_starts_at'), ['starts_at'], unique=False)

    op.create_table('exam_session_items',
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['catalogue_items.id'], name=op.f('fk_exam_session_items_item_id_catalogue_items')),
    sa.ForeignKeyConstraint(['session_id'], ['exam_sessions.id'], name=op.f('fk_exam_session_items_session_id_exam_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', 'item_id', name=op.f('pk_exam_session_items'))
    )

    op.create_table('exam_applications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trainee_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['catalogue_items.id'], name=op.f('fk_exam_applications_item_id_catalogue_items')),
    sa.ForeignKeyConstraint(['trainee_id'], ['users.id'], name=op.f('fk_exam_applications_trainee_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exam_applications')),
    sa.UniqueConstraint('trainee_id', 'item_id', name=op.f('uq_exam_applications_trainee_item'))
    )
    with op.batch_alter_table('exam_applications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exam_applications_trainee_id'), ['trainee_id'], unique=False)

    op.create_table('exam_commitments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('trainee_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=20), nullable=False),
    sa.Column('healthy', sa.Boolean(), nullable=False),
    sa.Column('no_disqualifying_illness', sa.Boolean(), nullable=False),
    sa.Column('education', sa.Enum('junior', 'senior', name='commitment_education', native_enum=False, create_constraint=True, length=10), nullable=False),
    sa.Column('lives_or_works_in_city', sa.Boolean(), nullable=False),
    sa.Column('truthful', sa.Boolean(), nullable=False),
    sa.Column('signed_name', sa.String(length=30), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=False),
    sa.CheckConstraint('healthy AND no_disqualifying_illness AND lives_or_works_in_city AND truthful', name=op.f('ck_exam_commitments_all_affirmed')),
    sa.ForeignKeyConstraint(['trainee_id'], ['users.id'], name=op.f('fk_exam_commitments_trainee_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exam_commitments')),
    sa.UniqueConstraint('trainee_id', 'version', name=op.f('uq_exam_commitments_trainee_version'))
    )
    with op.batch_alter_table('exam_commitments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exam_commitments_trainee_id'), ['trainee_id'], unique=False)

    op.create_table('exam_bookings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('trainee_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('confirmed', 'waitlisted', 'cancelled', 'rescheduled', 'no_show', name='exam_booking_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('seat', sa.Integer(), nullable=True),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(status = 'confirmed' OR status = 'no_show') = (seat IS NOT NULL)", name=op.f('ck_exam_bookings_seat_iff_held')),
    sa.CheckConstraint('seat IS NULL OR seat > 0', name=op.f('ck_exam_bookings_seat_positive')),
    sa.ForeignKeyConstraint(['application_id'], ['exam_applications.id'], name=op.f('fk_exam_bookings_application_id_exam_applications')),
    sa.ForeignKeyConstraint(['item_id'], ['catalogue_items.id'], name=op.f('fk_exam_bookings_item_id_catalogue_items')),
    sa.ForeignKeyConstraint(['session_id'], ['exam_sessions.id'], name=op.f('fk_exam_bookings_session_id_exam_sessions')),
    sa.ForeignKeyConstraint(['trainee_id'], ['users.id'], name=op.f('fk_exam_bookings_trainee_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_exam_bookings')),
    sa.UniqueConstraint('session_id', 'seat', name=op.f('uq_exam_bookings_session_seat')),
    sa.UniqueConstraint('session_id', 'trainee_id', name=op.f('uq_exam_bookings_session_trainee'))
    )
    with op.batch_alter_table('exam_bookings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_exam_bookings_session_id'), ['session_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_exam_bookings_trainee_id'), ['trainee_id'], unique=False)


def downgrade():
    op.drop_table('exam_bookings')
    op.drop_table('exam_commitments')
    op.drop_table('exam_applications')
    op.drop_table('exam_session_items')
    op.drop_table('exam_sessions')
    op.drop_table('exam_rooms')
