"""competent authority: routing rules, service guides with versions, the working-day calendar

Revision ID: 0021_cert_authority
Revises: 0020_cert_api

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021_cert_authority'
down_revision = "0020_cert_api"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('calendar_days',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.Enum('holiday', 'workday', name='calendar_day_kind', native_enum=False, create_constraint=True, length=10), nullable=False),
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'], name=op.f('fk_calendar_days_updated_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_days')),
    sa.UniqueConstraint('day', name=op.f('uq_calendar_days_day'))
    )
    op.create_table('certificate_routing_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('matter', sa.String(length=20), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('item_id', sa.Integer(), nullable=True),
    sa.Column('district', sa.String(length=6), nullable=False),
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('authority_id', sa.Integer(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['authority_id'], ['organisations.id'], name=op.f('fk_certificate_routing_rules_authority_id_organisations')),
    sa.ForeignKeyConstraint(['category_id'], ['catalogue_categories.id'], name=op.f('fk_certificate_routing_rules_category_id_catalogue_categories')),
    sa.ForeignKeyConstraint(['item_id'], ['catalogue_items.id'], name=op.f('fk_certificate_routing_rules_item_id_catalogue_items')),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'], name=op.f('fk_certificate_routing_rules_updated_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_routing_rules')),
    sa.UniqueConstraint('key', name=op.f('uq_certificate_routing_rules_key'))
    )
    op.create_table('service_guides',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('matter', sa.Enum('first_issue', 'review', 'reissue', 'cancellation', 'change', name='guide_matter', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('current_number', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_guides')),
    sa.UniqueConstraint('matter', name=op.f('uq_service_guides_matter'))
    )
    op.create_table('service_guide_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('guide_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('conditions', sa.Text(), nullable=False),
    sa.Column('materials', sa.Text(), nullable=False),
    sa.Column('time_limit', sa.Text(), nullable=False),
    sa.Column('fees', sa.Text(), nullable=False),
    sa.Column('delivery', sa.Text(), nullable=False),
    sa.Column('faq', sa.Text(), nullable=False),
    sa.Column('change_note', sa.String(length=200), nullable=False),
    sa.Column('edited_by', sa.Integer(), nullable=True),
    sa.Column('edited_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['edited_by'], ['users.id'], name=op.f('fk_service_guide_versions_edited_by_users')),
    sa.ForeignKeyConstraint(['guide_id'], ['service_guides.id'], name=op.f('fk_service_guide_versions_guide_id_service_guides')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_service_guide_versions')),
    sa.UniqueConstraint('guide_id', 'number', name='uq_service_guide_versions_guide_number')
    )
    with op.batch_alter_table('service_guide_versions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_service_guide_versions_guide_id'), ['guide_id'], unique=False)


def downgrade():
    with op.batch_alter_table('service_guide_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_service_guide_versions_guide_id'))

    op.drop_table('service_guide_versions')
    op.drop_table('service_guides')
    op.drop_table('certificate_routing_rules')
    op.drop_table('calendar_days')
