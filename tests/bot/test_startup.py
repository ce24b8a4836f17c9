"""What `minhu` says when its configuration cannot be used: one line naming the setting, exit
status 2, never a traceback, never a secret (a password, the bot's token)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from aiohttp import web

from bot.cli import main
from tests.conftest import postgres_url
from tests.e2e.harness import free_port

ROOT = Path(__file__).parents[2]
# Shaped like a real token, so that anything masking tokens by their shape is tested too.
TOKEN = "7214839561:AAHfiqksKZ8WmR2zSjiQ7_v4TMAKdiHm9T0"


@pytest.fixture(autouse=True)
def scratch(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("MINHU_") and not name.startswith("MINHU_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MINHU_DATABASE_URL", f"sqlite:///{tmp_path / 'startup.db'}")
    return tmp_path


def _refused(capsys, arguments: list[str]) -> str:
    assert main(arguments) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err + captured.out
    return lines[0]


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("MINHU_SLA__ACCEPT", "fifteen minutes", "MINHU_SLA: not valid JSON"),
        ("MINHU_HOLIDAYS", "[2026", "MINHU_HOLIDAYS: not valid JSON"),
        ("MINHU_DATABASE_URL", "postgresql://u:s3cret-pw@host:port/db", "not a database URL"),
        ("MINHU_TELEGRAM_TOKEN", "s3cret-pw but pasted wrong", "MINHU_TELEGRAM_TOKEN: not a bot"),
        ("MINHU_REDIS_URL", "mem://s3cret-pw@x", "MINHU_REDIS_URL: not a Redis URL"),
        ("MINHU_REDIS_URL", "redis://:s3cret-pw@127.0.0.1:1/0", "Redis at 127.0.0.1 does not"),
    ],
)
def test_a_bad_setting_is_one_line_without_its_secret(capsys, monkeypatch, variable, value, words):
    monkeypatch.setenv(variable, value)
    line = _refused(capsys, ["worker", "--once"])
    assert words in line
    assert "s3cret-pw" not in line


def test_a_file_that_is_not_sqlite_is_named(capsys, monkeypatch, scratch):
    (scratch / "notes.db").write_text("shopping list, not a database")
    monkeypatch.setenv("MINHU_DATABASE_URL", f"sqlite:///{scratch / 'notes.db'}")
    assert "notes.db: file is not a database" in _refused(capsys, ["db", "upgrade"])


@pytest.mark.postgres
def test_a_postgresql_database_that_does_not_exist_is_named(capsys, monkeypatch):
    base = postgres_url().rsplit("/", 1)[0].replace("postgres@", "postgres:s3cret-pw@", 1)
    monkeypatch.setenv("MINHU_DATABASE_URL", f"{base}/minhu_no_such_database")
    line = _refused(capsys, ["db", "upgrade"])
    assert 'database "minhu_no_such_database" does not exist' in line
    assert "s3cret-pw" not in line


def test_a_broken_rules_file_is_named(capsys, monkeypatch, scratch):
    (scratch / "rules.yaml").write_text("categories: [unclosed\n  - x", encoding="utf-8")
    monkeypatch.setenv("MINHU_RULES_FILE", str(scratch / "rules.yaml"))
    assert "MINHU_RULES_FILE: " in _refused(capsys, ["run"])


async def _refusing_bot_api() -> web.AppRunner:
    """Telegram's answer to a wrong or revoked token, for every method."""

    async def unauthorized(_request: web.Request) -> web.Response:
        return web.json_response(
            {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
        )

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", unauthorized)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner


@pytest.mark.parametrize("command", ["run", "worker"])
@pytest.mark.parametrize("framework", ["aiogram", "ptb"])
async def test_a_refused_token_is_one_line_and_never_printed(framework, command, scratch):
    runner = await _refusing_bot_api()
    port = runner.addresses[0][1]
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MINHU_")},
        "PYTHONPATH": str(ROOT),
        "MINHU_DATABASE_URL": f"sqlite:///{scratch / 'startup.db'}",
        "MINHU_TELEGRAM_TOKEN": TOKEN,
        "MINHU_TELEGRAM_FRAMEWORK": framework,
        "MINHU_TELEGRAM_API_BASE": f"http://127.0.0.1:{port}",
        "MINHU_LOG_LEVEL": "DEBUG",
        "MINHU_LISTEN_PORT": str(free_port()),
    }
    try:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            command,
            cwd=scratch,
            env=environment,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    finally:
        await runner.cleanup()
    said = (out + err).decode()
    assert process.returncode == 2, said
    assert TOKEN not in said and TOKEN.split(":")[1] not in said
    assert "Traceback" not in said
    lines = [line for line in err.decode().splitlines() if line.startswith("minhu:")]
    assert lines == [
        "minhu: MINHU_TELEGRAM_TOKEN: the Bot API refused this token (wrong or revoked); "
        "@BotFather gives the bot's current one"
    ], said
