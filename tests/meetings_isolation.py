"""The meetings domain's objects for the isolation suite: ``/meetings/{meeting_id}…`` must be 404 for tenant A
when the meeting belongs to tenant B, and ``…/members/{member_id}`` names a member *of that meeting*.
Imported by tests/isolation.py."""

from __future__ import annotations

import datetime as dt

from infra.database.provision import DatabaseUrls
from tests.isolation import object_maker


MEETING_ORGANISER = "isolation-suite"  # the sub of the meeting's leader, who has acknowledged secrecy


def _unit_of_work(urls: DatabaseUrls, tenant_id: str, work):
    from tests.cases_support import unit_of_work

    return unit_of_work(urls, tenant_id, work, actor="isolation-suite")


@object_maker("meeting_id", "member_id", "item_id")
def make_meeting(urls: DatabaseUrls, tenant_id: str) -> dict[str, str]:
    """A 支援会議 with its organiser as a member (secrecy acknowledged) and a case of the tenant on its agenda (ids that belong together)."""
    from core.cases import service as cases
    from core.meetings import service
    from core.meetings.kinds import merge
    from tests.cases_support import principal
    from tests.isolation import _case_body, label

    async def work(session):
        kinds = merge([])
        case = await cases.create_intake(session, _case_body(tenant_id))
        meeting = await service.create_meeting(session, {"kind": "support_meeting", "place": label(tenant_id, "会議室"),
                                                         "starts_at": dt.datetime(2029, 5, 2, 10, 0)}, kinds)
        organiser = principal(tenant_id, sub=MEETING_ORGANISER)
        member = await service.add_organiser(session, meeting, organiser)
        # 守秘義務の確認 given, so the organiser signed in reaches the meeting's forms (tests/test_hostile_forms.py)
        await service.acknowledge_confidentiality(session, meeting, member.id, organiser)
        item = await service.add_agenda_item(session, meeting, kinds["support_meeting"], case.id)
        return {"meeting_id": str(meeting.id), "member_id": str(member.id), "item_id": str(item.id)}

    return _unit_of_work(urls, tenant_id, work)
