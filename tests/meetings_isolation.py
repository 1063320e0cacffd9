"""The meetings domain's objects for the isolation suite: ``/meetings/{meeting_id}…`` must be 404 for tenant A
when the meeting belongs to tenant B. Imported by tests/isolation.py (the lead adds the import)."""

from __future__ import annotations

import datetime as dt

from infra.database.provision import DatabaseUrls
from tests.isolation import object_maker


def _unit_of_work(urls: DatabaseUrls, tenant_id: str, work):
    from tests.cases_support import unit_of_work

    return unit_of_work(urls, tenant_id, work, actor="isolation-suite")


@object_maker("meeting_id")
def make_meeting(urls: DatabaseUrls, tenant_id: str) -> str:
    from core.meetings import service
    from core.meetings.kinds import merge

    async def work(session):
        meeting = await service.create_meeting(session, {"kind": "multilayer_meeting", "place": "会議室",
                                                         "starts_at": dt.datetime(2029, 5, 1, 10, 0)}, merge([]))
        return str(meeting.id)

    return _unit_of_work(urls, tenant_id, work)


@object_maker("member_id")
def make_meeting_member(urls: DatabaseUrls, tenant_id: str) -> str:
    from core.meetings import service
    from core.meetings.kinds import merge
    from tests.cases_support import principal

    async def work(session):
        meeting = await service.create_meeting(session, {"kind": "support_meeting", "place": "会議室",
                                                         "starts_at": dt.datetime(2029, 5, 2, 10, 0)}, merge([]))
        member = await service.add_organiser(session, meeting, principal(tenant_id, sub="isolation-suite"))
        return str(member.id)

    return _unit_of_work(urls, tenant_id, work)


@object_maker("item_id")
def make_agenda_item(urls: DatabaseUrls, tenant_id: str) -> str:
    from core.cases import service as cases
    from core.meetings import service
    from core.meetings.kinds import merge
    from tests.cases_support import intake_body

    async def work(session):
        kinds = merge([])
        case = await cases.create_intake(session, intake_body())
        meeting = await service.create_meeting(session, {"kind": "support_meeting", "place": "会議室",
                                                         "starts_at": dt.datetime(2029, 5, 3, 10, 0)}, kinds)
        return str((await service.add_agenda_item(session, meeting, kinds["support_meeting"], case.id)).id)

    return _unit_of_work(urls, tenant_id, work)
