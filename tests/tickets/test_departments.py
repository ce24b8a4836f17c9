"""党委派单 / 部门接单 / 联动办 in the domain: who sees a department's tickets, the moves on
its parts, and their clocks."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import select

from storage.models import Department, Person, Ticket, TicketEvent, TicketPart
from tests.factories import cast_in, new_ticket, reloaded, run_sweep
from tickets import departments, handling
from tickets.errors import IllegalTransition, InvalidInput, PermissionDenied, RuleViolation
from tickets.part_sweeps import sweep_parts
from tickets.permissions import in_scope, works_on


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


async def _move(sessions, policy, function, **arguments):
    async with sessions() as session:
        try:
            moved = await function(session, policy, **arguments)
            await session.commit()
            return moved
        except BaseException:
            await session.rollback()
            raise


async def _parts(sessions, ticket_id: int) -> dict[str, TicketPart]:
    """The ticket's parts by department code (the latest of each)."""
    async with sessions() as session:
        query = select(TicketPart, Department.code).join(
            Department, Department.id == TicketPart.department_id
        )
        rows = (await session.exec(query.where(TicketPart.ticket_id == ticket_id))).all()
    return {code: part for part, code in sorted(rows, key=lambda row: row[0].id)}


async def _at_street(sessions, policy, cast, **ticket) -> int:
    """A ticket the grid worker accepted and found beyond the grid: now in 东城街道's triage."""
    ticket_id = await new_ticket(sessions, policy, cast["resident"], **ticket)
    worker = {"ticket_id": ticket_id, "actor": cast["worker-g1"]}
    await _move(sessions, policy, handling.accept_ticket, **worker)
    moved = await _move(
        sessions, policy, departments.needs_department, **worker, reason="路面塌陷，网格修不了"
    )
    assert (moved.ticket.state, moved.ticket.assignee_id) == ("submitted", None)
    assert moved.ticket.handling_area_id == cast.areas["s1"].id
    assert moved.event.action == "needs_department"
    assert moved.event.note == "路面塌陷，网格修不了"  # what street staff read in triage
    return ticket_id


async def _dispatch(sessions, policy, cast, ticket_id: int, lead: str, *assists: str):
    return await _move(
        sessions,
        policy,
        departments.dispatch_to_departments,
        ticket_id=ticket_id,
        actor=cast["staff-s1"],
        lead_id=cast.departments[lead].id,
        assist_ids=[cast.departments[code].id for code in assists],
    )


def _by(cast, code: str, ticket_id: int) -> dict:
    return {"ticket_id": ticket_id, "actor": cast[f"dept-{code}"]}


async def test_a_whole_joint_life_lead_and_assist_to_closed(sessions, policy, clock, cast):
    ticket_id = await _at_street(
        sessions, policy, cast, category="城乡建设", text="路面塌陷一个大坑"
    )
    async with sessions() as session:
        ticket = await session.get(Ticket, ticket_id)
        ticket.subcategory = "城市建设和市政管理"
        # The second level's department first, then the first level's.
        suggested = await departments.suggest_departments(session, ticket)
        assert [d.code for d in suggested] == ["cg", "zj"]
        assert {d.code for d in await departments.departments_serving(session, ticket)} == {
            "cg",
            "zj",
            "sw",
        }
    moved = await _dispatch(sessions, policy, cast, ticket_id, "cg", "zj")
    assert (moved.ticket.state, moved.ticket.assignee_id) == ("assigned", None)
    assert departments.held_by_departments(moved.ticket)
    assert moved.ticket.department_id == cast.departments["cg"].id
    # The parts' clocks speak for the ticket: its own stay quiet, its deadlines stay.
    assert moved.ticket.next_due_at is None and moved.ticket.due_accept_at is not None
    parts = await _parts(sessions, ticket_id)
    assert {code: (p.role, p.state) for code, p in parts.items()} == {
        "cg": ("lead", "assigned"),
        "zj": ("assist", "assigned"),
    }
    assert all(part.next_due_at is not None for part in parts.values())

    # Only the lead resolves; a department without a part sees nothing.
    with pytest.raises(PermissionDenied):
        await _move(sessions, policy, departments.accept_part, **_by(cast, "sw", ticket_id))
    clock.advance(timedelta(hours=1))
    moved = await _move(sessions, policy, departments.accept_part, **_by(cast, "cg", ticket_id))
    assert moved.ticket.state == "accepted" and moved.event.action == "department_accept"
    assert moved.ticket.accepted_in_time is True
    moved = await _move(sessions, policy, departments.accept_part, **_by(cast, "zj", ticket_id))
    assert moved.ticket.state == "accepted" and moved.event.action == "part_accept"
    parts = await _parts(sessions, ticket_id)
    assert [(p.state, p.accepted_in_time) for p in parts.values()] == [("accepted", True)] * 2

    resolve = {**_by(cast, "cg", ticket_id), "reply": "已回填路面并设置警示"}
    with pytest.raises(RuleViolation) as refused:
        await _move(sessions, policy, departments.resolve_by_lead, **resolve)
    assert refused.value.params["reason"] == "parts_open"
    with pytest.raises(RuleViolation):
        await _move(
            sessions, policy, departments.resolve_by_lead, **_by(cast, "zj", ticket_id), reply="x"
        )
    moved = await _move(
        sessions,
        policy,
        departments.finish_part,
        **_by(cast, "zj", ticket_id),
        note="已核查周边管线",
    )
    assert moved.part.state == "finished" and moved.ticket.state == "accepted"
    moved = await _move(sessions, policy, departments.resolve_by_lead, **resolve)
    assert (moved.ticket.state, moved.ticket.resolution_reply) == ("resolved", resolve["reply"])
    assert moved.ticket.next_due_at == moved.ticket.due_close_at  # the auto-close clock runs

    # Not content: back to the lead department, whose part waits for 接单 again.
    moved = await _move(
        sessions,
        policy,
        handling.answer_callback,
        ticket_id=ticket_id,
        actor=cast["resident"],
        solved=False,
        satisfaction="unsatisfied",
    )
    assert (moved.ticket.state, moved.ticket.department_id) == (
        "assigned",
        cast.departments["cg"].id,
    )
    assert (await _parts(sessions, ticket_id))["cg"].state == "assigned"
    await _move(sessions, policy, departments.accept_part, **_by(cast, "cg", ticket_id))
    await _move(sessions, policy, departments.resolve_by_lead, **resolve)
    moved = await _move(
        sessions,
        policy,
        handling.answer_callback,
        ticket_id=ticket_id,
        actor=cast["resident"],
        solved=True,
        satisfaction="satisfied",
    )
    assert moved.ticket.state == "closed"


async def test_the_lead_returns_within_the_window_and_the_dispatch_ends(
    sessions, policy, clock, cast
):
    ticket_id = await _at_street(sessions, policy, cast)
    await _dispatch(sessions, policy, cast, ticket_id, "cg", "zj")
    back = {**_by(cast, "cg", ticket_id), "reason": "不属于城管职责"}
    with pytest.raises(InvalidInput):
        await _move(sessions, policy, departments.return_part, **{**back, "reason": " "})
    moved = await _move(sessions, policy, departments.return_part, **back)
    assert (moved.ticket.state, moved.ticket.department_id) == ("returned", None)
    assert moved.ticket.handling_area_id == cast.areas["s1"].id
    assert moved.ticket.next_due_at is not None  # the dispatch clock runs again
    parts = await _parts(sessions, ticket_id)
    assert {code: p.state for code, p in parts.items()} == {"cg": "returned", "zj": "returned"}
    assert parts["cg"].note == "不属于城管职责" and parts["zj"].next_due_at is None
    # Sent again, to 住建 alone; a return after the window is refused.
    await _dispatch(sessions, policy, cast, ticket_id, "zj")
    clock.advance(timedelta(days=3))
    with pytest.raises(RuleViolation) as refused:
        await _move(
            sessions, policy, departments.return_part, **_by(cast, "zj", ticket_id), reason="晚了"
        )
    assert refused.value.params["reason"] == "return_window"


async def test_an_assist_returns_its_part_and_the_lead_resolves_with_a_reason(
    sessions, policy, cast
):
    ticket_id = await _at_street(sessions, policy, cast)
    await _dispatch(sessions, policy, cast, ticket_id, "cg", "zj", "sw")
    moved = await _move(
        sessions, policy, departments.return_part, **_by(cast, "sw", ticket_id), reason="无供水问题"
    )
    assert (moved.ticket.state, moved.part.state) == ("assigned", "returned")
    await _move(sessions, policy, departments.accept_part, **_by(cast, "cg", ticket_id))
    resolve = {**_by(cast, "cg", ticket_id), "reply": "已处理完毕"}
    with pytest.raises(RuleViolation):
        await _move(sessions, policy, departments.resolve_by_lead, **resolve)
    moved = await _move(
        sessions,
        policy,
        departments.resolve_by_lead,
        **resolve,
        without_reason="住建意见已电话告知，无需现场",
    )
    assert moved.ticket.state == "resolved"
    assert moved.event.data["without_reason"] == "住建意见已电话告知，无需现场"
    assert (await _parts(sessions, ticket_id))["zj"].next_due_at is None


async def test_dispatch_is_for_street_staff_to_departments_serving_the_place(
    sessions, policy, cast
):
    ticket_id = await _at_street(sessions, policy, cast)
    lead = {"ticket_id": ticket_id, "lead_id": cast.departments["cg"].id}
    for outsider in ("worker-g1", "staff-s2", "dept-cg"):
        with pytest.raises((PermissionDenied, IllegalTransition)):
            await _move(
                sessions,
                policy,
                departments.dispatch_to_departments,
                **lead,
                actor=cast[outsider],
            )
    with pytest.raises(InvalidInput) as refused:
        await _dispatch(sessions, policy, cast, ticket_id, "cg", "cg")
    assert refused.value.params["reason"] == "lead_assists"
    # 水务公司 serves 东城街道 only: a ticket in 西湖街道 is not for it.
    far = await new_ticket(sessions, policy, cast["resident3"])
    await _move(
        sessions,
        policy,
        departments.needs_department,
        ticket_id=far,
        actor=cast["worker-g3"],
        reason="需要水务",
    )
    async with sessions() as session:
        assert "sw" not in {
            d.code
            for d in await departments.departments_serving(session, await session.get(Ticket, far))
        }
    with pytest.raises(InvalidInput) as refused:
        await _move(
            sessions,
            policy,
            departments.dispatch_to_departments,
            ticket_id=far,
            actor=cast["admin"],
            lead_id=cast.departments["sw"].id,
        )
    assert refused.value.params["reason"] == "not_serving"


async def test_part_clocks_remind_then_escalate_and_count_a_late_accept(
    sessions, policy, clock, cast
):
    ticket_id = await _at_street(sessions, policy, cast)
    await _dispatch(sessions, policy, cast, ticket_id, "cg")
    lead = (await _parts(sessions, ticket_id))["cg"]
    clock.set(lead.remind_at)
    assert await run_sweep(sessions, policy) == []  # the ticket's own clocks stay quiet
    fired = await _sweep_parts(sessions, policy)
    assert [(e.kind, e.department_id) for e in fired] == [
        ("remind_accept", cast.departments["cg"].id)
    ]
    assert await _sweep_parts(sessions, policy) == []  # once
    clock.set(lead.due_accept_at + timedelta(minutes=1))
    fired = await _sweep_parts(sessions, policy)
    assert [(e.kind, e.handling_area_id) for e in fired] == [
        ("escalate_accept", cast.areas["s1"].id)
    ]
    assert await _sweep_parts(sessions, policy) == []
    moved = await _move(sessions, policy, departments.accept_part, **_by(cast, "cg", ticket_id))
    assert moved.part.accepted_in_time is False and moved.ticket.accepted_in_time is False
    assert moved.part.next_due_at is not None  # the finish clock runs now


async def test_a_part_clock_stops_when_staff_take_the_ticket_elsewhere(
    sessions, policy, clock, cast
):
    ticket_id = await _at_street(sessions, policy, cast)
    await _dispatch(sessions, policy, cast, ticket_id, "cg")
    await _move(
        sessions,
        policy,
        handling.assign_ticket,
        ticket_id=ticket_id,
        actor=cast["staff-s1"],
        worker_id=cast["worker-g2"].id,
    )
    assert (await _parts(sessions, ticket_id))["cg"].state == "returned"
    async with sessions() as session:
        assert not departments.held_by_departments(await session.get(Ticket, ticket_id))
    clock.advance(timedelta(days=5))
    assert await _sweep_parts(sessions, policy) == []


async def test_a_department_lists_only_its_open_parts(sessions, policy, cast):
    first = await _at_street(sessions, policy, cast)
    second = await _at_street(sessions, policy, cast)
    await _dispatch(sessions, policy, cast, first, "cg", "zj")
    await _dispatch(sessions, policy, cast, second, "zj")
    async with sessions() as session:
        cg = await departments.department_work(session, cast.departments["cg"].id)
        zj = await departments.department_work(session, cast.departments["zj"].id)
        sw = await departments.department_work(session, cast.departments["sw"].id)
    assert [(part.role, ticket.id) for part, ticket in cg] == [("lead", first)]
    assert sorted((part.role, ticket.id) for part, ticket in zj) == [
        ("assist", first),
        ("lead", second),
    ]
    assert sw == []


async def _sweep_parts(sessions, policy):
    async with sessions() as session:
        fired = await sweep_parts(session, policy)
        await session.commit()
    return fired


async def test_handlers_accepting_at_once_accept_once(sessions, policy, cast):
    """Four handlers press 接单 together: the part is accepted once, the others are told it
    already is."""
    ticket_id = await _at_street(sessions, policy, cast)
    await _dispatch(sessions, policy, cast, ticket_id, "cg")
    others = [
        Person(
            channel="telegram",
            channel_user_id=f"dept-cg-{index}",
            chat_id=f"dept-cg-{index}",
            role="department",
            department_id=cast.departments["cg"].id,
            area_id=cast.areas["d"].id,
            created_at=policy.clock.now(),
        )
        for index in range(3)
    ]
    async with sessions() as session:
        session.add_all(others)
        await session.commit()
    handlers = (cast["dept-cg"], *others)

    async def accept(handler):
        try:
            return await _move(
                sessions, policy, departments.accept_part, ticket_id=ticket_id, actor=handler
            )
        except RuleViolation as refused:
            return refused

    results = await asyncio.gather(*(accept(handler) for handler in handlers))
    refused = [result for result in results if isinstance(result, RuleViolation)]
    assert len(refused) == 3
    assert {refusal.params["reason"] for refusal in refused} == {"part_accepted"}
    async with sessions() as session:
        events = (
            await session.exec(
                select(TicketEvent).where(
                    TicketEvent.ticket_id == ticket_id, TicketEvent.action == "department_accept"
                )
            )
        ).all()
    assert len(events) == 1


async def _open_work(sessions, cast, code: str) -> list[int]:
    """The tickets on a department's /tasks list."""
    async with sessions() as session:
        work = await departments.department_work(session, cast.departments[code].id)
    return [ticket.id for _, ticket in work]


async def test_withdrawal_and_merging_end_the_departments_open_parts(sessions, policy, cast):
    withdrawn = await _at_street(sessions, policy, cast)
    await _dispatch(sessions, policy, cast, withdrawn, "cg", "zj")
    await _move(sessions, policy, departments.accept_part, **_by(cast, "zj", withdrawn))
    moved = await _move(
        sessions, policy, handling.cancel_ticket, ticket_id=withdrawn, actor=cast["resident"]
    )
    parts = await _parts(sessions, withdrawn)
    assert {code: part.state for code, part in parts.items()} == {
        "cg": "returned",
        "zj": "returned",
    }
    assert sorted(moved.event.data["ended_part_ids"]) == sorted(p.id for p in parts.values())
    assert all(part.next_due_at is None for part in parts.values())

    original = await new_ticket(sessions, policy, cast["resident"])
    duplicate = await _at_street(sessions, policy, cast)
    await _dispatch(sessions, policy, cast, duplicate, "cg")
    moved = await _move(
        sessions,
        policy,
        handling.merge_ticket,
        ticket_id=duplicate,
        actor=cast["staff-s1"],
        original_id=original,
    )
    assert (await _parts(sessions, duplicate))["cg"].state == "returned"
    assert moved.event.data["ended_part_ids"] == [(await _parts(sessions, duplicate))["cg"].id]
    assert await _open_work(sessions, cast, "cg") == []
    assert await _open_work(sessions, cast, "zj") == []


async def test_resolving_without_an_assist_ends_its_part_for_good(sessions, policy, cast):
    ticket_id = await _at_street(sessions, policy, cast)
    await _dispatch(sessions, policy, cast, ticket_id, "cg", "zj")
    await _move(sessions, policy, departments.accept_part, **_by(cast, "cg", ticket_id))
    moved = await _move(
        sessions,
        policy,
        departments.resolve_by_lead,
        **_by(cast, "cg", ticket_id),
        reply="已处理完毕",
        without_reason="住建无需到场",
    )
    zj = (await _parts(sessions, ticket_id))["zj"]
    assert zj.state == "returned" and moved.event.data["ended_part_ids"] == [zj.id]
    # 重办: the lead takes it again; the assist's part does not come back on its list.
    await _move(
        sessions,
        policy,
        handling.reopen_ticket,
        ticket_id=ticket_id,
        actor=cast["staff-s1"],
        reason="居民再次反映",
    )
    assert await _open_work(sessions, cast, "cg") == [ticket_id]
    assert await _open_work(sessions, cast, "zj") == []
    with pytest.raises(RuleViolation):
        await _move(sessions, policy, departments.accept_part, **_by(cast, "zj", ticket_id))


async def test_a_department_works_on_a_ticket_only_while_its_part_is_open(sessions, policy, cast):
    ticket_id = await _at_street(sessions, policy, cast)
    await _dispatch(sessions, policy, cast, ticket_id, "cg", "zj")

    async def works(code: str) -> bool:
        async with sessions() as session:
            return await works_on(session, cast[code], await session.get(Ticket, ticket_id))

    assert await works("dept-cg") and await works("dept-zj") and not await works("dept-sw")
    await _move(
        sessions, policy, departments.return_part, **_by(cast, "zj", ticket_id), reason="非本部门"
    )
    assert await works("dept-cg") and not await works("dept-zj")
    async with sessions() as session:  # still in scope, for its history
        assert await in_scope(session, cast["dept-zj"], await session.get(Ticket, ticket_id))
    assert await works("staff-s1")


async def test_a_tier_sets_the_parts_clocks(sessions, policy, clock, cast):
    """复杂 (10 working days to resolve) set in triage holds for the parts dispatched after it,
    and set later re-times the open parts whose deadline moves, and only those."""
    days = policy.calendar.add_working_days
    tiered = await _at_street(sessions, policy, cast)
    staff = cast["staff-s1"]
    complex_tier = {"actor": staff, "tier": "complex"}
    await _move(sessions, policy, handling.set_tier, ticket_id=tiered, **complex_tier)
    await _dispatch(sessions, policy, cast, tiered, "cg")
    lead = (await _parts(sessions, tiered))["cg"]
    assert lead.due_finish_at == days(lead.created_at, 10)

    ticket_id = await _at_street(sessions, policy, cast)
    await _dispatch(sessions, policy, cast, ticket_id, "cg", "zj")
    await _move(sessions, policy, departments.accept_part, **_by(cast, "cg", ticket_id))
    before = await _parts(sessions, ticket_id)
    clock.set(before["zj"].remind_at)
    fired = await _sweep_parts(sessions, policy)
    assert ("remind_accept", before["zj"].id) in [(e.kind, e.part_id) for e in fired]
    await _move(sessions, policy, handling.set_tier, ticket_id=ticket_id, **complex_tier)
    after = await _parts(sessions, ticket_id)
    dispatched = before["cg"].created_at
    assert after["cg"].due_finish_at == after["zj"].due_finish_at == days(dispatched, 10)
    assert after["cg"].escalate_at == after["cg"].due_finish_at  # the lead's clock re-armed
    assert after["zj"].due_accept_at == before["zj"].due_accept_at
    assert (await reloaded(sessions, ticket_id)).due_resolve_at == days(dispatched, 10)
    assert await _sweep_parts(sessions, policy) == []  # zj's reminder is not repeated
