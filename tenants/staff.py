"""職員の管理: a municipality's tenant admin invites staff, gives and takes roles (plugin roles such as 中土佐町's
コーディネーターA–E included) and retires people — all kept in Keycloak, for this municipality only.

- Roles are the organization's own groups (docs/roles.md): giving a role puts the person in that group of *this*
  organization; their roles elsewhere are untouched. A plugin role (``kyosei_roles``) is a group named by its code,
  mapped to its ``base_role`` (created the first time it is given).
- **Invite**: a new Keycloak user (user name = e-mail address) with a one-time password shown once to the admin
  and a required password change at first login; an existing account (someone of another municipality) is added
  as a member with its password unchanged. The person is listed in the staff directory at once, so they can be
  picked as an assignee or meeting member before their first login.
- **Retire** (退職): the person leaves this organization's groups and sessions end; a person of no other
  municipality is disabled in Keycloak (cannot log in), someone who also works elsewhere loses only this
  membership. The staff-directory row stays (history names them) with ``retired_at``: never pickable again.

Every change is audited (object ``staff``, the Keycloak user id; never the name). Keycloak calls run in a worker
thread; a Keycloak that does not answer is a 503 with nothing written on our side.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.audit.trail import AuditAction, record
from core.auth.principal import Principal, Role
from core.auth.staff_directory import StaffEntry
from core.database import utc_now
from core.field_input import FieldReader, InputInvalid
from core.plugin_types import RoleDefinition
from core.plugins.unit_of_work import ask_plugins
from core.text_rules import search_key
from infra.keycloak.admin import KeycloakAdminError
from infra.keycloak.realm import MUNICIPAL_ROLES
from tenants.directory import IdentityDirectory
from tenants.onboarding import temporary_password

log = structlog.get_logger("kyosei.staff")

CORE_ROLE_LABELS: dict[str, str] = {
    "staff": "職員",
    "coordinator": "包括化推進員・コーディネーター",
    "tenant-admin": "団体管理者",
    "auditor": "監査担当",
}
_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s]{2,}")
_CODE = re.compile(r"[a-z][a-z0-9_]{0,39}")


class StaffError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class RoleOption:
    code: str
    label: str
    base_role: str  # the kyosei-web role the group carries
    plugin: str | None = None
    duties: tuple[str, ...] = ()


@dataclass
class StaffMember:
    user_id: str
    username: str
    display_name: str
    email: str | None = None
    enabled: bool = True
    roles: set[str] = field(default_factory=set)
    retired_at: dt.datetime | None = None
    last_seen_at: dt.datetime | None = None

    @property
    def active(self) -> bool:
        return self.retired_at is None and self.enabled


@dataclass
class Invitation:
    member: StaffMember
    temporary_password: str | None  # shown once; None when an existing account was added
    existing_account: bool


def require_admin(principal: Principal) -> None:
    if principal.is_prefecture or not principal.has_role(Role.TENANT_ADMIN):
        raise StaffError(403, "職員の管理は、この団体の団体管理者だけが行えます。")


async def _kc(fn, *args, **kwargs):
    try:
        return await asyncio.to_thread(fn, *args, **kwargs)
    except (KeycloakAdminError, httpx.HTTPError, OSError) as exc:
        log.warning("keycloak call failed", call=getattr(fn, "__name__", "?"), error=type(exc).__name__)
        raise StaffError(503, "認証サーバー（Keycloak）に接続できないため、今は操作できません。しばらくしてからもう一度お試しください。"
                         ) from None


async def role_options(session: AsyncSession) -> list[RoleOption]:
    """Core roles, then the roles the tenant's plugins define (a plugin role whose base role is not a municipal
    role, or whose code is taken, is skipped)."""
    options = [RoleOption(code, label, code) for code, label in CORE_ROLE_LABELS.items()]
    taken = {o.code for o in options}
    for plugin, answer in await ask_plugins(session, "kyosei_roles"):
        for role in answer if isinstance(answer, (list, tuple)) else ():
            if (not isinstance(role, RoleDefinition) or not _CODE.fullmatch(role.code) or role.code in taken
                    or role.base_role not in MUNICIPAL_ROLES):
                log.warning("plugin role skipped", plugin=plugin)
                continue
            taken.add(role.code)
            options.append(RoleOption(role.code, role.label, role.base_role, plugin, tuple(role.duties)))
    return options


async def _organization_id(directory: IdentityDirectory, tenant_id: str) -> str:
    org = await _kc(directory.find_organization, tenant_id)
    if org is None:
        raise StaffError(409, "この団体の組織が Keycloak にありません。県の管理者に導入（オンボーディング）を依頼してください。")
    return org["id"]


async def _roles_by_user(directory: IdentityDirectory, org_id: str) -> tuple[dict[str, set[str]], dict[str, str]]:
    groups = {g["name"]: g["id"] for g in await _kc(directory.organization_groups, org_id)}
    by_user: dict[str, set[str]] = {}
    for name, group_id in groups.items():
        for member in await _kc(directory.organization_group_members, org_id, group_id):
            by_user.setdefault(member["id"], set()).add(name)
    return by_user, groups


def _name(rep: Mapping[str, Any]) -> str:
    full = " ".join(p for p in (rep.get("lastName"), rep.get("firstName")) if p)
    return full or rep.get("username", "")


@dataclass
class StaffList:
    members: list[StaffMember]
    roles_known: bool = True  # False: Keycloak did not answer, the list comes from the staff directory alone


async def list_staff(session: AsyncSession, directory: IdentityDirectory, tenant_id: str) -> StaffList:
    """Members of the municipality's organization with their roles here, then retired people (from the directory).
    When Keycloak does not answer, the directory's people without roles (and the page says so)."""
    listed = {e.user_sub: e for e in await session.scalars(select(StaffEntry))}
    await record(session, AuditAction.READ, "staff", None, reason="list")
    try:
        org_id = await _organization_id(directory, tenant_id)
        members = await _kc(directory.members, org_id)
        roles, _ = await _roles_by_user(directory, org_id)
    except StaffError as exc:
        if exc.status != 503:
            raise
        return StaffList(sorted((StaffMember(user_id=e.user_sub, username=e.username, display_name=e.display_name,
                                             retired_at=e.retired_at, last_seen_at=e.last_seen_at)
                                 for e in listed.values()), key=lambda m: (m.retired_at is not None, m.display_name)),
                         roles_known=False)
    staff = []
    for rep in members:
        entry = listed.get(rep["id"])
        staff.append(StaffMember(user_id=rep["id"], username=rep.get("username", ""), display_name=_name(rep),
                                 email=rep.get("email"), enabled=bool(rep.get("enabled", True)),
                                 roles=roles.get(rep["id"], set()),
                                 retired_at=entry.retired_at if entry else None,
                                 last_seen_at=entry.last_seen_at if entry else None))
    # Members added in Keycloak directly (not invited here) join the directory now, so they can be managed and
    # picked before their first login; an existing row (a retirement among them) is left as it is.
    unlisted = [m for m in staff if m.user_id not in listed]
    if unlisted:
        await session.execute(insert(StaffEntry).values([
            {"tenant_id": tenant_id, "user_sub": m.user_id, "username": m.username[:255] or m.user_id,
             "display_name": (m.display_name or m.username or m.user_id)[:255],
             "display_name_key": search_key((m.display_name or m.username or m.user_id)[:255])} for m in unlisted
        ]).on_conflict_do_nothing(index_elements=["tenant_id", "user_sub"]))
    present = {m.user_id for m in staff}
    staff += [StaffMember(user_id=e.user_sub, username=e.username, display_name=e.display_name, enabled=False,
                          retired_at=e.retired_at, last_seen_at=e.last_seen_at)
              for e in listed.values() if e.retired_at is not None and e.user_sub not in present]
    staff.sort(key=lambda m: (m.retired_at is not None, not m.enabled, m.display_name))
    return StaffList(staff)


def _read_roles(r: FieldReader, raw: Any, options: list[RoleOption]) -> list[str]:
    values = raw if isinstance(raw, list) else ([raw] if isinstance(raw, str) and raw else [])
    known = {o.code for o in options}
    if any(not isinstance(v, str) or v not in known for v in values):
        r.fail("roles", "役割は一覧から選んでください。")
        return []
    return list(dict.fromkeys(values))


async def _apply_roles(directory: IdentityDirectory, org_id: str, user_id: str, wanted: set[str],
                       options: list[RoleOption], groups: dict[str, str], held: set[str]) -> None:
    by_code = {o.code: o for o in options}
    for code in sorted(wanted - held):
        group_id = groups.get(code) or await _kc(directory.ensure_organization_group, org_id, code,
                                                  by_code[code].base_role)
        groups[code] = group_id
        await _kc(directory.join_organization_group, org_id, group_id, user_id)
    for code in sorted((held - wanted) & set(by_code)):
        if code in groups:
            await _kc(directory.leave_organization_group, org_id, groups[code], user_id)


async def invite(session: AsyncSession, directory: IdentityDirectory, principal: Principal,
                 data: Mapping[str, Any]) -> Invitation:
    """A new staff member of the bound municipality (see the module docstring)."""
    require_admin(principal)
    tenant_id = principal.tenant_id or ""
    options = await role_options(session)
    r = FieldReader(data)
    family = r.text("family_name", "姓", 50, required=True)
    given = r.text("given_name", "名", 50, required=True)
    email = (r.text("email", "メールアドレス", 200, required=True) or "").lower()
    if email and not _EMAIL.fullmatch(email):
        r.fail("email", "メールアドレスの形が正しくありません（例: yamada@town.nakatosa.example.jp）。")
    roles = _read_roles(r, data.get("roles"), options)
    if not roles and not r.errors:
        r.fail("roles", "役割を少なくとも1つ選んでください（通常は「職員」）。")
    r.done()
    org_id = await _organization_id(directory, tenant_id)
    existing = await _kc(directory.find_user, email)
    password = None
    if existing is None:
        password = temporary_password()
        user_id = await _kc(directory.ensure_user, email, email, given, family, None, ["UPDATE_PASSWORD"])
        await _kc(directory.set_password, user_id, password, True)
    else:
        user_id = existing["id"]
        if not existing.get("enabled", True):
            raise StaffError(409, "このメールアドレスのアカウントは無効（退職済み）です。再び迎える場合は県の管理者に相談してください。")
    await _kc(directory.add_member, org_id, user_id)
    held = await _kc(directory.member_groups, org_id, user_id)
    _, groups = await _roles_by_user(directory, org_id)
    await _apply_roles(directory, org_id, user_id, set(roles), options, groups, held)
    display = f"{family} {given}" if existing is None else _name(existing)
    stmt = insert(StaffEntry).values(tenant_id=tenant_id, user_sub=user_id, username=email, display_name=display[:255],
                                     display_name_key=search_key(display[:255]), last_seen_at=None, retired_at=None)
    await session.execute(stmt.on_conflict_do_update(index_elements=["tenant_id", "user_sub"],
                                                     set_={"retired_at": None}))
    await record(session, AuditAction.CREATE, "staff", user_id, reason="invited" if existing is None else "added")
    log.info("staff invited", tenant=tenant_id, existing=existing is not None)
    return Invitation(StaffMember(user_id=user_id, username=email, display_name=display, email=email,
                                  roles=set(roles) | (held & {o.code for o in options})),
                      password, existing is not None)


async def _listed(session: AsyncSession, user_id: str) -> None:
    """The person must be in this municipality's staff directory (the tenant wall answers for another one's
    people) before Keycloak is asked anything about them."""
    if await session.scalar(select(StaffEntry.user_sub).where(StaffEntry.user_sub == user_id)) is None:
        raise StaffError(404, "この団体の職員ではありません。")


async def _member(directory: IdentityDirectory, org_id: str, user_id: str) -> dict:
    members = await _kc(directory.members, org_id)
    rep = next((m for m in members if m.get("id") == user_id), None)
    if rep is None:
        raise StaffError(404, "この団体の職員ではありません。")
    return rep


async def set_roles(session: AsyncSession, directory: IdentityDirectory, principal: Principal, user_id: str,
                    data: Mapping[str, Any]) -> set[str]:
    """Give and take roles in the bound municipality: ``data["roles"]`` is the full set wanted."""
    require_admin(principal)
    options = await role_options(session)
    r = FieldReader(data)
    wanted = set(_read_roles(r, data.get("roles"), options))
    r.done()
    if user_id == principal.sub and Role.TENANT_ADMIN not in wanted:
        raise InputInvalid([{"field": "roles", "message": "自分自身の団体管理者の役割は外せません（他の管理者に依頼してください）。"}])
    await _listed(session, user_id)
    org_id = await _organization_id(directory, principal.tenant_id or "")
    await _member(directory, org_id, user_id)
    held = await _kc(directory.member_groups, org_id, user_id)
    _, groups = await _roles_by_user(directory, org_id)
    await _apply_roles(directory, org_id, user_id, wanted, options, groups, held)
    await record(session, AuditAction.UPDATE, "staff", user_id, reason="roles: " + ",".join(sorted(wanted)))
    return wanted


async def retire(session: AsyncSession, directory: IdentityDirectory, principal: Principal, user_id: str,
                 data: Mapping[str, Any]) -> None:
    """退職: see the module docstring. The person's past records keep naming them. The form confirms it
    (``confirm=yes``): retiring ends the person's logins at once."""
    require_admin(principal)
    if data.get("confirm") != "yes":
        raise InputInvalid([{"field": "confirm", "message": "退職にする場合は、確認のチェックを入れてください。"}])
    if user_id == principal.sub:
        raise StaffError(409, "自分自身を退職にすることはできません。")
    await _listed(session, user_id)
    tenant_id = principal.tenant_id or ""
    org_id = await _organization_id(directory, tenant_id)
    rep = await _member(directory, org_id, user_id)
    held = await _kc(directory.member_groups, org_id, user_id)
    _, groups = await _roles_by_user(directory, org_id)
    for name in held:
        if name in groups:
            await _kc(directory.leave_organization_group, org_id, groups[name], user_id)
    others = [o for o in await _kc(directory.user_organizations, user_id) if o.get("alias") != tenant_id]
    if others:
        await _kc(directory.remove_member, org_id, user_id)
    else:
        await _kc(directory.set_user_enabled, user_id, False)
    await _kc(directory.logout_user, user_id)
    stmt = insert(StaffEntry).values(tenant_id=tenant_id, user_sub=user_id, username=rep.get("username", user_id),
                                     display_name=_name(rep)[:255], display_name_key=search_key(_name(rep)[:255]),
                                     retired_at=utc_now())
    await session.execute(stmt.on_conflict_do_update(index_elements=["tenant_id", "user_sub"],
                                                     set_={"retired_at": stmt.excluded.retired_at}))
    await record(session, AuditAction.UPDATE, "staff", user_id,
                 reason="retired" + (" (membership ended; works for another municipality)" if others else " (disabled)"))
    log.info("staff retired", tenant=tenant_id, disabled=not others)


async def setup_needed(session: AsyncSession) -> bool:
    """True while the bound municipality has at most one current person in its directory: a new municipality's
    first admin, alone, is guided to invite staff from the home page."""
    count = await session.scalar(select(func.count()).select_from(StaffEntry).where(StaffEntry.retired_at.is_(None)))
    return (count or 0) <= 1


__all__ = ["CORE_ROLE_LABELS", "Invitation", "RoleOption", "StaffError", "StaffMember", "invite", "list_staff",
           "StaffList", "retire", "role_options", "set_roles", "setup_needed"]
