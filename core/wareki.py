"""和暦 (Japanese era) dates, the way municipal documents write them: 令和元年5月1日, 令和7年度.

Every date Kyosei shows a person is written in the era calendar with the Western date beside it
(``jdate``: 令和元年5月1日（2019-05-01）), because 和暦 is what municipal forms use and the Western date is what
people cross-check against.

Times are shown in Asia/Tokyo. Naive ``datetime`` values are taken to be Tokyo wall-clock time already; aware ones
(what the database returns) are converted.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from datetime import date, datetime, timedelta, timezone
from typing import NamedTuple

try:
    from zoneinfo import ZoneInfo

    TOKYO = ZoneInfo("Asia/Tokyo")
except Exception:  # no tz database on this machine (slim images, Windows): Japan has kept +09:00 since 1952
    TOKYO = timezone(timedelta(hours=9), "JST")

EMPTY = "—"


class Era(NamedTuple):
    name: str
    start: date  # first day of the era (Gregorian)


# Standard start dates. Before 1873 Japan used a lunisolar calendar, so 明治 dates before 1873-01-01 computed
# from a Gregorian date are the conventional mapping, not what a document of the time would have said.
ERAS: tuple[Era, ...] = (
    Era("令和", date(2019, 5, 1)),
    Era("平成", date(1989, 1, 8)),
    Era("昭和", date(1926, 12, 25)),
    Era("大正", date(1912, 7, 30)),
    Era("明治", date(1868, 10, 23)),
)

DateLike = date | datetime | str


def today() -> date:
    """Today in Kochi. Every "today" in Kyosei (a review overdue, this week's timetable, this month's meetings,
    this 年度) is the Tokyo calendar day, never the server clock's: a server kept on UTC is still on yesterday
    from 00:00 to 09:00 in Japan, the hours a municipal office opens."""
    return datetime.now(TOKYO).date()


def _as_datetime_or_date(value: DateLike) -> date | datetime:
    if isinstance(value, str):
        text = value.strip()
        # "2019-05-01" is a date; anything longer carries a time (and maybe an offset or a trailing Z).
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text)
    if isinstance(value, (date, datetime)):
        return value
    raise TypeError(f"expected a date, datetime or ISO string, got {type(value).__name__}")


def _tokyo(dt: datetime) -> datetime:
    return dt if dt.tzinfo is None else dt.astimezone(TOKYO)


def _as_date(value: DateLike) -> date:
    parsed = _as_datetime_or_date(value)
    if isinstance(parsed, datetime):
        return _tokyo(parsed).date()
    return parsed


def _is_empty(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def era_year(d: DateLike) -> tuple[str, int]:
    """The era and the year within it: ``era_year(date(2019, 5, 1)) == ("令和", 1)``.

    Raises ``ValueError`` for dates before 明治 (1868-10-23), which have no era in this table.
    """
    day = _as_date(d)
    for era in ERAS:
        if day >= era.start:
            return era.name, day.year - era.start.year + 1
    raise ValueError(f"{day.isoformat()} is before 明治; no era year")


def _year_label(era: str, year: int) -> str:
    return f"{era}{'元' if year == 1 else year}年"  # the first year of an era is 元年, never 1年


def to_wareki(d: DateLike | None) -> str:
    """``2019-04-30`` → ``平成31年4月30日``; ``2019-05-01`` → ``令和元年5月1日``; before 明治 → ``1868年1月1日``."""
    if _is_empty(d):
        return EMPTY
    day = _as_date(d)  # type: ignore[arg-type]
    try:
        era, year = era_year(day)
    except ValueError:
        return f"{day.year}年{day.month}月{day.day}日"
    return f"{_year_label(era, year)}{day.month}月{day.day}日"


def jdate(d: DateLike | None) -> str:
    """和暦 beside the Western date: ``令和元年5月1日（2019-05-01）``."""
    if type(d) is date:  # the usual case, a column value: remembered (a list page shows 50 of them per request)
        return _jdate_of_day(d)
    if _is_empty(d):
        return EMPTY
    return _jdate_of_day(_as_date(d))  # type: ignore[arg-type]


@functools.lru_cache(maxsize=4096)
def _jdate_of_day(day: date) -> str:
    return f"{to_wareki(day)}（{day.isoformat()}）"


def jdatetime(dt: DateLike | None) -> str:
    """Date and time in Tokyo: ``令和元年5月1日 09:30（2019-05-01 09:30）``. A plain date falls back to ``jdate``."""
    if _is_empty(dt):
        return EMPTY
    parsed = _as_datetime_or_date(dt)  # type: ignore[arg-type]
    if not isinstance(parsed, datetime):
        return jdate(parsed)
    local = _tokyo(parsed)
    hhmm = local.strftime("%H:%M")
    return f"{to_wareki(local.date())} {hhmm}（{local.date().isoformat()} {hhmm}）"


def fiscal_year_of(d: DateLike) -> int:
    """The April–March fiscal year (年度) a date falls in: 2020-03-31 → 2019, 2020-04-01 → 2020."""
    day = _as_date(d)
    return day.year if day.month >= 4 else day.year - 1


FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR = 2000, 2100  # the 年度 forms and filters accept


def read_fiscal_year(raw: object) -> int | None:
    """A 年度 as a form or a query string sends it (``2026``, full-width ``２０２６``), or None when the text is not
    one of the years Kyosei keeps (2000–2100).

    ``str.isdigit()`` is not the test: it passes superscripts (``²``) that ``int()`` refuses, and a 10,000-digit
    paste that ``int()`` refuses too, each once a server error. ``isdecimal()`` is exactly what ``int()`` reads."""
    text = str(raw if raw is not None else "").strip()
    if len(text) != 4 or not text.isdecimal():
        return None
    year = int(text)
    return year if FIRST_FISCAL_YEAR <= year <= LAST_FISCAL_YEAR else None


def fiscal_year_label(fy: int) -> str:
    """``2025`` → ``令和7年度（2025年度）``.

    A fiscal year is named after the calendar year it starts in, under the era that calendar year ended up in
    (its 31 December). So FY2019, which began on 2019-04-01 while it was still 平成31年, is 令和元年度 by
    convention (what the ministries used once the era changed), while FY1988, which ran into 平成 in January
    1989, stays 昭和63年度.
    """
    if isinstance(fy, bool) or not isinstance(fy, int):
        raise TypeError(f"fiscal year must be an int, got {type(fy).__name__}")
    try:
        era, year = era_year(date(fy, 12, 31))
    except ValueError:
        return f"{fy}年度"
    return f"{_year_label(era, year)}度（{fy}年度）"


# -- reading a typed date ---------------------------------------------------------------------------------------

DATE_FORMS = "2025-04-01 または 令和7年4月1日（R7.4.1）"
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_ERA_LETTERS = {"R": "令和", "H": "平成", "S": "昭和", "T": "大正", "M": "明治"}
_ERA_DATE = re.compile(r"(令和|平成|昭和|大正|明治)(元|\d{1,2})年(\d{1,2})月(\d{1,2})日")
_ERA_SHORT = re.compile(r"([RHSTM])(\d{1,2})[./](\d{1,2})[./](\d{1,2})")


def parse_date(text: str) -> date:
    """A date as people type it into a form or send it in JSON, and nothing else: ISO ``2026-04-01``, or 和暦
    ``令和8年4月1日`` / ``令和元年5月1日`` / ``R8.4.1`` / ``R8/4/1`` (full-width digits and letters too).

    The 和暦 date must exist in its era (平成31年4月30日 yes, 平成32年 and 令和元年4月1日 no). ISO week dates
    (``2026-W14-3``), ordinal dates, times and other separators are refused. Raises ``ValueError``; callers answer
    with ``DATE_FORMS`` in their Japanese message.
    """
    if not isinstance(text, str):
        raise ValueError("not text")
    normal = "".join(unicodedata.normalize("NFKC", text).split()).upper()
    if iso := _ISO_DATE.fullmatch(normal):
        return date(int(iso[1]), int(iso[2]), int(iso[3]))
    if (match := _ERA_DATE.fullmatch(normal)) is None and (match := _ERA_SHORT.fullmatch(normal)) is None:
        raise ValueError(f"not an ISO or 和暦 date: {text!r}")
    era_name = _ERA_LETTERS.get(match[1], match[1])
    year_in_era = 1 if match[2] == "元" else int(match[2])
    if year_in_era < 1:
        raise ValueError("era years start at 元年")
    index = next(i for i, e in enumerate(ERAS) if e.name == era_name)  # ERAS runs newest first
    era, following = ERAS[index], ERAS[index - 1] if index else None
    day = date(era.start.year + year_in_era - 1, int(match[3]), int(match[4]))
    if day < era.start or (following is not None and day >= following.start):
        raise ValueError(f"{text!r} is not a day of {era_name}")
    return day


_TIME = re.compile(r"(\d{1,2}):(\d{2})(:\d{2}(?:\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?")
DATETIME_FORMS = "2026-04-01T10:00 または 令和8年4月1日 10:00"


def parse_datetime(text: str) -> datetime:
    """A date (``parse_date``: ISO or 和暦) and a time ``H:MM`` or ``HH:MM[:SS]``, joined by ``T`` or a space,
    with an optional UTC offset; naive when none is given. ``2026-W14-3T10:00`` and a bare hour are refused."""
    if not isinstance(text, str):
        raise ValueError("not text")
    normal = unicodedata.normalize("NFKC", text).strip()
    match = re.fullmatch(r"(.+?)(?:T|\s+)(\S+)", normal)
    time = _TIME.fullmatch(match[2]) if match else None
    if time is None:
        raise ValueError(f"not a date and time: {text!r}")
    clock = f"{int(time[1]):02d}:{time[2]}{time[3] or ''}{time[4] or ''}"
    return datetime.fromisoformat(f"{parse_date(match[1]).isoformat()}T{clock}")
