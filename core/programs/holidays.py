"""Japanese public holidays (国民の祝日・休日), computed rather than listed, for skipping sessions.

The rules of the 国民の祝日に関する法律 as they stand since 2007, which is all the programme calendar needs:

- fixed days: 元日 1/1, 建国記念の日 2/11, 天皇誕生日 2/23 (from 2020), 昭和の日 4/29, 憲法記念日 5/3,
  みどりの日 5/4, こどもの日 5/5, 山の日 8/11 (from 2016), 文化の日 11/3, 勤労感謝の日 11/23;
- Happy Monday days: 成人の日 (2nd Monday of January), 海の日 (3rd Monday of July), 敬老の日 (3rd Monday of
  September), スポーツの日 (2nd Monday of October);
- 春分の日 and 秋分の日 by the usual approximation of the equinox (valid 1980–2099; the Cabinet Office announces the
  official day each February, and the formula has matched every announcement so far);
- 振替休日: a holiday on a Sunday moves to the next day that is not a holiday;
- 国民の休日: a day between two holidays is a holiday (in practice a September between 敬老の日 and 秋分の日).

Special years are overrides: 2019 (the enthronement days) and the Olympic moves of 2020 and 2021.
Year-end closures (12/29–1/3) are not public holidays; a hub closes those days by cancelling sessions.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

FIRST_SUPPORTED_YEAR = 2007
LAST_SUPPORTED_YEAR = 2099


def _nth_monday(year: int, month: int, n: int) -> dt.date:
    first = dt.date(year, month, 1)
    offset = (0 - first.weekday()) % 7  # days to the first Monday
    return first + dt.timedelta(days=offset + 7 * (n - 1))


def vernal_equinox_day(year: int) -> int:
    """Day of March of 春分の日."""
    return int(20.8431 + 0.242194 * (year - 1980) - int((year - 1980) / 4))


def autumnal_equinox_day(year: int) -> int:
    """Day of September of 秋分の日."""
    return int(23.2488 + 0.242194 * (year - 1980) - int((year - 1980) / 4))


def _named_holidays(year: int) -> dict[dt.date, str]:
    d = dt.date
    days: dict[dt.date, str] = {
        d(year, 1, 1): "元日",
        _nth_monday(year, 1, 2): "成人の日",
        d(year, 2, 11): "建国記念の日",
        d(year, 3, vernal_equinox_day(year)): "春分の日",
        d(year, 4, 29): "昭和の日",
        d(year, 5, 3): "憲法記念日",
        d(year, 5, 4): "みどりの日",
        d(year, 5, 5): "こどもの日",
        _nth_monday(year, 7, 3): "海の日",
        _nth_monday(year, 9, 3): "敬老の日",
        d(year, 9, autumnal_equinox_day(year)): "秋分の日",
        _nth_monday(year, 10, 2): "スポーツの日" if year >= 2020 else "体育の日",
        d(year, 11, 3): "文化の日",
        d(year, 11, 23): "勤労感謝の日",
    }
    if year >= 2016:
        days[d(year, 8, 11)] = "山の日"
    if year >= 2020:
        days[d(year, 2, 23)] = "天皇誕生日"
    elif year <= 2018:
        days[d(year, 12, 23)] = "天皇誕生日"
    if year == 2019:
        days[d(2019, 5, 1)] = "天皇の即位の日"
        days[d(2019, 10, 22)] = "即位礼正殿の儀の行われる日"
    if year in (2020, 2021):  # Tokyo Olympics: 海の日, スポーツの日 and 山の日 moved by special law
        moved = {
            2020: {"海の日": d(2020, 7, 23), "スポーツの日": d(2020, 7, 24), "山の日": d(2020, 8, 10)},
            2021: {"海の日": d(2021, 7, 22), "スポーツの日": d(2021, 7, 23), "山の日": d(2021, 8, 8)},
        }[year]
        days = {day: name for day, name in days.items() if name not in moved}
        days.update({day: name for name, day in moved.items()})
    return days


@cache
def holidays_of_year(year: int) -> dict[dt.date, str]:
    """Every public holiday of ``year`` with its name, 振替休日 and 国民の休日 included."""
    if not FIRST_SUPPORTED_YEAR <= year <= LAST_SUPPORTED_YEAR:
        raise ValueError(f"holidays are computed for {FIRST_SUPPORTED_YEAR}–{LAST_SUPPORTED_YEAR}, not {year}")
    named = _named_holidays(year)
    days = dict(named)
    # 国民の休日: a weekday squeezed between two holidays.
    for day in sorted(named):
        between = day + dt.timedelta(days=1)
        if between not in named and between + dt.timedelta(days=1) in named and between.weekday() != 6:
            days[between] = "国民の休日"
    # 振替休日: the first following day that is not a holiday.
    for day in sorted(named):
        if day.weekday() == 6:
            substitute = day + dt.timedelta(days=1)
            while substitute in days:
                substitute += dt.timedelta(days=1)
            days[substitute] = "振替休日"
    return dict(sorted(days.items()))


def holiday_name(day: dt.date) -> str | None:
    """The holiday's name, or None on an ordinary day."""
    return holidays_of_year(day.year).get(day)


def is_holiday(day: dt.date) -> bool:
    return holiday_name(day) is not None
