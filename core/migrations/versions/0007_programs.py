"""programs (事業・拠点): hubs, programmes, weekly slots, sessions, enrolment, attendance, partners, community
activities with their growth log, and the 地域資源 directory. All tenant tables behind row-level security.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from core.tenancy.ddl import tenant_table

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

FIELDS = "('elderly', 'disability', 'child', 'poverty', 'other')"


def _tenant_id() -> sa.Column:
    return sa.Column("tenant_id", sa.String(6), nullable=False)


def _id() -> sa.Column:
    return sa.Column("id", sa.Uuid(), nullable=False)


def _stamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
    ]


def _fk(column: str, table: str, name: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["tenant_id", column], [f"{table}.tenant_id", f"{table}.id"], name=name)


def _index(table: str, *columns: str, unique: bool = False) -> None:
    prefix = "uq" if unique else "ix"
    op.create_index(f"{prefix}_{table}_tenant_id_{'_'.join(columns)}", table, ["tenant_id", *columns], unique=unique)


TABLES = [
    "program_hub", "program", "program_slot", "program_session", "program_enrolment", "program_attendance",
    "program_partner", "community_activity", "community_activity_note", "community_resource",
]


def upgrade() -> None:
    op.create_table(
        "program_hub",
        _tenant_id(), _id(),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("area", sa.String(60), nullable=False, server_default=""),
        sa.Column("address", sa.String(200), nullable=False, server_default=""),
        sa.Column("description", sa.String(1000), nullable=False, server_default=""),
        sa.Column("source", sa.String(40), nullable=False, server_default=""),
        sa.Column("code", sa.String(60), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        *_stamps(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_program_hub"),
        sa.UniqueConstraint("tenant_id", "source", "code", name="uq_program_hub_tenant_id_source_code"),
        sa.CheckConstraint("kind IN ('attaka_fureai', 'activity_hub', 'ibasho', 'venue', 'other')",
                           name="ck_program_hub_kind"),
    )

    op.create_table(
        "program",
        _tenant_id(), _id(),
        sa.Column("hub_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("field", sa.String(20), nullable=False, server_default="other"),
        sa.Column("purpose", sa.String(1000), nullable=False, server_default=""),
        sa.Column("target_group", sa.String(1000), nullable=False, server_default=""),
        sa.Column("content", sa.String(1000), nullable=False, server_default=""),
        sa.Column("drop_in", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("min_age", sa.SmallInteger(), nullable=True),
        sa.Column("max_age", sa.SmallInteger(), nullable=True),
        sa.Column("capacity", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(40), nullable=False, server_default=""),
        sa.Column("code", sa.String(60), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        *_stamps(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_program"),
        sa.UniqueConstraint("tenant_id", "source", "code", name="uq_program_tenant_id_source_code"),
        _fk("hub_id", "program_hub", "fk_program_hub"),
        sa.CheckConstraint("kind IN ('participation', 'community')", name="ck_program_kind"),
        sa.CheckConstraint(f"field IN {FIELDS}", name="ck_program_field"),
        sa.CheckConstraint("min_age IS NULL OR max_age IS NULL OR min_age <= max_age", name="ck_program_age_range"),
    )
    _index("program", "hub_id")

    op.create_table(
        "program_slot",
        _tenant_id(), _id(),
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("weekdays", postgresql.ARRAY(sa.SmallInteger()), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.Column("band_label", sa.String(100), nullable=False, server_default=""),
        sa.Column("note", sa.String(200), nullable=False, server_default=""),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("code", sa.String(60), nullable=True),
        *_stamps(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_program_slot"),
        _fk("program_id", "program", "fk_program_slot_program"),
        sa.CheckConstraint("start_time < end_time", name="ck_program_slot_times"),
        sa.CheckConstraint("cardinality(weekdays) >= 1 AND weekdays <@ ARRAY[0,1,2,3,4,5,6]::smallint[]",
                           name="ck_program_slot_weekdays"),
    )
    _index("program_slot", "program_id")

    op.create_table(
        "program_session",
        _tenant_id(), _id(),
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("slot_id", sa.Uuid(), nullable=True),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.Column("band_label", sa.String(100), nullable=False, server_default=""),
        sa.Column("status", sa.String(20), nullable=False, server_default="scheduled"),
        sa.Column("cancel_reason", sa.String(500), nullable=True),
        sa.Column("anonymous_headcount", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("attendance_recorded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attendance_recorded_by", sa.String(64), nullable=True),
        *_stamps(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_program_session"),
        sa.UniqueConstraint("tenant_id", "slot_id", "held_on", name="uq_program_session_tenant_id_slot_id_held_on"),
        _fk("program_id", "program", "fk_program_session_program"),
        _fk("slot_id", "program_slot", "fk_program_session_slot"),
        sa.CheckConstraint("status IN ('scheduled', 'cancelled')", name="ck_program_session_status"),
        sa.CheckConstraint("status <> 'cancelled' OR cancel_reason IS NOT NULL", name="ck_program_session_reason"),
        sa.CheckConstraint("anonymous_headcount BETWEEN 0 AND 10000", name="ck_program_session_headcount"),
    )
    _index("program_session", "program_id", "held_on")
    _index("program_session", "held_on")

    op.create_table(
        "program_enrolment",
        _tenant_id(), _id(),
        sa.Column("program_id", sa.Uuid(), nullable=False),
        sa.Column("person_name", sa.String(100), nullable=False),
        sa.Column("person_kana", sa.String(100), nullable=False, server_default=""),
        sa.Column("case_id", sa.Uuid(), nullable=True),  # no foreign key: the cases domain is independent
        sa.Column("applicant", postgresql.JSONB(), nullable=False, server_default=sa.text("'{}'::jsonb")),
        sa.Column("eligibility_rules", postgresql.ARRAY(sa.String(60)), nullable=False, server_default="{}"),
        sa.Column("enrolled_on", sa.Date(), nullable=False),
        sa.Column("ended_on", sa.Date(), nullable=True),
        sa.Column("enrolled_by", sa.String(64), nullable=False),
        *_stamps(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_program_enrolment"),
        _fk("program_id", "program", "fk_program_enrolment_program"),
    )
    _index("program_enrolment", "program_id")
    _index("program_enrolment", "case_id")

    op.create_table(
        "program_attendance",
        _tenant_id(), _id(),
        sa.Column("session_id", sa.Uuid(), nullable=False),
        sa.Column("enrolment_id", sa.Uuid(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_program_attendance"),
        sa.UniqueConstraint("tenant_id", "session_id", "enrolment_id",
                            name="uq_program_attendance_tenant_id_session_id_enrolment_id"),
        _fk("session_id", "program_session", "fk_program_attendance_session"),
        _fk("enrolment_id", "program_enrolment", "fk_program_attendance_enrolment"),
    )
    _index("program_attendance", "enrolment_id")

    op.create_table(
        "program_partner",
        _tenant_id(), _id(),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("pillar", sa.String(20), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kana", sa.String(100), nullable=False, server_default=""),
        sa.Column("field", sa.String(20), nullable=False, server_default="other"),
        sa.Column("area", sa.String(60), nullable=False, server_default=""),
        sa.Column("contact", sa.String(200), nullable=False, server_default=""),
        sa.Column("note", sa.String(1000), nullable=False, server_default=""),
        sa.Column("hub_id", sa.Uuid(), nullable=True),
        sa.Column("program_id", sa.Uuid(), nullable=True),
        sa.Column("since", sa.Date(), nullable=False),
        sa.Column("until", sa.Date(), nullable=True),
        *_stamps(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_program_partner"),
        _fk("hub_id", "program_hub", "fk_program_partner_hub"),
        _fk("program_id", "program", "fk_program_partner_program"),
        sa.CheckConstraint("kind IN ('volunteer', 'business', 'agency')", name="ck_program_partner_kind"),
        sa.CheckConstraint("pillar IN ('participation', 'community')", name="ck_program_partner_pillar"),
        sa.CheckConstraint(f"field IN {FIELDS}", name="ck_program_partner_field"),
        sa.CheckConstraint("until IS NULL OR since <= until", name="ck_program_partner_period"),
    )
    _index("program_partner", "kind", "pillar")

    op.create_table(
        "community_activity",
        _tenant_id(), _id(),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("field", sa.String(20), nullable=False, server_default="other"),
        sa.Column("area", sa.String(60), nullable=False, server_default=""),
        sa.Column("started_by", sa.String(200), nullable=False, server_default=""),
        sa.Column("started_on", sa.Date(), nullable=True),
        sa.Column("origin_hub_id", sa.Uuid(), nullable=True),
        sa.Column("origin_program_id", sa.Uuid(), nullable=True),
        sa.Column("grew_from_id", sa.Uuid(), nullable=True),
        sa.Column("description", sa.String(2000), nullable=False, server_default=""),
        sa.Column("status", sa.String(20), nullable=False, server_default="active"),
        *_stamps(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_community_activity"),
        _fk("origin_hub_id", "program_hub", "fk_community_activity_hub"),
        _fk("origin_program_id", "program", "fk_community_activity_program"),
        _fk("grew_from_id", "community_activity", "fk_community_activity_grew_from"),
        sa.CheckConstraint(f"field IN {FIELDS}", name="ck_community_activity_field"),
        sa.CheckConstraint("status IN ('active', 'ended')", name="ck_community_activity_status"),
        sa.CheckConstraint("grew_from_id IS NULL OR grew_from_id <> id", name="ck_community_activity_not_self"),
    )
    _index("community_activity", "grew_from_id")

    op.create_table(
        "community_activity_note",
        _tenant_id(), _id(),
        sa.Column("activity_id", sa.Uuid(), nullable=False),
        sa.Column("noted_on", sa.Date(), nullable=False),
        sa.Column("note", sa.String(2000), nullable=False),
        sa.Column("recorded_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_community_activity_note"),
        _fk("activity_id", "community_activity", "fk_community_activity_note_activity"),
    )
    _index("community_activity_note", "activity_id")

    op.create_table(
        "community_resource",
        _tenant_id(), _id(),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("kana", sa.String(100), nullable=False, server_default=""),
        sa.Column("field", sa.String(20), nullable=False),
        sa.Column("area", sa.String(60), nullable=False, server_default=""),
        sa.Column("address", sa.String(200), nullable=False, server_default=""),
        sa.Column("contact", sa.String(200), nullable=False, server_default=""),
        sa.Column("description", sa.String(2000), nullable=False, server_default=""),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        *_stamps(),
        sa.PrimaryKeyConstraint("tenant_id", "id", name="pk_community_resource"),
        sa.CheckConstraint(f"field IN {FIELDS}", name="ck_community_resource_field"),
    )
    _index("community_resource", "field", "area")

    for table in TABLES:
        tenant_table(table)


def downgrade() -> None:
    for table in reversed(TABLES):
        op.drop_table(table)
