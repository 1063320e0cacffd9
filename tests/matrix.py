"""The isolation matrix: every route of an app × every principal (each role of both tenants, plugin roles, the
prefecture) × where a foreign id can go (the path, the query string, the body), with consistent foreign objects
(tests/isolation.py ``tenant_world``).

What counts as a finding:
- a route named with a foreign object answers anything but 403/404/405 — or 400/409/422 *after* the foreign id
  reached the database and exactly as it answers for an id that names nothing (the wall made the object
  indistinguishable from no object); a 4xx before any lookup means the route needs a valid body in
  ``tests/isolation.py`` BODIES, and is reported as such;
- any answer (body or Location) shows a value only the foreign tenant's rows hold: names, kana, phone numbers,
  labels, free text and ids, collected from the database (``foreign_markers``), not from a hand-kept list; where
  such a value is also part of a longer text someone else may show (another tenant's address, the program's own
  words), only that longer text is excused in the answer, never the value on its own (``Markers``);
- any 5xx;
- afterwards: the foreign tenant's rows changed (digest), or the attacker's rows now hold a foreign id.
"""

from __future__ import annotations

import functools
import hashlib
import html
import json
import re
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import asyncpg

from infra.database.provision import connect

PARAM = re.compile(r"\{([a-zA-Z_][a-zA-Z0-9_]*)(?::[a-z]+)?\}")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
REFUSED = (401, 403, 404, 405)
INVALID = (400, 409, 422)
# Values too common to mean anything in an answer: enum codes, short words (checked after these filters).
ENUM_LIKE = re.compile(r"^[a-z0-9_.:/-]*$")
# ...but a telephone number is a person's, however code-like it looks.
PHONE = re.compile(r"^0[0-9]{1,4}-[0-9]{1,4}-[0-9]{3,4}$")
MIN_MARKER = 4
SKIP_TABLES = ("web_session", "tenant")  # carry tenant_id but hold no tenant data (login sessions, tenant status)
# Tables whose text is written by the system for every tenant alike ("csv rows=3", "meeting progress check"): only
# their ids are markers. The audit trail is read only through audit_events_read / audit_chain_status, which
# tests/definer.py proves answer the bound tenant alone; its free text would otherwise turn up in the attacker's own
# trail as soon as its own sweep did the same thing (a false leak, not a crossing of the wall).
IDS_ONLY_TABLES = ("audit_event",)


@dataclass(frozen=True)
class Attacker:
    label: str
    tenant_id: str
    roles: tuple[str, ...]
    foreign: str  # whose objects it asks for


@dataclass
class Findings:
    problems: list[str] = field(default_factory=list)
    requests: int = 0
    routes: int = 0

    def add(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)


def routes_of(app, is_tenantless: Callable[[str], bool]) -> list[tuple[str, str]]:
    found = []
    for route in app.routes:
        for method in sorted(getattr(route, "methods", ())):
            if method in ("HEAD", "OPTIONS") or is_tenantless(route.path):
                continue
            found.append((method, route.path))
    return sorted(set(found))


# -- what the database holds ----------------------------------------------------------------------------------
async def _tenant_tables(conn: asyncpg.Connection) -> list[str]:
    return [r["table_name"] for r in await conn.fetch(
        "SELECT c.table_name FROM information_schema.columns c JOIN information_schema.tables t "
        "ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
        "WHERE c.table_schema = 'public' AND c.column_name = 'tenant_id' AND t.table_type = 'BASE TABLE' "
        "AND NOT (c.table_name = ANY ($1::text[])) ORDER BY 1", list(SKIP_TABLES))]


async def tenant_rows(superuser_db_url: str, tenant_id: str) -> dict[str, list[str]]:
    """Every row of every tenant table of one tenant, as text (the superuser sees through RLS)."""
    conn = await connect(superuser_db_url)
    try:
        return {table: sorted(r["r"] for r in await conn.fetch(
            f'SELECT t::text AS r FROM "{table}" t WHERE tenant_id = $1', tenant_id))
            for table in await _tenant_tables(conn)}
    finally:
        await conn.close()


def digest(rows: dict[str, list[str]]) -> dict[str, str]:
    return {table: hashlib.sha256("\n".join(lines).encode()).hexdigest() for table, lines in rows.items()}


async def foreign_markers(superuser_db_url: str, foreign: str) -> set[str]:
    """Text values only ``foreign``'s rows hold (no other tenant's row, no global table holds them) and every id
    of its rows: what must never appear in another tenant's answer."""
    conn = await connect(superuser_db_url)
    try:
        columns = await conn.fetch(
            "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c "
            "JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
            "WHERE c.table_schema = 'public' AND t.table_type = 'BASE TABLE' "
            "AND c.data_type IN ('text', 'character varying', 'uuid')")
        walled = set(await _tenant_tables(conn))
        mine: set[str] = set()
        others: set[str] = set()
        for c in columns:
            table, column = c["table_name"], c["column_name"]
            if column == "tenant_id" or table in SKIP_TABLES:
                continue
            if table in walled:
                for r in await conn.fetch(f'SELECT DISTINCT "{column}"::text AS v, tenant_id = $1 AS mine '
                                          f'FROM "{table}" WHERE "{column}" IS NOT NULL', foreign):
                    if table in IDS_ONLY_TABLES and not UUID.fullmatch(r["v"].strip()):
                        continue
                    (mine if r["mine"] else others).add(r["v"].strip())
            else:  # global rows (a survey B was sent, the registry) are no one tenant's secret
                others.update(r["v"].strip() for r in await conn.fetch(
                    f'SELECT DISTINCT "{column}"::text AS v FROM "{table}" WHERE "{column}" IS NOT NULL'))
    finally:
        await conn.close()
    return markers_of(mine, others, plugin_catalog_texts() | program_texts())


class Markers(frozenset):
    """The foreign tenant's values, each with the longer texts that contain it and that someone else may show
    (``covers``). A's page showing A's own 「高知県高岡郡中土佐町久礼1-1」 shows B's 「中土佐町久礼」 only inside that
    longer text: the occurrence is excused, but the same value anywhere else in the answer is still a leak. (Dropping
    such a value instead would hide a foreign person's name whenever some other row happens to contain it.)"""

    covers: dict[str, tuple[str, ...]]

    def __new__(cls, values=(), covers=None):
        made = super().__new__(cls, values)
        made.covers = {v: tuple(c) for v, c in (covers or {}).items() if v in made and c}
        return made

    def shown_in(self, seen: str) -> list[str]:
        """The markers ``seen`` shows other than inside one of their covering texts."""
        found = []
        for marker in self:
            if marker not in seen:
                continue
            rest = seen
            for text in sorted(self.covers.get(marker, ()), key=len, reverse=True):
                for form in _rendered_forms(text):
                    rest = rest.replace(form, "\0")
            if marker in rest:
                found.append(marker)
        return sorted(found)


def _rendered_forms(text: str) -> set[str]:
    """How a text appears in a page or an API answer: as is, HTML-escaped, inside a JSON string."""
    return {text, html.escape(text), html.escape(text, quote=False), json.dumps(text, ensure_ascii=False)[1:-1]}


def markers_of(mine: set[str], others: set[str], public: set[str] | frozenset[str]) -> Markers:
    """The values of ``mine`` that prove a leak when they appear: held by no one else (``others``), not one of the
    program's own words (``public``), not too short or code-like — with, for each, the longer texts of ``others``
    and ``public`` that contain it (an occurrence inside one of those is not a leak; ``Markers.shown_in``)."""
    values = {v for v in mine - others
              if len(v) >= MIN_MARKER and (UUID.fullmatch(v) or PHONE.match(v) or not ENUM_LIKE.match(v))
              and v not in public}
    longer = [text for text in (others | set(public)) if not UUID.fullmatch(text)]
    covers = {v: [text for text in longer if len(text) > len(v) and v in text]
              for v in values if not UUID.fullmatch(v)}
    return Markers(values, covers)


@functools.lru_cache(maxsize=1)
def program_texts() -> frozenset[str]:
    """The words Kyosei itself is written with: string literals of core/, ui/, tenants/ and plugins/ and the page
    templates. A tenant's row that holds one of them (a meeting titled 重層的支援会議, an evaluation noted 一部達成)
    holds a label every tenant's pages print, not a secret of that tenant."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    texts: set[str] = set()
    for folder in ("core", "ui", "tenants", "plugins"):
        for path in (root / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.strip():
                    texts.add(node.value.strip())
    for path in (root / "ui" / "templates").rglob("*.html"):
        # the template's own words, piece by piece as a page shows them (between tags, expressions and quotes)
        source = path.read_text(encoding="utf-8")
        texts.update(piece.strip() for piece in TEMPLATE_SPLIT.split(source) if piece.strip())
        # and the string literals inside its expressions ({{ input("kind", "種別", hint="例: …") }})
        for expression in TEMPLATE_EXPRESSION.findall(source):
            texts.update(m.group(2).strip() for m in TEMPLATE_LITERAL.finditer(expression) if m.group(2).strip())
    return frozenset(texts)


TEMPLATE_SPLIT = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}|[<>\"\n]", re.DOTALL)
TEMPLATE_EXPRESSION = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.DOTALL)
TEMPLATE_LITERAL = re.compile(r"(['\"])(.*?)\1")


def plugin_catalog_texts() -> set[str]:
    """Every text of the bundled plugins' descriptions and programme catalogs (names, hubs, rule labels, notes).

    A municipality that enables a plugin gets its catalog installed as its own rows, but the words are the plugin's
    published definition, shown to any tenant admin in the plugin list: they are no tenant's secret."""
    import dataclasses
    import importlib
    import pkgutil

    import plugins

    texts: set[str] = set()

    def walk(value) -> None:
        if isinstance(value, str):
            texts.add(value.strip())
        elif dataclasses.is_dataclass(value):
            for f in dataclasses.fields(value):
                walk(getattr(value, f.name))
        elif isinstance(value, (list, tuple, set, frozenset)):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)

    for info in pkgutil.iter_modules(plugins.__path__):
        module = importlib.import_module(f"plugins.{info.name}")
        walk(module.PLUGIN)
        catalog = getattr(module, "kyosei_program_catalog", None)
        if catalog is not None:
            for code in ("394017", "392049"):
                walk(catalog(code))
    return texts


# -- did the lookup run? ----------------------------------------------------------------------------------------
class LookupSpy:
    """Parameters of every statement the app sends while a request runs (to tell "refused by the wall" from
    "refused before it looked")."""

    def __init__(self, app):
        from sqlalchemy import event

        self.seen: list[str] = []
        # Engines exist once the app has started (inside the TestClient): the request pool only, where the
        # tenant's rows are read.
        self._engines = [app.state.engine.sync_engine]
        for engine in self._engines:
            event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, conn, cursor, statement, parameters, context, executemany):
        self.seen.append(f"{statement} {parameters!r}")

    def reached(self, ids: Iterable[str]) -> bool:
        text = "\n".join(self.seen)
        return any(i in text for i in ids)

    def close(self) -> None:
        from sqlalchemy import event

        for engine in self._engines:
            event.remove(engine, "before_cursor_execute", self._record)


# -- the sweep --------------------------------------------------------------------------------------------------
def _fill(path: str, world: dict[str, str]) -> str:
    return PARAM.sub(lambda m: world[m.group(1)], path)


def _request(client, method: str, path: str, csrf: str, query: dict, body: dict | None):
    url = f"{path}?{urlencode(query)}" if query else path
    headers = {"X-CSRF-Token": csrf}
    if method not in UNSAFE:
        return client.request(method, url, headers=headers, follow_redirects=False)
    if path.startswith("/api/"):
        return client.request(method, url, headers=headers, json=body or {}, follow_redirects=False)
    return client.request(method, url, headers=headers, data={**(body or {}), "csrf_token": csrf},
                          follow_redirects=False)


def sweep(client, spy: LookupSpy, attacker: Attacker, csrf: str, routes: list[tuple[str, str]],
          own: dict[str, str], foreign: dict[str, str], markers: Markers,
          bodies: dict[tuple[str, str], Callable[[dict[str, str]], dict]], findings: Findings,
          own_paths: bool, not_foreign: set[str] = frozenset()) -> None:
    """One attacker over ``routes``: foreign ids in the path, the query string and the body (``own_paths``: also
    each route with the attacker's own objects in the path and foreign ids in the query string and body).
    Parameters in ``not_foreign`` name nothing of the other tenant for this attacker: a route with only those in
    its path is scanned for leaks but its status is not judged."""
    foreign_ids = {k: v for k, v in foreign.items() if UUID.fullmatch(v)}
    for method, path in routes:
        params = PARAM.findall(path)
        placements = [("path", foreign)] + ([("query/body", own)] if own_paths and params else [])
        for where, path_world in placements:
            make_body = bodies.get((method, path))
            body = make_body(foreign) if make_body else dict(foreign_ids)
            query = foreign_ids if method in UNSAFE or not make_body else {**foreign_ids, **body}  # GET: as query
            spy.seen.clear()
            response = _request(client, method, _fill(path, path_world), csrf, query, body)
            findings.requests += 1
            who = f"{attacker.label}: {method} {path} [{where}]"
            status = response.status_code
            if status >= 500:
                findings.add(f"{who} -> {status}")
            if where == "path" and set(params) - not_foreign:
                path_ids = [foreign[p] for p in params if UUID.fullmatch(foreign[p])]
                if status in INVALID and path_ids and not spy.reached(path_ids):
                    findings.add(f"{who} -> {status} before the foreign id reached the database; add a valid "
                                 f"body (or query) for ({method!r}, {path!r}) to BODIES in tests/isolation.py")
                elif status in INVALID:
                    # The lookup ran and the answer is "invalid", not "not found": the wall decided only if an id
                    # that names nothing gets the same answer (else the other tenant's object was found).
                    phantom = {**foreign, **{p: str(uuid.uuid4()) for p in params if UUID.fullmatch(foreign[p])}}
                    nothing = _request(client, method, _fill(path, phantom), csrf, query, body).status_code
                    findings.requests += 1
                    if nothing != status:
                        findings.add(f"{who} -> {status} for the other tenant's object but {nothing} for an id that "
                                     "names nothing: the object was found past the wall")
                elif status not in REFUSED:
                    findings.add(f"{who} -> {status} for the other tenant's object")
            seen = response.text + response.headers.get("location", "")
            sent = str(response.request.url) + str(body)  # an id the attacker sent may be echoed (problem "instance")
            leaked = [m for m in markers.shown_in(seen) if m not in sent]
            if leaked:
                findings.add(f"{who} shows the other tenant's {leaked[:3]}")


def _ids(rows: dict[str, list[str]]) -> set[str]:
    return {i for lines in rows.values() for line in lines for i in UUID.findall(line)}


def cross_references(attacker_before: dict[str, list[str]], attacker_after: dict[str, list[str]],
                     foreign_rows: dict[str, list[str]]) -> list[str]:
    """Rows the attacker's tenant gained that hold an id of the foreign tenant's rows."""
    new = _ids(foreign_rows) - _ids(attacker_before)
    old = {(t, line) for t, lines in attacker_before.items() for line in lines}
    return [f"{table}: {line[:160]}" for table, lines in attacker_after.items() for line in lines
            if (table, line) not in old and new.intersection(UUID.findall(line))]


def timed(fn, *args, **kwargs):
    """(result, seconds): for the size/run-time line the matrix prints, never asserted on."""
    started = time.monotonic()
    return fn(*args, **kwargs), time.monotonic() - started
