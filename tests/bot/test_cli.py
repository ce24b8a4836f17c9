"""The `minhu` command: what an admin types, including what they type wrong."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from bot.cli import main

EXAMPLE = Path(__file__).parents[2] / "examples" / "areas.yaml"


@pytest.fixture(autouse=True)
def scratch_database(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # also keeps a developer's own .env out of the tests
    for name in list(os.environ):
        if name.startswith("MINHU_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MINHU_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    return tmp_path / "cli.db"


def test_db_upgrade_creates_the_database(scratch_database, capsys):
    assert main(["db", "upgrade"]) == 0
    assert scratch_database.exists()
    assert "database ready" in capsys.readouterr().out


def test_the_example_directory_loads_and_reloads(capsys):
    assert main(["areas", "load", str(EXAMPLE)]) == 0
    assert main(["areas", "load", str(EXAMPLE)]) == 0
    assert "loaded 7 areas, 4 departments and 8 people" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, "no such file"),
        ("areas: [unclosed", "not valid YAML"),
        ("areas: []", "areas: List should have at least 1 item"),
        ("areas:\n  - {code: a, name: A, level: planet}", "unknown level 'planet'"),
        (
            "areas:\n  - {code: a, name: A, level: grid, children: "
            "[{code: b, name: B, level: street}]}",
            "cannot sit below",
        ),
        ("areas:\n  - {code: a, name: A, level: district}\npeople: [{name: X}]", "people.0.role"),
        (
            "areas:\n  - {code: a, name: A, level: district}\n"
            "people: [{name: X, role: worker, area: nowhere, user_id: 1}]",
            "no area with code 'nowhere'",
        ),
        (
            "areas:\n  - {code: a, name: A, level: district}\n"
            "people: [{name: X, role: resident, area: a, user_id: 1}]",
            "residents register themselves",
        ),
    ],
)
def test_a_bad_directory_file_is_explained_and_loads_nothing(tmp_path, capsys, content, words):
    path = tmp_path / "areas.yaml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    assert main(["areas", "load", str(path)]) == 2
    assert words in capsys.readouterr().err
    assert main(["worker", "--once"]) == 0
    assert main(["demo", "--tickets", "1"]) == 0  # the demo district is not "already there"
    assert "already" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("MINHU_TIMEZONE", "Mars/Olympus", "MINHU_TIMEZONE: unknown time zone"),
        ("MINHU_DATABASE_URL", "mysql://x", "unsupported database 'mysql'"),
        ("MINHU_DATABASE_URL", "not a url", "not a database URL"),
        ("MINHU_SLA__RETURN_WINDOW", "soon", "MINHU_SLA__RETURN_WINDOW"),
        ("MINHU_HOLIDAYS", '["2026-13-01"]', "MINHU_HOLIDAYS"),
        ("MINHU_LOCALE", "fr", "MINHU_LOCALE"),
        ("MINHU_MAKEUP_WORKDAYS", '["2026-10-01"]', "both list 2026-10-01"),
    ],
)
def test_bad_configuration_is_named(monkeypatch, capsys, variable, value, words):
    monkeypatch.setenv("MINHU_HOLIDAYS", '["2026-10-01"]')
    monkeypatch.setenv(variable, value)
    assert main(["db", "upgrade"]) == 2
    assert words in capsys.readouterr().err


def test_demo_seeds_once(capsys):
    assert main(["demo", "--tickets", "40", "--days", "10"]) == 0
    assert "40 tickets" in capsys.readouterr().out
    assert main(["demo"]) == 0
    assert "already" in capsys.readouterr().out


def test_run_serves_the_console_runs_the_clocks_and_stops_cleanly(tmp_path):
    """The real command in a process of its own, stopped the way a service manager stops it."""
    with socket.socket() as probe:  # a free port for the console
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).parents[2]),
        "MINHU_LISTEN_PORT": str(port),
    }
    assert (
        subprocess.run(
            [sys.executable, "-m", "bot", "demo", "--tickets", "30"],
            cwd=tmp_path,
            env=environment,
            capture_output=True,
            timeout=120,
        ).returncode
        == 0
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        status = process.stdout.readline()
        console = process.stdout.readline()
        running = process.stdout.readline()
        assert "15 areas, 59 people" in status and "响应率" in status
        assert f"web console on http://127.0.0.1:{port}/" in console
        assert "the SLA clocks are running" in running
        # The clocks line comes once the server listens: the chat page answers.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/chat", timeout=30) as page:
            assert page.status == 200 and "民呼" in page.read().decode()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()


@pytest.mark.parametrize("arguments", [["demo", "--tickets", "0"], ["areas"], ["fly"]])
def test_bad_arguments_exit_with_usage(arguments, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(arguments)
    assert exit_.value.code == 2
    assert "usage: minhu" in capsys.readouterr().err


def test_python_dash_m_bot_is_the_minhu_command(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bot", "db", "upgrade"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "cli.db").exists()


def test_staff_password_sets_a_password_the_console_accepts(monkeypatch, capsys):
    import asyncio
    import io

    from sqlmodel import select

    from bot.settings import Settings
    from bot.web.auth import verify_password
    from bot.wiring import open_services
    from storage.models import Person

    assert main(["demo", "--tickets", "5"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-secret\n"))
    assert main(["staff", "password", "赵主任"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["staff", "password", "赵主任"]) == 2
    monkeypatch.setattr("sys.stdin", io.StringIO("a-long-secret\n"))
    assert main(["staff", "password", "nobody"]) == 2
    assert "0 staff or workers are called that" in capsys.readouterr().err

    async def stored() -> str | None:
        async with open_services(Settings()) as services, services.sessions() as session:
            query = select(Person).where(Person.display_name == "赵主任")
            return (await session.exec(query)).one().password_hash

    assert verify_password("a-long-secret", asyncio.run(stored()))


def test_apikey_create_prints_the_key_once_list_and_revoke(capsys):
    import asyncio

    from bot.settings import Settings
    from bot.wiring import open_services
    from tickets.apikeys import valid_api_key

    assert main(["apikey", "create", "partner app"]) == 0
    key = capsys.readouterr().out.strip()
    assert key.startswith("mh_") and len(key) > 40
    assert main(["apikey", "create", "partner app"]) == 2
    assert "already an API key called 'partner app'" in capsys.readouterr().err
    assert main(["apikey", "list"]) == 0
    listed = capsys.readouterr().out
    assert "partner app" in listed and "active" in listed and key not in listed

    async def works() -> bool:
        async with open_services(Settings()) as services, services.sessions() as session:
            return await valid_api_key(session, key) is not None

    assert asyncio.run(works())
    assert main(["apikey", "revoke", "partner app"]) == 0
    assert main(["apikey", "revoke", "nobody"]) == 2
    assert main(["apikey", "list"]) == 0
    assert "revoked" in capsys.readouterr().out
    assert not asyncio.run(works())


HOTLINE_EXAMPLE = Path(__file__).parents[2] / "examples" / "hotline_cases.csv"


def test_hotline_cases_import_once_and_a_bad_file_imports_nothing(tmp_path, capsys):
    assert main(["areas", "load", str(EXAMPLE)]) == 0
    bad = tmp_path / "cases.csv"
    good = HOTLINE_EXAMPLE.read_text(encoding="utf-8").splitlines()
    bad.write_text("\n".join([*good, "X-1,someday,,,,路灯坏了,,", "X-2,,,,,,,"]), encoding="utf-8")
    capsys.readouterr()
    assert main(["hotline", "import", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}, line 5: received_at:" in err
    assert f"{bad}, line 6: received_at: missing" in err
    assert "2 bad rows" in err and "nothing imported" in err
    assert main(["hotline", "import", "--skip-bad", str(bad)]) == 0
    out = capsys.readouterr().out
    assert "imported 3 hotline cases" in out and "2 bad rows skipped" in out
    assert main(["hotline", "import", str(HOTLINE_EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "imported 0 hotline cases" in out and "3 were there already" in out
    answers = tmp_path / "answers.csv"
    assert main(["hotline", "export", "--since", "2026-01-01", "--out", str(answers)]) == 0
    assert answers.read_text(encoding="utf-8").splitlines() == [
        "case_number,ticket_number,merged_into,state,reply,resolved_at,closed_at,callback_at,"
        "solved,satisfaction,responded_in_time"
    ]
    assert main(["hotline", "export", "--since", "2026-01-01", "--format", "json"]) == 0
    assert capsys.readouterr().out == ""
    with pytest.raises(SystemExit):
        main(["hotline", "export", "--since", "last week"])
    assert main(["hotline", "import", str(tmp_path / "missing.csv")]) == 2
    assert "cannot read" in capsys.readouterr().err
