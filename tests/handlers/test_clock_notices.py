"""What people hear when the clocks fire, end to end through the sweep and the outbox."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import func, select

from handlers.clock_notices import announce
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
