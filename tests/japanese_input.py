"""A corpus of Japanese input as people type it, for the text rules (core/text_rules.py) and their tests.

``NAME_FAMILIES``: each family is one name in the forms it arrives in (width, spaces, かな script, a separate
voiced mark, zero-width characters, an ideographic variation selector, 異体字 as in the 戸籍 and the common form
staff type). Every form is stored exactly as typed, and every form of a family finds every other.

``REFUSED``: values that must never be stored, with a fragment of the Japanese message that refuses them.
``HOSTILE_BYTES``: percent-encoded bytes that are not UTF-8 text (or NUL), for query strings and form bodies.
"""

from __future__ import annotations

# (kana of the family, forms of the name)
NAME_FAMILIES: list[tuple[str, tuple[str, ...]]] = [
    ("さとう はなこ", ("佐藤\u3000花子", "佐藤 花子", "佐藤花子")),
    ("かたくらしょうてん たろう", ("ｶﾀｸﾗ商店 太郎", "カタクラ商店 太郎", "かたくら商店 太郎")),
    ("みやがさき じろう", ("宮か\u3099崎 次郎", "宮が崎 次郎", "宮か゛崎 次郎")),
    ("やまぐち さぶろう", ("山口\u200b三郎", "山口三郎", "山口\u200d三郎")),
    ("たかはし いちろう", ("髙橋 一郎", "高橋 一郎")),
    ("やまさき みなこ", ("山﨑 美奈子", "山崎 美奈子")),
    ("わたなべ けん", ("渡邊 健", "渡邉 健", "渡辺 健")),
    ("よしの まさる", ("𠮷野 勝", "吉野 勝")),
    ("かさい ゆう", ("葛\U000e0100西 優", "葛西 優")),
    ("さいとう まこと", ("齋藤 誠", "斎藤 誠")),
    ("さわだ ひろし", ("澤田 博", "沢田 博")),
    ("はまぐち ようこ", ("濱口 陽子", "浜口 陽子")),
    ("こくぶ あきら", ("國分 明", "国分 明")),
    ("ひろせ みき", ("廣瀬 美紀", "広瀬 美紀")),
    ("さくらい しずか", ("櫻井 静香", "桜井 静香")),
    ("とくなが さとし", ("德永 聡", "徳永 聡")),
    ("まなべ かおり", ("眞鍋 香織", "真鍋 香織")),
    ("ぱく じゅん", ("ﾊﾟｸ ｼﾞｭﾝ", "パク ジュン", "ぱく じゅん")),
    ("すみす じょん", ("ＳＭＩＴＨ　Ｊｏｈｎ", "Smith John", "smith john")),
]

# Parts of names staff type: each finds every form of its family (partial match).
PARTIAL_QUERIES: dict[str, tuple[str, ...]] = {
    "佐藤 花子": ("佐藤", "花子", "佐藤　花子"),
    "カタクラ商店 太郎": ("ｶﾀｸﾗ商店", "カタクラ商店", "かたくら"),
    "高橋 一郎": ("高橋", "髙橋"),
    "渡辺 健": ("渡辺", "渡邊", "わたなべ", "ワタナベ"),
}

# (value, fragment of the message): never stored
REFUSED: list[tuple[str, str]] = [
    ("山田\x00太郎", "制御文字"),
    ("山田\x1b[31m太郎", "制御文字"),
    ("山田\x85太郎", "制御文字"),  # C1 NEXT LINE
    ("\ufeff山田太郎", "BOM"),
    ("山田\u202e郎太", "文字の向き"),  # RIGHT-TO-LEFT OVERRIDE
    ("山田\u2066太郎\u2069", "文字の向き"),  # isolates
    ("山田\ufffd太郎", "文字化け"),
    ("山田\ud800太郎", "使用できない文字"),  # a lone surrogate (only JSON escapes can carry one)
]

# Percent-encoded bytes that are not text: invalid UTF-8, an overlong '/', an encoded surrogate, NUL.
HOSTILE_BYTES: list[str] = ["%FF%FEa", "%C0%AF", "%ED%A0%80", "%00", "a%80", "%E3%81"]
