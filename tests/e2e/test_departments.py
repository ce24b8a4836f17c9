"""党委派单 / 部门接单 / 联动办 over real HTTP, through aiogram and python-telegram-bot: a whole
四单制 life where the grid cannot solve the ticket — the worker accepts it and sends it on as
needing a department, street staff dispatch it to 城管 (lead) and 住建 (assist), both accept,
住建 finishes its part, 城管 resolves, the resident's callback closes it — and a department
returning a ticket outside its categories, back to the street's triage."""

from __future__ import annotations

import pytest
from sqlmodel import select

from storage.models import Department, Ticket, TicketPart
from tests.conftest import MONDAY_10AM
from tests.e2e.emulator import Emulator
from tests.e2e.harness import IDS, RESIDENT, fresh_database, load_cast, running_bot, settings_for
from tickets.clock import ManualClock

LAMP = "小区3号楼门口的路灯坏了一个星期，晚上很黑，老人出门不方便"
REASON = "灯杆线路老化，网格无法维修"


@pytest.fixture(params=("aiogram", "ptb"))
async def bot(request, emulator: Emulator, token: str, tmp_path):
    settings = settings_for(
        emulator.url,
        token,
        f"sqlite+aiosqlite:///{tmp_path / 'e2e.db'}",
        telegram_framework=request.param,
    )
    await fresh_database(settings.database_url)
    clock = ManualClock(MONDAY_10AM)  # notices queued "now" are due for delivery at once
    async with running_bot(settings, clock=clock) as running:
        await load_cast(running.services.sessions, settings)
        yield running


async def _until(person, beginning: str, most: int = 4):
    """The first of the next few messages that starts with `beginning`."""
    for _ in range(most):
        message = await person.next()
        if message.text.startswith(beginning):
            return message
    raise AssertionError((person.name, beginning))


def _labels(message) -> list[str]:
    return [button["text"] for row in message.buttons for button in row]


async def _beyond_the_grid(emulator: Emulator, token: str):
    """Complaint → the grid worker accepts → 需要部门处理 → the street's triage."""
    resident = emulator.person(token, RESIDENT, "张阿姨")
    worker = emulator.person(token, IDS["worker-g1"], "网格员甲")
    street = emulator.person(token, IDS["staff-s1"], "街道员")
    await resident.say(LAMP)
    await resident.expect("您反映的问题")
    await resident.press("提交")
    receipt = await resident.expect("已受理，工单号 ")
    number = receipt.text.split("工单号 ")[1].split("。")[0]
    await worker.expect(f"【新派单】工单 {number}")
    await worker.press("接单")
    await worker.expect(f"已接单：工单 {number}")
    await _until(resident, f"工单 {number} 网格员已接单")

    await worker.press("需要部门处理")
    await worker.expect("请说明网格为什么无法解决、需要哪类部门处理")
    await worker.say(REASON)
    await worker.expect(f"工单 {number} 已提交东城街道，由街道派给职能部门处理。")
    await resident.expect(f"您的工单 {number} 网格无法就地解决，已提交东城街道")
    alert = await _until(street, f"【待派单】工单 {number}")
    assert f"网格无法解决，需职能部门处理（{REASON}）" in alert.text
    return resident, street, number


async def _dispatch(street, number: str, lead: str, *assists: str) -> None:
    await street.press("派给部门", on=number)
    choices = await street.expect(f"工单 {number}：请选择主办部门")
    assert _labels(choices) == ["★ 城管执法局", "★ 住建局", "水务公司"]
    await street.press(lead)
    await street.expect(f"主办：{lead.removeprefix('★ ')}")
    for assist in assists:
        await street.press(assist)
        await street.expect(f"主办：{lead.removeprefix('★ ')}\n协办：{assist}")
    await street.press("确认派单")


async def test_a_joint_life_lead_and_assist_to_closed(bot, emulator, token):
    resident, street, number = await _beyond_the_grid(emulator, token)
    cg = emulator.person(token, IDS["dept-cg"], "城管队员")
    zj = emulator.person(token, IDS["dept-zj"], "住建科员")

    await _dispatch(street, number, "★ 城管执法局", "住建局")
    await street.expect(f"工单 {number} 已派给城管执法局（主办），住建局协办。")
    await resident.expect(f"您的工单 {number} 已交由城管执法局主办，住建局协办，将于")
    assigned = await cg.expect(f"【部门派单】工单 {number}（本部门主办）")
    assert _labels(assigned) == ["接单", "退单"] and "路灯坏了" in assigned.text
    await zj.expect(f"【部门派单】工单 {number}（本部门协办）")

    await cg.press("接单")
    await cg.expect("已接单。请于")
    await resident.expect(f"城管执法局已受理您的工单 {number}，将于")
    await zj.press("接单")
    await zj.expect("已接单。请于")
    await resident.expect(f"住建局也参与处理您的工单 {number}。")

    await zj.press("完成我的部分")
    await zj.expect("请说明本部门完成的工作")
    await zj.say("已核实线路产权属市政，配合断电")
    await zj.expect(f"工单 {number} 的协办部分已完成，已告知主办部门。")
    finished = await cg.expect(f"工单 {number}：协办部门住建局已完成：已核实线路产权属市政")
    assert _labels(finished) == ["办结"]

    await cg.press("办结")
    await cg.expect("请输入给居民的办理结果答复")
    await cg.say("已更换灯杆线路，路灯恢复照明")
    await cg.expect(f"工单 {number} 已办结，等待居民评价。")
    await resident.expect(f"工单 {number} 已办结：\n已更换灯杆线路，路灯恢复照明")
    await resident.press("已解决")
    await resident.expect("您对办理结果满意吗")
    await resident.press("满意")
    await resident.expect("还有什么想说的吗")
    await resident.press("跳过")
    await resident.expect(f"感谢您的评价！工单 {number} 已办结归档。")

    async with bot.services.sessions() as session:
        ticket = (await session.exec(select(Ticket))).one()
        query = select(Department.code, TicketPart).join(
            Department, Department.id == TicketPart.department_id
        )
        parts = {code: part for code, part in (await session.exec(query)).all()}
    assert (ticket.state, ticket.callback_satisfaction) == ("closed", "satisfied")
    assert {code: (p.role, p.state, p.accepted_in_time) for code, p in parts.items()} == {
        "cg": ("lead", "finished", True),
        "zj": ("assist", "finished", True),
    }


async def test_a_department_returns_a_ticket_outside_its_categories(bot, emulator, token):
    resident, street, number = await _beyond_the_grid(emulator, token)
    sw = emulator.person(token, IDS["dept-sw"], "水务员")

    await _dispatch(street, number, "水务公司")
    await street.expect(f"工单 {number} 已派给水务公司（主办）。")
    await resident.expect(f"您的工单 {number} 已交由水务公司主办，将于")
    await sw.expect(f"【部门派单】工单 {number}（本部门主办）")
    await sw.press("退单")
    await sw.expect("请说明退单原因")
    await sw.say("路灯不属于供水业务")
    await sw.expect(f"工单 {number} 已退回街道。")
    await resident.expect(f"水务公司认为您的工单 {number} 不属其职责，已退回街道重新派单")
    again = await street.expect(f"【待派单】工单 {number}")
    assert "职能部门退单（路灯不属于供水业务）" in again.text
    assert "派给部门" in _labels(again)  # back in triage: it can go to a department again

    async with bot.services.sessions() as session:
        ticket = (await session.exec(select(Ticket))).one()
        part = (await session.exec(select(TicketPart))).one()
    assert (ticket.state, ticket.department_id) == ("returned", None)
    assert (part.state, part.note) == ("returned", "路灯不属于供水业务")
