"""meetings that keep the law: finalised minutes, how secrecy was acknowledged, 支援決定 by the municipality,
agenda carried from the previous meeting, and who holds each seat (推進員 A–E) (issue #15).

- ``meeting.minutes_finalised_at/by``: once the minutes are finalised (確定), no decision or edit is recorded.
- ``meeting_member.confidentiality_ack_method/on/by``: ``self`` (the member, signed in) or, for an external
  participant, ``written``/``oral`` with the date, recorded by the chair.
- ``meeting_agenda_item.support_decided_at/by/by_name``: the municipality's 支援決定 after the 重層的支援会議 agreed
  the plan; ``carried_from_id``: the item of the previous meeting (コア会議) that referred the case here.
- ``meeting_seat`` (tenant table): who holds each plugin role (中土佐町's 包括化推進員 A–E), so meetings are seated
  automatically.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

from core.tenancy.ddl import tenant_table

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("meeting", sa.Column("minutes_finalised_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("meeting", sa.Column("minutes_finalised_by", sa.String(64), nullable=True))
    op.add_column("meeting_member", sa.Column("confidentiality_ack_method", sa.String(10), nullable=True))
    op.add_column("meeting_member", sa.Column("confidentiality_ack_on", sa.Date(), nullable=True))
    op.add_column("meeting_member", sa.Column("confidentiality_ack_by", sa.String(64), nullable=True))
    op.create_check_constraint("ck_meeting_member_ack_method", "meeting_member",
                               "confidentiality_ack_method IN ('self', 'written', 'oral')")
    op.add_column("meeting_agenda_item", sa.Column("support_decided_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("meeting_agenda_item", sa.Column("support_decided_by", sa.String(64), nullable=True))
    op.add_column("meeting_agenda_item", sa.Column("support_decided_by_name", sa.String(255), nullable=True))
    op.add_column("meeting_agenda_item", sa.Column("carried_from_id", sa.Uuid(), nullable=True))
    op.create_foreign_key("fk_meeting_agenda_item_carried_from", "meeting_agenda_item", "meeting_agenda_item",
                          ["tenant_id", "carried_from_id"], ["tenant_id", "id"])
    op.create_table(
        "meeting_seat",
        sa.Column("tenant_id", sa.String(6), nullable=False),
        sa.Column("duty_role", sa.String(40), nullable=False),
        sa.Column("user_sub", sa.String(64), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("assigned_by", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "duty_role", name="pk_meeting_seat"),
        sa.ForeignKeyConstraint(["tenant_id", "user_sub"], ["staff_directory.tenant_id", "staff_directory.user_sub"],
                                name="fk_meeting_seat_staff"),
    )
    tenant_table("meeting_seat")


def downgrade() -> None:
    op.drop_table("meeting_seat")
    op.drop_constraint("fk_meeting_agenda_item_carried_from", "meeting_agenda_item", type_="foreignkey")
    for column in ("carried_from_id", "support_decided_by_name", "support_decided_by", "support_decided_at"):
        op.drop_column("meeting_agenda_item", column)
    op.drop_constraint("ck_meeting_member_ack_method", "meeting_member", type_="check")
    for column in ("confidentiality_ack_by", "confidentiality_ack_on", "confidentiality_ack_method"):
        op.drop_column("meeting_member", column)
    op.drop_column("meeting", "minutes_finalised_by")
    op.drop_column("meeting", "minutes_finalised_at")
