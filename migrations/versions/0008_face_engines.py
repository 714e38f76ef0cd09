"""photos: templates per engine, reference sets, burst decision record, replay hashes, engine switches

Revision ID: 0008_face_engines
Revises: 0007_photo_view_keys
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_face_engines"
down_revision = "0007_photo_view_keys"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("photos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reference_since", sa.DateTime(timezone=True), nullable=True))

    # Templates stored before engines existed were all made by dlib with one jitter.
    with op.batch_alter_table("face_templates", schema=None) as batch_op:
        batch_op.add_column(sa.Column("engine", sa.String(length=80), nullable=False, server_default="dlib"))
        batch_op.add_column(sa.Column("jitters", sa.Integer(), nullable=False, server_default="1"))
        batch_op.drop_constraint("uq_face_templates_photo_id", type_="unique")
        batch_op.create_unique_constraint("uq_face_templates_photo_engine", ["photo_id", "engine"])
        batch_op.create_index(batch_op.f("ix_face_templates_photo_id"), ["photo_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_face_templates_engine"), ["engine"], unique=False)

    # Decisions before bursts compared one frame with one dlib template.
    with op.batch_alter_table("face_decisions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("engine", sa.String(length=80), nullable=False, server_default="dlib"))
        batch_op.add_column(
            sa.Column(
                "model_name",
                sa.String(length=60),
                nullable=False,
                server_default="dlib_face_recognition_resnet_model_v1",
            )
        )
        batch_op.add_column(sa.Column("fusion", sa.String(length=20), nullable=False, server_default="mean/min"))
        batch_op.add_column(sa.Column("frames_received", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("frames_used", sa.Integer(), nullable=False, server_default="1"))
        batch_op.add_column(sa.Column("evidence", sa.JSON(), nullable=True))

    op.create_table(
        "face_capture_frames",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject_ref", sa.String(length=64), nullable=False),
        sa.Column("decision_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("band0", sa.Integer(), nullable=False),
        sa.Column("band1", sa.Integer(), nullable=False),
        sa.Column("band2", sa.Integer(), nullable=False),
        sa.Column("band3", sa.Integer(), nullable=False),
        sa.Column("thumbnail", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"],
            ["face_decisions.id"],
            name=op.f("fk_face_capture_frames_decision_id_face_decisions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_face_capture_frames")),
    )
    with op.batch_alter_table("face_capture_frames", schema=None) as batch_op:
        for column in ("subject_ref", "decision_id", "sha256", "band0", "band1", "band2", "band3", "created_at"):
            batch_op.create_index(batch_op.f(f"ix_face_capture_frames_{column}"), [column], unique=False)

    op.create_table(
        "face_engine_activations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("engine", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column("model_name", sa.String(length=60), nullable=False),
        sa.Column("model_version", sa.String(length=80), nullable=False),
        sa.Column("templates", sa.Integer(), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_face_engine_activations")),
    )


def downgrade():
    op.drop_table("face_engine_activations")
    with op.batch_alter_table("face_capture_frames", schema=None) as batch_op:
        for column in ("created_at", "band3", "band2", "band1", "band0", "sha256", "decision_id", "subject_ref"):
            batch_op.drop_index(batch_op.f(f"ix_face_capture_frames_{column}"))
    op.drop_table("face_capture_frames")

    with op.batch_alter_table("face_decisions", schema=None) as batch_op:
        for column in ("evidence", "frames_used", "frames_received", "fusion", "model_name", "engine"):
            batch_op.drop_column(column)

    # Only the dlib templates fit the old one-template-per-photo table.
    op.execute("DELETE FROM face_templates WHERE engine <> 'dlib'")
    with op.batch_alter_table("face_templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_face_templates_engine"))
        batch_op.drop_index(batch_op.f("ix_face_templates_photo_id"))
        batch_op.drop_constraint("uq_face_templates_photo_engine", type_="unique")
        batch_op.create_unique_constraint("uq_face_templates_photo_id", ["photo_id"])
        batch_op.drop_column("jitters")
        batch_op.drop_column("engine")

    with op.batch_alter_table("photos", schema=None) as batch_op:
        batch_op.drop_column("reference_since")
