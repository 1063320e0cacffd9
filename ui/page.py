"""What every full page needs: the principal, the CSRF token, navigation and the flash messages."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Request


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
    return [NavEntry(label, href, href == active) for label, href in entries]


async def page_context(request: Request, *, active: str, **extra) -> dict:
    state = request.scope.get("state", {})
    raw = state.get("session_raw")
    flashes = await request.app.state.session_store.pop_flashes(raw) if raw else []
    return {
        "principal": request.scope.get("user"),
        "csrf_token": state.get("csrf_token"),
        "nav": navigation(request, active),
        "flashes": flashes,
        **extra,
    }
