"""Telegram updates become the same events whichever framework parsed them, and replies become
Bot API keyboards; no network."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram.types import Update as AiogramUpdate
from telegram import Bot as PtbBot
from telegram import Update as PtbUpdate

from bot.telegram.commands import menus
from bot.telegram.translate import incoming, keyboard, split_text
from handlers.events import Button, Kind

USER = {"id": 42, "is_bot": False, "first_name": "阿姨", "last_name": "张", "language_code": "zh"}
CHAT = {"id": 42, "type": "private"}


def message(**content: Any) -> dict[str, Any]:
    return {
        "update_id": 7,
        "message": {"message_id": 1, "date": 0, "chat": CHAT, "from": USER, **content},
    }


def parsed(raw: dict[str, Any], framework: str) -> Any:
    if framework == "aiogram":
        return AiogramUpdate.model_validate(raw)
    return PtbUpdate.de_json(raw, PtbBot("1:x"))


@pytest.fixture(params=["aiogram", "ptb"])
def framework(request) -> str:
    return request.param


@pytest.mark.parametrize(
    ("raw", "kind", "fields"),
    [
        (message(text="路灯坏了"), Kind.TEXT, {"text": "路灯坏了"}),
        (
            message(text="/ticket 2026-0001"),
            Kind.COMMAND,
            {"command": "ticket", "text": "2026-0001"},
        ),
        (message(text="/MY@minhu_bot"), Kind.COMMAND, {"command": "my", "text": ""}),
        (message(text="/"), Kind.TEXT, {"text": "/"}),
        (
            message(
                photo=[
                    {"file_id": "small", "file_unique_id": "s", "width": 9, "height": 9},
                    {"file_id": "large", "file_unique_id": "l", "width": 900, "height": 900},
                ],
                caption="门口",
            ),
            Kind.PHOTO,
            {"photo": "large", "text": "门口"},
        ),
        (
            message(location={"latitude": 39.9, "longitude": 116.4}),
            Kind.LOCATION,
            {"latitude": 39.9, "longitude": 116.4},
        ),
        (
            message(
                sticker={
                    "file_id": "st",
                    "file_unique_id": "st",
                    "type": "regular",
                    "width": 1,
                    "height": 1,
                    "is_animated": False,
                    "is_video": False,
                }
            ),
            Kind.OTHER,
            {},
        ),
    ],
)
def test_messages_become_events(framework, raw, kind, fields):
    event = incoming(parsed(raw, framework))
    assert event is not None
    assert (event.kind, event.user_id, event.chat_id, event.update_id) == (kind, "42", "42", 7)
    assert (event.display_name, event.language) == ("阿姨 张", "zh")
    assert {name: getattr(event, name) for name in fields} == fields


def test_a_button_press_becomes_an_event(framework):
    raw = {
        "update_id": 8,
        "callback_query": {
            "id": "c1",
            "from": USER,
            "chat_instance": "42",
            "data": "acc:3:1",
            "message": {"message_id": 5, "date": 0, "chat": {"id": -100, "type": "group"}},
        },
    }
    event = incoming(parsed(raw, framework))
    assert event is not None
    assert (event.kind, event.button, event.chat_id, event.user_id) == (
        Kind.BUTTON,
        "acc:3:1",
        "-100",
        "42",
    )


def test_updates_without_a_sender_are_not_answered(framework):
    raw = {"update_id": 9, "edited_message": message(text="x")["message"]}
    assert incoming(parsed(raw, framework)) is None


def test_keyboards_keep_rows_and_refuse_oversized_data():
    rows = ((Button("接单", "acc:1:1"), Button("退单", "ret:1:1")), (Button("查看", "v:1"),))
    assert keyboard(rows) == [
        [
            {"text": "接单", "callback_data": "acc:1:1"},
            {"text": "退单", "callback_data": "ret:1:1"},
        ],
        [{"text": "查看", "callback_data": "v:1"}],
    ]
    with pytest.raises(ValueError, match="64 bytes"):
        keyboard(((Button("x", "v:" + "1" * 70),),))


def test_long_texts_are_split_for_telegram():
    assert split_text("") == [" "]
    pieces = split_text("字" * 5000)
    assert [len(piece) for piece in pieces] == [4096, 904]


def test_the_menu_lists_residents_commands_in_both_languages():
    by_language = menus()
    assert set(by_language) == {None, "en"}
    names = [name for name, _ in by_language[None]]
    assert names == [name for name, _ in by_language["en"]]
    assert {"start", "help", "my", "area"} <= set(names)
    assert not {"tasks", "triage", "stats"} & set(names)
    assert all(text and text != name for name, text in by_language[None])
