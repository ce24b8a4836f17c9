"""Hotline cases in chat: those handling them hear what a chat complaint tells them; the caller,
who has no chat, hears nothing and is asked nothing."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from handlers.buttons import ViewTicket
from handlers.clock_notices import announce
from handlers.hotline import announce_imported
from storage.models import OutboxMessage
from tickets.hotline import parse_cases
from tickets.hotline_intake import import_cases
from tickets.sweeps import sweep

CASES = (
    "case_number,received_at,caller_name,caller_phone,address,text\n"
    "H-1,2026-11-23 09:00,张先生,13800138000,幸福社区第一网格5号楼,楼道的灯坏了一个月，晚上很黑\n"
    "H-2,2026-11-23 09:10,李女士,13900139000,阳光社区东门,门口的垃圾三天没人清运，味道很大\n"
    "H-3,2026-11-23 09:20,王大爷,13700137000,幸福社区3号楼,楼道里有很浓的煤气味，燃气泄漏了\n"
)


async def _import(chat) -> list:
    deps = chat.deps
    found = parse_cases(CASES, deps.policy, json_lines=False)
    async with deps.sessions() as session:
        made = await import_cases(session, deps.policy, deps.classifier, found.cases)
        queued = await announce_imported(session, deps.policy, made.tickets)
        await session.commit()
    await chat.deliver()
    assert queued == 4
    return made.tickets


async def _to_callers(sessions) -> int:
    async with sessions() as session:
        query = select(OutboxMessage).where(col(OutboxMessage.channel) == "hotline")
        return len((await session.exec(query)).all())


async def test_the_worker_and_staff_hear_of_imported_cases(chat, clock, sessions):
    routed, waiting, emergency = await _import(chat)
    assert chat.last("worker-g1").startswith(f"【新派单】工单 {routed.number}（一般）")
    assert "回电：138 0013 8000" in chat.last("worker-g1")
    assert "具体位置：幸福社区第一网格5号楼" in chat.last("worker-g1")
    assert chat.all_text("staff-s2").startswith(
        f"【待派单】工单 {waiting.number}（一般）：热线地址只到阳光社区，未到网格"
    )
    # The emergency reaches the community's and the street's staff at once.
    for staff in ("staff-c1", "staff-s1"):
        assert chat.all_text(staff).startswith(f"【紧急工单】{emergency.number}")
        assert "王大爷 +8613700137000" in chat.all_text(staff)
    assert await _to_callers(sessions) == 0
    # The ticket names its caller as the hotline gave them; nobody "recorded" it here.
    view = "\n".join(
        reply.text for reply in await chat.data("worker-g1", ViewTicket(routed.id).pack())
    )
    assert "群众：张先生　电话：138 0013 8000" in view and "登记人" not in view

    # Handled to the end in chat: the caller is told nothing and asked nothing.
    await chat.press("worker-g1", "接单", on=routed.number)
    clock.advance(timedelta(hours=1))
    await chat.press("worker-g1", "办结", on=routed.number)
    await chat.text("worker-g1", "已更换灯泡")
    assert chat.last("worker-g1") == f"工单 {routed.number} 已办结，等待居民评价。"
    # The clocks run out on the one waiting in triage: staff hear, the caller does not.
    clock.advance(timedelta(days=10))
    async with sessions() as session:
        fired = await sweep(session, chat.deps.policy)
        await announce(session, chat.deps.policy, fired)
        await session.commit()
    assert fired
    assert await _to_callers(sessions) == 0
    assert "" not in chat.inbox
