"""Evidence both ways over real HTTP, with aiogram and python-telegram-bot: a resident's photos
and place arrive in the grid worker's chat as photos (the same file ids) and a location, and the
worker's 办结 photo arrives at the resident with the reply."""

from __future__ import annotations

from sqlmodel import select

from storage.models import Ticket
from tests.e2e.emulator import Emulator
from tests.e2e.harness import (
    IDS,
    RESIDENT,
    accept,
)


async def test_photos_and_place_travel_both_ways(bot, emulator: Emulator, token: str):
    resident = emulator.person(token, RESIDENT, "张阿姨")
    worker = emulator.person(token, IDS["worker-g1"], "网格员甲")

    await resident.photo("AgAC-lamp-1", caption="小区3号楼门口的路灯坏了一个星期，晚上很黑")
    await resident.expect("您反映的问题")
    await resident.photo("AgAC-lamp-2")
    await resident.expect("照片已附上（共 2 张）")
    await resident.location(39.9087, 116.3975)
    await resident.next()
    await resident.press("提交")
    await resident.expect("已受理，工单号")
    async with bot.services.sessions() as session:
        number = (await session.exec(select(Ticket))).one().number

    # The worker's chat: the album of the resident's photos, the place, then the assignment.
    first, second, place = await worker.next(), await worker.next(), await worker.next()
    assert (first.file_id, second.file_id) == ("AgAC-lamp-1", "AgAC-lamp-2")
    assert place.location == (39.9087, 116.3975)
    ping = await worker.expect(f"【新派单】工单 {number}")
    assert ping.button("接单") is not None
    await accept(worker, resident, number)

    # 办结 with a photo and its caption as the reply: the resident sees the same photo.
    await worker.press("办结")
    await worker.expect("请输入给居民的办理结果答复")
    await worker.photo("AgAC-fixed", caption="已更换灯泡")
    await worker.expect(f"工单 {number} 已办结")
    photo = await resident.next()
    assert photo.photo and photo.file_id == "AgAC-fixed"
    told = await resident.expect(f"工单 {number} 已办结：\n已更换灯泡")
    assert told.button("已解决") is not None
    assert await resident.quiet(0.3) == []


async def test_a_number_for_a_call_back_by_the_contact_button(bot, emulator: Emulator, token: str):
    resident = emulator.person(token, RESIDENT, "张阿姨")
    worker = emulator.person(token, IDS["worker-g1"], "网格员甲")
    await resident.say("小区3号楼门口的路灯坏了一个星期，晚上很黑")
    await resident.expect("您反映的问题")
    await resident.press("需要回电")
    asked = await resident.expect("请点击下方按钮发送您的手机号")
    share, skip = asked.keyboard
    assert share == [{"text": "📱 发送我的手机号", "request_contact": True}]
    assert skip == [{"text": "跳过"}]
    await resident.contact("+8613800138000")
    await resident.expect("已记下回电号码。")
    await resident.expect("您反映的问题")
    await resident.press("提交")
    await resident.expect("已受理，工单号")
    ping = await worker.expect("【新派单】工单")
    assert "回电：138 0013 8000" in ping.text
