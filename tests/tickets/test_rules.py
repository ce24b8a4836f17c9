"""The rules of each move: return window, extensions, callbacks, merge, stale buttons, scope."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import func, select

from storage.models import CategoryCorrection, Ticket, TicketCallback, TicketEvent
from tests.factories import cast_in, new_ticket
from tickets import handling
from tickets.errors import (
    IllegalTransition,
    InvalidInput,
    PermissionDenied,
    RuleViolation,
    StaleTicket,
)
from tickets.lifecycle import State


@pytest.fixture
async def cast(sessions, policy):
    return await cast_in(sessions, policy)


async def act(sessions, function, **arguments):
    """One move in its own transaction, as one chat message or button press would be."""
    async with sessions() as session:
        try:
            result = await function(session, **arguments)
        except Exception:
            await session.rollback()
            raise
        await session.commit()
        return result


@pytest.fixture
def move(sessions, policy, cast):
    """A move by one of the cast, named by key, on a ticket, in its own transaction."""

    async def run(function, ticket_id: int, actor: str, **arguments):
        moved = await act(
            sessions, function, policy=policy, ticket_id=ticket_id, actor=cast[actor], **arguments
        )
        return moved.ticket

    return run


async def accepted_ticket(sessions, policy, cast, move) -> int:
    ticket_id = await new_ticket(sessions, policy, cast["resident"])
    await move(handling.accept_ticket, ticket_id, "worker-g1")
    return ticket_id


async def test_return_is_allowed_only_within_one_working_day(sessions, policy, clock, cast, move):
    ticket_id = await new_ticket(sessions, policy, cast["resident"])  # Monday 10:00
    clock.advance(timedelta(days=1, minutes=1))
    with pytest.raises(RuleViolation, match="within 1wd"):
        await move(
            handling.return_ticket,
            ticket_id,
            "worker-g1",
            reason="不归我管",
        )
    early = await new_ticket(sessions, policy, cast["resident"])
    clock.advance(timedelta(hours=23))
    ticket = await move(
        handling.return_ticket,
        early,
        "worker-g1",
        reason="不归我管",
    )
    assert ticket.state == State.RETURNED and ticket.handling_area_id == cast.areas["c1"].id


async def test_a_return_needs_a_reason(sessions, policy, cast, move):
    ticket_id = await new_ticket(sessions, policy, cast["resident"])
    with pytest.raises(InvalidInput, match="reason is required"):
        await move(
            handling.return_ticket,
            ticket_id,
            "worker-g1",
            reason="   ",
        )


async def test_an_approved_extension_moves_the_resolve_clock(sessions, policy, cast, move):
    ticket_id = await accepted_ticket(sessions, policy, cast, move)
    before = (await act(sessions, _get, ticket_id=ticket_id)).due_resolve_at
    with pytest.raises(RuleViolation, match="between 1 and 10"):
        await move(
            handling.request_extension,
            ticket_id,
            "worker-g1",
            days=11,
            reason="等配件",
        )
    await move(
        handling.request_extension,
        ticket_id,
        "worker-g1",
        days=3,
        reason="等配件",
    )
    with pytest.raises(RuleViolation, match="already waiting"):
        await move(
            handling.request_extension,
            ticket_id,
            "worker-g1",
            days=2,
            reason="再等等",
        )
    ticket = await move(
        handling.decide_extension,
        ticket_id,
        "staff-c1",
        approve=True,
    )
    assert ticket.due_resolve_at == policy.calendar.add_working_days(before, 3)
    assert ticket.extension_days == 3 and ticket.pending_extension_days is None
    with pytest.raises(RuleViolation, match="no extension request"):
        await move(
            handling.decide_extension,
            ticket_id,
            "staff-c1",
            approve=True,
        )


async def test_an_unsatisfied_callback_reopens_and_counts(sessions, policy, clock, cast, move):
    ticket_id = await accepted_ticket(sessions, policy, cast, move)
    await move(
        handling.resolve_ticket,
        ticket_id,
        "worker-g1",
        reply="已修好",
    )
    clock.advance(timedelta(hours=5))
    ticket = await move(
        handling.answer_callback,
        ticket_id,
        "resident",
        solved=False,
        satisfaction="unsatisfied",
        comment="灯还是不亮",
    )
    assert ticket.state == State.ASSIGNED and ticket.reopen_count == 1
    assert ticket.assignee_id == cast["worker-g1"].id
    assert ticket.due_accept_at == clock.now() + timedelta(days=1)  # Monday → Tuesday
    async with sessions() as session:
        callbacks = (await session.exec(select(TicketCallback))).all()
    assert [(c.solved, c.satisfaction) for c in callbacks] == [(False, "unsatisfied")]


async def test_a_satisfied_callback_closes(sessions, policy, cast, move):
    ticket_id = await accepted_ticket(sessions, policy, cast, move)
    await move(
        handling.resolve_ticket,
        ticket_id,
        "worker-g1",
        reply="已修好",
    )
    ticket = await move(
        handling.answer_callback,
        ticket_id,
        "resident",
        solved=True,
        satisfaction="basic",
    )
    assert ticket.state == State.CLOSED and ticket.next_due_at is None
    with pytest.raises(InvalidInput, match="unknown satisfaction"):
        await move(
            handling.answer_callback,
            ticket_id,
            "resident",
            solved=True,
            satisfaction="great",
        )


async def test_a_duplicate_is_merged_into_its_original(sessions, policy, cast, move):
    original = await new_ticket(sessions, policy, cast["resident"])
    duplicate = await new_ticket(sessions, policy, cast["resident2"])
    ticket = await move(
        handling.merge_ticket,
        duplicate,
        "staff-c1",
        original_id=original,
    )
    assert ticket.state == State.CLOSED and ticket.merged_into_id == original
    with pytest.raises(RuleViolation, match="merge into an open ticket"):
        third = await new_ticket(sessions, policy, cast["resident"])
        await move(
            handling.merge_ticket,
            third,
            "staff-c1",
            original_id=duplicate,
        )


async def test_a_recategorisation_is_kept_for_the_classifier(sessions, policy, cast, move):
    ticket_id = await new_ticket(sessions, policy, cast["resident"])
    await move(
        handling.recategorise_ticket,
        ticket_id,
        "staff-s1",
        category="环境保护",
        subcategory="环境污染",
    )
    async with sessions() as session:
        correction = (await session.exec(select(CategoryCorrection))).one()
    assert (correction.old_category, correction.new_category) == ("城乡建设", "环境保护")


async def test_a_stale_button_is_refused(sessions, policy, cast, move):
    ticket_id = await new_ticket(sessions, policy, cast["resident"])
    version = (await act(sessions, _get, ticket_id=ticket_id)).version
    await move(
        handling.accept_ticket,
        ticket_id,
        "worker-g1",
        expected_version=version,
    )
    with pytest.raises(StaleTicket):  # the same button pressed a second time
        await move(
            handling.accept_ticket,
            ticket_id,
            "worker-g1",
            expected_version=version,
        )


@pytest.mark.parametrize(
    ("actor", "move", "arguments", "error"),
    [
        ("worker-g3", handling.accept_ticket, {}, PermissionDenied),
        ("resident2", handling.cancel_ticket, {}, PermissionDenied),
        ("staff-s2", handling.close_ticket, {"note": "关闭"}, PermissionDenied),
        ("staff-c1", handling.close_ticket, {"note": "关闭"}, IllegalTransition),
        ("staff-s2", handling.add_note, {"note": "看看"}, PermissionDenied),
        ("staff-c1", handling.assign_ticket, {"worker": "worker-g3"}, PermissionDenied),
        ("staff-s2", handling.assign_ticket, {"worker": "worker-g3"}, PermissionDenied),
        ("resident", handling.resolve_ticket, {"reply": "自己修好了"}, PermissionDenied),
    ],
)
async def test_acting_outside_ones_area_changes_nothing(
    sessions, policy, cast, actor, move, arguments, error
):
    ticket_id = await new_ticket(sessions, policy, cast["resident"])
    if "worker" in arguments:
        arguments = {"worker_id": cast[arguments["worker"]].id}
    before = (await act(sessions, _get, ticket_id=ticket_id)).model_dump()
    with pytest.raises(error):
        await act(
            sessions, move, policy=policy, ticket_id=ticket_id, actor=cast[actor], **arguments
        )
    after = (await act(sessions, _get, ticket_id=ticket_id)).model_dump()
    assert after == before
    async with sessions() as session:
        events = (await session.exec(select(func.count()).select_from(TicketEvent))).one()
    assert events == 2  # submit and assign, nothing more


async def _get(session, *, ticket_id: int) -> Ticket:
    return await session.get(Ticket, ticket_id)
