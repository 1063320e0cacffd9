"""No 500 for anything a user can type: every unsafe page route of the app (from its own route table) gets form
bodies a browser or a careless paste can produce — control characters, invalid UTF-8, 100,000 characters, emoji,
numbers far out of range — filled into every field name the templates use, with the user's own objects in the path.
Each answer must be a handled one (redirect, 4xx page), never a server error.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.isolation import is_tenantless, tenant_world
from tests.sessions import login, open_session

TENANT, PREFECTURE = "394017", "390003"
ALL_ROLES = ("staff", "coordinator", "tenant-admin", "auditor")
PARAM = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)(?::[a-z]+)?\}")
TEMPLATES = Path(__file__).resolve().parents[1] / "ui" / "templates"
NAME = re.compile(r'name="([A-Za-z_][A-Za-z0-9_.\-]*)"')

HOSTILE_VALUES = {
    "control characters": quote("a\x00b\x1bc"),
    "invalid UTF-8": "%FF%FE%C3%28",
    "100,000 characters": "A" * 100_000,
    "emoji and a lone surrogate as CESU bytes": quote("😀") + "%ED%A0%80",
    "out-of-range numbers and dates": quote("99999999999999999999-13-45"),
}


def field_names() -> list[str]:
    names = {n for t in TEMPLATES.rglob("*.html") for n in NAME.findall(t.read_text(encoding="utf-8"))}
    names.discard("csrf_token")
    return sorted(names)


PREFECTURE_PAGES = ("/prefecture", "/admin")


def page_post_routes(app, prefecture: bool) -> list[str]:
    return sorted({route.path for route in app.routes if "POST" in getattr(route, "methods", ())
                   and not route.path.startswith(("/api", "/auth", "/schema")) and not is_tenantless(route.path)
                   and route.path.startswith(PREFECTURE_PAGES) == prefecture})


@pytest.fixture(scope="module")
def own_objects(database_urls):
    # consistent ids (the member of that meeting, the consent of that case), so hostile input reaches those forms
    return tenant_world(database_urls, TENANT)


@pytest.mark.parametrize("kind", list(HOSTILE_VALUES))
@pytest.mark.parametrize("who", ["municipal staff", "prefecture admin"])
def test_hostile_form_input_never_gets_a_server_error(app, client, database_urls, own_objects, kind, who):
    prefecture = who == "prefecture admin"
    if prefecture:
        session = login(client, open_session(database_urls, PREFECTURE, ("prefecture-admin", "staff")))
        # a municipality with no tenant, so an accepted suspend/resume cannot disturb the demo tenants
        objects = {**own_objects, "code": "393649"}
    else:
        session = login(client, open_session(database_urls, TENANT, ALL_ROLES))
        objects = own_objects
    value = HOSTILE_VALUES[kind]
    body = "&".join(f"{quote(n)}={value}" for n in field_names()) + f"&csrf_token={session.csrf}"
    failures = []
    for path in page_post_routes(app, prefecture):
        concrete = PARAM.sub(lambda m: quote(str(objects[m.group(1)])), path)
        response = client.post(concrete, content=body.encode("latin-1"), follow_redirects=False,
                               headers={"content-type": "application/x-www-form-urlencoded", "accept": "text/html"})
        if response.status_code >= 500:
            failures.append(f"POST {path} -> {response.status_code}")
        assert response.status_code != 403 or "csrf" in path, f"POST {path} refused: the drill did not reach the form"
    assert failures == []

