"""Two whole lives over real HTTP, through aiogram and python-telegram-bot. A ticket that starts
in triage, with a photo, is promised a dispatch time; its dispatch clock reminds the community's
staff and then escalates to the street, whose staff dispatch it from the alert; the worker gets the
resident's photo. An emergency reaches the staff on duty at submission, and the worker's 接单
still works after the overdue notice. Both end the same way: 办结 with a photo that reaches the
resident, the resident's callback, closed. The domain's clock is a manual one, moved by the
test; the sweep is the scheduler's own job, run when the test says."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.clocks import run_due_clocks
from storage.models import Ticket
from tests.conftest import MONDAY_10AM
from tests.e2e.emulator import Emulator
from tests.e2e.harness import IDS, RESIDENT, fresh_database, load_cast, running_bot, settings_for
from tickets.clock import ManualClock

FRAMEWORKS = ("aiogram", "ptb")


@pytest.fixture(params=FRAMEWORKS)
async def bot(request, emulator: Emulator, token: str, tmp_path):
    settings = settings_for(
        emulator.url,
        token,
        f"sqlite+aiosqlite:///{tmp_path / 'e2e.db'}",
        telegram_framework=request.param,
    )
    await fresh_database(settings.database_url)
    # Monday 10:00 in Beijing, a week ago: notices queued "now" are already due for delivery.
    clock = ManualClock(MONDAY_10AM)
    async with running_bot(settings, clock=clock) as running:
        await load_cast(running.services.sessions, settings)
        running.clock = clock
        yield running


async def _ticket(bot) -> Ticket:
    async with bot.services.sessions() as session:
        return (await session.exec(select(Ticket).order_by(Ticket.id.desc()))).first()


async def _until(person, beginning: str, most: int = 4):
    """The first of the next few messages that starts with `beginning` (status notices the
    story does not look at may come before it)."""
    for _ in range(most):
        message = await person.next()
        if message.text.startswith(beginning):
            return message
    raise AssertionError((person.name, beginning))


async def _resolve_with_photo_and_close(bot, worker, resident, number: str) -> None:
    """办结 with a photo: the resident gets the same photo with the reply, answers the
    callback, and the ticket closes."""
    await worker.press("办结")
    await worker.expect("请输入给居民的办理结果答复")
    await worker.photo("AgAC-done", caption="已处理完毕，请查看照片")
    await worker.expect(f"工单 {number} 已办结")
    photo = await resident.next()
    assert photo.photo and photo.file_id == "AgAC-done"
    told = await resident.expect(f"工单 {number} 已办结：\n已处理完毕，请查看照片")
    assert told.button("已解决") is not None
    await resident.press("已解决")
    await resident.expect("您对办理结果满意吗")
    await resident.press("满意")
    await resident.expect("还有什么想说的吗")
    await resident.press("跳过")
    await resident.expect(f"感谢您的评价！工单 {number} 已办结归档。")
    assert (await _ticket(bot)).state == "closed"


async def test_a_ticket_in_triage_is_reminded_escalated_and_dispatched(bot, emulator, token):
    resident = emulator.person(token, RESIDENT, "张阿姨")
    community = emulator.person(token, IDS["staff-c1"], "社区书记")
    street = emulator.person(token, IDS["staff-s1"], "街道员")
    worker = emulator.person(token, IDS["worker-g1"], "网格员甲")

    await resident.photo("AgAC-triage", caption="有没有人管管这个事情呀")
    await resident.expect("您反映的问题")
    await resident.press("提交")
    told = await resident.next()
    assert "正等待幸福社区工作人员派单，承诺 11-23 12:00 前派出" in told.text
    ticket = await _ticket(bot)
    alert = await _until(community, f"【待派单】工单 {ticket.number}（一般）：无法自动分类")
    assert "请于 11-23 12:00 前派单" in alert.text

    bot.clock.set(ticket.remind_at)
    assert await run_due_clocks(bot.services) == 1
    await community.expect(f"【派单提醒】工单 {ticket.number} 仍在待派单，请于 11-23 12:00 前派单")

    bot.clock.set(ticket.due_dispatch_at)
    assert await run_due_clocks(bot.services) == 1
    await street.expect(f"【超时督办】工单 {ticket.number} 已超过派单时限（11-23 12:00）")
    await resident.expect(f"您的工单 {ticket.number} 已由东城街道督办")

    await street.press("派单")
    await street.expect("派给哪位网格员？")
    await street.press("网格员甲（幸福社区第一网格）")
    await street.expect(f"工单 {ticket.number} 已派给 网格员甲。")
    photo = await worker.next()  # the resident's photo comes with the assignment
    assert photo.photo and photo.file_id == "AgAC-triage"
    await worker.expect(f"【新派单】工单 {ticket.number}")
    assert (await _ticket(bot)).state == "assigned"

    await worker.press("接单")
    await worker.expect(f"已接单：工单 {ticket.number}")
    await _until(resident, f"工单 {ticket.number} 网格员已接单")
    await _resolve_with_photo_and_close(bot, worker, resident, ticket.number)


async def test_an_emergency_reaches_the_staff_on_duty_at_once(bot, emulator, token):
    resident = emulator.person(token, RESIDENT, "张阿姨")
    community = emulator.person(token, IDS["staff-c1"], "社区书记")
    street = emulator.person(token, IDS["staff-s1"], "街道员")
    worker = emulator.person(token, IDS["worker-g1"], "网格员甲")

    await resident.say("楼道里煤气味很重，好像燃气泄漏了")
    await resident.expect("⚠️ 如有人被困或有火情、燃气泄漏等危险，请立即拨打 119！")
    told = await resident.next()
    assert "已派给幸福社区第一网格网格员网格员甲" in told.text
    assert told.text.endswith("已同时通知社区、街道值班人员。")
    ticket = await _ticket(bot)
    for staff in (community, street):
        alert = await staff.expect(f"【紧急工单】{ticket.number}\n已派给网格员网格员甲")
        assert "燃气泄漏" in alert.text
    await worker.expect(f"【新派单】工单 {ticket.number}（紧急）")

    bot.clock.set(ticket.due_accept_at)
    assert await run_due_clocks(bot.services) == 1
    overdue = await worker.expect(f"工单 {ticket.number} 已超过签收时限")
    assert overdue.button("接单") is not None
    await worker.press("接单", on="【新派单】")  # the first ping's button, after the notice
    await worker.expect(f"已接单：工单 {ticket.number}")
    assert (await _ticket(bot)).state == "accepted"
    await _until(resident, f"工单 {ticket.number} 网格员已接单")
    await _resolve_with_photo_and_close(bot, worker, resident, ticket.number)
