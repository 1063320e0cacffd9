"""What typed text may contain: one rule set for every domain's form and JSON readers.

``text_problem`` answers the Japanese message for a value a user typed, or None when it is acceptable:
not text at all, characters that cannot be stored (lone surrogates), control characters (tab and newlines only in
multi-line fields), emoji where a name-like value is expected, or more than ``max_length`` characters.
"""

from __future__ import annotations

import re

_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_LINE = re.compile(r"[\x00-\x1f\x7f]")


def has_emoji(value: str) -> bool:
    """Pictographs, dingbats, flags, keycaps, variation selector 16 and the zero-width joiner of emoji sequences."""
    for ch in value:
        cp = ord(ch)
        if (
            0x1F000 <= cp <= 0x1FAFF
            or 0x2600 <= cp <= 0x27BF
            or 0x2B00 <= cp <= 0x2BFF
            or cp in (0xFE0F, 0x200D, 0x20E3, 0x3030, 0x303D)
            or 0xE0020 <= cp <= 0xE007F
        ):
            return True
    return False


def text_problem(value: object, label: str, max_length: int, *, multiline: bool, allow_emoji: bool = True) -> str | None:
    if not isinstance(value, str):
        return f"{label}は文字で入力してください。"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return f"{label}に使用できない文字が含まれています。"
    if (_CONTROL_MULTILINE if multiline else _CONTROL_LINE).search(value):
        return f"{label}に使用できない文字（制御文字）が含まれています。"
    if not allow_emoji and has_emoji(value):
        return f"{label}に絵文字は使えません。"
    if len(value) > max_length:
        return f"{label}は{max_length:,}文字以内で入力してください（現在{len(value):,}文字）。"
    return None


def has_control_character(value: str, *, multiline: bool = False) -> bool:
    return bool((_CONTROL_MULTILINE if multiline else _CONTROL_LINE).search(value))
