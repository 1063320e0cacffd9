"""meetings: meeting, meeting_member, meeting_agenda_item (tenant tables behind the wall).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from core.tenancy.ddl import tenant_table

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _key():
    return [sa.Column("tenant_id", sa.String(6), nullable=False), sa.Column("id", sa.Uuid(), nullable=False)]


def upgrade() -> None:
    op.create_table(
        "meeting", *_key(),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("place", sa.String(200), nullable=True),
        sa.Column("online_url", sa.String(500), nullable=True),
        sa.Column("minutes", sa.Text(), nullable=True),
        sa.Column("minutes_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("minutes_updated_by", sa.String(64), nullable=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_meeting"),
    )
    op.create_index("ix_meeting_tenant_id_starts_at", "meeting", ["tenant_id", "starts_at"])
    tenant_table("meeting", "SELECT, INSERT, UPDATE")

    op.create_table(
        "meeting_member", *_key(),
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("user_sub", sa.String(64), nullable=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("organisation", sa.String(100), nullable=True),
        sa.Column("member_role", sa.String(20), nullable=False),
        sa.Column("duty_role", sa.String(40), nullable=True),
        sa.Column("confidentiality_ack_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_meeting_member"),
        sa.ForeignKeyConstraint(["tenant_id", "meeting_id"], ["meeting.tenant_id", "meeting.id"],
                                name="fk_meeting_member_tenant_id_meeting"),
        sa.CheckConstraint("member_role IN ('leader', 'deputy', 'required', 'by_topic')",
                           name="ck_meeting_member_member_role"),
    )
    op.create_index("ix_meeting_member_tenant_id_meeting_id", "meeting_member", ["tenant_id", "meeting_id"])
    tenant_table("meeting_member", "SELECT, INSERT, UPDATE, DELETE")

    op.create_table(
        "meeting_agenda_item", *_key(),
        sa.Column("meeting_id", sa.Uuid(), nullable=False),
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False, server_default="1"),
        sa.Column("issues", sa.Text(), nullable=True),
        sa.Column("sharing_basis", sa.String(500), nullable=False),
        sa.Column("decision", sa.String(30), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_meeting_agenda_item"),
        sa.ForeignKeyConstraint(["tenant_id", "meeting_id"], ["meeting.tenant_id", "meeting.id"],
                                name="fk_meeting_agenda_item_tenant_id_meeting"),
        sa.ForeignKeyConstraint(["tenant_id", "case_id"], ["support_case.tenant_id", "support_case.id"],
                                name="fk_meeting_agenda_item_tenant_id_support_case"),
    )
    op.create_index("ix_meeting_agenda_item_tenant_id_meeting_id", "meeting_agenda_item", ["tenant_id", "meeting_id"])
    op.create_index("ix_meeting_agenda_item_tenant_id_case_id", "meeting_agenda_item", ["tenant_id", "case_id"])
    tenant_table("meeting_agenda_item", "SELECT, INSERT, UPDATE")


def downgrade() -> None:
    op.drop_table("meeting_agenda_item")
    op.drop_table("meeting_member")
    op.drop_table("meeting")
