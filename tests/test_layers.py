"""Imports point down the layers of DESIGN.md (bot → handlers → tickets → nlp, storage), and only
bot/ talks to a chat framework."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
BELOW = {
    "bot": {"handlers", "tickets", "nlp", "storage"},
    "handlers": {"tickets", "nlp", "storage"},
    "tickets": {"nlp", "storage"},
    "nlp": set(),
    "storage": set(),
}
CHAT_FRAMEWORKS = {"aiogram", "telegram"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def modules_of(layer: str) -> list[Path]:
    return sorted((ROOT / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", sorted(BELOW))
def test_imports_point_down(layer):
    wrong = {
        str(path.relative_to(ROOT)): sorted(imports & (set(BELOW) - BELOW[layer] - {layer}))
        for path in modules_of(layer)
        if (imports := imported_modules(path)) & (set(BELOW) - BELOW[layer] - {layer})
    }
    assert wrong == {}


@pytest.mark.parametrize("layer", ["handlers", "tickets", "nlp", "storage"])
def test_only_bot_imports_chat_frameworks(layer):
    wrong = [
        str(path.relative_to(ROOT))
        for path in modules_of(layer)
        if imported_modules(path) & CHAT_FRAMEWORKS
    ]
    assert wrong == []


# The conversations say what happens; the queries live in tickets/ and storage/.
DATABASE_LIBRARIES = {"sqlalchemy", "sqlmodel", "asyncpg", "aiosqlite", "sqlite3"}


def test_the_conversations_hold_no_sql():
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_modules(path) & DATABASE_LIBRARIES)
        for path in modules_of("handlers")
        if imported_modules(path) & DATABASE_LIBRARIES
    }
    assert wrong == {}


def test_the_checker_sees_an_upward_import(tmp_path):
    module = tmp_path / "x.py"
    module.write_text("from bot.settings import Settings\nimport tickets.lifecycle\n")
    assert imported_modules(module) == {"bot", "tickets"}
