"""exams: practical task banks, examiners, score sheets and markings; part results and retraining; employer

Revision ID: 0013_practical_results
Revises: 0011_practice
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0013_practical_results"
down_revision = "0011_practice"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "exam_retrainings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("completed_on", sa.Date(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["catalogue_items.id"], name=op.f("fk_exam_retrainings_item_id_catalogue_items")
        ),
        sa.ForeignKeyConstraint(["person_id"], ["users.id"], name=op.f("fk_exam_retrainings_person_id_users")),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_exam_retrainings_recorded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exam_retrainings")),
    )
    with op.batch_alter_table("exam_retrainings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exam_retrainings_person_id"), ["person_id"], unique=False)

    op.create_table(
        "practical_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column(
            "subject",
            sa.Enum(
                "K1", "K2", "K3", "K4", name="practical_subject", native_enum=False, create_constraint=True, length=4
            ),
            nullable=False,
        ),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["catalogue_items.id"], name=op.f("fk_practical_tasks_item_id_catalogue_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practical_tasks")),
        sa.UniqueConstraint("item_id", "code", name="uq_practical_tasks_item_code"),
    )
    with op.batch_alter_table("practical_tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_practical_tasks_item_id"), ["item_id"], unique=False)

    op.create_table(
        "exam_part_results",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column(
            "part",
            sa.Enum(
                "theory", "practical", name="part_result_part", native_enum=False, create_constraint=True, length=20
            ),
            nullable=False,
        ),
        sa.Column("score", sa.Numeric(precision=5, scale=1), nullable=False),
        sa.Column("passed", sa.Boolean(), nullable=False),
        sa.Column("vetoed", sa.Boolean(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("training_round", sa.Integer(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("exam_date", sa.Date(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("publish_by", sa.Date(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("attempt >= 1 AND training_round >= 0", name=op.f("ck_exam_part_results_attempt_positive")),
        sa.CheckConstraint("score >= 0 AND score <= 100", name=op.f("ck_exam_part_results_score_range")),
        sa.ForeignKeyConstraint(
            ["item_id"], ["catalogue_items.id"], name=op.f("fk_exam_part_results_item_id_catalogue_items")
        ),
        sa.ForeignKeyConstraint(["person_id"], ["users.id"], name=op.f("fk_exam_part_results_person_id_users")),
        sa.ForeignKeyConstraint(
            ["session_id"], ["exam_sessions.id"], name=op.f("fk_exam_part_results_session_id_exam_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exam_part_results")),
        sa.UniqueConstraint("person_id", "item_id", "part", "session_id", name="uq_exam_part_results_session"),
        sa.UniqueConstraint(
            "person_id", "item_id", "part", "training_round", "attempt", name="uq_exam_part_results_attempt"
        ),
    )
    with op.batch_alter_table("exam_part_results", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_exam_part_results_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_exam_part_results_session_id"), ["session_id"], unique=False)

    op.create_table(
        "practical_examiners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("examiner_id", sa.Integer(), nullable=False),
        sa.Column("assigned_by_id", sa.Integer(), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assigned_by_id"], ["users.id"], name=op.f("fk_practical_examiners_assigned_by_id_users")
        ),
        sa.ForeignKeyConstraint(["examiner_id"], ["users.id"], name=op.f("fk_practical_examiners_examiner_id_users")),
        sa.ForeignKeyConstraint(
            ["session_id"], ["exam_sessions.id"], name=op.f("fk_practical_examiners_session_id_exam_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practical_examiners")),
        sa.UniqueConstraint("session_id", "examiner_id", name="uq_practical_examiners_session_examiner"),
    )
    with op.batch_alter_table("practical_examiners", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_practical_examiners_examiner_id"), ["examiner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_practical_examiners_session_id"), ["session_id"], unique=False)

    op.create_table(
        "practical_rubric_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sa.String(length=300), nullable=False),
        sa.Column("max_points", sa.Integer(), nullable=False),
        sa.Column("is_veto", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "(is_veto AND max_points = 0) OR (NOT is_veto AND max_points > 0)",
            name=op.f("ck_practical_rubric_lines_points_or_veto"),
        ),
        sa.ForeignKeyConstraint(
            ["task_id"],
            ["practical_tasks.id"],
            name=op.f("fk_practical_rubric_lines_task_id_practical_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practical_rubric_lines")),
        sa.UniqueConstraint("task_id", "position", name="uq_practical_rubric_lines_task_position"),
    )
    with op.batch_alter_table("practical_rubric_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_practical_rubric_lines_task_id"), ["task_id"], unique=False)

    op.create_table(
        "practical_sheets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "scoring",
                "third_called",
                "decided",
                name="practical_sheet_status",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("draw_seed", sa.String(length=32), nullable=False),
        sa.Column("score", sa.Numeric(precision=5, scale=1), nullable=True),
        sa.Column("vetoed", sa.Boolean(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["candidate_id"], ["users.id"], name=op.f("fk_practical_sheets_candidate_id_users")),
        sa.ForeignKeyConstraint(
            ["item_id"], ["catalogue_items.id"], name=op.f("fk_practical_sheets_item_id_catalogue_items")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["exam_sessions.id"], name=op.f("fk_practical_sheets_session_id_exam_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practical_sheets")),
        sa.UniqueConstraint("session_id", "candidate_id", name="uq_practical_sheets_session_candidate"),
    )
    with op.batch_alter_table("practical_sheets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_practical_sheets_candidate_id"), ["candidate_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_practical_sheets_session_id"), ["session_id"], unique=False)

    op.create_table(
        "practical_draws",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sheet_id", sa.Integer(), nullable=False),
        sa.Column(
            "subject",
            sa.Enum(
                "K1",
                "K2",
                "K3",
                "K4",
                name="practical_draw_subject",
                native_enum=False,
                create_constraint=True,
                length=4,
            ),
            nullable=False,
        ),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sheet_id"],
            ["practical_sheets.id"],
            name=op.f("fk_practical_draws_sheet_id_practical_sheets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["task_id"], ["practical_tasks.id"], name=op.f("fk_practical_draws_task_id_practical_tasks")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practical_draws")),
        sa.UniqueConstraint("sheet_id", "subject", name="uq_practical_draws_sheet_subject"),
    )
    with op.batch_alter_table("practical_draws", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_practical_draws_sheet_id"), ["sheet_id"], unique=False)

    op.create_table(
        "practical_markings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sheet_id", sa.Integer(), nullable=False),
        sa.Column("examiner_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "first",
                "second",
                "third",
                name="practical_marker_role",
                native_enum=False,
                create_constraint=True,
                length=10,
            ),
            nullable=False,
        ),
        sa.Column("total", sa.Numeric(precision=5, scale=1), nullable=True),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["examiner_id"], ["users.id"], name=op.f("fk_practical_markings_examiner_id_users")),
        sa.ForeignKeyConstraint(
            ["sheet_id"], ["practical_sheets.id"], name=op.f("fk_practical_markings_sheet_id_practical_sheets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practical_markings")),
        sa.UniqueConstraint("sheet_id", "examiner_id", name="uq_practical_markings_sheet_examiner"),
        sa.UniqueConstraint("sheet_id", "role", name="uq_practical_markings_sheet_role"),
    )
    with op.batch_alter_table("practical_markings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_practical_markings_examiner_id"), ["examiner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_practical_markings_sheet_id"), ["sheet_id"], unique=False)

    op.create_table(
        "practical_marks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("marking_id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("vetoed", sa.Boolean(), nullable=False),
        sa.CheckConstraint("points >= 0", name=op.f("ck_practical_marks_points_not_negative")),
        sa.ForeignKeyConstraint(
            ["line_id"], ["practical_rubric_lines.id"], name=op.f("fk_practical_marks_line_id_practical_rubric_lines")
        ),
        sa.ForeignKeyConstraint(
            ["marking_id"],
            ["practical_markings.id"],
            name=op.f("fk_practical_marks_marking_id_practical_markings"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_practical_marks")),
        sa.UniqueConstraint("marking_id", "line_id", name="uq_practical_marks_marking_line"),
    )
    with op.batch_alter_table("practical_marks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_practical_marks_marking_id"), ["marking_id"], unique=False)

    with op.batch_alter_table("exam_commitments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("employer", sa.String(length=100), nullable=False, server_default=""))


def downgrade():
    with op.batch_alter_table("exam_commitments", schema=None) as batch_op:
        batch_op.drop_column("employer")

    with op.batch_alter_table("practical_marks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_practical_marks_marking_id"))

    op.drop_table("practical_marks")
    with op.batch_alter_table("practical_markings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_practical_markings_sheet_id"))
        batch_op.drop_index(batch_op.f("ix_practical_markings_examiner_id"))

    op.drop_table("practical_markings")
    with op.batch_alter_table("practical_draws", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_practical_draws_sheet_id"))

    op.drop_table("practical_draws")
    with op.batch_alter_table("practical_sheets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_practical_sheets_session_id"))
        batch_op.drop_index(batch_op.f("ix_practical_sheets_candidate_id"))

    op.drop_table("practical_sheets")
    with op.batch_alter_table("practical_rubric_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_practical_rubric_lines_task_id"))

    op.drop_table("practical_rubric_lines")
    with op.batch_alter_table("practical_examiners", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_practical_examiners_session_id"))
        batch_op.drop_index(batch_op.f("ix_practical_examiners_examiner_id"))

    op.drop_table("practical_examiners")
    with op.batch_alter_table("exam_part_results", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exam_part_results_session_id"))
        batch_op.drop_index(batch_op.f("ix_exam_part_results_person_id"))

    op.drop_table("exam_part_results")
    with op.batch_alter_table("practical_tasks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_practical_tasks_item_id"))

    op.drop_table("practical_tasks")
    with op.batch_alter_table("exam_retrainings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_exam_retrainings_person_id"))

    op.drop_table("exam_retrainings")
