"""Alembic environment: runs as the owner role; ``app_role`` is passed in by core/migrate.py for the grants."""

import asyncio

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

from core.database import sqlalchemy_url
from core.schema import metadata

config = context.config


def run_migrations(connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


async def run_async() -> None:
    engine = create_async_engine(sqlalchemy_url(config.attributes["owner_url"]))
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_migrations)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=sqlalchemy_url(config.attributes["owner_url"]), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(run_async())
