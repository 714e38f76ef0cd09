"""training: rounds of review training (复审培训) — an enrolment counts study time from `counts_from`

Revision ID: 0023_review_rounds
Revises: 0022_examday_fixes

A holder studies the same review course again for each review period: the enrolment's round starts at
`counts_from` (at first the enrolment's own time) and everything that counts study time counts intervals that
started then or later. Older intervals are kept (the record is kept 6 years).
"""

import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = "0023_review_rounds"
down_revision = "0022_examday_fixes"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("training_enrolments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("counts_from", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE training_enrolments SET counts_from = enrolled_at")
    with op.batch_alter_table("training_enrolments", schema=None) as batch_op:
        batch_op.alter_column("counts_from", existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade():
    with op.batch_alter_table("training_enrolments", schema=None) as batch_op:
        batch_op.drop_column("counts_from")
