"""``kyosei``: the command line for operators and developers.

Every failure an operator can cause (an unreachable server, a bad setting) ends in one clear line on stderr and a
non-zero exit, never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import click

from core.settings import SettingsError, get_settings
from infra.database.backup import BackupError
from infra.database.embedded import EmbeddedPostgresError
from infra.database.lifecycle import DatabaseServer, verify_app_role
from infra.database.provision import DatabaseUnreachable, DatabaseUrls


class CommandFailed(click.ClickException):
    """A failure explained in one line."""


@contextlib.contextmanager
def database_up(seed: bool = False) -> Iterator[tuple[DatabaseServer, DatabaseUrls]]:
    """Bring the database up and migrated for one command; stop the embedded server again if we started it."""
    from core import migrate

    server = DatabaseServer(get_settings())
    try:
        urls = server.start()
        migrate.upgrade(urls)
        verify_app_role(urls)
        if seed:
            _seed(urls, demo=True)
        yield server, urls
    finally:
        if server.started_here:
            server.stop()


def _seed(urls: DatabaseUrls, demo: bool) -> None:
    from tenants.seed import seed_demo_tenants, seed_registry

    count = asyncio.run(seed_registry(urls.owner))
    click.echo(f"registry: {count} municipalities (34 市町村 + 高知県)")
    if demo:
        added = asyncio.run(seed_demo_tenants(urls.owner))
        click.echo(f"demo tenants added: {', '.join(added) if added else 'none (already there)'}")
        from tenants.seed import seed_demo_plugins

        plugins = asyncio.run(seed_demo_plugins(urls.owner))
        click.echo(f"demo plugins enabled: {', '.join(plugins) if plugins else 'none'}")
        from tenants.seed import seed_demo_staff

        staff = asyncio.run(seed_demo_staff(urls.owner))
        click.echo(f"demo staff listed in the staff directories: {staff}")


@click.group()
def cli() -> None:
    """Kyosei (共生): the comprehensive support system for Kochi's municipalities."""
    get_settings()  # a bad setting is reported before any command runs


@cli.group()
def db() -> None:
    """The database: embedded PostgreSQL 18 by default, any server through DATABASE_URL."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create roles and database if needed and apply all migrations (idempotent)."""
    from core import migrate

    with database_up() as (_, urls):
        click.echo(f"schema at revision {migrate.current_revision(urls)}")


@db.command("start")
def db_start() -> None:
    """Start the embedded server and leave it running (stop it with `kyosei db stop`)."""
    settings = get_settings()
    if not settings.embedded_database:
        raise CommandFailed("DATABASE_URL is set: the server is external, nothing to start")
    server = DatabaseServer(settings)
    urls = server.start()
    click.echo(f"embedded PostgreSQL running: {server.embedded.superuser_url} (app role: {urls.app_role})")


@db.command("stop")
def db_stop() -> None:
    """Stop the embedded server."""
    from infra.database.embedded import EmbeddedPostgres

    settings = get_settings()
    EmbeddedPostgres(settings.data_dir / "pg", settings.embedded_pg_port).stop()
    click.echo("embedded PostgreSQL stopped")


@cli.command()
@click.option("--demo/--no-demo", default=True, show_default=True, help="Also make the demo municipalities tenants.")
def seed(demo: bool) -> None:
    """Load the tenant registry (and the demo tenants) into the database; safe to repeat."""
    with database_up() as (_, urls):
        _seed(urls, demo)


@cli.group()
def tenants() -> None:
    """The tenant registry."""


@tenants.command("list")
@click.option("--registry", is_flag=True, help="List the registry from the repository without a database.")
def tenants_list(registry: bool) -> None:
    """List municipalities with their status as tenants."""
    from tenants.registry import load_registry

    if registry:
        for m in load_registry():
            click.echo(f"{m.code}  {m.kind.label}  {m.name}（{m.kana}）  {m.romaji}")
        return
    with database_up() as (_, urls):

        async def rows():
            from infra.database.provision import connect

            conn = await connect(urls.owner)
            try:
                return await conn.fetch(
                    "SELECT m.code, m.name, m.kana, m.kind, t.status FROM municipality m "
                    "LEFT JOIN tenant t ON t.tenant_id = m.code ORDER BY m.code"
                )
            finally:
                await conn.close()

        for row in asyncio.run(rows()):
            status = row["status"] or "-"
            click.echo(f"{row['code']}  {row['name']}（{row['kana']}）  {row['kind']:<10}  {status}")


def _print_report(report) -> None:
    for step in report.steps:
        click.echo(step.line())
    click.echo(f"{report.code} {report.name}: {'完了' if report.ok else '未完了'} ({report.elapsed_seconds:.2f}s)")
    if not report.ok:
        raise CommandFailed("some steps failed: run the command again to continue")


def _keycloak_directory(settings, enabled: bool):
    if not enabled:
        return None
    from tenants.directory import keycloak_directory

    return keycloak_directory(settings)


@tenants.command("onboard")
@click.argument("code")
@click.option("--admin-email", required=True, help="E-mail (and user name) of the first tenant admin.")
@click.option("--admin-name", default=None, help="Name of the first tenant admin: 姓 名.")
def tenants_onboard(code: str, admin_email: str, admin_name: str | None) -> None:
    """Onboard municipality CODE: tenant row, Keycloak organization and roles, first admin (idempotent)."""
    from tenants.lifecycle import LifecycleError, prefecture_unit_of_work
    from tenants.onboarding import onboard

    settings = get_settings()
    with database_up() as (_, urls):

        async def go():
            with _keycloak_directory(settings, True) as directory:
                async with prefecture_unit_of_work(urls.app, "cli") as session:
                    return await onboard(session, directory, code, admin_email, admin_name)

        try:
            report = asyncio.run(go())
        except LifecycleError as exc:
            raise CommandFailed(str(exc)) from None
    if report.temporary_password:
        click.echo(f"一時パスワード（この一度だけ表示します）: {report.temporary_password}")
    _print_report(report)


def _status_command(code: str, status: str, keycloak: bool) -> None:
    from tenants.lifecycle import LifecycleError, prefecture_unit_of_work
    from tenants.suspension import change_status

    settings = get_settings()
    with database_up() as (_, urls):

        async def go():
            directory = _keycloak_directory(settings, keycloak)
            try:
                async with prefecture_unit_of_work(urls.app, "cli") as session:
                    return await change_status(session, directory, code, status)
            finally:
                if directory is not None:
                    directory.close()

        try:
            report = asyncio.run(go())
        except LifecycleError as exc:
            raise CommandFailed(str(exc)) from None
    _print_report(report)


@tenants.command("suspend")
@click.argument("code")
@click.option("--keycloak/--no-keycloak", default=True, show_default=True,
              help="Also disable the Keycloak organization and log its users out.")
def tenants_suspend(code: str, keycloak: bool) -> None:
    """Suspend CODE: logins refused, data kept (reversible with resume)."""
    _status_command(code, "suspended", keycloak)


@tenants.command("resume")
@click.argument("code")
@click.option("--keycloak/--no-keycloak", default=True, show_default=True,
              help="Also enable the Keycloak organization again.")
def tenants_resume(code: str, keycloak: bool) -> None:
    """Resume a suspended tenant."""
    _status_command(code, "active", keycloak)


@tenants.command("offboard")
@click.argument("code")
@click.option("--output", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the archive and receipt (default: KYOSEI_DATA_DIR/offboarding/).")
@click.option("--export-only", is_flag=True, help="Write the archive and stop; delete nothing.")
@click.option("--yes", is_flag=True, help="Delete without asking (after a verified export).")
def tenants_offboard(code: str, output: Path | None, export_only: bool, yes: bool) -> None:
    """Export every row of CODE to an archive (docs/offboarding.md), then delete them with a receipt."""
    from tenants.lifecycle import LifecycleError
    from tenants.offboarding import default_archive_name, delete_tenant_rows, export_tenant, receipt_path

    settings = get_settings()
    folder = output or settings.data_dir / "offboarding"
    with database_up() as (_, urls):
        try:
            exported = asyncio.run(export_tenant(urls.owner, code, folder / default_archive_name(code)))
            click.echo(f"archive: {exported.path} ({exported.size} bytes, sha256 {exported.sha256})")
            for table in exported.manifest.tables:
                click.echo(f"  {table.name}: {table.rows} rows")
            if export_only:
                return
            if not yes and not click.confirm(f"{code} の全データを削除しますか（アーカイブは検証済み）？"):
                raise CommandFailed("not deleted (the archive is kept)")
            receipt = asyncio.run(delete_tenant_rows(urls.owner, code, exported.path))
        except LifecycleError as exc:
            raise CommandFailed(str(exc)) from None
    target = receipt_path(exported.path)
    target.write_text(receipt.to_json(), encoding="utf-8")
    click.echo(f"deleted {sum(receipt.deleted_rows.values())} rows; tenant {code} is offboarded")
    click.echo(f"receipt: {target}")


@tenants.command("import")
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
def tenants_import(archive: Path) -> None:
    """Restore a tenant archive into this database (same schema revision, no rows of that tenant yet)."""
    from tenants.lifecycle import LifecycleError
    from tenants.offboarding import import_archive

    with database_up() as (_, urls):
        try:
            counts = asyncio.run(import_archive(urls.owner, archive))
        except LifecycleError as exc:
            raise CommandFailed(str(exc)) from None
    for table, rows in counts.items():
        click.echo(f"  {table}: {rows} rows")
    click.echo(f"imported {sum(counts.values())} rows in {len(counts)} tables")


def _privileged_url(server: DatabaseServer) -> str:
    """A URL that sees every tenant's rows: the embedded superuser, or DATABASE_BACKUP_URL."""
    from infra.database.provision import DATABASE, with_database

    if server.embedded is not None:
        return with_database(server.embedded.superuser_url, DATABASE)
    if not server.settings.database_backup_url:
        raise CommandFailed("DATABASE_BACKUP_URL is not set (a role with BYPASSRLS is needed to back up every tenant)")
    return server.settings.database_backup_url


@cli.command()
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Backup file (default: KYOSEI_DATA_DIR/backups/kyosei-<UTC time>.dump).")
def backup(output: Path | None) -> None:
    """Back up the whole database (all tenants) with pg_dump."""
    import datetime as dt

    from infra.database.backup import backup as run_backup

    settings = get_settings()
    target = output or settings.data_dir / "backups" / f"kyosei-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}.dump"
    with database_up() as (server, _):
        receipt = run_backup(_privileged_url(server), target)
    click.echo(f"backup written: {receipt.path} ({receipt.size} bytes, sha256 {receipt.sha256})")
    click.echo(f"rows: {sum(receipt.row_counts.values())} in {len(receipt.row_counts)} tables")


@cli.command()
@click.argument("source", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--database", default=None, help="Database to restore into (default: the configured one).")
@click.option("--replace", is_flag=True, help="Drop the target database first (it must not be in use).")
def restore(source: Path, database: str | None, replace: bool) -> None:
    """Restore a backup into an empty database."""
    from urllib.parse import urlsplit

    from infra.database.backup import restore as run_restore
    from infra.database.provision import DATABASE

    settings = get_settings()
    server = DatabaseServer(settings)
    try:
        server.start()
        url = _privileged_url(server)
        target = database or (urlsplit(url).path.lstrip("/") or DATABASE)
        counts = run_restore(url, source, target, replace=replace)
    finally:
        if server.started_here:
            server.stop()
    click.echo(f"restored into {target}: {sum(counts.values())} rows in {len(counts)} tables")


@cli.group()
def audit() -> None:
    """The audit trail."""


@audit.command("verify")
def audit_verify() -> None:
    """Recompute every tenant's hash chain; name the first broken row and exit 1 if there is one."""
    from core.audit.chain import verify_chain

    with database_up() as (_, urls):
        report = asyncio.run(verify_chain(urls.owner))
    if report.intact:
        click.echo(f"audit chain intact: {report.rows_checked} rows in {report.tenants_checked} tenants")
        return
    for broken in report.breaks:
        click.echo(f"BROKEN: {broken}", err=True)
    raise CommandFailed(f"audit chain broken in {len(report.breaks)} tenant(s)")


# Plugins: `kyosei plugins list|approve|enable|disable|vendor-user` and `kyosei plugin new` (docs/plugins.md).
from core.plugins.commands import plugin_group, plugins_group  # noqa: E402

cli.add_command(plugins_group)
cli.add_command(plugin_group)


@cli.command()
@click.option("--host", default=None, help="Bind address (default KYOSEI_HOST).")
@click.option("--port", default=None, type=int, help="Port (default KYOSEI_PORT).")
@click.option("--keycloak/--no-keycloak", default=True, show_default=True,
              help="Start the local Keycloak when KEYCLOAK_URL is unset.")
def run(host: str | None, port: int | None, keycloak: bool) -> None:
    """Start everything (database, Keycloak, demo tenants) and serve until Ctrl-C or SIGTERM."""
    import uvicorn

    from core.app import create_app

    settings = get_settings()
    started = time.monotonic()
    # uvicorn re-raises the signal that stopped it once it has shut down; with the default SIGTERM action that
    # would kill us before the blocks below stop PostgreSQL and Keycloak, so turn it into a clean exit instead.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _shutdown)
    with database_up(seed=True) as (_, urls), _identity_provider(settings, keycloak):
        app = create_app(settings, app_database_url=urls.app)
        click.echo(f"Kyosei ready to serve after {time.monotonic() - started:.1f}s: {settings.public_url}/")
        # uvicorn turns SIGINT/SIGTERM into a clean return, so the finally blocks above stop PostgreSQL and Keycloak.
        # the header read timeout lives in the server's protocol; body size and time in core/request_guard.py
        from core.server import header_timeout_protocol

        uvicorn.run(app, host=host or settings.host, port=port or settings.port, log_config=None, access_log=False,
                    http=header_timeout_protocol(settings.header_timeout_seconds), timeout_keep_alive=5)


@contextlib.contextmanager
def _identity_provider(settings, wanted: bool) -> Iterator[None]:
    """Start the local Keycloak for `run` unless KEYCLOAK_URL points elsewhere (or --no-keycloak)."""
    if settings.keycloak_url or not wanted:
        yield
        return
    try:
        from infra.keycloak.local import local_keycloak
    except ImportError:  # the Keycloak module is optional during early development
        yield
        return
    with local_keycloak(settings):
        yield


class Shutdown(BaseException):
    """Raised by the signal handler so that every ``finally`` on the stack runs."""


def _shutdown(signum, frame) -> None:
    raise Shutdown(signum)


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except Shutdown:
        sys.exit(0)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (DatabaseUnreachable, EmbeddedPostgresError, SettingsError, BackupError) as exc:
        click.echo(f"kyosei: {exc}", err=True)
        sys.exit(1)
    except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        click.echo(f"kyosei: database error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
    except OSError as exc:
        click.echo(f"kyosei: {exc}", err=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
