"""Ticket numbers under concurrency: many transactions at once, every number drawn once."""

from __future__ import annotations

import asyncio

from sqlmodel import func, select

from storage.models import Ticket
from tests.factories import cast_in
from tickets.intake import submit_complaint


async def test_200_concurrent_tickets_get_200_distinct_numbers(sessions, policy):
    cast = await cast_in(sessions, policy)
    residents = [cast["resident"], cast["resident2"], cast["resident3"]]

    async def one(index: int) -> str:
        async with sessions() as session:
            ticket = await submit_complaint(
                session,
                policy,
                resident=residents[index % 3],
                text=f"第{index}号投诉：路灯不亮",
                category="城乡建设",
            )
            await session.commit()
            return ticket.number

    numbers = await asyncio.gather(*(one(index) for index in range(200)))
    assert len(set(numbers)) == 200
    assert sorted(numbers) == [f"20261123-{value:06d}" for value in range(1, 201)]
    async with sessions() as session:
        stored = (await session.exec(select(func.count()).select_from(Ticket))).one()
    assert stored == 200
