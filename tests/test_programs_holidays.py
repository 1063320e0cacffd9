"""Japanese public holidays, as the session generator skips them (checked against the Cabinet Office lists)."""

from __future__ import annotations

import datetime as dt

import pytest

from core.programs.holidays import holiday_name, holidays_of_year, is_holiday

D = dt.date

OFFICIAL = {
    2024: ["01-01", "01-08", "02-11", "02-12", "02-23", "03-20", "04-29", "05-03", "05-04", "05-05", "05-06",
           "07-15", "08-11", "08-12", "09-16", "09-22", "09-23", "10-14", "11-03", "11-04", "11-23"],
    2025: ["01-01", "01-13", "02-11", "02-23", "02-24", "03-20", "04-29", "05-03", "05-04", "05-05", "05-06",
           "07-21", "08-11", "09-15", "09-23", "10-13", "11-03", "11-23", "11-24"],
    2026: ["01-01", "01-12", "02-11", "02-23", "03-20", "04-29", "05-03", "05-04", "05-05", "05-06", "07-20",
           "08-11", "09-21", "09-22", "09-23", "10-12", "11-03", "11-23"],
    2027: ["01-01", "01-11", "02-11", "02-23", "03-21", "03-22", "04-29", "05-03", "05-04", "05-05", "07-19",
           "08-11", "09-20", "09-23", "10-11", "11-03", "11-23"],
    2019: ["01-01", "01-14", "02-11", "03-21", "04-29", "04-30", "05-01", "05-02", "05-03", "05-04", "05-05",
           "05-06", "07-15", "08-11", "08-12", "09-16", "09-23", "10-14", "10-22", "11-03", "11-04", "11-23"],
    2020: ["01-01", "01-13", "02-11", "02-23", "02-24", "03-20", "04-29", "05-03", "05-04", "05-05", "05-06",
           "07-23", "07-24", "08-10", "09-21", "09-22", "11-03", "11-23"],
}


@pytest.mark.parametrize("year", sorted(OFFICIAL))
def test_the_computed_year_matches_the_official_list(year):
    assert [d.strftime("%m-%d") for d in holidays_of_year(year)] == OFFICIAL[year]


def test_names_substitutes_and_the_citizens_holiday():
    assert holiday_name(D(2025, 2, 24)) == "振替休日"  # 天皇誕生日 fell on a Sunday
    assert holiday_name(D(2026, 9, 22)) == "国民の休日"  # between 敬老の日 and 秋分の日
    assert holiday_name(D(2026, 3, 20)) == "春分の日"
    assert holiday_name(D(2024, 9, 22)) == "秋分の日"
    assert holiday_name(D(2025, 10, 13)) == "スポーツの日"
    assert not is_holiday(D(2025, 12, 29))  # a year-end closure is not a public holiday


def test_equinoxes_2024_to_2030():
    spring = {2024: 20, 2025: 20, 2026: 20, 2027: 21, 2028: 20, 2029: 20, 2030: 20}
    autumn = {2024: 22, 2025: 23, 2026: 23, 2027: 23, 2028: 22, 2029: 23, 2030: 23}
    for year in range(2024, 2031):
        assert holiday_name(D(year, 3, spring[year])) == "春分の日"
        assert holiday_name(D(year, 9, autumn[year])) == "秋分の日"


def test_years_outside_the_rules_are_refused():
    with pytest.raises(ValueError):
        holidays_of_year(1947)
