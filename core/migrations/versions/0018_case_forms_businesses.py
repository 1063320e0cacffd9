"""The national paperwork's data: structured assessment, the issues a plan addresses, the five 事業 on records.

- ``assessment.sections``: the items of the national アセスメントシート (本人・世帯の状況, 生活歴, 健康, 就労, 経済,
  住まい, 社会参加, 本人の強み …) as a JSON object keyed by item code (see ``core.cases.assessment_sheet``); the
  free-text ``summary`` and the per-member ``assessment_item`` rows (課題の整理) stay as they were.
- ``support_plan.addressed_item_ids``: the assessment items (課題) the plan sets out to address.
- The five 事業 (社会福祉法 106-4 ②, codes of ``core.grants.reference.Business``): ``support_case.lead_business``
  (the 事業 that took the case up) and ``businesses`` (those involved); ``businesses`` on ``meeting``,
  ``program`` and ``community_activity``. Existing rows are classified the way they already were implicitly:
  a case by 包括的相談支援, a programme by its kind, an activity by 地域づくり, a 支援会議 or 重層的支援会議 by 多機関協働.

Revision ID: 0018
Revises: 0015c
Create Date: 2026-11-30
"""

from alembic import op

revision = "0018"
down_revision = "0015c"
branch_labels = None
depends_on = None

BUSINESS_CODES = "('consultation', 'participation', 'community', 'outreach', 'multi_agency')"


def _businesses(table: str) -> None:
    op.execute(f"ALTER TABLE {table} ADD COLUMN businesses VARCHAR(20)[] NOT NULL DEFAULT '{{}}'")
    op.execute(f"ALTER TABLE {table} ADD CONSTRAINT ck_{table}_businesses_known "
               f"CHECK (businesses <@ ARRAY[{BUSINESS_CODES[1:-1]}]::varchar[])")


def upgrade() -> None:
    op.execute("ALTER TABLE assessment ADD COLUMN sections JSONB NOT NULL DEFAULT '{}'::jsonb")
    op.execute("ALTER TABLE assessment ADD CONSTRAINT ck_assessment_sections_object "
               "CHECK (jsonb_typeof(sections) = 'object')")
    op.execute("ALTER TABLE support_plan ADD COLUMN addressed_item_ids UUID[] NOT NULL DEFAULT '{}'")
    op.execute("ALTER TABLE support_case ADD COLUMN lead_business VARCHAR(20) NOT NULL DEFAULT 'consultation'")
    op.execute(f"ALTER TABLE support_case ADD CONSTRAINT ck_support_case_lead_business_known "
               f"CHECK (lead_business IN {BUSINESS_CODES})")
    for table in ("support_case", "meeting", "program", "community_activity"):
        _businesses(table)
    op.execute("UPDATE support_case SET businesses = ARRAY['consultation']::varchar[]")
    op.execute("UPDATE program SET businesses = ARRAY[kind]::varchar[] WHERE kind IN ('participation', 'community')")
    op.execute("UPDATE community_activity SET businesses = ARRAY['community']::varchar[]")
    op.execute("UPDATE meeting SET businesses = ARRAY['multi_agency']::varchar[] WHERE kind IN ('support_meeting', 'multilayer_meeting')")


def downgrade() -> None:
    for table in ("support_case", "meeting", "program", "community_activity"):
        op.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS businesses")
    op.execute("ALTER TABLE support_case DROP COLUMN IF EXISTS lead_business")
    op.execute("ALTER TABLE support_plan DROP COLUMN IF EXISTS addressed_item_ids")
    op.execute("ALTER TABLE assessment DROP COLUMN IF EXISTS sections")
