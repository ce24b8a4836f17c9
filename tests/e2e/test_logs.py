"""The log of a real `minhu run` at DEBUG, through a whole ticket life on either framework, holds
no token, no phone number, no resident's name and no complaint text."""

from __future__ import annotations

import asyncio
import re
import signal
import sys
from pathlib import Path

import pytest

from storage.engine import make_engine, make_session_factory
from tests.e2e.emulator import Emulator
from tests.e2e.harness import (
    IDS,
    RESIDENT,
    accept,
    free_port,
    fresh_database,
    load_cast,
    minhu_environment,
    resolve,
    settings_for,
)

COMPLAINT = "我是王秀英，电话13912345678，幸福小区3号楼门口的路灯坏了一个星期"
REPLY = "已更换灯泡，请王秀英女士查看"
PRIVATE = ("13912345678", "王秀英", "幸福小区", "路灯坏了", "已更换灯泡")


@pytest.mark.parametrize("framework", ["aiogram", "ptb"])
async def test_a_debug_log_of_a_whole_ticket_life_keeps_every_secret(
    framework: str, emulator: Emulator, token: str, tmp_path: Path
):
    # Shaped like a real token (the emulator keys the bot's chats by any string).
    token = token.replace(":e2e-token", ":AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0")
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'minhu.db'}"
    await fresh_database(database_url)
    engine = make_engine(database_url)
    await load_cast(make_session_factory(engine), settings_for(emulator.url, token, database_url))
    await engine.dispose()
    environment = minhu_environment(
        database_url,
        token,
        emulator.url,
        telegram_framework=framework,
        listen_port=str(free_port()),
        log_level="DEBUG",
        # The transport loggers print every request's URL, where the token is.
        log_verbose='["httpx", "httpcore", "aiohttp"]',
    )
    log_path = tmp_path / "minhu.log"
    with log_path.open("w") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=tmp_path, env=environment, stderr=log
        )
    try:
        resident = emulator.person(token, RESIDENT, "王秀英")
        worker = emulator.person(token, IDS["worker-g1"], "网格员甲")
        await resident.say(COMPLAINT)
        await resident.expect("您反映的问题")
        await resident.press("提交")
        number = re.search(r"\d{8}-\d{6}", (await resident.expect("已受理，工单号")).text)[0]
        assert COMPLAINT[-8:] in (await worker.expect(f"【新派单】工单 {number}")).text
        await accept(worker, resident, number)
        await resolve(worker, resident, number, REPLY)
        await resident.press("已解决")
        await resident.expect("您对办理结果满意吗")
        await resident.press("满意")
        await resident.expect("还有什么想说的吗")
        await resident.press("跳过")
        await resident.expect(f"感谢您的评价！工单 {number}")
    finally:
        process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), timeout=60)
    logged = log_path.read_text()
    assert code == 0, logged
    assert " DEBUG bot.delivery.loop: outbox" in logged  # the log did run at DEBUG
    if framework == "ptb":  # httpx printed every request, with its URL masked
        assert "HTTP Request: POST" in logged and "/bot***/" in logged
    assert token not in logged and token.split(":")[1] not in logged
    for private in PRIVATE:
        assert private not in logged, private
