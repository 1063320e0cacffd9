"""実態調査: pre-filled standard items, and one-time links for municipalities that are not tenants yet.

- ``prefecture_survey_question.prefill``: which of the municipality's own counts fills the answer in for review
  (``core.prefecture.survey_items``), NULL for none.
- ``survey_invitation``: the prefecture's own rows (tenant 390003, behind the wall like any tenant table): one per
  link sent to a municipality without an account. Only the SHA-256 of the link's secret is stored. The answers of
  that municipality are stored on the row.
- ``survey_link_open(token)`` / ``survey_link_answer(token, answers, responder)``: SECURITY DEFINER, search_path
  pinned, callable without any tenant bound (the person answering has no account): each finds the one invitation
  whose hash matches and does nothing else. ``survey_link_answer`` refuses an answered link, a survey not sent,
  closed, or past its deadline (Japan date), and anything but a JSON object of strings.

Revision ID: 0015b
Revises: 0015
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from core.tenancy.ddl import app_role, tenant_table

revision = "0015b"
down_revision = "0015"
branch_labels = None
depends_on = None

HASH = "encode(sha256(convert_to(p_token, 'UTF8')), 'hex')"
FUNCTIONS = ("survey_link_open(varchar)", "survey_link_answer(varchar, jsonb, varchar)")


def upgrade() -> None:
    op.add_column("prefecture_survey_question", sa.Column("prefill", sa.String(40), nullable=True))
    op.create_table(
        "survey_invitation",
        sa.Column("tenant_id", sa.String(6), nullable=False,
                  server_default="390003"),
        sa.Column("id", sa.Uuid, nullable=False),
        sa.Column("survey_id", sa.Uuid, sa.ForeignKey("prefecture_survey.id", ondelete="CASCADE"), nullable=False),
        sa.Column("municipality_code", sa.String(6), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(64)),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("answers", JSONB, server_default=sa.text("'{}'::jsonb"), nullable=False),
        sa.Column("responder", sa.String(100), server_default="", nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("tenant_id", "id"),
        sa.UniqueConstraint("tenant_id", "token_hash", name="uq_survey_invitation_token"),
        sa.CheckConstraint("tenant_id = '390003'", name="survey_invitation_is_the_prefectures"),
        sa.CheckConstraint("jsonb_typeof(answers) = 'object'", name="survey_invitation_answers_object"),
    )
    op.create_index("ix_survey_invitation_survey", "survey_invitation", ["tenant_id", "survey_id", "municipality_code"])
    tenant_table("survey_invitation")
    # The owner (running the two functions below) reaches a row only through them; each matches one token hash.
    op.execute("CREATE POLICY survey_link ON survey_invitation TO CURRENT_USER USING (true) WITH CHECK (true)")

    op.execute(f"""
        CREATE FUNCTION survey_link_open(p_token varchar)
        RETURNS TABLE (survey_id uuid, municipality_code varchar, answered_at timestamptz, answers jsonb,
                       responder varchar)
        LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp AS $$
          SELECT i.survey_id, i.municipality_code::varchar, i.answered_at, i.answers, i.responder::varchar
          FROM survey_invitation i WHERE i.tenant_id = '390003' AND i.token_hash = {HASH}
        $$
    """)
    op.execute(f"""
        CREATE FUNCTION survey_link_answer(p_token varchar, p_answers jsonb, p_responder varchar)
        RETURNS varchar
        LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp AS $$
        DECLARE
          v_invitation survey_invitation%ROWTYPE;
          v_survey prefecture_survey%ROWTYPE;
        BEGIN
          SELECT * INTO v_invitation FROM survey_invitation
          WHERE tenant_id = '390003' AND token_hash = {HASH} FOR UPDATE;
          IF NOT FOUND THEN
            RAISE EXCEPTION 'unknown survey link' USING ERRCODE = 'P0002';
          END IF;
          IF v_invitation.answered_at IS NOT NULL THEN
            RAISE EXCEPTION 'this link has been answered' USING ERRCODE = '55000';
          END IF;
          SELECT * INTO v_survey FROM prefecture_survey WHERE id = v_invitation.survey_id;
          IF v_survey.status <> 'sent'
             OR (v_survey.due_on IS NOT NULL AND (now() AT TIME ZONE 'Asia/Tokyo')::date > v_survey.due_on) THEN
            RAISE EXCEPTION 'the survey is closed' USING ERRCODE = '55000';
          END IF;
          IF p_answers IS NULL OR jsonb_typeof(p_answers) <> 'object' OR EXISTS (
               SELECT 1 FROM jsonb_each(p_answers) a
               WHERE jsonb_typeof(a.value) <> 'string' OR length(a.value #>> '{{}}') > 4000
                  OR a.key NOT IN (SELECT q.id::text FROM prefecture_survey_question q WHERE q.survey_id = v_survey.id))
             OR length(coalesce(p_responder, '')) > 100 THEN
            RAISE EXCEPTION 'answers must be an object of the survey''s question ids to strings' USING ERRCODE = '22023';
          END IF;
          UPDATE survey_invitation SET answers = p_answers, responder = coalesce(p_responder, ''), answered_at = now()
          WHERE tenant_id = v_invitation.tenant_id AND id = v_invitation.id;
          RETURN v_invitation.municipality_code;
        END $$
    """)
    for signature in FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {signature} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {signature} TO {app_role()}")


def downgrade() -> None:
    for signature in FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {signature}")
    op.drop_table("survey_invitation")
    op.drop_column("prefecture_survey_question", "prefill")
