"""Evidence travels: a resident's photos, place and follow-ups reach whoever handles the ticket,
and the photos a worker sends with 办结 reach the resident with the reply — by the same
reference the channel gave them, and to nobody else."""

from __future__ import annotations

from sqlmodel import select

from storage.models import Person, Ticket

RESIDENT, WORKER, STAFF = "resident", "worker-g1", "staff-c1"
LAMP = "小区3号楼门口的路灯坏了一个星期，晚上很黑"


async def _ticket(sessions) -> Ticket:
    async with sessions() as session:
        return (await session.exec(select(Ticket))).one()


async def _report_with_evidence(chat) -> None:
    await chat.photo(RESIDENT, "AgACphoto-1", caption=LAMP)
    await chat.photo(RESIDENT, "AgACphoto-2")
    await chat.location(RESIDENT, 31.2345, 121.4567)
    await chat.press(RESIDENT, "提交")


async def test_the_assignment_shows_the_residents_photos_and_place(chat, sessions):
    await _report_with_evidence(chat)
    ticket = await _ticket(sessions)
    ping = chat.inbox[WORKER][-1]
    assert ping.text.startswith(f"【新派单】工单 {ticket.number}")
    assert ping.photos == ("AgACphoto-1", "AgACphoto-2")
    assert ping.location == (31.2345, 121.4567)

    # The ticket card the worker opens shows them too.
    await chat.data(WORKER, f"v:{ticket.id}")
    card = chat.inbox[WORKER][-1]
    assert card.photos == ("AgACphoto-1", "AgACphoto-2") and card.location == (31.2345, 121.4567)


async def test_a_ticket_in_triage_shows_its_evidence_to_staff(chat, sessions):
    await chat.photo(RESIDENT, "AgACunclear", caption="有没有人管管这个事情呀")
    await chat.press(RESIDENT, "提交")
    ticket = await _ticket(sessions)
    assert ticket.state == "submitted"
    alert = chat.inbox[STAFF][-1]
    assert alert.text.startswith(f"【待派单】工单 {ticket.number}")
    assert alert.photos == ("AgACunclear",)


async def test_added_information_and_its_photo_reach_the_assignee(chat, sessions):
    await chat.text(RESIDENT, LAMP)
    await chat.press(RESIDENT, "提交")
    ticket = await _ticket(sessions)
    await chat.data(RESIDENT, f"v:{ticket.id}")
    await chat.press(RESIDENT, "补充信息")
    await chat.photo(RESIDENT, "AgACmore", caption="灯杆也歪了")
    told = chat.inbox[WORKER][-1]
    assert "灯杆也歪了" in told.text and told.photos == ("AgACmore",)


async def test_added_information_reaches_staff_while_nobody_is_assigned(chat, sessions):
    await chat.text(RESIDENT, "有没有人管管这个事情呀")
    await chat.press(RESIDENT, "提交")
    ticket = await _ticket(sessions)
    await chat.data(RESIDENT, f"v:{ticket.id}")
    await chat.press(RESIDENT, "补充信息")
    await chat.text(RESIDENT, "就在3号楼门口")
    assert "就在3号楼门口" in chat.last(STAFF)


async def test_a_worker_resolves_with_photos_that_reach_the_resident(chat, sessions):
    await chat.text(RESIDENT, LAMP)
    await chat.press(RESIDENT, "提交")
    await chat.press(WORKER, "接单")
    await chat.press(WORKER, "办结")
    await chat.photo(WORKER, "AgACfixed-1")
    assert chat.last(WORKER) == "照片已附上（共 1 张），请再输入给居民的办理结果答复："
    await chat.photo(WORKER, "AgACfixed-2", caption="已更换灯泡")
    ticket = await _ticket(sessions)
    assert ticket.state == "resolved"
    assert chat.last(WORKER) == f"工单 {ticket.number} 已办结，等待居民评价。"
    told = chat.inbox[RESIDENT][-1]
    assert told.text.startswith(f"工单 {ticket.number} 已办结：\n已更换灯泡")
    assert told.photos == ("AgACfixed-1", "AgACfixed-2")
    assert [a for a in ticket.attachments if a.get("by") == "worker"] == [
        {"kind": "photo", "ref": "AgACfixed-1", "by": "worker"},
        {"kind": "photo", "ref": "AgACfixed-2", "by": "worker"},
    ]
    # The resident's own view of the ticket shows the worker's photos.
    await chat.data(RESIDENT, f"v:{ticket.id}")
    assert chat.inbox[RESIDENT][-1].photos == ("AgACfixed-1", "AgACfixed-2")


async def test_a_resolution_photo_alone_does_not_resolve(chat, sessions):
    await chat.text(RESIDENT, LAMP)
    await chat.press(RESIDENT, "提交")
    await chat.press(WORKER, "接单")
    await chat.press(WORKER, "办结")
    await chat.photo(WORKER, "AgACfixed")
    assert (await _ticket(sessions)).state == "accepted"
    await chat.text(WORKER, "已修好")
    ticket = await _ticket(sessions)
    assert ticket.state == "resolved"
    assert chat.inbox[RESIDENT][-1].photos == ("AgACfixed",)


async def test_nobody_else_gets_the_evidence(chat, sessions):
    await _report_with_evidence(chat)
    ticket = await _ticket(sessions)
    for outsider in ("worker-g3", "staff-s2", "resident2"):
        await chat.data(outsider, f"v:{ticket.id}")
        for reply in chat.inbox.get(outsider, []):
            assert reply.photos == () and reply.location is None, outsider


async def test_a_place_added_later_reaches_the_assignee_and_keeps_the_home_area(chat, sessions):
    await chat.text(RESIDENT, LAMP)
    await chat.press(RESIDENT, "提交")
    ticket = await _ticket(sessions)
    await chat.data(RESIDENT, f"v:{ticket.id}")
    await chat.press(RESIDENT, "补充信息")
    await chat.location(RESIDENT, 31.2345, 121.4567)
    assert chat.last(RESIDENT).startswith(f"已补充到工单 {ticket.number}")
    assert chat.inbox[WORKER][-1].location == (31.2345, 121.4567)
    ticket = await _ticket(sessions)
    assert (ticket.latitude, ticket.longitude) == (31.2345, 121.4567)
    async with sessions() as session:
        resident = await session.get(Person, ticket.resident_id)
    assert resident.area_id == ticket.area_id  # the place was the ticket's, not a move
