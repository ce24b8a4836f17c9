"""MINHU_DATABASE_URL: SQLite goes through aiosqlite, and an old `sqlite+inloop` URL (MinHu's
former in-loop driver) is refused in one line that names what to write instead."""

from __future__ import annotations

import os

import pytest

from bot.cli import main
from bot.settings import Settings


@pytest.fixture(autouse=True)
def scratch(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # also keeps a developer's own .env out of the tests
    for name in list(os.environ):
        if name.startswith("MINHU_"):
            monkeypatch.delenv(name)
    return tmp_path


def test_sqlite_defaults_to_aiosqlite():
    assert Settings(_env_file=None).database_url == "sqlite+aiosqlite:///minhu.db"
    plain = Settings(_env_file=None, database_url="sqlite:///a.db")
    assert plain.database_url == "sqlite+aiosqlite:///a.db"


def test_an_old_inloop_url_is_refused_naming_the_replacement(scratch, monkeypatch, capsys):
    monkeypatch.setenv("MINHU_DATABASE_URL", f"sqlite+inloop:///{scratch / 'old.db'}")
    assert main(["db", "upgrade"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        "minhu: configuration MINHU_DATABASE_URL: use sqlite+aiosqlite, not sqlite+inloop"
    ]
    assert not (scratch / "old.db").exists()  # nothing made or touched under the old name
