"""HTML → PDF through headless Chromium (Debian's ``chromium``), so the same Jinja templates serve screen and paper.

Chromium embeds the subset of the fonts a page uses; with ``fonts-noto-cjk`` installed (the bootstrap does) the
kanji and kana come out as real text in an embedded font, selectable and searchable. Each call runs a fresh
headless process with its own profile directory, bounded by a timeout, in a worker thread so the event loop goes on.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import anyio

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
TIMEOUT_SECONDS = 60


class PdfUnavailable(RuntimeError):
    """No Chromium to print with, or it failed; the caller answers 503 with a Japanese message."""


def chromium_path() -> str:
    configured = os.environ.get("KYOSEI_CHROMIUM")
    for candidate in ((configured,) if configured else ()) + CHROMIUM_CANDIDATES:
        if candidate and Path(candidate).exists():
            return candidate
    found = shutil.which("chromium")
    if found:
        return found
    raise PdfUnavailable("PDFを作成できません（Chromium が見つかりません） / chromium not found")


def html_to_pdf_sync(html: str) -> bytes:
    with tempfile.TemporaryDirectory(prefix="kyosei-pdf-") as work:
        source = Path(work) / "document.html"
        target = Path(work) / "document.pdf"
        source.write_text(html, encoding="utf-8")
        command = [
            chromium_path(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-quic",
            "--no-first-run",
            "--disable-sync",
            "--no-pdf-header-footer",
            f"--user-data-dir={Path(work) / 'profile'}",
            f"--print-to-pdf={target}",
            source.as_uri(),
        ]
        try:
            subprocess.run(command, capture_output=True, timeout=TIMEOUT_SECONDS, check=False)
        except subprocess.TimeoutExpired:
            raise PdfUnavailable("PDFの作成が時間内に終わりませんでした / pdf rendering timed out") from None
        if not target.exists() or target.stat().st_size == 0:
            raise PdfUnavailable("PDFを作成できませんでした / chromium produced no pdf")
        return target.read_bytes()


async def html_to_pdf(html: str) -> bytes:
    return await anyio.to_thread.run_sync(html_to_pdf_sync, html)
