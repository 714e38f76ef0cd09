"""exams: question bank, blueprints, papers

Revision ID: 0004_exam_bank
Revises: add761d1e56e
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_exam_bank"
down_revision = "add761d1e56e"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
