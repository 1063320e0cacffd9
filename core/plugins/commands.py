"""``kyosei plugins …`` (operate plugins across tenants) and ``kyosei plugin new NAME`` (start a plugin).

Prefecture-wide operations run as the owner role (``core.plugins.operator``): approvals without a tenant, tenant
tables one bound tenant at a time.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import click


def _installed():
    from core.app import build_plugin_host

    return build_plugin_host()


@click.group("plugins")
def plugins_group() -> None:
    """Installed plugins: approval by the prefecture, enablement per tenant."""


@plugins_group.command("list")
def plugins_list() -> None:
    """Installed plugins with their approval and the tenants that enabled them; refused plugins last."""
    from core.cli import database_up
    from core.plugins import operator

    host = _installed()
    with database_up() as (_, urls):
        statuses = asyncio.run(operator.statuses(urls.owner))
        usage = asyncio.run(operator.usage(urls.owner))
    if not host.plugins:
        click.echo("no plugins installed")
    for name, plugin in sorted(host.plugins.items()):
        info = plugin.info
        tenants = [u.tenant_id for u in usage if u.plugin_name == name and u.enabled]
        click.echo(f"{name}  {info.version}  vendor={info.vendor}  api={','.join(info.api_versions)}  "
                   f"{statuses.get((name, info.version), 'pending')}  ({plugin.source})  "
                   f"tenants: {', '.join(tenants) or '-'}")
    for refusal in host.refused:
        click.echo(f"REFUSED {refusal.name}  ({refusal.source}): {refusal.reason}")


@plugins_group.command("approve")
@click.argument("name")
@click.argument("version")
@click.option("--revoke", is_flag=True, help="Withdraw the approval instead.")
def plugins_approve(name: str, version: str, revoke: bool) -> None:
    """Approve (or --revoke) an installed plugin version; only approved versions can be enabled by tenants."""
    from core.cli import CommandFailed, database_up
    from core.plugins import operator

    plugin = _installed().plugins.get(name)
    if plugin is None or plugin.info.version != version:
        raise CommandFailed(f"plugin {name} {version} is not installed")
    with database_up() as (_, urls):
        asyncio.run(operator.approve(urls.owner, plugin.info, "revoked" if revoke else "approved"))
    click.echo(f"{name} {version}: {'revoked' if revoke else 'approved'}")


def _set_enabled(tenant: str, name: str, enabled: bool) -> None:
    from core.cli import CommandFailed, database_up
    from core.plugins import operator
    from core.plugins.manager import SANDBOX_TENANT

    plugin = _installed().plugins.get(name)
    if plugin is None:
        raise CommandFailed(f"plugin {name} is not installed")
    with database_up() as (_, urls):
        if tenant not in asyncio.run(operator.tenants(urls.owner)):
            raise CommandFailed(f"{tenant} is not a tenant")
        if enabled and tenant != SANDBOX_TENANT:
            status = asyncio.run(operator.statuses(urls.owner)).get((name, plugin.info.version))
            if status != "approved":
                raise CommandFailed(f"{name} {plugin.info.version} is not approved (kyosei plugins approve)")
        asyncio.run(operator.set_enabled(urls.owner, tenant, name, enabled))
        if enabled:  # its programme catalog comes with it, as on /admin/plugins (issue 19)
            from tenants.seed import install_bundled_catalog

            asyncio.run(install_bundled_catalog(urls.owner, tenant, plugin.obj))
    click.echo(f"{name} {'enabled' if enabled else 'disabled'} for {tenant}")


@plugins_group.command("enable")
@click.argument("tenant")
@click.argument("name")
def plugins_enable(tenant: str, name: str) -> None:
    """Enable plugin NAME for TENANT (6-digit code); the installed version must be approved."""
    _set_enabled(tenant, name, True)


@plugins_group.command("disable")
@click.argument("tenant")
@click.argument("name")
def plugins_disable(tenant: str, name: str) -> None:
    """Disable plugin NAME for TENANT (its settings are kept)."""
    _set_enabled(tenant, name, False)


@plugins_group.command("vendor-user")
@click.argument("vendor")
@click.argument("username")
@click.option("--keycloak/--no-keycloak", default=True, show_default=True,
              help="Also seat the account in Keycloak: member of 高知県 (390003) with the vendor role only.")
def plugins_vendor_user(vendor: str, username: str, keycloak: bool) -> None:
    """Let Keycloak user USERNAME see plugins of VENDOR in the vendor seat (/vendor/plugins)."""
    from core.cli import CommandFailed, database_up, get_settings
    from core.plugins import operator

    if keycloak:
        from tenants.directory import keycloak_directory
        from tenants.vendors import VendorSeatRefused, seat_vendor_account

        try:
            with keycloak_directory(get_settings()) as directory:
                changes = seat_vendor_account(directory, username)
        except VendorSeatRefused as exc:
            raise CommandFailed(str(exc)) from None
        for change in changes:
            click.echo(f"Keycloak: {change}")
    with database_up() as (_, urls):
        asyncio.run(operator.add_vendor_user(urls.owner, vendor, username))
    click.echo(f"{username} speaks for vendor {vendor}")


@click.group("plugin")
def plugin_group() -> None:
    """For plugin authors."""


@plugin_group.command("new")
@click.argument("name")
@click.option("--vendor", default="your-vendor-id", show_default=True, help="Your vendor id (from the prefecture).")
@click.option("--directory", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to create the folder (default: ./kyosei-plugin-NAME).")
def plugin_new(name: str, vendor: str, directory: Path | None) -> None:
    """Create a plugin project: pyproject.toml with the entry point, the module, a template and a test."""
    from core.cli import CommandFailed
    from core.plugins.scaffold import ScaffoldError, create_plugin_project

    try:
        folder = create_plugin_project(name, vendor, directory or Path.cwd() / f"kyosei-plugin-{name.replace('_', '-')}")
    except ScaffoldError as exc:
        raise CommandFailed(str(exc)) from None
    click.echo(f"created {folder}")
    click.echo(f"next: pip install -e {folder} && pytest {folder}")


@plugin_group.command("check")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
def plugin_check(path: Path) -> None:
    """Fail if the plugin under PATH imports Kyosei internals instead of the public plugin API."""
    from core.plugins.boundaries import forbidden_imports

    found = forbidden_imports(path)
    for violation in found:
        click.echo(str(violation), err=True)
    if found:
        raise SystemExit(1)
    click.echo(f"{path}: 公開APIのみを使っています (imports only the public plugin API)")
