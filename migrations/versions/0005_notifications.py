"""exams: notifications

Revision ID: 0005_notifications
Revises: 0004_exam_bank
"""

import sqlalchemy as sa
from alembic import op

revision = "0005_notifications"
down_revision = "0004_exam_bank"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
