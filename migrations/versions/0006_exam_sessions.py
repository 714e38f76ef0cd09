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
    pass


def downgrade():
    pass
