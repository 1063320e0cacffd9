"""The Japanese UI shell on a tiny app: base/home pages, error pages for browsers, problem+json for the API.

Only ui/ is wired here (templates, static files, exception handlers), not create_app(), so these tests need no
database and no Keycloak.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from litestar import Litestar, Request, get
from litestar.exceptions import NotFoundException, PermissionDeniedException, ServiceUnavailableException
from litestar.params import FromPath, FromQuery
from litestar.response import Template
from litestar.testing import TestClient
from litestar.types import ASGIApp, Receive, Scope, Send
from structlog.testing import capture_logs

from core.requests import request_id_middleware
from ui import templating
from ui.errors import exception_handlers
from ui.templating import shell_context, static_files_router, template_config

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def logged_in_as(name: str) -> dict:
    return {**BROWSER, "X-Test-User": name.encode("utf-8")}  # header values are bytes; the name is Japanese


@dataclass(frozen=True)
class FakePrincipal:
    display_name: str = "高知 花子"
    tenant_name: str | None = "中土佐町"
    tenant_id: str | None = "394017"
    roles: frozenset[str] = field(default_factory=lambda: frozenset({"staff", "coordinator"}))


def fake_login(app: ASGIApp) -> ASGIApp:
    """Stands in for core.auth: ``X-Test-User: <name>`` logs in as that name with a CSRF token."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            name = dict(scope["headers"]).get(b"x-test-user")
            if name is not None:
                scope["user"] = FakePrincipal(display_name=name.decode("utf-8"))
                scope.setdefault("state", {})["csrf_token"] = "tok-123"
        await app(scope, receive, send)

    return middleware


@get("/")
async def home(request: Request) -> Template:
    return Template(
        "home.html",
        context={
            **shell_context(request),
            "nav": [
                {"label": "ホーム", "href": "/", "active": True},
                {"label": "相談記録", "href": "/cases", "active": False},
            ],
            "flashes": [{"level": "success", "message": "保存しました"}],
        },
    )


@get("/anonymous")
async def anonymous_page() -> Template:
    return Template("base.html", context={"principal": None})


@get("/choose")
async def choose(request: Request) -> Template:
    tenants = [{"tenant_id": "394017", "name": "中土佐町"}, {"tenant_id": "392049", "name": "南国市"}]
    return Template("auth/choose_tenant.html", context={**shell_context(request), "tenants": tenants})


@get("/refused")
async def refused(request: Request) -> Template:
    return Template(
        "auth/refused.html",
        context={**shell_context(request), "title": "ご利用いただけません", "message": "所属する市町村がありません。"},
    )


@get("/missing")
async def missing() -> None:
    raise NotFoundException()


@get("/forbidden")
async def forbidden() -> None:
    raise PermissionDeniedException()


@get("/login-unavailable")
async def login_unavailable() -> None:
    raise ServiceUnavailableException(detail="ただいま認証サーバーに接続できません")


@get("/boom")
async def boom() -> None:
    raise RuntimeError("secret internals: patient 山田太郎")


@get("/api/cases/{case_id:int}")
async def api_case(case_id: FromPath[int]) -> None:
    raise NotFoundException(detail=f"case {case_id} does not exist")


@get("/api/boom")
async def api_boom() -> None:
    raise RuntimeError("secret internals")


@get("/api/search")
async def api_search(limit: FromQuery[int]) -> None:
    return None


@pytest.fixture()
def client():
    app = Litestar(
        route_handlers=[
            home, anonymous_page, choose, refused, missing, forbidden, login_unavailable, boom,
            api_case, api_boom, api_search, static_files_router(),
        ],
        middleware=[request_id_middleware, fake_login],
        template_config=template_config(),
        exception_handlers=exception_handlers(),
        debug=False,
    )
    with TestClient(app=app) as client:
        yield client


# The shell


def test_home_shows_the_tenant_the_user_and_their_roles_in_japanese(client):
    response = client.get("/", headers=logged_in_as("高知 花子"))
    assert response.status_code == 200
    html = response.text
    assert '<html lang="ja">' in html
    assert "中土佐町のホーム" in html
    assert "高知 花子" in html
    assert "職員" in html and "包括化推進員・コーディネーター" in html
    assert "共生" in html and "Kyosei" in html
    assert 'id="dashboard"' in html
    assert 'src="/static/vendor/htmx.min.js"' in html
    assert 'href="/static/kyosei.css"' in html


def test_the_csrf_token_rides_on_every_htmx_request_and_the_logout_form(client):
    html = client.get("/", headers=logged_in_as("高知 花子")).text
    assert 'hx-boost="true"' in html
    assert """hx-headers='{"X-CSRF-Token": "tok-123"}'""" in html
    assert 'action="/auth/logout"' in html
    assert '<input type="hidden" name="csrf_token" value="tok-123">' in html


def test_navigation_marks_the_current_page_and_flashes_show_their_level(client):
    html = client.get("/", headers=logged_in_as("高知 花子")).text
    assert '<a href="/" aria-current="page">ホーム</a>' in html
    assert '<a href="/cases">相談記録</a>' in html
    assert "flash--success" in html and "完了" in html and "保存しました" in html


def test_names_are_html_escaped(client):
    html = client.get("/", headers=logged_in_as("<script>alert(1)</script>")).text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_a_page_without_a_principal_has_no_user_info_and_no_csrf_header(client):
    html = client.get("/anonymous", headers=BROWSER).text
    assert '<html lang="ja">' in html
    assert "ログアウト" not in html
    assert "hx-headers" not in html
    assert "csrf_token" not in html


def test_choosing_a_tenant_posts_its_code_with_the_csrf_token(client):
    html = client.get("/choose", headers=logged_in_as("高知 花子")).text
    assert html.count('action="/auth/tenant"') == 2
    assert '<input type="hidden" name="tenant_id" value="394017">' in html
    assert '<input type="hidden" name="tenant_id" value="392049">' in html
    assert "南国市" in html and "中土佐町" in html
    assert html.count('name="csrf_token" value="tok-123"') >= 2


def test_a_refusal_page_says_why_and_offers_another_login(client):
    html = client.get("/refused", headers=BROWSER).text
    assert "ご利用いただけません" in html and "所属する市町村がありません。" in html
    assert 'href="/auth/login"' in html  # no session to end: a plain link to log in again


def test_the_refusal_page_links_to_the_keycloak_logout_when_given_one(client):
    engine = client.app.template_engine
    html = engine.get_template("auth/refused.html").render(
        title="利用が停止されています", message="…", logout_url="https://sso.example.jp/logout?x=1&y=2"
    )
    assert 'href="https://sso.example.jp/logout?x=1&amp;y=2"' in html


def test_templates_accept_the_alternative_keys_callers_already_use(client):
    engine = client.app.template_engine
    page = engine.get_template("error.html").render(status=503, title="ただいま認証サーバーに接続できません")
    assert "エラー 503" in page and "ただいま認証サーバーに接続できません" in page
    choose = engine.get_template("auth/choose_tenant.html").render(
        tenants=[{"code": "394017", "name": "中土佐町"}], csrf_token="t"
    )
    assert '<input type="hidden" name="tenant_id" value="394017">' in choose


def test_static_files_are_served(client):
    response = client.get("/static/kyosei.css")
    assert response.status_code == 200
    assert "Noto Sans CJK JP" in response.text


def test_plugins_can_add_template_folders(client, tmp_path, monkeypatch):
    monkeypatch.setattr(templating._loader, "loaders", list(templating._loader.loaders))
    (tmp_path / "nakatosa").mkdir()
    (tmp_path / "nakatosa" / "page.html").write_text(
        '{% extends "base.html" %}{% block content %}中土佐町の時間割 {{ 2019|fiscal_year }}{% endblock %}',
        encoding="utf-8",
    )
    templating.add_template_directory(tmp_path)
    templating.add_template_directory(tmp_path)  # twice is harmless
    assert templating.template_directories().count(tmp_path.resolve()) == 1
    html = client.app.template_engine.get_template("nakatosa/page.html").render(principal=None)
    assert "中土佐町の時間割 令和元年度（2019年度）" in html


def test_date_filters_are_available_in_templates(client):
    engine = client.app.template_engine
    out = engine.render_string(
        "{{ d|wareki }} / {{ d|jdate }} / {{ t|jdatetime }} / {{ none_value|jdate }}",
        {"d": "2019-05-01", "t": "2019-04-30T15:30:00Z", "none_value": None},
    )
    assert out == "令和元年5月1日 / 令和元年5月1日（2019-05-01） / 令和元年5月1日 00:30（2019-05-01 00:30） / —"


# Error pages for browsers


def test_not_found_is_a_japanese_page(client):
    response = client.get("/missing", headers=BROWSER)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "ページが見つかりません" in response.text
    assert '<html lang="ja">' in response.text
    assert 'href="/"' in response.text and "ホーム" in response.text


def test_an_unknown_url_is_the_same_japanese_404(client):
    response = client.get("/no/such/page", headers=BROWSER)
    assert response.status_code == 404
    assert "ページが見つかりません" in response.text


def test_permission_denied_is_a_japanese_403_with_the_user_still_in_the_header(client):
    response = client.get("/forbidden", headers=logged_in_as("高知 花子"))
    assert response.status_code == 403
    assert "この操作を行う権限がありません" in response.text
    assert "高知 花子" in response.text
    assert """hx-headers='{"X-CSRF-Token": "tok-123"}'""" in response.text


def test_a_wrong_method_keeps_its_allow_header(client):
    response = client.post("/missing", headers=BROWSER)
    assert response.status_code == 405
    assert "この操作はできません" in response.text
    assert "GET" in response.headers["allow"]


def test_a_503_can_say_which_service_is_down(client):
    response = client.get("/login-unavailable", headers=BROWSER)
    assert response.status_code == 503
    assert "サービスを一時的に利用できません" in response.text
    assert "ただいま認証サーバーに接続できません" in response.text


def test_a_crash_is_a_japanese_500_with_the_request_id_and_no_traceback(client):
    with capture_logs() as logs:
        response = client.get("/boom?name=山田", headers={**BROWSER, "X-Request-ID": "req-12345"})
    assert response.status_code == 500
    html = response.text
    assert "システムエラーが発生しました" in html
    assert "req-12345" in html
    for leak in ("Traceback", "RuntimeError", "secret internals", "山田太郎", 'File "'):
        assert leak not in html
    crash = [entry for entry in logs if entry["event"] == "unhandled_exception"]
    assert len(crash) == 1
    assert crash[0]["path"] == "/boom" and crash[0]["exc_type"] == "RuntimeError"
    assert "山田" not in repr({k: v for k, v in crash[0].items() if k != "exc_info"})


def test_a_client_that_asks_for_json_gets_problem_json_even_outside_the_api(client):
    response = client.get("/missing", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["title"] == "ページが見つかりません"


# problem+json for the API


def test_api_not_found_is_problem_json_in_japanese_with_the_detail(client):
    response = client.get("/api/cases/7", headers=BROWSER)  # the path decides, even for a browser
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["title"] == "ページが見つかりません"
    assert body["status"] == 404
    assert body["detail"] == "case 7 does not exist"
    assert body["instance"] == "/api/cases/7"


def test_api_crash_is_problem_json_without_internals(client):
    response = client.get("/api/boom", headers={"X-Request-ID": "req-67890"})
    assert response.status_code == 500
    body = response.json()
    assert body["title"] == "システムエラーが発生しました"
    assert body["request_id"] == "req-67890"
    assert "detail" not in body
    assert "secret" not in response.text and "Traceback" not in response.text


def test_api_validation_errors_list_the_fields_without_echoing_the_query(client):
    response = client.get("/api/search?limit=many&name=山田")
    assert response.status_code == 400
    body = response.json()
    assert body["title"] == "リクエストが正しくありません"
    assert any(error.get("key") == "limit" for error in body["errors"])
    assert "山田" not in response.text


def test_without_templates_a_crash_still_gets_a_bare_japanese_page():
    app = Litestar(route_handlers=[boom], middleware=[request_id_middleware], exception_handlers=exception_handlers())
    with TestClient(app=app) as bare, capture_logs():
        response = bare.get("/boom", headers={**BROWSER, "X-Request-ID": "req-bare"})
    assert response.status_code == 500
    assert "システムエラーが発生しました" in response.text and "req-bare" in response.text
    assert "secret internals" not in response.text and "Traceback" not in response.text


def test_every_template_is_compiled_at_start_up_and_a_broken_one_stops_it(tmp_path):
    """Pages render from compiled templates from the first request on; a template with a syntax error is found
    when the service starts, not by the first user who opens that page."""
    import jinja2

    env = templating.create_environment()
    compiled = templating.precompile(env)
    assert compiled == len([n for n in env.list_templates() if n.endswith(".html")]) > 20
    assert not env.auto_reload  # no file-system check per render

    (tmp_path / "broken.html").write_text("{% if %}", encoding="utf-8")
    broken = jinja2.Environment(loader=jinja2.FileSystemLoader(tmp_path))
    with pytest.raises(jinja2.TemplateSyntaxError):
        templating.precompile(broken)


def test_a_second_environment_in_the_process_reuses_compiled_templates_but_never_a_stale_one(tmp_path, monkeypatch):
    """Each test (and the two-instance drill) builds its own app: the templates' compiled code is kept for the
    process, so a second environment does not compile them again; a template whose source changed is compiled
    again, so nobody is ever shown the old text."""
    from jinja2 import Environment

    monkeypatch.setattr(templating._loader, "loaders", list(templating._loader.loaders))
    (tmp_path / "cache_check").mkdir()
    page = tmp_path / "cache_check" / "page.html"
    page.write_text("{% if n %}件数 {{ n }}{% endif %}", encoding="utf-8")
    templating.add_template_directory(tmp_path)
    assert templating.create_environment().get_template("cache_check/page.html").render(n=3) == "件数 3"

    compiled: list[str] = []
    compile_source = Environment.compile

    def counted(self, source, name=None, *args, **kwargs):
        compiled.append(name)
        return compile_source(self, source, name, *args, **kwargs)

    monkeypatch.setattr(Environment, "compile", counted)
    assert templating.create_environment().get_template("cache_check/page.html").render(n=4) == "件数 4"
    assert compiled == []  # loaded from the process's compiled code
    page.write_text("{% if n %}相談件数 {{ n }} 件{% endif %}", encoding="utf-8")
    assert templating.create_environment().get_template("cache_check/page.html").render(n=5) == "相談件数 5 件"
    assert compiled == ["cache_check/page.html"]
