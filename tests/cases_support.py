"""Helpers of the case tests: a unit of work bound to a tenant and an actor, and a ready-made intake."""

from __future__ import annotations

import datetime as dt
import uuid

from infra.database.provision import DatabaseUrls


def unit_of_work(urls: DatabaseUrls, tenant_id: str, work, actor: str = "case-tests"):
    """Run ``await work(session)`` in one committed transaction of ``tenant_id`` as the app role."""
    from core.plugins.testing import unit_of_work as sdk_unit_of_work

    return sdk_unit_of_work(urls, tenant_id, work, actor)


def principal(tenant_id: str = "394017", roles=("staff", "coordinator"), sub: str | None = None):
    from core.auth.principal import Principal

    return Principal(sub=sub or str(uuid.uuid4()), username="tester", display_name="山本 花子", tenant_id=tenant_id,
                     tenant_name=None, roles=frozenset(roles))


def intake_body(**override) -> dict:
    body = {
        "received_on": (__import__("core.cases.schemas", fromlist=["today"]).today() - dt.timedelta(days=1)).isoformat(),
        "receiving_staff": "山本 花子",
        "route": "counter",
        "members": [
            {"name": "山田 太郎", "kana": "やまだ たろう", "birth_date": "1972-04-01", "sex": "male",
             "address": "高知県高岡郡中土佐町久礼1-1", "phone": "0889-52-0000"},
            {"name": "山田 ハナ", "kana": "ヤマダ ハナ", "relationship": "母", "birth_date": "1941-06-10", "sex": "female"},
        ],
        "problems": ["withdrawal", "care"],
        "fields": ["elderly", "poverty"],
        "tags": ["8050"],
        "summary": "母の介護と本人のひきこもりについて相談 🙏",
        "consent_given": True,
    }
    body.update(override)
    return body
