"""Download names: the Japanese name a person saves, with an ASCII name for clients that cannot read it.

``Content-Disposition: attachment; filename="grant-results-2026-394017.csv";
filename*=UTF-8''%E4%B8%AD%E5%9C%9F%E4%BD%90...`` — RFC 6266 section 4.3: browsers that understand ``filename*``
(RFC 8187: UTF-8, percent-encoded) use it and ignore ``filename``; older clients fall back to the ASCII one.
"""

from __future__ import annotations

import re
from urllib.parse import quote

# Characters no file system accepts in a name (Windows is the strictest), and control characters.
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f\x7f]+')


def attachment(name: str, fallback: str) -> dict[str, str]:
    """Headers that offer the body as a download saved as ``name`` (``fallback``: ASCII only)."""
    safe = _UNSAFE.sub("_", name).strip(" .") or fallback
    ascii_name = _UNSAFE.sub("_", fallback).encode("ascii", "replace").decode("ascii").replace("?", "_")
    return {"Content-Disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(safe, safe='')}"}
