"""The conversation as data: every state and every button kind has its place in the table,
payloads survive the wire and nothing else parses, and what was stored before still resumes."""

from __future__ import annotations

from dataclasses import fields

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import select

from handlers.buttons import BadButton, Payload, SubmitDraft, parse
from handlers.conversation import ChatState, Draft
from handlers.dispatch import ANY_STATE, CONVERSATION
from storage.conversations import store_state
from storage.models import Ticket, TicketEvent
from tests.conftest import MONDAY_10AM
from tests.handlers.channel import CHANNEL


def test_every_state_has_its_row_in_the_table():
    assert set(CONVERSATION) == set(ChatState)


def test_every_button_kind_does_something_somewhere():
    handled = set(ANY_STATE) | {trigger for row in CONVERSATION.values() for trigger in row}
    unhandled = [kind.__name__ for kind in Payload.kinds.values() if kind not in handled]
    assert unhandled == []


@pytest.mark.parametrize("kind", list(Payload.kinds.values()), ids=list(Payload.kinds))
@given(values=st.lists(st.integers(min_value=0, max_value=2**40), min_size=5, max_size=5))
def test_a_payload_comes_back_from_the_wire_as_it_went(kind, values):
    payload = kind(*values[: len(fields(kind))])
    assert parse(payload.pack()) == payload


@given(st.text(max_size=80))
def test_any_callback_data_is_one_of_ours_or_refused(data):
    try:
        payload = parse(data)
    except BadButton:
        return
    assert type(payload) in Payload.kinds.values()
    assert payload.pack().split(":")[0] == data.split(":")[0]


@pytest.mark.parametrize(
    "data", ["", "ok:1", "acc:1", "acc:1:2:3", "acc:-1:2", "acc:x:2", "acc:1:" + "9" * 30, "zz"]
)
def test_garbled_buttons_are_refused(data):
    with pytest.raises(BadButton):
        parse(data)


def test_a_draft_stored_by_another_version_still_loads():
    stored = {"text": "路灯坏了", "attachments": [], "latitude": None, "longitude": None}
    assert Draft.from_data(stored) == Draft("路灯坏了")
    assert Draft.from_data({**stored, "mood": "angry"}).text == "路灯坏了"


async def test_a_state_stored_under_its_old_name_resumes(chat, sessions, cast):
    """Before the table, 备注 was stored as "note" (the button's verb as well)."""
    await chat.text("resident", "小区路灯坏了")
    await chat.press("resident", "提交")
    await chat.press("worker-g1", "接单")
    async with sessions() as session:
        ticket = (await session.exec(select(Ticket))).one()
        await store_state(
            session,
            False,
            channel=CHANNEL,
            chat_id="worker-g1",
            user_id="worker-g1",
            state="note",
            data={"ticket_id": ticket.id},
            now=MONDAY_10AM,
        )
        await session.commit()
    await chat.text("worker-g1", "已联系物业")
    assert chat.last("worker-g1").startswith("备注已记录。")
    async with sessions() as session:
        notes = await session.exec(select(TicketEvent.note).where(TicketEvent.action == "note"))
        assert notes.all() == ["已联系物业"]


async def test_a_state_this_version_does_not_know_starts_afresh(chat, sessions):
    async with sessions() as session:
        await store_state(
            session,
            False,
            channel=CHANNEL,
            chat_id="resident",
            user_id="resident",
            state="dictating_a_poem",
            data={"line": 3},
            now=MONDAY_10AM,
        )
        await session.commit()
    await chat.text("resident", "小区路灯坏了")
    assert chat.last("resident").startswith("您反映的问题")


async def test_a_draft_button_without_a_draft_says_so(chat):
    await chat.data("resident", SubmitDraft().pack())
    assert chat.last("resident") == "没有待提交的内容，请直接描述您的问题。"
