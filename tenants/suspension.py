"""Suspending (利用停止) and resuming (利用再開) a tenant: logins refused, data kept, reversible.

Suspend: the tenant row becomes ``suspended`` (through the SECURITY DEFINER function ``set_tenant_status``, the
prefecture's transaction), the Keycloak organization is disabled (left out of tokens' ``organization`` claim) and
each member's Keycloak sessions are ended. The app itself refuses a suspended tenant at every request
(core/auth/middleware.py ends the session and shows /auth/refused?reason=suspended) and at login, so the database
status is what counts; Keycloak is told as well so that no other client keeps a live session.
Resume reverses the first two; users log in again themselves.
"""

from __future__ import annotations

import asyncio
import time

import httpx
import structlog
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from infra.keycloak.admin import KeycloakAdminError
from tenants.directory import IdentityDirectory
from tenants.lifecycle import LifecycleError, Outcome, Report
from tenants.registry import InvalidLocalGovernmentCode, find

log = structlog.get_logger("kyosei.suspension")


async def _set_status(session: AsyncSession, code: str, status: str) -> str:
    try:
        async with session.begin_nested():
            return (
                await session.execute(text("SELECT set_tenant_status(:code, :status)"), {"code": code, "status": status})
            ).scalar_one()
    except DBAPIError as exc:
        if "not a tenant" in str(exc.orig) or "cannot change its own" in str(exc.orig):
            raise LifecycleError(f"{code} は利用中または停止中の団体ではありません。") from None
        raise


async def change_status(
    session: AsyncSession, directory: IdentityDirectory | None, code: str, status: str
) -> Report:
    """``status`` is 'suspended' or 'active'. ``directory`` None: database only (Keycloak step reported skipped)."""
    started = time.perf_counter()
    try:
        municipality = find(code)
    except InvalidLocalGovernmentCode as exc:
        raise LifecycleError(str(exc)) from None
    suspending = status == "suspended"
    report = Report(code=municipality.code, name=municipality.name)
    previous = await _set_status(session, municipality.code, status)
    report.add("tenant", "利用状況" + ("を停止" if suspending else "を再開"),
               Outcome.ALREADY if previous == status else Outcome.DONE,
               "ログインは拒否され、データは保持されます" if suspending else "ログインできるようになりました")

    if directory is None:
        report.add("organization", "ログイン基盤の団体", Outcome.SKIPPED, "ログイン基盤に接続していません")
    else:
        try:
            org = await asyncio.to_thread(directory.find_organization, municipality.code)
            if org is None:
                report.add("organization", "ログイン基盤の団体", Outcome.SKIPPED, "登録がありません")
            else:
                enabled = org.get("enabled", True)
                if suspending:
                    await asyncio.to_thread(directory.disable_organization, org["id"])
                    report.add("organization", "ログイン基盤の団体を無効化", Outcome.DONE if enabled else Outcome.ALREADY)
                    members = await asyncio.to_thread(directory.members, org["id"])
                    for member in members:
                        await asyncio.to_thread(directory.logout_user, member["id"])
                    report.add("sessions", "利用者のログアウト", Outcome.DONE if members else Outcome.SKIPPED,
                               f"{len(members)}人をログアウトさせました")
                else:
                    await asyncio.to_thread(directory.enable_organization, org["id"])
                    report.add("organization", "ログイン基盤の団体を有効化", Outcome.ALREADY if enabled else Outcome.DONE)
        except (KeycloakAdminError, httpx.HTTPError, OSError) as exc:
            log.warning("status change: keycloak step failed", tenant=municipality.code, error=type(exc).__name__)
            report.add("organization", "ログイン基盤の団体", Outcome.FAILED,
                       "ログイン基盤に接続できません。利用状況の変更は有効です。もう一度実行してください")
    report.elapsed_seconds = time.perf_counter() - started
    log.info("tenant status changed", tenant=municipality.code, status=status, previous=previous)
    return report


async def suspend(session: AsyncSession, directory: IdentityDirectory | None, code: str) -> Report:
    return await change_status(session, directory, code, "suspended")


async def resume(session: AsyncSession, directory: IdentityDirectory | None, code: str) -> Report:
    return await change_status(session, directory, code, "active")
