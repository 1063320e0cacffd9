"""The prefecture's SECURITY DEFINER functions refuse an unbound caller too.

0009 and 0010 refuse with ``IF NOT current_setting('app.tenant_id', true) = '390003'``. On a connection where
``app.tenant_id`` was never set, ``current_setting(..., true)`` is NULL, ``NOT NULL`` is NULL, and ``IF NULL`` does
not fire: an unbound app-role connection could onboard or suspend a tenant, send a survey, or read the monthly
aggregates (found by tests/test_security_definer.py). ``IS DISTINCT FROM`` is false only for the prefecture.

Each affected function is re-created from its own current definition with just that condition rewritten, so the
bodies (including any later revision's) stay as they are; grants survive CREATE OR REPLACE.

Revision ID: 0021
Revises: 0019y
Create Date: 2026-11-30
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0019y"
branch_labels = None
depends_on = None

NULL_UNSAFE = "IF NOT current_setting('app.tenant_id', true) = '390003' THEN"
NULL_SAFE = "IF current_setting('app.tenant_id', true) IS DISTINCT FROM '390003' THEN"


def _rewrite(old: str, new: str) -> None:
    bind = op.get_bind()
    definitions = bind.execute(sa.text(
        "SELECT pg_get_functiondef(p.oid) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = 'public' AND p.prosecdef AND strpos(p.prosrc, :old) > 0"
    ), {"old": old}).scalars().all()
    for definition in definitions:
        op.execute(definition.replace(old, new))  # as 0009/0010 ran them: through op.execute


def upgrade() -> None:
    _rewrite(NULL_UNSAFE, NULL_SAFE)


def downgrade() -> None:
    _rewrite(NULL_SAFE, NULL_UNSAFE)
