"""Onboarding a municipality (団体の導入): tenant row, Keycloak organization and roles, first tenant admin, plugins.

One service for the wizard (/prefecture/onboarding) and the CLI (``kyosei tenants onboard``). Idempotent: each step
first looks at what exists and reports "既にあります" rather than failing, so a half-finished run is completed by
running it again.

Decisions:
- The tenant row is written by the SECURITY DEFINER function ``onboard_tenant(code)`` (migration 0009), called by
  the app role in a transaction bound to the prefecture. The app role keeps SELECT-only on ``tenant``; the
  function refuses unless ``app.tenant_id = '390003'`` and can only add (or reactivate) a registry municipality.
- The first tenant admin gets a one-time temporary password, shown once (wizard page / CLI output) and never
  stored, plus Keycloak's required action UPDATE_PASSWORD: the person must choose their own password at first
  login. We chose this over "required actions only" because the demo and many municipalities have no mail
  server configured in Keycloak (an execute-actions e-mail would never arrive); the prefecture hands the
  temporary password over by phone or in person. A re-run never resets the password of an existing user.
"""

from __future__ import annotations

import asyncio
import secrets
import string
import time
from dataclasses import dataclass

import httpx
import structlog
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from infra.keycloak.admin import KeycloakAdminError
from tenants.directory import IdentityDirectory
from tenants.lifecycle import LifecycleError, Outcome, Report
from tenants.registry import InvalidLocalGovernmentCode, Municipality, find

log = structlog.get_logger("kyosei.onboarding")

FIRST_ADMIN_ROLES = ["tenant-admin", "staff"]
TENANT_ROLES = {  # the kyosei-web client roles a municipality's users are given
    "staff": "職員",
    "coordinator": "包括化推進員・コーディネーター",
    "tenant-admin": "団体管理者",
    "auditor": "監査担当",
}


# The bundled plugins written for one municipality's way of working (plugins/<name>): its home, where onboarding
# enables it by default. Vendors' plugins are enabled by the municipality itself, never by default.
MUNICIPALITY_PLUGINS: dict[str, tuple[str, ...]] = {"392049": ("nankoku",), "394017": ("nakatosa",)}


def default_plugins_for(code: str) -> list[str]:
    """The plugins a newly onboarded municipality starts with (enabled only once the prefecture approved them)."""
    return list(MUNICIPALITY_PLUGINS.get(code, ()))


async def enable_default_plugins(session: AsyncSession, code: str) -> tuple[list[str], list[str]]:
    """Enable the default plugins for ``code``: ``(enabled now, not approved)``; already-present rows are kept as
    they are (a municipality that switched a plugin off is not switched back on by a re-run).

    ``tenant_plugin`` is behind the wall, so the row is written with the transaction bound to the new tenant for
    that one statement and then bound back to what it was (the prefecture); ``code`` is a registry code validated above.
    """
    enabled, unapproved = [], []
    for name in default_plugins_for(code):
        approved = await session.scalar(text(
            "SELECT true FROM plugin_version WHERE name = :name AND status = 'approved' LIMIT 1"), {"name": name})
        if not approved:
            unapproved.append(name)
            continue
        bound = await session.scalar(text("SELECT current_setting('app.tenant_id', true)"))
        await session.execute(text("SELECT set_config('app.tenant_id', :code, true)"), {"code": code})
        try:
            added = await session.scalar(text(
                "INSERT INTO tenant_plugin (tenant_id, plugin_name, enabled, changed_by) "
                "VALUES (:code, :name, true, 'onboarding') ON CONFLICT (tenant_id, plugin_name) DO NOTHING "
                "RETURNING plugin_name"), {"code": code, "name": name})
        finally:
            await session.execute(text("SELECT set_config('app.tenant_id', :code, true)"), {"code": bound or ""})
        if added:
            enabled.append(name)
    return enabled, unapproved


def temporary_password() -> str:
    """16 characters from letters and digits (no look-alikes), with at least one of each kind."""
    alphabet = "".join(c for c in string.ascii_letters + string.digits if c not in "Il1O0o")
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(16))
        if any(c.isdigit() for c in candidate) and any(c.isupper() for c in candidate) and any(
            c.islower() for c in candidate
        ):
            return candidate


@dataclass
class OnboardingReport(Report):
    username: str = ""
    temporary_password: str | None = None  # shown once, never stored


def municipality_for_onboarding(code: str) -> Municipality:
    try:
        municipality = find(code.strip())
    except InvalidLocalGovernmentCode as exc:
        raise LifecycleError(str(exc)) from None
    if municipality.is_prefecture:
        raise LifecycleError("高知県は導入の対象ではありません（既に利用中です）。")
    return municipality


def _split_name(admin_name: str | None, municipality: Municipality) -> tuple[str, str]:
    parts = (admin_name or "").split()
    if len(parts) >= 2:
        return parts[0], " ".join(parts[1:])  # 姓, 名
    if len(parts) == 1:
        return parts[0], "管理者"
    return municipality.name, "管理者"


async def register_tenant(session: AsyncSession, code: str) -> str:
    """'created', 'reactivated' or 'already' (the prefecture's transaction; see module docstring)."""
    return (await session.execute(text("SELECT onboard_tenant(:code)"), {"code": code})).scalar_one()


async def onboard(
    session: AsyncSession,
    directory: IdentityDirectory,
    code: str,
    admin_email: str,
    admin_name: str | None = None,
) -> OnboardingReport:
    """Onboard ``code``. ``session`` is a transaction bound to the prefecture; Keycloak calls run in a thread.

    A failing step is reported as FAILED and the remaining steps are not attempted; the tenant row written so far
    stays (the caller commits), so running again picks up where it stopped.
    """
    started = time.perf_counter()
    municipality = municipality_for_onboarding(code)
    email = admin_email.strip().lower()
    if "@" not in email or len(email) > 200 or any(c.isspace() for c in email):
        raise LifecycleError("管理者のメールアドレスを正しく入力してください。")
    report = OnboardingReport(code=municipality.code, name=municipality.name, username=email)
    report.add("registry", "団体コードの確認", Outcome.DONE,
               f"{municipality.code} {municipality.name}（{municipality.kind.label}）")

    async def kc(fn, *args, **kwargs):
        return await asyncio.to_thread(fn, *args, **kwargs)

    try:
        outcome = await register_tenant(session, municipality.code)
        report.add("tenant", "利用団体として登録", Outcome.ALREADY if outcome == "already" else Outcome.DONE,
                   {"created": "利用中として登録しました", "reactivated": "利用終了から再開しました",
                    "already": "登録済みです"}[outcome])

        existing = await kc(directory.find_organization, municipality.code)
        org_id = existing["id"] if existing else await kc(
            directory.ensure_organization, municipality.code, municipality.name,
            kind=municipality.kind.value, kana=municipality.kana, romaji=municipality.romaji,
        )
        if existing and not existing.get("enabled", True):
            await kc(directory.enable_organization, org_id)
        report.add("organization", "ログイン基盤への団体の登録", Outcome.ALREADY if existing else Outcome.DONE,
                   f"別名 {municipality.code}")

        missing = await kc(directory.missing_client_roles, list(TENANT_ROLES))
        for role in missing:
            await kc(directory.create_client_role, role, TENANT_ROLES[role])
        report.add("roles", "役割（ロール）", Outcome.DONE if missing else Outcome.ALREADY,
                   "、".join(TENANT_ROLES[r] for r in (missing or TENANT_ROLES)))

        user = await kc(directory.find_user, email)
        if user is None:
            last, first = _split_name(admin_name, municipality)
            password = temporary_password()
            user_id = await kc(directory.ensure_user, email, email, first, last, None, ["UPDATE_PASSWORD"])
            await kc(directory.set_password, user_id, password, True)
            report.temporary_password = password
            report.add("admin", "最初の団体管理者", Outcome.DONE,
                       f"ユーザー名 {email}（初回ログイン時にパスワードの変更が必要です）")
        else:
            user_id = user["id"]
            report.add("admin", "最初の団体管理者", Outcome.ALREADY, f"ユーザー名 {email}（パスワードは変更していません）")
        await kc(directory.add_member, org_id, user_id)
        have = await kc(directory.client_roles_of, user_id)
        lacking = [r for r in FIRST_ADMIN_ROLES if r not in have]
        if lacking:
            await kc(directory.grant_client_roles, user_id, roles=lacking)
        report.add("membership", "組織への所属と役割の付与", Outcome.DONE if lacking or user is None else Outcome.ALREADY,
                   "団体管理者・職員")

        enabled, unapproved = await enable_default_plugins(session, municipality.code)
        if not default_plugins_for(municipality.code):
            report.add("plugins", "既定のプラグイン", Outcome.SKIPPED, "既定で有効にするプラグインはありません")
        elif unapproved:
            report.add("plugins", "既定のプラグイン", Outcome.SKIPPED,
                       f"県の承認待ちのため有効にしていません: {'、'.join(unapproved)}（承認後にもう一度実行してください）")
        else:
            report.add("plugins", "既定のプラグイン", Outcome.DONE if enabled else Outcome.ALREADY,
                       "、".join(default_plugins_for(municipality.code)))
    except (KeycloakAdminError, httpx.HTTPError, OSError) as exc:  # Keycloak down or refusing: run again later
        log.warning("onboarding step failed", tenant=municipality.code, error=type(exc).__name__)
        report.add("error", "途中で失敗しました", Outcome.FAILED, f"{type(exc).__name__}: もう一度実行すると続きから再開します")
    report.elapsed_seconds = time.perf_counter() - started
    log.info("onboarding", tenant=municipality.code, ok=report.ok, seconds=round(report.elapsed_seconds, 3))
    return report


async def onboarding_candidates(session: AsyncSession) -> list[dict]:
    """Registry municipalities that are not (or no longer) tenants: what the wizard offers."""
    rows = await session.execute(text(
        "SELECT m.code, m.name, m.kana, m.kind, t.status FROM municipality m "
        "LEFT JOIN tenant t ON t.tenant_id = m.code "
        "WHERE m.kind <> 'prefecture' AND (t.tenant_id IS NULL OR t.status = 'offboarded') ORDER BY m.code"
    ))
    return [dict(r._mapping) for r in rows]
