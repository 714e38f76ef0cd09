"""practice: answers by knowledge point, the wrong-answer book, timed mock exams on papers

Revision ID: 0011_practice
Revises: 0009_question_owner
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_practice"
down_revision = "0009_question_owner"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "practice_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trainee_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column(
            "mode",
            sa.Enum("point", "review", name="practice_mode", native_enum=False, create_constraint=True, length=10),
            nullable=False,
        ),
        sa.Column("chosen", sa.String(length=6), nullable=False),
        sa.Column("correct", sa.Boolean(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["question_id"], ["questions.id"], name=op.f("fk_practice_answers_question_id_questions")
        ),
        sa.ForeignKeyConstraint(["trainee_id"], ["users.id"], name=op.f("fk_practice_answers_trainee_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practice_answers")),
    )
    with op.batch_alter_table("practice_answers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_practice_answers_question_id"), ["question_id"], unique=False)
        batch_op.create_index("ix_practice_answers_trainee_question", ["trainee_id", "question_id"], unique=False)

    op.create_table(
        "practice_wrong_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trainee_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("wrong_count", sa.Integer(), nullable=False),
        sa.Column("right_streak", sa.Integer(), nullable=False),
        sa.Column("last_chosen", sa.String(length=6), nullable=False),
        sa.Column("first_wrong_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_wrong_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("wrong_count >= 1 AND right_streak >= 0", name=op.f("ck_practice_wrong_answers_counts")),
        sa.ForeignKeyConstraint(
            ["question_id"], ["questions.id"], name=op.f("fk_practice_wrong_answers_question_id_questions")
        ),
        sa.ForeignKeyConstraint(["trainee_id"], ["users.id"], name=op.f("fk_practice_wrong_answers_trainee_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practice_wrong_answers")),
        sa.UniqueConstraint("trainee_id", "question_id", name=op.f("uq_practice_wrong_answers_trainee_id")),
    )
    with op.batch_alter_table("practice_wrong_answers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_practice_wrong_answers_question_id"), ["question_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_practice_wrong_answers_trainee_id"), ["trainee_id"], unique=False)

    op.create_table(
        "practice_mock_exams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("trainee_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "finish",
            sa.Enum("submitted", "timed_out", name="mock_finish", native_enum=False, create_constraint=True, length=10),
            nullable=True,
        ),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("passed", sa.Boolean(), nullable=True),
        sa.CheckConstraint("deadline_at > started_at", name=op.f("ck_practice_mock_exams_window")),
        sa.CheckConstraint(
            "(finished_at IS NULL AND finish IS NULL AND score IS NULL AND passed IS NULL)"
            " OR (finished_at IS NOT NULL AND finish IS NOT NULL AND score IS NOT NULL AND passed IS NOT NULL)",
            name=op.f("ck_practice_mock_exams_result_complete"),
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["catalogue_items.id"], name=op.f("fk_practice_mock_exams_item_id_catalogue_items")
        ),
        sa.ForeignKeyConstraint(["paper_id"], ["papers.id"], name=op.f("fk_practice_mock_exams_paper_id_papers")),
        sa.ForeignKeyConstraint(["trainee_id"], ["users.id"], name=op.f("fk_practice_mock_exams_trainee_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practice_mock_exams")),
        sa.UniqueConstraint("paper_id", name=op.f("uq_practice_mock_exams_paper_id")),
    )
    with op.batch_alter_table("practice_mock_exams", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_practice_mock_exams_trainee_id"), ["trainee_id"], unique=False)

    op.create_table(
        "practice_mock_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mock_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("shown", sa.String(length=6), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["mock_id"],
            ["practice_mock_exams.id"],
            name=op.f("fk_practice_mock_answers_mock_id_practice_mock_exams"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["question_id"], ["questions.id"], name=op.f("fk_practice_mock_answers_question_id_questions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practice_mock_answers")),
        sa.UniqueConstraint("mock_id", "question_id", name=op.f("uq_practice_mock_answers_mock_id")),
    )
    with op.batch_alter_table("practice_mock_answers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_practice_mock_answers_question_id"), ["question_id"], unique=False)


def downgrade():
    with op.batch_alter_table("practice_mock_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_practice_mock_answers_question_id"))
    op.drop_table("practice_mock_answers")
    with op.batch_alter_table("practice_mock_exams", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_practice_mock_exams_trainee_id"))
    op.drop_table("practice_mock_exams")
    with op.batch_alter_table("practice_wrong_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_practice_wrong_answers_trainee_id"))
        batch_op.drop_index(batch_op.f("ix_practice_wrong_answers_question_id"))
    op.drop_table("practice_wrong_answers")
    with op.batch_alter_table("practice_answers", schema=None) as batch_op:
        batch_op.drop_index("ix_practice_answers_trainee_question")
        batch_op.drop_index(batch_op.f("ix_practice_answers_question_id"))
    op.drop_table("practice_answers")
