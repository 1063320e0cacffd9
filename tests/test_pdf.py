"""Printed documents carry real Japanese text in an embedded font."""

import pytest

from core.documents.pdf import html_to_pdf_sync
from tests.pdf_support import assert_fonts_embedded, pdf_text

pytestmark = pytest.mark.slow


def test_japanese_text_survives_into_the_pdf_with_the_font_embedded():
    pdf = html_to_pdf_sync(
        "<!doctype html><html lang='ja'><meta charset='utf-8'>"
        "<body style=\"font-family: 'Noto Sans CJK JP', sans-serif\"><h1>支援会議 議事録</h1>"
        "<p>令和7年度 中土佐町</p></body></html>"
    )
    text = pdf_text(pdf)
    assert "支援会議" in text and "中土佐町" in text
    # Every font must travel inside the file, so the page prints the same on a machine without Japanese fonts.
    assert_fonts_embedded(pdf)
