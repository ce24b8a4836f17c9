"""Where the problem is, in chat: area buttons reach the grid, a shared location picks the grid
(for the resident, and for a complaint's ticket), and the bot asks for an address when neither a
grid nor a location says where."""

from __future__ import annotations

from sqlmodel import select

from storage.models import Person, Ticket
from tests.factories import INSIDE


async def _tickets(sessions) -> list[Ticket]:
    async with sessions() as session:
        return list((await session.exec(select(Ticket).order_by(Ticket.id))).all())


async def _home(sessions, user: str) -> int | None:
    async with sessions() as session:
        query = select(Person).where(Person.channel_user_id == user)
        return (await session.exec(query)).one().area_id


async def test_area_buttons_go_down_to_the_grid_and_its_worker_gets_the_ticket(
    chat, sessions, cast
):
    await chat.command("newcomer", "start")
    await chat.press("newcomer", "示范区")
    await chat.press("newcomer", "东城街道")
    await chat.press("newcomer", "幸福社区")
    shown = chat.inbox["newcomer"][-1]
    assert shown.text == "请选择「幸福社区」下的区域："
    labels = [button.text for row in shown.buttons for button in row]
    assert labels == ["幸福社区第一网格", "幸福社区第二网格", "不清楚网格，选整个社区"]
    await chat.press("newcomer", "幸福社区第二网格")
    assert await _home(sessions, "newcomer") == cast.areas["g2"].id
    await chat.text("newcomer", "小区门口的路灯不亮了")
    await chat.press("newcomer", "提交")
    (ticket,) = await _tickets(sessions)
    assert ticket.area_id == cast.areas["g2"].id and ticket.state == "assigned"
    assert chat.last("worker-g2").startswith(f"【新派单】工单 {ticket.number}")


async def test_a_location_inside_a_boundary_picks_the_residents_grid(chat, sessions, cast):
    await chat.command("newcomer", "start")
    await chat.location("newcomer", *INSIDE["g3"])
    assert chat.last("newcomer").startswith("已记录您的所在区域：阳光社区第一网格")
    assert await _home(sessions, "newcomer") == cast.areas["g3"].id


async def test_a_complaint_written_first_goes_where_the_location_says(chat, sessions, cast):
    await chat.command("newcomer", "start")
    await chat.text("newcomer", "楼下的路灯坏了好几天")
    await chat.location("newcomer", *INSIDE["g2"])
    await chat.press("newcomer", "提交")
    (ticket,) = await _tickets(sessions)
    assert ticket.area_id == cast.areas["g2"].id
    assert (ticket.latitude, ticket.longitude) == INSIDE["g2"]
    assert chat.last("worker-g2").startswith(f"【新派单】工单 {ticket.number}")


async def test_a_complaints_location_picks_the_grid_of_the_problem(chat, sessions, cast):
    # The resident lives in g1; the broken light they saw is in g3, across the district.
    await chat.text("resident", "公交站旁边的路灯不亮了")
    await chat.location("resident", *INSIDE["g3"])
    assert chat.last("resident") == "位置已附上，问题所在网格：阳光社区第一网格。"
    await chat.press("resident", "提交")
    (ticket,) = await _tickets(sessions)
    assert ticket.area_id == cast.areas["g3"].id and ticket.state == "assigned"
    assert chat.last("worker-g3").startswith(f"【新派单】工单 {ticket.number}")
    assert "worker-g1" not in chat.inbox
    # A location outside every grid leaves the resident's own grid in charge.
    await chat.text("resident", "小区里的垃圾没人收")
    await chat.location("resident", 10.0, 10.0)
    assert chat.last("resident") == "位置已附上。"
    await chat.press("resident", "提交")
    assert (await _tickets(sessions))[1].area_id == cast.areas["g1"].id


async def _community_only(chat) -> None:
    await chat.command("newcomer", "start")
    await chat.press("newcomer", "示范区")
    await chat.press("newcomer", "东城街道")
    await chat.press("newcomer", "幸福社区")
    await chat.press("newcomer", "不清楚网格，选整个社区")
    assert chat.last("newcomer").startswith("已记录您的所在区域：幸福社区。")


async def test_with_only_a_community_the_bot_asks_where_and_keeps_the_answer(chat, sessions, cast):
    await _community_only(chat)
    await chat.text("newcomer", "楼道的灯坏了")
    await chat.press("newcomer", "提交")
    assert chat.last("newcomer").startswith("提交前请告诉我们问题的具体位置")
    assert await _tickets(sessions) == []
    await chat.text("newcomer", "  幸福小区 3 号楼\u200b 2 单元  ")
    (ticket,) = await _tickets(sessions)
    assert ticket.address == "幸福小区 3 号楼 2 单元"
    assert ticket.area_id == cast.areas["c1"].id and ticket.state == "submitted"
    assert chat.last("newcomer").startswith(f"已受理，工单号 {ticket.number}")
    # Staff triaging it see where; so does the resident's own view of the ticket.
    assert "具体位置：幸福小区 3 号楼 2 单元" in chat.last("staff-c1")
    await chat.command("newcomer", "my")
    await chat.press("newcomer", f"{ticket.number}｜待派单｜城乡建设")
    assert "具体位置：幸福小区 3 号楼 2 单元" in chat.last("newcomer")


async def test_the_address_is_optional_and_a_location_answers_it_too(chat, sessions, cast):
    await _community_only(chat)
    await chat.text("newcomer", "楼道的灯坏了")
    await chat.press("newcomer", "提交")
    await chat.press("newcomer", "跳过")
    (first,) = await _tickets(sessions)
    assert first.address is None and first.area_id == cast.areas["c1"].id
    # Asked again for the next one, a location answers: it names the grid, so its worker acts.
    await chat.text("newcomer", "小区门口的井盖松了")
    await chat.press("newcomer", "提交")
    await chat.location("newcomer", *INSIDE["g1"])
    second = (await _tickets(sessions))[1]
    assert second.area_id == cast.areas["g1"].id and second.state == "assigned"
    assert chat.last("worker-g1").startswith(f"【新派单】工单 {second.number}")


async def test_a_location_given_before_submitting_is_where_enough(chat, sessions, cast):
    await _community_only(chat)
    await chat.text("newcomer", "楼道的灯坏了")
    await chat.location("newcomer", *INSIDE["g2"])
    await chat.press("newcomer", "提交")
    (ticket,) = await _tickets(sessions)  # no address asked
    assert ticket.area_id == cast.areas["g2"].id


async def test_a_too_long_address_is_refused_and_the_question_stays(chat, sessions):
    await _community_only(chat)
    await chat.text("newcomer", "楼道的灯坏了")
    await chat.press("newcomer", "提交")
    await chat.text("newcomer", "幸" * 201)
    assert chat.last("newcomer") == "内容太长（201 字），请精简到 200 字以内。"
    assert await _tickets(sessions) == []
    await chat.photo("newcomer", "photo-1")
    assert chat.last("newcomer") == "照片已附上（共 1 张）。"
    await chat.text("newcomer", "幸福小区东门")
    (ticket,) = await _tickets(sessions)
    assert ticket.address == "幸福小区东门" and [a["ref"] for a in ticket.attachments] == [
        "photo-1"
    ]


async def test_the_address_question_in_english(chat, sessions):
    await chat.command("newcomer", "start")
    await chat.command("newcomer", "lang")
    await chat.press("newcomer", "English")
    await chat.press("newcomer", "示范区")
    await chat.press("newcomer", "东城街道")
    await chat.press("newcomer", "幸福社区")
    await chat.press("newcomer", "Not sure of the grid: the whole community")
    await chat.text("newcomer", "The stair light is broken")
    await chat.press("newcomer", "Submit")
    assert chat.last("newcomer").startswith("Before it goes: where exactly is the problem")
    await chat.text("newcomer", "Building 3, east gate")
    await chat.command("newcomer", "my")
    reply = chat.inbox["newcomer"][-1]
    await chat.data("newcomer", reply.buttons[0][0].data)
    assert "Where: Building 3, east gate" in chat.last("newcomer")
    await chat.text("newcomer", "The lift is noisy at night")
    await chat.location("newcomer", *INSIDE["g2"])
    assert chat.last("newcomer") == "Location attached; the problem is in 幸福社区第二网格."
