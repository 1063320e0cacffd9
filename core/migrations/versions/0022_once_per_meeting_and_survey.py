"""A staff member sits in a meeting once; a municipality has one link per survey — held by the database.

Both rules were check-then-insert in the services (``meetings.service.add_member``, ``prefecture.service`` making a
survey link), so two requests at the same moment (a double click without htmx, a script) could both pass the check:
the member seated twice, or two live one-time links for one municipality. Unique indexes make the second insert
fail; the app answers it as 409 「同じ操作が同時に行われました」 (ui/errors.py) with nothing written.

Rows that already break the rule are folded first: of a member seated twice, the row with the secrecy
acknowledgement (else the earliest) stays; of two links, the answered one (else the newest) stays.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-30
"""

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

FOLD_MEMBERS = """
DELETE FROM meeting_member m USING (
  SELECT tenant_id, id, row_number() OVER (
    PARTITION BY tenant_id, meeting_id, user_sub
    ORDER BY confidentiality_ack_at IS NULL, confidentiality_ack_at, id) AS n
  FROM meeting_member WHERE user_sub IS NOT NULL) d
WHERE m.tenant_id = d.tenant_id AND m.id = d.id AND d.n > 1
"""

FOLD_LINKS = """
DELETE FROM survey_invitation s USING (
  SELECT tenant_id, id, row_number() OVER (
    PARTITION BY tenant_id, survey_id, municipality_code
    ORDER BY answered_at IS NULL, created_at DESC, id) AS n
  FROM survey_invitation) d
WHERE s.tenant_id = d.tenant_id AND s.id = d.id AND d.n > 1
"""


def _without_the_wall(table: str, statement: str) -> None:
    # The owner folds every tenant's rows at once; FORCE comes back in the same transaction.
    op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(statement)
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")


def upgrade() -> None:
    _without_the_wall("meeting_member", FOLD_MEMBERS)
    op.execute("CREATE UNIQUE INDEX uq_meeting_member_staff_once ON meeting_member (tenant_id, meeting_id, user_sub) "
               "WHERE user_sub IS NOT NULL")
    _without_the_wall("survey_invitation", FOLD_LINKS)
    op.execute("CREATE UNIQUE INDEX uq_survey_invitation_one_link ON survey_invitation "
               "(tenant_id, survey_id, municipality_code)")


def downgrade() -> None:
    op.execute("DROP INDEX uq_survey_invitation_one_link")
    op.execute("DROP INDEX uq_meeting_member_staff_once")
