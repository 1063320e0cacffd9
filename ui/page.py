"""What every full page needs: the principal, the CSRF token, navigation and the flash messages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.response import Template


@dataclass(frozen=True)
class NavEntry:
    label: str
    href: str
    active: bool = False


def navigation(request: Request, active: str) -> list[NavEntry]:
    """Core entries; plugins add theirs through the navigation hook (see docs/plugins.md)."""
    principal = request.scope.get("user")
    entries = [("ホーム", "/")]
    if principal is not None and principal.is_prefecture:
        entries = [("ホーム", "/")]
        if principal.has_role("prefecture-admin"):
            entries.append(("交付金（県集計）", "/prefecture/grants"))
            entries.append(("実施計画（市町村）", "/prefecture/grants/plans"))
            entries += [("県の管理", "/prefecture"), ("団体の導入", "/prefecture/onboarding"),
                        ("ロードマップ", "/prefecture/roadmap"), ("実態調査", "/prefecture/surveys"),
                        ("年間スケジュール", "/prefecture/schedule"), ("集計", "/prefecture/aggregates")]
    elif principal is not None:
        entries += [("相談ケース", "/cases"), ("世帯", "/households"), ("関係機関", "/agencies")]
        entries.append(("会議", "/meetings"))
        entries += [("事業・拠点", "/programs"), ("地域資源", "/resources")]
        entries.append(("交付金", "/grants"))
        entries.append(("実施計画", "/grants/plans"))
        if principal.has_role("tenant-admin"):
            entries.append(("実態調査の回答", "/survey"))
            entries += [("職員の管理", "/admin/staff"), ("緊急閲覧の確認", "/admin/break-glass")]
        if principal.has_role("tenant-admin", "auditor"):
            entries.append(("監査ログ", "/admin/audit"))
    return [NavEntry(label, href, href == active) for label, href in entries]


async def flash(request: Request, level: str, message: str) -> None:
    """Queue a message (success / warning / error) for the next page the user sees."""
    state = request.scope.setdefault("state", {})
    raw = state.get("session_raw")
    if raw:
        await request.app.state.session_store.add_flash(raw, level, message)
        state["flashes_pending"] = True


async def page_context(request: Request, *, active: str, **extra) -> dict:
    state = request.scope.get("state", {})
    raw = state.get("session_raw")
    # only ask the database when the session had messages waiting or this request queued one
    pending = state.get("flashes_pending")
    flashes = await request.app.state.session_store.pop_flashes(raw) if raw and pending is not False else []
    # Plugins the tenant enabled add their entries after the core ones (contained: a failing plugin adds none).
    from ui.plugins.extensions import plugin_navigation

    nav = navigation(request, active)
    nav += [NavEntry(link.label, link.href, link.href == active) for link in await plugin_navigation(request)]
    return {
        "principal": request.scope.get("user"),
        "csrf_token": state.get("csrf_token"),
        "nav": nav,
        "flashes": flashes,
        **extra,
    }


# -- what every page handler does -------------------------------------------------------------------------------

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


async def form_fields(request: Request) -> dict[str, str]:
    """A posted form as one string per field (the CSRF token left out); ``{}`` for any other body."""
    if not request.headers.get("content-type", "").startswith(FORM_TYPES):
        return {}
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


async def form_list(request: Request, name: str) -> list[str]:
    """Every value of a repeated field (checkboxes) of a posted form."""
    if not request.headers.get("content-type", "").startswith(FORM_TYPES):
        return []
    form = await request.form()
    return [v for v in form.getall(name, []) if isinstance(v, str)]


def render(template: str, context: dict[str, Any], status: int = 200) -> Template:
    """A page or, for htmx, the same page to select from: ``Vary`` keeps caches from mixing the two."""
    return Template(template, context=context, status_code=status, headers={"Vary": "HX-Request"})


def invalid_status(request: Request) -> int:
    """Bad input re-renders the form: 422 for a plain browser, 200 for htmx (which swaps only 2xx answers)."""
    return 200 if request.headers.get("hx-request") else 422


# -- the address bar after an htmx form post ---------------------------------------------------------------------

_KEEPS_ADDRESS = (b"hx-push-url", b"hx-replace-url", b"hx-redirect", b"hx-location", b"hx-refresh")


def address_bar_middleware(app):
    """Post/redirect/get for htmx: a form answered with a page (its errors, status 200/422) keeps the address bar.

    htmx pushes the URL a boosted form was sent to, so the re-rendered form sat at the POST URL and a reload asked
    for it with GET: 405 「この操作はできません」, or the browser offered to send the form again. A successful post
    answers 303 to a GET page, which htmx follows and pushes; every other answer to a non-GET htmx request now says
    ``HX-Push-Url: false``, so the address stays on the page the form came from and a reload simply shows it.
    """

    async def middleware(scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD"):
            await app(scope, receive, send)
            return
        htmx = any(name == b"hx-request" for name, _ in scope["headers"])

        async def send_keeping_address(message):
            if htmx and message["type"] == "http.response.start" and not 300 <= message["status"] < 400:
                headers = list(message.get("headers", []))
                if not any(name.lower() in _KEEPS_ADDRESS for name, _ in headers):
                    headers.append((b"hx-push-url", b"false"))
                    message = {**message, "headers": headers}
            await send(message)

        await app(scope, receive, send_keeping_address)

    return middleware
