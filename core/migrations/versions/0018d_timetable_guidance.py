"""A timetable slot whose times the source does not state, and an enrolment outside guidance with its reason.

- ``program_slot.time_confirmed``: false when a plugin's source gives only the half-day (午前/午後); the slot's
  times are then that half-day's bounds, used to place it, and people are shown 「時間は拠点で確認」.
- ``program_enrolment.override_reason``: a coordinator enrolled someone outside a rule that is guidance (「概ね
  18歳～50歳」), and why.

Revision ID: 0018d
Revises: 0018c
Create Date: 2026-11-30
"""

from alembic import op

revision = "0018d"
down_revision = "0018c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("ALTER TABLE program_slot ADD COLUMN time_confirmed BOOLEAN NOT NULL DEFAULT true")
    op.execute("ALTER TABLE program_enrolment ADD COLUMN override_reason VARCHAR(500)")


def downgrade() -> None:
    op.execute("ALTER TABLE program_enrolment DROP COLUMN IF EXISTS override_reason")
    op.execute("ALTER TABLE program_slot DROP COLUMN IF EXISTS time_confirmed")
