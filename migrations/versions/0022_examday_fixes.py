"""exam day: seats found by their device cookie through an index; the answer saves' redundant attempt index dropped

Revision ID: 0022_examday_fixes
Revises: 0021_cert_authority

Every save and heartbeat finds its attempt by the seat's device hash: without an index that was a scan of every
attempt row (and of their dead versions, one per save). The saves' own index on attempt_id duplicated the leading
column of uq_cbt_answer_saves_attempt_seq, and cost one more index insert per save.
"""

from alembic import op


# revision identifiers, used by Alembic.
revision = "0022_examday_fixes"
down_revision = "0021_cert_authority"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("cbt_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cbt_attempts_device_hash"), ["device_hash"], unique=False)
    with op.batch_alter_table("cbt_answer_saves", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cbt_answer_saves_attempt_id"))


def downgrade():
    with op.batch_alter_table("cbt_answer_saves", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cbt_answer_saves_attempt_id"), ["attempt_id"], unique=False)
    with op.batch_alter_table("cbt_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cbt_attempts_device_hash"))
