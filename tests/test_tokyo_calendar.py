"""Every "today" in Kyosei is Kochi's: the Tokyo calendar day, whatever zone the server's clock is kept in.

A server on UTC is still on yesterday from 00:00 to 09:00 in Japan, the hours an office opens: a timetable of
yesterday's week, a review not yet overdue, last month's meetings on the first of the month, last 年度 on the
morning of 1 April. ``core.wareki.today()`` is the one source; nothing in the app may ask the server's zone."""

from __future__ import annotations

import ast
import datetime as dt
import os
import pathlib
import time
import uuid

import pytest

from core import wareki
from core.programs import service
from core.programs.schemas import parse_slot
from tests.sessions import login, open_session
from tests.test_programs_service import hub_and_program, in_tenant

ROOT = pathlib.Path(__file__).resolve().parents[1]
APP_PACKAGES = ("core", "ui", "plugins", "tenants", "infra")
NAKATOSA = "394017"


def _asks_the_server_zone(call: ast.Call) -> bool:
    """``date.today()``, ``datetime.today()``, ``datetime.now()`` with no zone, ``datetime.utcnow()``: each reads
    the server's clock zone (or a naive UTC time) where a day in Kochi is meant."""
    func = call.func
    if not isinstance(func, ast.Attribute):
        return False
    owner = func.value.attr if isinstance(func.value, ast.Attribute) else getattr(func.value, "id", "")
    if func.attr == "today" and owner in ("date", "datetime"):
        return True
    if func.attr == "utcnow" and owner == "datetime":
        return True
    return func.attr == "now" and owner == "datetime" and not call.args and not call.keywords


def test_no_code_in_the_app_asks_the_server_clock_for_the_day():
    found = []
    for package in APP_PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if ".venv" in path.parts or "node_modules" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            found += [f"{path.relative_to(ROOT)}:{node.lineno}" for node in ast.walk(tree)
                      if isinstance(node, ast.Call) and _asks_the_server_zone(node)]
    assert found == [], f"use core.wareki.today() (the Tokyo day), not the server's zone: {found}"


def test_the_scan_finds_each_way_of_asking_the_server_zone():
    """The scan above must catch what it is for, and let the zoned calls through."""
    def flagged(source: str) -> bool:
        return any(isinstance(n, ast.Call) and _asks_the_server_zone(n) for n in ast.walk(ast.parse(source)))

    for wrong in ("dt.date.today()", "date.today()", "datetime.datetime.today()", "dt.datetime.now()",
                  "datetime.now()", "dt.datetime.utcnow()"):
        assert flagged(wrong), wrong
    for right in ("dt.datetime.now(dt.UTC)", "datetime.now(TOKYO)", "dt.datetime.now(tz=JST)", "wareki.today()"):
        assert not flagged(right), right


@pytest.fixture()
def server_a_day_off_from_tokyo():
    """Put this process's clock zone where its calendar day is not Tokyo's at this moment: twelve hours behind
    UTC (21 hours behind Tokyo) until 21:00 in Tokyo, fourteen ahead (5 hours ahead of Tokyo) after it."""
    tokyo_hour = dt.datetime.now(wareki.TOKYO).hour
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Etc/GMT+12" if tokyo_hour < 21 else "Etc/GMT-14"  # POSIX signs: GMT+12 is UTC−12
    time.tzset()
    try:
        yield
    finally:  # the zone is the process's: put it back before any other test reads the clock
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


def test_today_is_tokyo_s_day_whatever_the_server_zone(server_a_day_off_from_tokyo):
    tokyo_day = dt.datetime.now(dt.UTC).astimezone(wareki.TOKYO).date()
    assert dt.date.today() != tokyo_day  # the server's own calendar is a day off, as it is on UTC after 15:00
    assert wareki.today() == tokyo_day


def test_a_hub_s_week_is_the_week_of_tokyo_s_day_on_a_server_a_day_off(client, database_urls,
                                                                       server_a_day_off_from_tokyo):
    """A timetable slot that runs on one day only, Tokyo's today, is on the hub's week in the page and the API;
    read with the server's own day it would be missing."""
    tokyo_day = dt.datetime.now(dt.UTC).astimezone(wareki.TOKYO).date()
    name = f"今日だけの教室-{uuid.uuid4().hex[:6]}"

    async def one_day_slot(s):
        hub, program = await hub_and_program(s, name)
        await service.add_slot(s, program.id, parse_slot({
            "weekdays": str(tokyo_day.weekday()), "start_time": "10:00", "end_time": "11:00",
            "valid_from": tokyo_day.isoformat(), "valid_until": tokyo_day.isoformat()}))
        return str(hub.id)

    hub_id = in_tenant(database_urls, NAKATOSA, one_day_slot)
    login(client, open_session(database_urls, NAKATOSA, ("staff",)))
    page = client.get(f"/programs/hubs/{hub_id}", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert f'<span class="slot__name">{name}</span>' in page.text
    week = client.get(f"/api/programs/hubs/{hub_id}/timetable")
    assert week.status_code == 200 and name in week.text
