"""photos: a random view key per photo, so photo URLs cannot be enumerated

Revision ID: 0007_photo_view_keys
Revises: 0006_exam_sessions
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_photo_view_keys"
down_revision = "0006_exam_sessions"
branch_labels = None
depends_on = None

# 48 random hex characters per existing row, set in one statement (a library may hold millions of photos).
# PostgreSQL 13+ has gen_random_uuid() built in; SQLite's randomblob() is seeded from the operating system.
FILL = {
    "postgresql": "UPDATE photos SET view_key = replace(gen_random_uuid()::text, '-', '') "
    "|| substr(replace(gen_random_uuid()::text, '-', ''), 1, 16)",
    "sqlite": "UPDATE photos SET view_key = lower(hex(randomblob(24)))",
}


def upgrade():
    with op.batch_alter_table("photos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("view_key", sa.String(length=64), nullable=True))
    op.execute(FILL[op.get_bind().dialect.name])
    with op.batch_alter_table("photos", schema=None) as batch_op:
        batch_op.alter_column("view_key", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f("uq_photos_view_key"), ["view_key"])


def downgrade():
    with op.batch_alter_table("photos", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_photos_view_key"), type_="unique")
        batch_op.drop_column("view_key")
