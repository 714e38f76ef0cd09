"""certificates: the matter of an application, the kind of a history entry, past periods, reminders sent

Revision ID: 0017_cert_renewal
Revises: 0015_certificate_applications

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0017_cert_renewal"
down_revision = "0015_certificate_applications"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("certificate_applications", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "matter",
                sa.Enum(
                    "first_issue",
                    "review",
                    "extension",
                    "reissue",
                    name="application_matter",
                    native_enum=False,
                    create_constraint=True,
                    length=16,
                ),
                server_default="first_issue",
                nullable=False,
            )
        )
    with op.batch_alter_table("certificate_events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "kind",
                sa.Enum(
                    "status",
                    "review",
                    "extension",
                    "reissue",
                    name="certificate_event_kind",
                    native_enum=False,
                    create_constraint=True,
                    length=16,
                ),
                server_default="status",
                nullable=False,
            )
        )
    op.create_table(
        "certificate_periods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("certificate_id", sa.Integer(), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("review_due_on", sa.Date(), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=True),
        sa.Column("seal_kid", sa.String(length=32), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["certificate_id"], ["certificates.id"], name=op.f("fk_certificate_periods_certificate_id_certificates")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_periods")),
    )
    with op.batch_alter_table("certificate_periods", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_certificate_periods_certificate_id"), ["certificate_id"], unique=False)
    op.create_table(
        "certificate_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("certificate_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "review",
                "expiry",
                name="certificate_reminder_kind",
                native_enum=False,
                create_constraint=True,
                length=10,
            ),
            nullable=False,
        ),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["certificate_id"], ["certificates.id"], name=op.f("fk_certificate_reminders_certificate_id_certificates")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificate_reminders")),
        sa.UniqueConstraint("certificate_id", "kind", "due_on", "days", name="uq_certificate_reminders_once"),
    )
    with op.batch_alter_table("certificate_reminders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_certificate_reminders_certificate_id"), ["certificate_id"], unique=False)


def downgrade():
    with op.batch_alter_table("certificate_reminders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificate_reminders_certificate_id"))
    op.drop_table("certificate_reminders")
    with op.batch_alter_table("certificate_periods", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_certificate_periods_certificate_id"))
    op.drop_table("certificate_periods")
    with op.batch_alter_table("certificate_events", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_certificate_events_certificate_event_kind"), type_="check")
        batch_op.drop_column("kind")
    with op.batch_alter_table("certificate_applications", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_certificate_applications_application_matter"), type_="check")
        batch_op.drop_column("matter")
