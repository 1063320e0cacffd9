"""A slow or lying client cannot hold the server: headers and body each have a time limit (408, Japanese text).

Served for real (uvicorn in a thread, with the protocol ``kyosei run`` uses) and spoken to over a raw socket, as
such a client would: headers that trickle in, and a body that declares 5 MB and sends 13 bytes.
"""

from __future__ import annotations

import dataclasses
import socket
import time

import pytest

from infra.database.embedded import free_port
from tests.live import serve


@pytest.fixture()
def live_url(settings, database_urls):
    from core.app import create_app
    from core.server import header_timeout_protocol

    quick = dataclasses.replace(settings, header_timeout_seconds=1.0, body_timeout_seconds=1.0)
    app = create_app(quick, app_database_url=database_urls.app)
    with serve(app, free_port(), http=header_timeout_protocol(quick.header_timeout_seconds)) as url:
        yield url


def _talk(url: str, payload: bytes, wait: float) -> tuple[bytes, float]:
    host, port = url.removeprefix("http://").split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(payload)
        answer = b""
        conn.settimeout(wait)
        try:
            while chunk := conn.recv(65536):
                answer += chunk
        except TimeoutError:
            pass
    return answer, time.monotonic() - started


@pytest.mark.parametrize(("request_bytes", "text"), [
    (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ", "時間がかかりすぎた"),  # headers that trickle in
    (b"POST /api/agencies HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"  # a body shorter than declared
     b"Content-Length: 524288\r\n\r\n{\"name\": \"a\"", "送信に時間がかかりすぎました"),
], ids=["slow headers", "short body"])
def test_a_slow_or_lying_client_gets_408_in_japanese_and_the_connection_closes(live_url, request_bytes, text):
    answer, took = _talk(live_url, request_bytes, wait=8)
    assert answer.startswith(b"HTTP/1.1 408")
    assert text in answer.decode()
    assert took < 5  # closed by the server (recv returned b""), not by our own wait


def test_a_declared_body_over_the_limit_is_refused_without_reading_it(live_url):
    request = (b"POST /api/agencies HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
               b"Content-Length: 5242880\r\n\r\n{}")
    answer, _ = _talk(live_url, request, wait=5)
    assert answer.startswith(b"HTTP/1.1 413")
    assert "大きすぎます" in answer.decode()


def test_head_answers_wherever_get_does_with_the_same_status_and_headers_and_no_body(app, client, database_urls):
    from tests.sessions import login, open_session
    from tests.test_hostile_forms import get_routes

    login(client, open_session(database_urls, "394017", ("staff", "coordinator", "tenant-admin")))
    paths = [p for p in get_routes(app) if "{" not in p]
    assert "/cases" in paths and "/api/cases" in paths
    different = {}
    for path in paths:
        got, head = client.get(path, follow_redirects=False), client.head(path, follow_redirects=False)
        if (head.status_code, head.headers.get("content-type")) != (got.status_code, got.headers.get("content-type")) \
                or head.content != b"" or head.status_code == 405:
            different[path] = (got.status_code, head.status_code, len(head.content))
    assert different == {}
