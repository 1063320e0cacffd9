"""Japanese public holidays (国民の祝日・休日) for skipping sessions, from the ``jpholiday`` package.

``jpholiday`` implements the 国民の祝日に関する法律 with the Cabinet Office's announcements (the special years 2019–2021,
春分の日・秋分の日 as announced each February) and is updated when the law or an announcement changes; keeping it
current is a dependency bump, not a code change here. This module only adapts it to what the programme calendar
asks: a name per day, with every substitute holiday called 振替休日 (the package writes 「勤労感謝の日 振替休日」).

Year-end closures (12/29–1/3) are not public holidays; a hub closes those days by cancelling sessions.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

import jpholiday

FIRST_SUPPORTED_YEAR = 1948  # the 国民の祝日に関する法律 took effect on 1948-07-20
SUBSTITUTE = "振替休日"


def _name(raw: str) -> str:
    return SUBSTITUTE if raw.endswith(SUBSTITUTE) else raw


@cache
def _year(year: int) -> tuple[tuple[dt.date, str], ...]:
    return tuple(sorted((day, _name(name)) for day, name in jpholiday.year_holidays(year)))


def holidays_of_year(year: int) -> dict[dt.date, str]:
    """Every public holiday of ``year`` with its name, 振替休日 and 国民の休日 included, in date order."""
    if year < FIRST_SUPPORTED_YEAR:
        raise ValueError(f"there were no public holidays under the current law before {FIRST_SUPPORTED_YEAR}")
    return dict(_year(year))


def holiday_name(day: dt.date) -> str | None:
    """The holiday's name, or None on an ordinary day."""
    return holidays_of_year(day.year).get(day)


def is_holiday(day: dt.date) -> bool:
    return holiday_name(day) is not None
