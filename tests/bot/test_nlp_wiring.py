"""`minhu nlp` inside the minhu command: staff's corrections in the database teach the rules."""

from __future__ import annotations

import asyncio

from bot.cli import main
from bot.settings import Settings
from bot.wiring import open_services
from nlp.classifier import Classifier
from tests.bot.test_cli import scratch_database  # noqa: F401  (the same scratch database)
from tests.factories import load_cast
from tickets import handling
from tickets.intake import submit_complaint

TEXT = "小区门口的共享充电宝柜子天天吞币不退钱"


async def _corrections(count: int) -> None:
    async with open_services(Settings()) as services, services.sessions() as session:
        policy = services.policy
        cast = await load_cast(session, policy)
        for _ in range(count):
            ticket = await submit_complaint(session, policy, resident=cast["resident"], text=TEXT)
            await handling.recategorise_ticket(
                session, policy, ticket_id=ticket.id, actor=cast["staff-c1"], category="商贸旅游"
            )
        await session.commit()


def test_staff_corrections_are_folded_into_the_rules(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MINHU_MAX_NEW_TICKETS_PER_HOUR", "100")
    assert main(["db", "upgrade"]) == 0
    before = Classifier.default().classify(TEXT)
    asyncio.run(_corrections(12))
    out = tmp_path / "rules.yaml"
    assert main(["nlp", "mine", "--from-db", "--out", str(out)]) == 0
    assert "Folded" in out.read_text(encoding="utf-8")
    after = Classifier.from_file(out).classify(TEXT)
    assert before.category != "商贸旅游" and after.category == "商贸旅游"


def test_nlp_classify_is_a_minhu_command(capsys):
    assert main(["nlp", "classify", "楼道里煤气泄漏了，味道很大", "--json"]) == 0
    assert '"urgency": "emergency"' in capsys.readouterr().out


async def test_a_rules_file_from_the_settings_is_what_the_conversations_use(tmp_path, monkeypatch):
    rules = tmp_path / "rules.yaml"
    rules.write_text("categories:\n  民政:\n    keywords: {呱呱机: 5}\n", encoding="utf-8")
    monkeypatch.setenv("MINHU_RULES_FILE", str(rules))
    async with open_services(Settings()) as services:
        classifier = services.deps().classifier
    assert classifier.classify("楼下的呱呱机坏了").category == "民政"


def test_a_missing_rules_file_is_named(monkeypatch, capsys):
    monkeypatch.setenv("MINHU_RULES_FILE", "/nowhere/rules.yaml")
    assert main(["db", "upgrade"]) == 2
    assert "MINHU_RULES_FILE" in capsys.readouterr().err
