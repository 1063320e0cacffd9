"""Typed settings, read once from the environment.

Every field documents the environment variable it comes from; ``tests/test_settings.py`` keeps the README's
configuration table in step with this module.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_int(name: str, default: int) -> int:
    raw = _env(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None


class SettingsError(ValueError):
    """A setting in the environment cannot be used."""


def setting(env: str, doc: str, default_doc: str):
    """Metadata for one field: the variable it is read from, what it means, and its default in words."""
    return {"env": env, "doc": doc, "default": default_doc}


@dataclass(frozen=True)
class Settings:
    environment: str = field(
        metadata=setting("KYOSEI_ENV", "`dev`, `test` or `prod`; `prod` requires https and explicit secrets.", "`dev`")
    )
    data_dir: Path = field(
        metadata=setting(
            "KYOSEI_DATA_DIR",
            "Folder for local state: the embedded PostgreSQL cluster (`pg/`), logs, backups.",
            "`var/` in the checkout",
        )
    )
    database_url: str | None = field(
        metadata=setting(
            "DATABASE_URL",
            "PostgreSQL URL of the *owner* role that runs migrations (`postgresql://owner:pw@host/db`). "
            "Unset: the embedded PostgreSQL 18 server under `KYOSEI_DATA_DIR/pg` is started and used.",
            "unset (embedded server)",
        )
    )
    database_app_url: str | None = field(
        metadata=setting(
            "DATABASE_APP_URL",
            "PostgreSQL URL of the *application* role (owns nothing, no BYPASSRLS) the service connects as. "
            "Unset: the `DATABASE_URL` server with user `kyosei_app` and `KYOSEI_APP_DB_PASSWORD`.",
            "derived",
        )
    )
    database_backup_url: str | None = field(
        metadata=setting(
            "DATABASE_BACKUP_URL",
            "PostgreSQL URL of a role that bypasses row-level security (BYPASSRLS or superuser), used by "
            "`kyosei backup` and `kyosei restore` on an external server. The embedded server uses its superuser.",
            "unset",
        )
    )
    app_db_password: str = field(
        metadata=setting(
            "KYOSEI_APP_DB_PASSWORD",
            "Password given to the application role when Kyosei creates it (ignored by the embedded server, "
            "which only listens on 127.0.0.1).",
            "`kyosei-app-dev`",
        )
    )
    embedded_pg_port: int = field(
        metadata=setting("KYOSEI_PG_PORT", "TCP port of the embedded PostgreSQL server (127.0.0.1 only).", "`54329`")
    )
    host: str = field(metadata=setting("KYOSEI_HOST", "Address the web service binds to.", "`127.0.0.1`"))
    port: int = field(metadata=setting("KYOSEI_PORT", "Port the web service listens on.", "`8000`"))
    public_url: str = field(
        metadata=setting(
            "KYOSEI_PUBLIC_URL",
            "The URL users reach the service at; used for OIDC redirect URIs and to decide on Secure cookies.",
            "`http://127.0.0.1:$KYOSEI_PORT`",
        )
    )
    keycloak_url: str | None = field(
        metadata=setting(
            "KEYCLOAK_URL",
            "Base URL of an existing Keycloak (`https://sso.example.jp`). Unset: `kyosei run` fetches and starts "
            "Keycloak itself on `KEYCLOAK_PORT`.",
            "unset (local server)",
        )
    )
    keycloak_port: int = field(
        metadata=setting("KEYCLOAK_PORT", "HTTP port of the locally started Keycloak.", "`8180`")
    )
    keycloak_realm: str = field(metadata=setting("KEYCLOAK_REALM", "Keycloak realm holding the staff accounts.", "`kochi`"))
    oidc_client_id: str = field(metadata=setting("OIDC_CLIENT_ID", "OIDC client of the web app.", "`kyosei-web`"))
    oidc_client_secret: str = field(
        metadata=setting(
            "OIDC_CLIENT_SECRET",
            "Secret of the OIDC client. The default matches the demo realm and is for local use only.",
            "`kyosei-web-dev-secret`",
        )
    )
    admin_client_id: str = field(
        metadata=setting("KEYCLOAK_ADMIN_CLIENT_ID", "Service-account client used for onboarding.", "`kyosei-admin`")
    )
    admin_client_secret: str = field(
        metadata=setting(
            "KEYCLOAK_ADMIN_CLIENT_SECRET",
            "Secret of the onboarding service account (demo realm default, local use only).",
            "`kyosei-admin-dev-secret`",
        )
    )
    session_idle_minutes: int = field(
        metadata=setting("KYOSEI_SESSION_IDLE_MINUTES", "A login session ends after this many idle minutes.", "`30`")
    )
    session_absolute_hours: int = field(
        metadata=setting(
            "KYOSEI_SESSION_ABSOLUTE_HOURS", "A login session ends this many hours after login, whatever happens.", "`10`"
        )
    )
    log_level: str = field(metadata=setting("LOG_LEVEL", "`debug`, `info`, `warning` or `error`.", "`info`"))
    log_format: str = field(
        metadata=setting(
            "LOG_FORMAT", "`json`, `console`, or `auto` (console on a terminal, JSON lines otherwise).", "`auto`"
        )
    )
    # Request limits (core/request_guard.py, core/server.py): what one request may carry and how long it may take.
    max_body_bytes: int = field(
        default=1_000_000,
        metadata=setting("KYOSEI_MAX_BODY_BYTES", "Largest request body in bytes (forms and JSON); larger: 413.",
                         "`1000000`"),
    )
    max_fields: int = field(
        default=500,
        metadata=setting("KYOSEI_MAX_FIELDS", "Most fields one form may send; more: 413.", "`500`"),
    )
    body_timeout_seconds: float = field(
        default=15.0,
        metadata=setting("KYOSEI_BODY_TIMEOUT", "Seconds a client has to send the whole body; slower: 408.", "`15`"),
    )
    header_timeout_seconds: float = field(
        default=10.0,
        metadata=setting("KYOSEI_HEADER_TIMEOUT",
                         "Seconds a client has to send the request line and headers; slower: 408 and closed.", "`10`"),
    )

    @property
    def embedded_database(self) -> bool:
        return self.database_url is None

    @property
    def https(self) -> bool:
        return self.public_url.startswith("https://")

    @classmethod
    def from_env(cls) -> Settings:
        port = _env_int("KYOSEI_PORT", 8000)
        environment = _env("KYOSEI_ENV", "dev")
        if environment not in {"dev", "test", "prod"}:
            raise SettingsError(f"KYOSEI_ENV must be dev, test or prod, got {environment!r}")
        log_format = _env("LOG_FORMAT", "auto")
        if log_format not in {"auto", "json", "console"}:
            raise SettingsError(f"LOG_FORMAT must be auto, json or console, got {log_format!r}")
        settings = cls(
            environment=environment,
            data_dir=Path(_env("KYOSEI_DATA_DIR", str(PROJECT_ROOT / "var"))).resolve(),
            database_url=_env("DATABASE_URL"),
            database_app_url=_env("DATABASE_APP_URL"),
            database_backup_url=_env("DATABASE_BACKUP_URL"),
            app_db_password=_env("KYOSEI_APP_DB_PASSWORD", "kyosei-app-dev"),
            embedded_pg_port=_env_int("KYOSEI_PG_PORT", 54329),
            host=_env("KYOSEI_HOST", "127.0.0.1"),
            port=port,
            public_url=_env("KYOSEI_PUBLIC_URL", f"http://127.0.0.1:{port}").rstrip("/"),
            keycloak_url=(_env("KEYCLOAK_URL") or "").rstrip("/") or None,
            keycloak_port=_env_int("KEYCLOAK_PORT", 8180),
            keycloak_realm=_env("KEYCLOAK_REALM", "kochi"),
            oidc_client_id=_env("OIDC_CLIENT_ID", "kyosei-web"),
            oidc_client_secret=_env("OIDC_CLIENT_SECRET", "kyosei-web-dev-secret"),
            admin_client_id=_env("KEYCLOAK_ADMIN_CLIENT_ID", "kyosei-admin"),
            admin_client_secret=_env("KEYCLOAK_ADMIN_CLIENT_SECRET", "kyosei-admin-dev-secret"),
            session_idle_minutes=_env_int("KYOSEI_SESSION_IDLE_MINUTES", 30),
            session_absolute_hours=_env_int("KYOSEI_SESSION_ABSOLUTE_HOURS", 10),
            log_level=_env("LOG_LEVEL", "info").lower(),
            log_format=log_format,
            max_body_bytes=_env_int("KYOSEI_MAX_BODY_BYTES", 1_000_000),
            max_fields=_env_int("KYOSEI_MAX_FIELDS", 500),
            body_timeout_seconds=float(_env_int("KYOSEI_BODY_TIMEOUT", 15)),
            header_timeout_seconds=float(_env_int("KYOSEI_HEADER_TIMEOUT", 10)),
        )
        if environment == "prod" and not settings.https:
            raise SettingsError("KYOSEI_ENV=prod requires an https KYOSEI_PUBLIC_URL")
        return settings


def documented_variables() -> list[tuple[str, str, str]]:
    """(variable, meaning, default) for every setting, in declaration order: the README table's source."""
    return [(f.metadata["env"], f.metadata["doc"], f.metadata["default"]) for f in fields(Settings)]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_env()
