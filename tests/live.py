"""A real HTTP server for tests that need one (browser tests, Keycloak callbacks): uvicorn in a thread."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import httpx
import uvicorn


@contextmanager
def serve(app, port: int, **server_options):
    """``server_options``: more uvicorn.Config arguments (e.g. ``http=`` the protocol ``kyosei run`` uses)."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on",
                            **server_options)
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # the test runner owns the signals
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        raise RuntimeError(f"test server on port {port} did not start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
]
