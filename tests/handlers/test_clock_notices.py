"""What people hear when the clocks fire, end to end through the sweep and the outbox."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import func, select

from handlers.clock_notices import announce, announce_parts
from storage.models import OutboxMessage, Ticket
from tickets.sweeps import sweep


async def _sweep(chat) -> int:
    deps = chat.deps
    async with deps.sessions() as session:
        events = await sweep(session, deps.policy)
        queued = await announce(session, deps.policy, events)
        await session.commit()
    await chat.deliver()
    return queued


async def _ticket(sessions) -> Ticket:
    async with sessions() as session:
        return (await session.exec(select(Ticket).order_by(Ticket.id))).first()


async def test_the_worker_is_reminded_then_everyone_hears_of_the_escalation(chat, clock, sessions):
    await chat.text("resident", "小区路灯坏了")
    await chat.press("resident", "提交")
    ticket = await _ticket(sessions)
    clock.set(ticket.remind_at)
    assert await _sweep(chat) == 1
    assert chat.last("worker-g1") == f"【签收提醒】工单 {ticket.number} 请于 11-24 10:00 前签收。"
    await chat.press("worker-g1", "查看")
    assert "接单" in str(chat.inbox["worker-g1"][-1].buttons)

    clock.set(ticket.due_accept_at)
    assert await _sweep(chat) == 3
    assert chat.last("staff-c1") == (
        f"【超时督办】工单 {ticket.number} 已超过签收时限（11-24 10:00），请督办。"
    )
    assert chat.last("worker-g1").startswith(f"工单 {ticket.number} 已超过签收时限，已上报幸福社区")
    assert (
        chat.last("resident") == f"您的工单 {ticket.number} 已由幸福社区督办，我们会尽快为您处理。"
    )
    await chat.press("staff-c1", "查看")
    assert "派单" in str(chat.inbox["staff-c1"][-1].buttons)


async def test_notices_are_never_queued_twice(chat, clock, sessions):
    await chat.text("resident", "小区路灯坏了")
    await chat.press("resident", "提交")
    ticket = await _ticket(sessions)
    clock.set(ticket.due_accept_at)
    async with sessions() as session:
        events = await sweep(session, chat.deps.policy)
        await announce(session, chat.deps.policy, events)
        await announce(session, chat.deps.policy, events)  # e.g. a retried job
        await session.commit()
        queued = (await session.exec(select(func.count()).select_from(OutboxMessage))).one()
    assert queued == 1 + 3  # the assignment ping, then one notice each


async def test_an_unrated_ticket_closes_itself_and_both_sides_hear(chat, clock, sessions):
    await chat.text("resident", "小区路灯坏了")
    await chat.press("resident", "提交")
    await chat.press("worker-g1", "接单")
    await chat.press("worker-g1", "办结")
    await chat.text("worker-g1", "已修好")
    clock.advance(timedelta(days=7, minutes=1))
    await _sweep(chat)
    number = (await _ticket(sessions)).number
    assert chat.last("resident").startswith(f"工单 {number} 办结后一直未收到您的评价，已自动归档")
    assert chat.last("worker-g1") == f"工单 {number} 居民未评价，已自动归档。"


async def test_the_resident_of_a_merged_duplicate_follows_the_escalation(chat, clock, sessions):
    await chat.text("resident", "小区路灯坏了")
    await chat.press("resident", "提交")
    await chat.text("resident2", "小区门口路灯不亮")
    await chat.press("resident2", "仍然提交")  # offered to follow the first; staff merge it
    async with sessions() as session:
        original, duplicate = (await session.exec(select(Ticket).order_by(Ticket.id))).all()
    await chat.command("staff-c1", "ticket", duplicate.number)
    await chat.press("staff-c1", "合并")
    await chat.text("staff-c1", original.number)
    clock.set(original.due_accept_at)
    await _sweep(chat)
    assert (
        chat.last("resident2")
        == f"您的工单 {original.number} 已由幸福社区督办，我们会尽快为您处理。"
    )


async def test_a_departments_late_part_reaches_its_handlers_then_the_street(
    chat, clock, sessions, cast
):
    from storage.models import TicketPart
    from tickets.departments import dispatch_to_departments, needs_department
    from tickets.handling import accept_ticket
    from tickets.part_sweeps import sweep_parts

    await chat.text("resident", "小区路灯坏了")
    await chat.press("resident", "提交")
    ticket = await _ticket(sessions)
    policy = chat.deps.policy
    async with sessions() as session:
        worker = {"ticket_id": ticket.id, "actor": cast["worker-g1"]}
        await accept_ticket(session, policy, **worker)
        await needs_department(session, policy, **worker, reason="网格修不了")
        await dispatch_to_departments(
            session,
            policy,
            ticket_id=ticket.id,
            actor=cast["staff-s1"],
            lead_id=cast.departments["cg"].id,
        )
        await session.commit()
        part = (await session.exec(select(TicketPart))).one()

    async def sweep_parts_now() -> int:
        async with sessions() as session:
            queued = await announce_parts(session, policy, await sweep_parts(session, policy))
            await session.commit()
        await chat.deliver()
        return queued

    clock.set(part.remind_at)
    assert await sweep_parts_now() == 1
    assert chat.last("dept-cg").startswith(f"【签收提醒】城管执法局：工单 {ticket.number} 请于")
    assert "接单" in str(chat.inbox["dept-cg"][-1].buttons)  # what the clock waits for
    clock.set(part.due_accept_at)
    assert await sweep_parts_now() == 2
    assert chat.last("staff-s1").startswith(
        f"【部门超时】城管执法局已超过工单 {ticket.number} 的签收时限"
    )
    assert chat.last("dept-cg").startswith(f"【已超时】工单 {ticket.number} 已超过签收时限")
    assert await sweep_parts_now() == 0


async def test_the_leader_of_a_ticket_departments_hold_hears_its_parts_clocks(
    chat, clock, sessions, cast
):
    """包案: while departments hold the ticket only the parts' clocks speak, so they reach the
    leader too (staff-c1 is not seated at the street that follows the department up)."""
    from storage.models import TicketPart
    from tickets.departments import dispatch_to_departments, needs_department
    from tickets.handling import accept_ticket, set_tier
    from tickets.part_sweeps import sweep_parts

    await chat.text("resident", "小区路灯坏了")
    await chat.press("resident", "提交")
    ticket = await _ticket(sessions)
    policy, street = chat.deps.policy, cast["staff-s1"]
    async with sessions() as session:
        worker = {"ticket_id": ticket.id, "actor": cast["worker-g1"]}
        await accept_ticket(session, policy, **worker)
        await needs_department(session, policy, **worker, reason="网格修不了")
        lead = cast.departments["cg"].id
        await dispatch_to_departments(
            session, policy, ticket_id=ticket.id, actor=street, lead_id=lead
        )
        leader = cast["staff-c1"].id
        await set_tier(
            session, policy, ticket_id=ticket.id, actor=street, tier="major", leader_id=leader
        )
        await session.commit()
        part = (await session.exec(select(TicketPart))).one()

    async def sweep_parts_now() -> int:
        async with sessions() as session:
            queued = await announce_parts(session, policy, await sweep_parts(session, policy))
            await session.commit()
        await chat.deliver()
        return queued

    clock.set(part.remind_at)
    assert await sweep_parts_now() == 2  # the department's handler and the leader
    assert chat.last("staff-c1").startswith(
        f"【包案提醒】您包案的工单 {ticket.number}：城管执法局签收时限"
    )
    assert "接单" not in str(chat.inbox["staff-c1"][-1].buttons)  # not the leader's move
    clock.set(part.due_accept_at)
    assert await sweep_parts_now() == 3  # the street's staff, the leader, the department
    assert chat.last("staff-c1").startswith(
        f"【部门超时】城管执法局已超过工单 {ticket.number} 的签收时限"
    )
