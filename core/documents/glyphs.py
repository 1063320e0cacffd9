"""No tofu on paper: characters no installed font can draw are printed as 〓 (下駄記号) instead of empty boxes.

Free text may hold anything a phone keyboard produces (emoji, rare symbols). Chromium draws a character with the
first font that has it, asking fontconfig; when no font has it, the PDF gets a .notdef box (tofu) that reads as
nothing, and a reader cannot even tell something was there. The 下駄記号 is the convention Japanese printing has
long used for "a character that could not be set", so a reader sees that something was left out.

The coverage is what fontconfig reports for the fonts installed on this machine (``fc-list``), read once and kept:
the same set Chromium falls back through.
"""

from __future__ import annotations

import functools
import shutil
import subprocess

GETA = "〓"
# Layout characters every font stack prints (or that produce no glyph at all).
_ALWAYS = frozenset("\n\r\t ")


@functools.lru_cache(maxsize=1)
def covered_code_points() -> frozenset[int] | None:
    """Every code point some installed font has, or ``None`` when fontconfig cannot say (then nothing is replaced)."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    try:
        out = subprocess.run([fc_list, "--format", "%{charset}\n"], capture_output=True, text=True, timeout=20,
                             check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    points: set[int] = set()
    for token in out.split():
        first, _, last = token.partition("-")
        try:
            start, end = int(first, 16), int(last or first, 16)
        except ValueError:
            continue
        points.update(range(start, end + 1))
    return frozenset(points) or None


def printable(ch: str) -> bool:
    covered = covered_code_points()
    return covered is None or ch in _ALWAYS or ord(ch) in covered


def set_missing_as_geta(text: str) -> str:
    """``text`` with each character no font can draw replaced by 〓 (variation selectors and ZWJ simply dropped)."""
    covered = covered_code_points()
    if covered is None or text.isascii():
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if ch in _ALWAYS or code in covered:
            out.append(ch)
        elif 0xFE00 <= code <= 0xFE0F or code == 0x200D or 0xE0100 <= code <= 0xE01EF:
            continue  # selectors and joiners modify the previous character; they are not characters of their own
        else:
            out.append(GETA)
    return "".join(out)
