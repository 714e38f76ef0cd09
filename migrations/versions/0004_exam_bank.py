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

KIND = ("true_false", "single", "multiple")


def upgrade():
    op.create_table(
        "questions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(*KIND, name="question_kind", native_enum=False, create_constraint=True, length=12),
            nullable=False,
        ),
        sa.Column("stem", sa.Text(), nullable=False),
        sa.Column("options", sa.Text(), nullable=False),
        sa.Column("answer", sa.String(length=6), nullable=False),
        sa.Column("knowledge_point", sa.String(length=60), nullable=False),
        sa.Column("difficulty", sa.Integer(), nullable=False),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("image_key", sa.String(length=80), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "draft", "active", "retired", name="question_status", native_enum=False, create_constraint=True, length=10
            ),
            nullable=False,
        ),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("difficulty BETWEEN 1 AND 5", name=op.f("ck_questions_difficulty_range")),
        sa.ForeignKeyConstraint(
            ["item_id"], ["catalogue_items.id"], name=op.f("fk_questions_item_id_catalogue_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questions")),
        sa.UniqueConstraint("item_id", "content_hash", name=op.f("uq_questions_item_id")),
    )
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_questions_item_id"), ["item_id"], unique=False)

    op.create_table(
        "exam_blueprints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("pass_mark", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("duration_minutes > 0", name=op.f("ck_exam_blueprints_duration_positive")),
        sa.CheckConstraint("pass_mark > 0", name=op.f("ck_exam_blueprints_pass_mark_positive")),
        sa.ForeignKeyConstraint(
            ["item_id"], ["catalogue_items.id"], name=op.f("fk_exam_blueprints_item_id_catalogue_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exam_blueprints")),
        sa.UniqueConstraint("item_id", name=op.f("uq_exam_blueprints_item_id")),
    )

    op.create_table(
        "exam_blueprint_rows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("blueprint_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(*KIND, name="blueprint_kind", native_enum=False, create_constraint=True, length=12),
            nullable=False,
        ),
        sa.Column("knowledge_point", sa.String(length=60), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.CheckConstraint("count >= 0 AND points > 0", name=op.f("ck_exam_blueprint_rows_count_points")),
        sa.ForeignKeyConstraint(
            ["blueprint_id"],
            ["exam_blueprints.id"],
            name=op.f("fk_exam_blueprint_rows_blueprint_id_exam_blueprints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exam_blueprint_rows")),
        sa.UniqueConstraint(
            "blueprint_id", "kind", "knowledge_point", name=op.f("uq_exam_blueprint_rows_blueprint_id")
        ),
    )
    with op.batch_alter_table("exam_blueprint_rows", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exam_blueprint_rows_blueprint_id"), ["blueprint_id"], unique=False)

    op.create_table(
        "papers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=True),
        sa.Column("purpose", sa.String(length=40), nullable=False),
        sa.Column("seed", sa.String(length=64), nullable=False),
        sa.Column("questions", sa.Text(), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("pass_mark", sa.Integer(), nullable=False),
        sa.Column("total_points", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["candidate_id"], ["users.id"], name=op.f("fk_papers_candidate_id_users")),
        sa.ForeignKeyConstraint(["item_id"], ["catalogue_items.id"], name=op.f("fk_papers_item_id_catalogue_items")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_papers")),
    )
    with op.batch_alter_table("papers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_papers_candidate_id"), ["candidate_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_papers_item_id"), ["item_id"], unique=False)

    op.create_table(
        "paper_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("chosen", sa.String(length=6), nullable=False),
        sa.Column("correct", sa.Boolean(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["paper_id"], ["papers.id"], name=op.f("fk_paper_answers_paper_id_papers"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["question_id"], ["questions.id"], name=op.f("fk_paper_answers_question_id_questions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_paper_answers")),
        sa.UniqueConstraint("paper_id", "question_id", name=op.f("uq_paper_answers_paper_id")),
    )
    with op.batch_alter_table("paper_answers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_paper_answers_question_id"), ["question_id"], unique=False)


def downgrade():
    with op.batch_alter_table("paper_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_paper_answers_question_id"))
    op.drop_table("paper_answers")
    with op.batch_alter_table("papers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_papers_item_id"))
        batch_op.drop_index(batch_op.f("ix_papers_candidate_id"))
    op.drop_table("papers")
    with op.batch_alter_table("exam_blueprint_rows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exam_blueprint_rows_blueprint_id"))
    op.drop_table("exam_blueprint_rows")
    op.drop_table("exam_blueprints")
    with op.batch_alter_table("questions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_questions_item_id"))
    op.drop_table("questions")
