"""How text is stored and searched: one module for every domain's forms, JSON, query strings and search columns.

Two rules live here and nowhere else:

- **What may be stored.** A name or free text is stored exactly as the person typed it (outer spaces trimmed by the
  field readers), after refusing what must never be stored: characters that are not text at all (lone surrogates,
  U+FFFD left behind by a broken decoder, noncharacters), NUL and the other control characters (tab and newlines
  only in multi-line fields), bidirectional overrides and embeddings (they make 「山田」 display as something else),
  and the byte-order mark. ``text_problem`` answers the Japanese message for a typed value, or None.
  Zero-width spaces and joiners are accepted (they come in by copy and paste and are invisible) and simply play
  no part in searching.
- **How it is found.** ``search_key`` makes the key kept beside each searchable column (``name_key`` …) and the key
  of the query, with the same function, so every form of a name finds every other:
  zero-width characters and variation selectors (IVS, ``葛󠄀`` → ``葛``) removed; a separate voiced mark
  (``か゛``) joined to its kana; NFKC (full-width letters and digits to ASCII, half-width kana to full-width,
  ``か`` + U+3099 composed into ``が``); katakana folded to hiragana (jaconv); 異体字 folded to their common form
  by the MJ縮退マップ (文字情報基盤, through jntajis, see ``kanji_common_form``); letters case-folded; every kind of
  space dropped, so 「佐藤　花子」, 「佐藤 花子」 and 「佐藤花子」 have one key.

The keys depend on the pinned versions of jntajis-python and jaconv: upgrading either means recomputing the stored
keys (``docs/text.md`` says how).
"""

from __future__ import annotations

import functools
import re
import unicodedata

import jaconv
import jntajis

_CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# LRM/RLM/ALM, embeddings and overrides (LRE … RLO), isolates (LRI … PDI)
_BIDI = re.compile(r"[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_NOT_TEXT = re.compile(r"[\ufffd\ufffe\uffff]")

# Removed from search keys: zero-width space / non-joiner / joiner, word joiner, BOM, soft hyphen, Mongolian vowel
# separator, the variation selectors (standard and ideographic), and the free variation selectors.
_INVISIBLE = re.compile(r"[\u00ad\u180b-\u180f\u200b-\u200d\u2060\ufeff\ufe00-\ufe0f\U000e0100-\U000e01ef]")
# 「か゛」: the spacing voiced marks NFKC would turn into a space plus a mark; the combining ones compose instead.
_SPACING_MARKS = str.maketrans({"\u309b": "\u3099", "\u309c": "\u309a"})


def has_emoji(value: str) -> bool:
    """Pictographs, dingbats, flags, keycap sequences and tags; VS16 only right after such a base.

    A zero-width joiner alone is no emoji (it joins emoji, but also comes in from pasted text): it is accepted and
    left out of search keys.
    """
    previous = ""
    for ch in value:
        cp = ord(ch)
        if (
            0x1F000 <= cp <= 0x1FAFF
            or 0x2600 <= cp <= 0x27BF
            or 0x2B00 <= cp <= 0x2BFF
            or cp in (0x20E3, 0x3030, 0x303D)
            or 0xE0020 <= cp <= 0xE007F
            or (cp == 0xFE0F and previous and (has_emoji(previous) or previous in "#*0123456789"))
        ):
            return True
        previous = ch
    return False


def text_problem(value: object, label: str, max_length: int, *, multiline: bool, allow_emoji: bool = True) -> str | None:
    if not isinstance(value, str):
        return f"{label}は文字で入力してください。"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return f"{label}に使用できない文字が含まれています。"
    if _NOT_TEXT.search(value):
        return f"{label}に文字化けした文字（�）が含まれています。元の文字で入力し直してください。"
    if (_CONTROL_MULTILINE if multiline else _CONTROL_LINE).search(value):
        return f"{label}に使用できない文字（制御文字）が含まれています。"
    if _BIDI.search(value):
        return f"{label}に文字の向きを変える制御文字が含まれています。取り除いて入力してください。"
    if "\ufeff" in value:
        return f"{label}にBOM（U+FEFF）が含まれています。取り除いて入力してください。"
    if not allow_emoji and has_emoji(value):
        return f"{label}に絵文字は使えません。"
    if len(value) > max_length:
        return f"{label}は{max_length:,}文字以内で入力してください（現在{len(value):,}文字）。"
    return None


def has_control_character(value: str, *, multiline: bool = False) -> bool:
    return bool((_CONTROL_MULTILINE if multiline else _CONTROL_LINE).search(value))


# -- search keys ------------------------------------------------------------------------------------------------

# The MJ縮退マップ schemes used: JIS包摂規準・UCS統合規則, 法務省告示582号別表第四 (誤字俗字・正字), and the 戸籍法
# related notices (旧字体 → 新字体 …). 「読み・字形による類推」 is left out: it relates characters that are not the
# same name (it would make 包 find 判).
_MJ_SCHEMES = (jntajis.MJShrinkSchemeCombo.JIS_INCORPORATION_UCS_UNIFICATION_RULE
               | jntajis.MJShrinkSchemeCombo.MOJ_NOTICE_582
               | jntajis.MJShrinkSchemeCombo.MOJ_FAMILY_REGISTER_ACT_RELATED_NOTICE)
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U000323af]")


def _jis_level(ch: str) -> int:
    """1 or 2 for JIS X 0208 第1/第2水準, 3 for anything else (where 髙, 﨑, 德 and 𠮷 live)."""
    try:
        code = jntajis.jnta_encode("jis", ch, jntajis.ConversionMode.JISX0208)
    except (UnicodeEncodeError, jntajis.TransliterationError):
        return 3
    return 1 if len(code) == 2 and code[0] - 0x20 <= 47 else 2 if len(code) == 2 else 3


@functools.lru_cache(maxsize=65536)
def kanji_common_form(ch: str) -> str:
    """The common form of one kanji by the MJ縮退マップ: 髙→高, 﨑→崎, 邊/邉→辺, 𠮷→吉, 齋→斎, 眞→真.

    A 第1水準 character is already common and stays. Any other takes its best candidate, 第1水準 first, then
    第2水準, then itself; the map has short chains (a → b → c), followed to the end. Only this direction is used:
    joining every pair the map mentions into one class would make unrelated characters equal.
    """
    seen = {ch}
    current = ch
    while _jis_level(current) != 1:
        candidates = [c for c in jntajis.mj_shrink_candidates(current, _MJ_SCHEMES) if len(c) == 1]
        best = min(candidates, key=lambda c: (_jis_level(c), c != current), default=current)
        if best == current or best in seen:
            break
        seen.add(best)
        current = best
    return current


def search_key(value: str | None) -> str:
    """The key a text is found by; the same for the stored text and for the query (see the module docstring)."""
    if not value:
        return ""
    text = _INVISIBLE.sub("", value).translate(_SPACING_MARKS)
    text = unicodedata.normalize("NFKC", text)
    text = jaconv.kata2hira(text)
    text = _HAN.sub(lambda m: kanji_common_form(m.group()), text)
    return "".join(text.casefold().split())


def like_pattern(key: str) -> str:
    """``%key%`` for LIKE with ``escape='\\'``: a key containing % or _ matches them literally."""
    return "%" + key.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
