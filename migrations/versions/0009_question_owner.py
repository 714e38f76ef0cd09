"""exams: the provider organisation that owns each question (decision 0002)

Revision ID: 0009_question_owner
Revises: 0008_face_engines
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_question_owner"
down_revision = "0008_face_engines"
branch_labels = None
depends_on = None


# No data change: every existing question stays NULL, the authority's (only administrators edit those).
def upgrade():
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("organisation_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_questions_organisation_id"), ["organisation_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_questions_organisation_id_organisations"),
            "organisations",
            ["organisation_id"],
            ["id"],
            ondelete="RESTRICT",
        )


def downgrade():
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_questions_organisation_id_organisations"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_questions_organisation_id"))
        batch_op.drop_column("organisation_id")
