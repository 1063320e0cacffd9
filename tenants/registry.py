"""The tenant registry: Kochi's 34 municipalities and the prefecture, from ``tenants/data/kochi_municipalities.csv``.

Codes are 全国地方公共団体コード: five digits and a check digit (weights 6,5,4,3,2, modulus 11).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).parent / "data" / "kochi_municipalities.csv"
PREFECTURE_CODE = "390003"
KOCHI_PREFIX = "39"


class Kind(StrEnum):
    CITY = "city"
    TOWN = "town"
    VILLAGE = "village"
    PREFECTURE = "prefecture"

    @property
    def label(self) -> str:
        return {"city": "市", "town": "町", "village": "村", "prefecture": "県"}[self.value]


class InvalidLocalGovernmentCode(ValueError):
    """A code that is not a valid 6-digit local government code. The message is for people (Japanese first)."""


@dataclass(frozen=True, slots=True)
class Municipality:
    code: str
    name: str
    kana: str
    romaji: str
    kind: Kind

    @property
    def is_prefecture(self) -> bool:
        return self.kind is Kind.PREFECTURE


def check_digit(first_five: str) -> int:
    total = sum(int(d) * w for d, w in zip(first_five, (6, 5, 4, 3, 2), strict=True))
    return (11 - total % 11) % 10


def validate_code(code: str) -> str:
    """Return ``code`` when it is a well-formed local government code, else raise with a clear message."""
    if not isinstance(code, str) or not re.fullmatch(r"[0-9]{6}", code):
        raise InvalidLocalGovernmentCode(
            f"団体コードは半角数字6桁で入力してください（入力値: {code!r}） / a local government code is 6 digits"
        )
    expected = check_digit(code[:5])
    if int(code[5]) != expected:
        raise InvalidLocalGovernmentCode(
            f"団体コード {code} の検査数字が正しくありません（正しくは {code[:5]}{expected}） / "
            f"check digit of {code} is wrong (expected {expected})"
        )
    return code


PREFECTURE = Municipality(PREFECTURE_CODE, "高知県", "こうちけん", "Kochi Prefecture", Kind.PREFECTURE)


@lru_cache(maxsize=1)
def load_registry() -> tuple[Municipality, ...]:
    """The 34 municipalities in code order, then the prefecture. Every code is validated on load."""
    with DATA.open(encoding="utf-8", newline="") as fh:
        rows = [
            Municipality(
                code=validate_code(row["code"]),
                name=row["name"],
                kana=row["kana"],
                romaji=row["romaji"],
                kind=Kind(row["kind"]),
            )
            for row in csv.DictReader(fh)
        ]
    rows.sort(key=lambda m: m.code)
    return (*rows, PREFECTURE)


def find(code: str) -> Municipality:
    """The registry entry for ``code``; a malformed code or one outside Kochi is refused with a clear message."""
    validate_code(code)
    for municipality in load_registry():
        if municipality.code == code:
            return municipality
    raise InvalidLocalGovernmentCode(f"団体コード {code} は高知県の市町村ではありません / {code} is not in Kochi prefecture")
