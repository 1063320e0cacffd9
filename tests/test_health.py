"""Probes and the request line: what a load balancer and an operator see."""

import io
import json

from litestar.testing import TestClient

from core.app import create_app


def test_healthz_and_readyz_answer(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready"}


def test_request_id_is_echoed_or_generated(client):
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"] == "abc-123"
    generated = client.get("/healthz").headers["x-request-id"]
    assert len(generated) == 32
    # Something that is not an id is not trusted into our logs.
    assert client.get("/healthz", headers={"X-Request-ID": "a b\nc"}).headers["x-request-id"] != "a b\nc"


def test_readyz_is_503_when_the_database_is_unreachable(settings):
    app = create_app(settings, app_database_url="postgresql://kyosei_app@127.0.0.1:9/kyosei")
    with TestClient(app=app) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["title"] == "データベースに接続できません"


def test_one_json_line_per_request_without_the_query_string(settings, database_urls, staff_session, monkeypatch):
    stream = io.StringIO()
    import core.app as app_module

    real = app_module.configure_logging
    monkeypatch.setattr(app_module, "configure_logging", lambda level, fmt: real(level, "json", stream))
    app = create_app(settings, app_database_url=database_urls.app)
    with TestClient(app=app) as client:
        client.cookies.set("kyosei_session", staff_session.raw)
        client.get("/api/registry/?q=山田太郎", headers={"X-Request-ID": "req-42"})
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    request_lines = [line for line in lines if line.get("event") == "request"]
    assert len(request_lines) == 1
    [line] = request_lines
    assert line["request_id"] == "req-42"
    assert line["path"].rstrip("/") == "/api/registry"
    assert line["status"] == 200
    assert line["tenant"] == "394017" and line["user"] == staff_session.sub
    assert "山田" not in stream.getvalue()


def test_each_log_line_reaches_the_stream_in_one_write():
    """Worker processes share one pipe: a line written in two pieces can be split by another worker's line."""
    from core.logging import configure_logging, get_logger

    class RecordingStream(io.StringIO):
        def __init__(self):
            super().__init__()
            self.writes: list[str] = []

        def write(self, text):
            self.writes.append(text)
            return super().write(text)

    stream = RecordingStream()
    try:
        configure_logging("info", "json", stream)
        get_logger().info("request", path="/cases", status=200)
        get_logger().info("request", path="/meetings", status=200)
    finally:
        configure_logging("info", "json")
    assert len(stream.writes) == 2
    assert all(piece.endswith("\n") and piece.count("\n") == 1 for piece in stream.writes)
    assert [json.loads(piece)["path"] for piece in stream.writes] == ["/cases", "/meetings"]
