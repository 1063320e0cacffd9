"""Alembic, driven from code: ``kyosei db upgrade`` and the test fixtures call these."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from infra.database.provision import DatabaseUrls

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(urls: DatabaseUrls) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["owner_url"] = urls.owner
    config.attributes["app_role"] = urls.app_role
    return config


def upgrade(urls: DatabaseUrls, revision: str = "head") -> None:
    """Bring the schema to ``revision``; running it again changes nothing."""
    command.upgrade(alembic_config(urls), revision)


def current_revision(urls: DatabaseUrls) -> str | None:
    from alembic.runtime.migration import MigrationContext
    import asyncio
    from sqlalchemy.ext.asyncio import create_async_engine
    from core.database import sqlalchemy_url

    async def read() -> str | None:
        engine = create_async_engine(sqlalchemy_url(urls.owner))
        try:
            async with engine.connect() as conn:
                return await conn.run_sync(lambda c: MigrationContext.configure(c).get_current_revision())
        finally:
            await engine.dispose()

    return asyncio.run(read())
