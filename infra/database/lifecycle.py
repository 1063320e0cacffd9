"""Where the database is and how to bring it up: embedded (default) or an external server (DATABASE_URL)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from core.settings import Settings
from infra.database.embedded import EmbeddedPostgres
from infra.database.provision import DatabaseUrls, check_app_role_is_walled, ensure_app_role, provision_embedded


@dataclass
class DatabaseServer:
    """The configured PostgreSQL: ``start()`` brings it up (starting the embedded one if needed) and returns URLs."""

    settings: Settings
    embedded: EmbeddedPostgres | None = field(default=None, init=False)
    started_here: bool = field(default=False, init=False)

    def start(self) -> DatabaseUrls:
        if self.settings.embedded_database:
            self.embedded = EmbeddedPostgres(self.settings.data_dir / "pg", self.settings.embedded_pg_port)
            was_running = self.embedded.running_pid() is not None
            self.embedded.start()
            self.started_here = not was_running
            urls = asyncio.run(provision_embedded(self.embedded.superuser_url, self.settings.app_db_password))
        else:
            urls = asyncio.run(
                ensure_app_role(self.settings.database_url, self.settings.database_app_url, self.settings.app_db_password)
            )
        return urls

    def stop(self) -> None:
        """Stop the embedded server if this process started it (an external server is never touched)."""
        if self.embedded is not None:
            self.embedded.stop()


def verify_app_role(urls: DatabaseUrls) -> None:
    asyncio.run(check_app_role_is_walled(urls.app))
