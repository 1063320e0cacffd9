"""Reading printed PDFs back in tests: their text, their fonts, and a PNG of a page."""

from __future__ import annotations

import io
import subprocess
import unicodedata
from pathlib import Path

from pypdf import PdfReader


def pdf_reader(pdf: bytes) -> PdfReader:
    return PdfReader(io.BytesIO(pdf))


def raw_text(pdf: bytes) -> str:
    return "".join(page.extract_text() for page in pdf_reader(pdf).pages)


def pdf_text(pdf: bytes) -> str:
    # NFKC: the font's ToUnicode map names some kanji by their Kangxi-radical code points (⽀ for 支).
    return unicodedata.normalize("NFKC", raw_text(pdf))


def assert_fonts_embedded(pdf: bytes) -> None:
    """Every font travels inside the file: Type 3 glyph procedures (outlines) or an embedded font program."""
    reader = pdf_reader(pdf)
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


def first_page_png(pdf: bytes, target: Path) -> Path:
    """Render page 1 with poppler's pdftoppm (a second, independent reader of the file) at 60 dpi."""
    source = target.with_suffix(".pdf")
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(source),
                    str(target.with_suffix(""))], check=True, capture_output=True, timeout=60)
    png = target.with_suffix(".png")
    assert png.exists() and png.stat().st_size > 5_000, "page did not render"
    return png
