"""The database as provisioned: two roles, Japanese-capable collation, idempotent migrations."""

from core import migrate
from tests.db import fetch


def test_app_role_owns_nothing_and_cannot_bypass_rls(database_urls):
    [role] = fetch(database_urls.app, "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = current_user")
    assert not any(role.values())
    owned = fetch(
        database_urls.app,
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = current_user)",
    )
    assert owned == []


def test_app_role_cannot_write_the_registry(database_urls):
    import asyncpg
    import pytest

    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        fetch(database_urls.app, "UPDATE municipality SET name = 'x' WHERE code = '394017'")


def test_database_uses_utf8_with_the_builtin_c_utf8_locale(database_urls):
    [row] = fetch(
        database_urls.owner,
        "SELECT pg_encoding_to_char(encoding) AS enc, datlocprovider::text AS provider, datlocale FROM pg_database WHERE datname = current_database()",
    )
    assert row["enc"] == "UTF8"
    assert row["provider"] == "b"
    assert row["datlocale"] == "C.UTF-8"


def test_trigrams_are_made_of_kana_and_kanji(database_urls):
    [row] = fetch(
        database_urls.owner,
        "SELECT show_trgm('やまだ たろう') AS kana, show_trgm('山田 太郎') AS kanji, "
        "similarity('山田太郎', '山田太朗') AS near",
    )
    assert len(row["kana"]) >= 4 and len(row["kanji"]) >= 4
    assert row["near"] > 0.2


def test_upgrade_is_idempotent(database_urls):
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(migrate.alembic_config(database_urls)).get_current_head()
    migrate.upgrade(database_urls)
    migrate.upgrade(database_urls)
    assert migrate.current_revision(database_urls) == head
