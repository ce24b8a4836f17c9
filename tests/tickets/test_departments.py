"""党委派单 / 部门接单 / 联动办 in the domain: who sees a department's tickets, the moves on
its parts, and their clocks."""

from __future__ import annotations

import pytest

from storage.models import Ticket, TicketPart
from tests.factories import cast_in, new_ticket
from tickets.permissions import in_scope


@pytest.fixture
async def cast(sessions, policy):
    return await cast_in(sessions, policy)


async def test_a_department_handler_sees_only_tickets_their_department_has_a_part_in(
    sessions, policy, cast
):
    ticket_id = await new_ticket(sessions, policy, cast["resident"])
    async with sessions() as session:
        ticket = await session.get(Ticket, ticket_id)
        # 城管 serves the whole district, yet sees nothing it was not sent.
        assert not await in_scope(session, cast["dept-cg"], ticket)
        session.add(
            TicketPart(
                ticket_id=ticket_id,
                department_id=cast.departments["cg"].id,
                role="lead",
                state="assigned",
                created_at=policy.clock.now(),
            )
        )
        await session.flush()
        assert await in_scope(session, cast["dept-cg"], ticket)
        assert not await in_scope(session, cast["dept-zj"], ticket)
