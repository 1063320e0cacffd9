"""The isolation matrix's leak detector (tests/matrix.py ``foreign_markers``) can fail: values of the other tenant
that its filters must not hide are made on purpose and must come back as markers, and an answer showing them on
their own must be named — while the longer text that merely contains one (the attacker's own row, the program's
own words) is still not a leak.
"""

from __future__ import annotations

import pytest

from tests import matrix
from tests.conftest import run
from tests.db import fetch
from tests.wall import superuser_database_url

TENANT_A, TENANT_B = "394017", "392049"
NAME = "漏洩検出 花子"  # B's resident
LONGER = f"{NAME}さんの姉（別居）"  # a note in A's own records that happens to contain B's resident's name
PHONE = "0880-99-1234"  # B's resident's telephone number: code-like, but personal


def _template_words() -> str:
    """A piece of a page template's own text, long enough to take a shorter part of it."""
    return next(t for t in sorted(matrix.program_texts())
                if len(t) >= 10 and all("\u3040" <= ch <= "\u9fff" for ch in t))


@pytest.fixture()
def planted(database_urls, pg_server):
    su = superuser_database_url(pg_server.superuser_url)
    part = _template_words()[:6]  # B's note that is part of the program's own words
    insert = ("INSERT INTO person (tenant_id, id, name, kana, name_key, kana_key, phone, contact_note) "
              "VALUES ($1, gen_random_uuid(), $2, 'ろうえいけんしゅつ', '', '', $3, $4)")
    fetch(su, insert, TENANT_B, NAME, PHONE, part)
    fetch(su, insert, TENANT_A, "検出 対照", None, LONGER)
    try:
        yield su, part
    finally:
        fetch(su, "DELETE FROM person WHERE name IN ($1, '検出 対照')", NAME)


def test_a_foreign_name_inside_another_tenants_longer_text_is_still_a_marker(planted):
    su, _ = planted
    markers = run(matrix.foreign_markers(su, TENANT_B))
    assert NAME in markers
    assert markers.shown_in(f"<td>{NAME}</td>") == [NAME]  # B's resident on A's page: a leak
    assert markers.shown_in(f"<td>{LONGER}</td>") == []  # A's own note: not one
    assert markers.shown_in(f"<td>{LONGER}</td><td>{NAME}</td>") == [NAME]  # both: still a leak
    assert markers.shown_in('{"note": "' + LONGER + '"}') == []


def test_a_foreign_phone_number_is_a_marker(planted):
    su, _ = planted
    markers = run(matrix.foreign_markers(su, TENANT_B))
    assert PHONE in markers
    assert markers.shown_in(f"電話 {PHONE}") == [PHONE]


def test_a_foreign_value_inside_the_programs_own_words_is_still_a_marker(planted):
    su, part = planted
    words = _template_words()
    markers = run(matrix.foreign_markers(su, TENANT_B))
    assert part in markers
    assert markers.shown_in(f"<p>{words}</p>") == []  # the page's own sentence
    assert markers.shown_in(f"<td>{part}</td>") == [part]  # B's note, on its own
