"""Printed documents carry real Japanese text in an embedded font."""

import io
import unicodedata

import pytest
from pypdf import PdfReader

from core.documents.pdf import html_to_pdf_sync

pytestmark = pytest.mark.slow


def test_japanese_text_survives_into_the_pdf_with_the_font_embedded():
    pdf = html_to_pdf_sync(
        "<!doctype html><html lang='ja'><meta charset='utf-8'>"
        "<body style=\"font-family: 'Noto Sans CJK JP', sans-serif\"><h1>支援会議 議事録</h1>"
        "<p>令和7年度 中土佐町</p></body></html>"
    )
    reader = PdfReader(io.BytesIO(pdf))
    # NFKC: the font's ToUnicode map names some kanji by their Kangxi-radical code points (⽀ for 支).
    text = unicodedata.normalize("NFKC", "".join(page.extract_text() for page in reader.pages))
    assert "支援会議" in text and "中土佐町" in text
    # Every font must travel inside the file: Chromium writes the glyphs as Type 3 procedures (outlines), or
    # as an embedded font program; either way the page prints the same on a machine without Japanese fonts.
    fonts = [f.get_object() for page in reader.pages for f in (page["/Resources"].get("/Font") or {}).values()]
    assert fonts
    for font in fonts:
        if font.get("/Subtype") == "/Type3":
            assert font.get("/CharProcs"), "Type 3 font without glyph procedures"
            assert font.get("/ToUnicode") is not None, "text would not be searchable"
        else:
            descendants = font.get("/DescendantFonts")
            descriptor = (descendants[0].get_object() if descendants else font)["/FontDescriptor"].get_object()
            assert any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")), font.get("/BaseFont")
