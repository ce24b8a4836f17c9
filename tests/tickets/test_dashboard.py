"""The dashboard's queries: tickets per local day, the overdue list, the filtered ticket list."""

from __future__ import annotations

from datetime import date, timedelta

from tests.factories import cast_in, new_ticket
from tickets import handling
from tickets.dashboard import TicketFilter, created_per_day, find_tickets, overdue_list
from tickets.stats import overdue_tickets

ZONE = "Asia/Shanghai"


async def test_tickets_per_local_day_fill_the_gaps(sessions, policy, clock):
    cast = await cast_in(sessions, policy)
    # Monday 10:00 in Beijing; 15 hours earlier is still Sunday there (19:00).
    await new_ticket(sessions, policy, cast["resident"])
    clock.advance(timedelta(hours=15))  # Tuesday 01:00 in Beijing, still Monday in UTC
    await new_ticket(sessions, policy, cast["resident"])
    await new_ticket(sessions, policy, cast["resident2"])
    async with sessions() as session:
        days = await created_per_day(session, area=None, days=3, now=clock.now(), zone=ZONE)
        street = await created_per_day(
            session, area=cast.areas["s2"], days=3, now=clock.now(), zone=ZONE
        )
    assert days == [(date(2026, 11, 22), 0), (date(2026, 11, 23), 1), (date(2026, 11, 24), 2)]
    assert [count for _, count in street] == [0, 0, 0]


async def test_the_overdue_list_matches_the_overdue_condition(sessions, policy, clock):
    cast = await cast_in(sessions, policy)
    first = await new_ticket(sessions, policy, cast["resident"])
    clock.advance(timedelta(minutes=1))
    second = await new_ticket(sessions, policy, cast["resident3"])
    async with sessions() as session:
        await handling.accept_ticket(session, policy, ticket_id=second, actor=cast["worker-g3"])
        await session.commit()
    clock.advance(timedelta(minutes=1))
    await new_ticket(sessions, policy, cast["resident2"])
    clock.advance(timedelta(days=20))
    now = clock.now()
    async with sessions() as session:
        ours = await overdue_list(session, now, area=None, limit=20)
        theirs = await overdue_tickets(session, now, area=None, limit=20)
        two = await overdue_list(session, now, area=None, limit=2)
        west = await overdue_list(session, now, area=cast.areas["s2"])
    assert [t.id for t in ours] == [t.id for t in theirs] and len(ours) == 3
    assert [t.id for t in two] == [first, second]
    assert [t.id for t in west] == [second]


async def test_the_ticket_list_filters_and_pages(sessions, policy, clock):
    cast = await cast_in(sessions, policy)
    ids = []
    for n in range(5):
        ids.append(await new_ticket(sessions, policy, cast["resident3"], category="环境保护"))
        clock.advance(timedelta(minutes=n + 1))
    await new_ticket(sessions, policy, cast["resident3"], category="城乡建设")
    async with sessions() as session:
        page1, more1 = await find_tickets(
            session,
            scope=None,
            filters=TicketFilter(category="环境保护"),
            now=clock.now(),
            zone=ZONE,
            page_size=3,
        )
        page2, more2 = await find_tickets(
            session,
            scope=None,
            filters=TicketFilter(category="环境保护"),
            now=clock.now(),
            zone=ZONE,
            page=2,
            page_size=3,
        )
        outside, _ = await find_tickets(
            session,
            scope=cast.areas["s1"],
            filters=TicketFilter(area_id=cast.areas["s2"].id),
            now=clock.now(),
            zone=ZONE,
        )
    assert [t.id for t in page1 + page2] == ids[::-1]
    assert (more1, more2) == (True, False)
    assert outside == []
