"""Ticket numbers are taken only when the ticket is: a refused or rolled-back submission gives its
number back, so numbers have no gaps; and on PostgreSQL too they follow the order in which the
tickets are written, so what is written with a ticket (the worker's ping) keeps number order."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace

import pytest
from sqlalchemy import text
from sqlmodel import select

from storage.models import OutboxMessage
from storage.outbox import enqueue_rows, outbox_row
from tests.factories import cast_in
from tickets.errors import NotFound, RuleViolation
from tickets.intake import submit_complaint


async def _submit(sessions, policy, resident, **arguments) -> str:
    async with sessions() as session:
        ticket = await submit_complaint(
            session, policy, resident=resident, text="路灯坏了", **arguments
        )
        await session.commit()
        return ticket.number


async def test_refused_submissions_take_no_number(sessions, policy):
    cast = await cast_in(sessions, policy)
    policy = replace(policy, max_new_tickets_per_hour=2)
    first = [await _submit(sessions, policy, cast["resident"]) for _ in range(2)]
    with pytest.raises(RuleViolation):
        await _submit(sessions, policy, cast["resident"])  # the flood guard
    with pytest.raises(NotFound):
        await _submit(sessions, policy, cast["resident2"], area_id=999_999)
    later = await _submit(sessions, policy, cast["resident2"])
    assert [*first, later] == ["20261123-000001", "20261123-000002", "20261123-000003"]


async def test_a_rolled_back_submission_gives_its_number_back(sessions, policy):
    cast = await cast_in(sessions, policy)
    async with sessions() as session:
        await submit_complaint(session, policy, resident=cast["resident"], text="路灯坏了")
        await session.rollback()
    assert await _submit(sessions, policy, cast["resident"]) == "20261123-000001"


async def test_what_is_written_with_concurrent_tickets_keeps_their_number_order(sessions, policy):
    cast = await cast_in(sessions, policy)
    residents = [cast["resident"], cast["resident2"], cast["resident3"]]

    async def one(index: int) -> None:
        async with sessions() as session:
            ticket = await submit_complaint(
                session, policy, resident=residents[index % 3], text="路灯坏了", category="城乡建设"
            )
            # The worker's ping is written at the end of the turn, as the handlers do.
            ping = outbox_row(
                dedupe_key=f"ping:{ticket.number}",
                person_id=ticket.assignee_id,
                channel="telegram",
                chat_id="worker",
                body={"text": f"【新派单】工单 {ticket.number}"},
                now=policy.clock.now(),
            )
            await enqueue_rows(session, [ping])
            await session.commit()

    await asyncio.gather(*(one(index) for index in range(40)))
    async with sessions() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        pings = [row.body["text"] for row in (await session.exec(query)).all()]
    numbers = [re.search(r"\d{8}-\d{6}", text).group() for text in pings]
    assert numbers == [f"20261123-{value:06d}" for value in range(1, 41)]


@pytest.mark.postgres
async def test_postgres_carries_on_from_the_former_sequence(sessions, policy, database_url):
    if "postgresql" not in database_url:
        pytest.skip("the sequence is PostgreSQL's")
    cast = await cast_in(sessions, policy)
    async with sessions() as session:  # a database numbered by ticket_number_seq up to 41
        await session.exec(text("SELECT setval('ticket_number_seq', 41)"))
        await session.commit()
    assert await _submit(sessions, policy, cast["resident"]) == "20261123-000042"
    assert await _submit(sessions, policy, cast["resident"]) == "20261123-000043"
