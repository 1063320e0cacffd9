"""The HTTP server's own limit: how long a client may take to send the request line and headers.

uvicorn closes idle keep-alive connections (``timeout_keep_alive``) but has no timeout for headers that trickle in
(a "slowloris" client holds the connection for as long as it likes). ``header_timeout_protocol`` is uvicorn's
httptools protocol with that timer: armed when a connection opens and when a request's first byte arrives,
disarmed when the headers are complete; when it fires the client gets 408 with a Japanese text and the connection
is closed. The body's own timeout and size are the request guard's (core/request_guard.py).
"""

from __future__ import annotations

import asyncio

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

TIMEOUT_TEXT = "リクエストの受信に時間がかかりすぎたため、接続を閉じました。もう一度送ってください。".encode()


def header_timeout_protocol(seconds: float) -> type[HttpToolsProtocol]:
    class HeaderTimeoutProtocol(HttpToolsProtocol):
        _header_timer: asyncio.TimerHandle | None = None

        def _arm(self) -> None:
            if self._header_timer is None:
                self._header_timer = self.loop.call_later(seconds, self._headers_too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if not self.transport.is_closing():
                self.transport.write(b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
                                     b"content-length: " + str(len(TIMEOUT_TEXT)).encode() + b"\r\n"
                                     b"connection: close\r\n\r\n" + TIMEOUT_TEXT)
                self.transport.close()

        def connection_made(self, transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm()

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

    return HeaderTimeoutProtocol
