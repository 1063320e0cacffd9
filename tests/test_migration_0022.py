"""Migration 0022 on a database that already holds what it forbids: a staff member seated twice in one meeting,
two one-time links for one municipality. The upgrade keeps the row that matters (the acknowledged seat, the
answered link) and then holds the rule."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import select

from tests.cases_support import unit_of_work
from tests.conftest import run

TOWN, PREFECTURE, OKAWA = "394017", "390003", "393649"


def test_rows_that_break_the_rule_are_folded_and_the_rule_then_holds(pg_server, database_urls):
    from core import migrate
    from core.meetings.models import Meeting, MeetingMember
    from core.prefecture.models import PrefectureSurvey, SurveyInvitation
    from tenants.seed import seed_demo_tenants, seed_registry
    from tests.db import empty_database

    urls = empty_database(pg_server.superuser_url, database_urls.owner, database_urls.app, "kyosei_before_0022")
    migrate.upgrade(urls, "0021")
    run(seed_registry(urls.owner))
    run(seed_demo_tenants(urls.owner, (TOWN,)))
    now = dt.datetime.now(dt.timezone.utc)
    sub = f"twice-{uuid.uuid4()}"

    async def seated_twice(session):
        meeting = Meeting(kind="multilayer_meeting", title="重層的支援会議", starts_at=now, place="役場", created_by=sub)
        session.add(meeting)
        await session.flush()
        session.add_all([MeetingMember(meeting_id=meeting.id, user_sub=sub, name="中村 健", member_role="by_topic"),
                         MeetingMember(meeting_id=meeting.id, user_sub=sub, name="中村 健", member_role="by_topic",
                                       confidentiality_ack_at=now, confidentiality_ack_method="self",
                                       confidentiality_ack_on=now.date(), confidentiality_ack_by=sub),
                         MeetingMember(meeting_id=meeting.id, name="民生委員 高橋", organisation="民生委員協議会"),
                         MeetingMember(meeting_id=meeting.id, name="民生委員 高橋", organisation="民生委員協議会")])
        return meeting.id

    async def two_links(session):
        survey = PrefectureSurvey(title="実態調査", fiscal_year=2033, status="sent")
        session.add(survey)
        await session.flush()
        session.add_all([SurveyInvitation(survey_id=survey.id, municipality_code=OKAWA, token_hash="a" * 64,
                                          answers={"q": "5"}, responder="健康福祉課", answered_at=now),
                         SurveyInvitation(survey_id=survey.id, municipality_code=OKAWA, token_hash="b" * 64)])
        return survey.id

    meeting_id = unit_of_work(urls, TOWN, seated_twice)
    survey_id = unit_of_work(urls, PREFECTURE, two_links)
    migrate.upgrade(urls)

    async def members(session):
        return list(await session.scalars(select(MeetingMember).where(MeetingMember.meeting_id == meeting_id)))

    kept = unit_of_work(urls, TOWN, members)
    staff = [m for m in kept if m.user_sub == sub]
    assert len(staff) == 1 and staff[0].confidentiality_ack_at is not None  # the acknowledged seat stays
    assert len([m for m in kept if m.user_sub is None]) == 2  # two externals of the same name are two people

    async def links(session):
        return list(await session.scalars(select(SurveyInvitation).where(SurveyInvitation.survey_id == survey_id)))

    [link] = unit_of_work(urls, PREFECTURE, links)
    assert link.answered_at is not None and link.token_hash == "a" * 64  # the answered link stays
