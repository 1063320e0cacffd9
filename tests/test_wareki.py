"""和暦: era boundaries, 元年, fiscal years, and the 和暦-beside-Western formats the UI shows."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from core.wareki import era_year, fiscal_year_label, fiscal_year_of, jdate, jdatetime, to_wareki


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2019, 4, 30), "平成31年4月30日"),
        (date(2019, 5, 1), "令和元年5月1日"),
        (date(2020, 1, 1), "令和2年1月1日"),
        (date(2025, 12, 31), "令和7年12月31日"),
        (date(1989, 1, 7), "昭和64年1月7日"),
        (date(1989, 1, 8), "平成元年1月8日"),
        (date(1926, 12, 24), "大正15年12月24日"),
        (date(1926, 12, 25), "昭和元年12月25日"),
        (date(1912, 7, 29), "明治45年7月29日"),
        (date(1912, 7, 30), "大正元年7月30日"),
        (date(1868, 10, 23), "明治元年10月23日"),
    ],
)
def test_to_wareki_across_era_boundaries(day, expected):
    assert to_wareki(day) == expected


def test_dates_before_meiji_are_written_in_the_western_calendar_only():
    assert to_wareki(date(1868, 10, 22)) == "1868年10月22日"
    with pytest.raises(ValueError):
        era_year(date(1868, 10, 22))


def test_era_year():
    assert era_year(date(2019, 4, 30)) == ("平成", 31)
    assert era_year(date(2019, 5, 1)) == ("令和", 1)
    assert era_year(date(1989, 1, 7)) == ("昭和", 64)
    assert era_year(date(1989, 1, 8)) == ("平成", 1)
    assert era_year("2025-04-01") == ("令和", 7)


def test_accepts_date_datetime_and_iso_strings():
    assert to_wareki("2019-05-01") == "令和元年5月1日"
    assert to_wareki(datetime(2019, 5, 1, 12, 0)) == "令和元年5月1日"
    assert to_wareki("2019-05-01T08:00:00+09:00") == "令和元年5月1日"


def test_aware_datetimes_are_read_in_tokyo_time():
    # 2019-04-30 15:30 UTC is already 1 May in Tokyo: the first day of 令和.
    utc = datetime(2019, 4, 30, 15, 30, tzinfo=timezone.utc)
    assert to_wareki(utc) == "令和元年5月1日"
    assert to_wareki("2019-04-30T15:30:00Z") == "令和元年5月1日"
    assert jdatetime(utc) == "令和元年5月1日 00:30（2019-05-01 00:30）"


def test_missing_values_show_a_dash():
    for fn in (to_wareki, jdate, jdatetime):
        assert fn(None) == "—"
        assert fn("") == "—"


def test_jdate_shows_wareki_beside_the_western_date():
    assert jdate(date(2019, 5, 1)) == "令和元年5月1日（2019-05-01）"
    assert jdate(date(2019, 4, 30)) == "平成31年4月30日（2019-04-30）"
    assert jdate(datetime(2024, 3, 1, 23, 59)) == "令和6年3月1日（2024-03-01）"


def test_jdatetime():
    assert jdatetime(datetime(2025, 4, 1, 9, 5)) == "令和7年4月1日 09:05（2025-04-01 09:05）"
    assert jdatetime("2025-04-01T00:05:00+00:00") == "令和7年4月1日 09:05（2025-04-01 09:05）"
    assert jdatetime(date(2025, 4, 1)) == "令和7年4月1日（2025-04-01）"


def test_fiscal_year_labels():
    assert fiscal_year_label(2025) == "令和7年度（2025年度）"
    assert fiscal_year_label(2020) == "令和2年度（2020年度）"
    # FY2019 began on 2019-04-01, still 平成31年, but is called 令和元年度 by convention.
    assert fiscal_year_label(2019) == "令和元年度（2019年度）"
    assert fiscal_year_label(2018) == "平成30年度（2018年度）"
    # FY1988 ran into 平成 in January 1989, yet stays 昭和63年度; FY1989 is 平成元年度.
    assert fiscal_year_label(1988) == "昭和63年度（1988年度）"
    assert fiscal_year_label(1989) == "平成元年度（1989年度）"
    assert fiscal_year_label(1867) == "1867年度"


def test_fiscal_year_label_wants_a_year_number():
    with pytest.raises(TypeError):
        fiscal_year_label("2025")  # type: ignore[arg-type]


def test_fiscal_year_runs_april_to_march():
    assert fiscal_year_of(date(2020, 3, 31)) == 2019
    assert fiscal_year_of(date(2020, 4, 1)) == 2020
    assert fiscal_year_of("2026-01-15") == 2025


def test_invalid_input_is_an_error_not_a_guess():
    with pytest.raises(ValueError):
        to_wareki("2019-13-01")
    with pytest.raises(TypeError):
        to_wareki(20190501)  # type: ignore[arg-type]


@pytest.mark.parametrize(("typed", "day"), [
    ("2026-04-01", date(2026, 4, 1)),
    ("令和8年4月1日", date(2026, 4, 1)),
    ("R8.4.1", date(2026, 4, 1)),
    ("r8/4/1", date(2026, 4, 1)),
    ("Ｒ８．４．１", date(2026, 4, 1)),
    ("令和元年5月1日", date(2019, 5, 1)),
    ("令和 元年 5月 1日", date(2019, 5, 1)),
    ("平成31年4月30日", date(2019, 4, 30)),
    ("H31.4.30", date(2019, 4, 30)),
    ("平成元年1月8日", date(1989, 1, 8)),
    ("S64.1.7", date(1989, 1, 7)),
    ("昭和16年12月8日", date(1941, 12, 8)),
])
def test_a_date_is_read_from_iso_or_wareki(typed, day):
    from core.wareki import parse_date

    assert parse_date(typed) == day


@pytest.mark.parametrize("typed", [
    "2026-W14-3",  # ISO week date: Python's fromisoformat would read it as 2026-04-01
    "2026-091", "20260401", "2026-4-1", "2026/04/01", "2026-02-30", "2026-04-01T10:00",
    "令和元年4月1日",  # still 平成31年
    "平成32年1月1日", "昭和64年1月8日", "R0.1.1", "令和8年13月1日", "X8.4.1", "令和八年四月一日", "", "\x00",
])
def test_anything_else_is_refused(typed):
    from core.wareki import parse_date

    with pytest.raises(ValueError):
        parse_date(typed)


@pytest.mark.parametrize(("typed", "moment"), [
    ("2026-04-01T10:00", "2026-04-01T10:00:00"),
    ("2026-04-01 9:05", "2026-04-01T09:05:00"),
    ("令和8年4月1日 10:00", "2026-04-01T10:00:00"),
    ("R8.4.1 13:30", "2026-04-01T13:30:00"),
    ("2026-04-01T10:00+09:00", "2026-04-01T10:00:00+09:00"),
])
def test_a_date_and_time_is_read_from_iso_or_wareki(typed, moment):
    from core.wareki import parse_datetime

    assert parse_datetime(typed).isoformat() == moment


@pytest.mark.parametrize("typed", ["2026-W14-3T10:00", "2026-04-01T10", "2026-04-01", "2026-04-01T25:00", "10:00"])
def test_other_dates_and_times_are_refused(typed):
    from core.wareki import parse_datetime

    with pytest.raises(ValueError):
        parse_datetime(typed)


@pytest.mark.parametrize(("typed", "year"), [
    ("2026", 2026), (" 2026 ", 2026), ("２０２６", 2026), (2026, 2026), ("2000", 2000), ("2100", 2100),
    ("1999", None), ("2101", None), ("²⁰²⁶", None), ("²", None), ("9" * 5_000, None), ("-2026", None), ("", None),
    (None, None), ("2026.0", None), ("令和8", None),
])
def test_a_fiscal_year_from_a_form_or_query_is_a_year_kyosei_keeps_or_none(typed, year):
    from core.wareki import read_fiscal_year

    assert read_fiscal_year(typed) == year
