"""`minhu run` with a token serves Telegram by long polling, with either framework, and stops
cleanly on SIGTERM (the two-process test covers the webhook)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.emulator import Emulator
from tests.e2e.harness import fresh_database, minhu_environment


@pytest.mark.parametrize("framework", ["aiogram", "ptb"])
async def test_minhu_run_answers_on_telegram(
    framework: str, emulator: Emulator, token: str, tmp_path: Path
):
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'minhu.db'}"
    await fresh_database(database_url)
    environment = minhu_environment(database_url, token, emulator.url, telegram_framework=framework)
    log = (tmp_path / "minhu.log").open("w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        newcomer = emulator.person(token, 5201, "新居民")
        await newcomer.say("/start")  # waits in the emulator until the bot polls
        await newcomer.expect("您好，这里是「民呼」")
        await newcomer.expect("请先选择您所在的社区或网格")
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=60)
        log.seek(0)
        output = log.read()
        assert code == 0, output
        assert f"telegram: {framework} via long polling" in output
        assert "新居民" not in output  # no names (or words) of residents in the log
    finally:
        process.kill()
