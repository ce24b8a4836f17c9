"""句号管理 in chat: staff record a 回访 — they called the resident of a resolved ticket (one who
does not answer in chat, or a 代办 ticket's resident) — with one press for the outcome."""

from __future__ import annotations

from handlers import notify
from handlers.buttons import CallbackOutcome, RecordCallback
from handlers.common import check_press
from handlers.context import Turn
from handlers.events import Button
from handlers.keyboards import staff_buttons
from tickets import handling
from tickets.handling import Satisfaction
from tickets.lifecycle import Action, State

# The outcomes of a call, as buttons: (text key, reached, solved, satisfaction).
CALLBACK_OUTCOMES: tuple[tuple[str, bool, bool | None, str | None], ...] = (
    ("btn_cb_unreached", False, None, None),
    ("btn_cb_satisfied", True, True, Satisfaction.SATISFIED),
    ("btn_cb_basic", True, True, Satisfaction.BASIC),
    ("btn_cb_unsatisfied", True, True, Satisfaction.UNSATISFIED),
    ("btn_cb_unsolved", True, False, Satisfaction.UNSATISFIED),
)
# What the staff member reads after recording, by the state the ticket is left in.
RECORDED = {
    State.CLOSED: "recorded_callback_closed",
    State.ASSIGNED: "recorded_callback_reopened",
    State.RESOLVED: "recorded_callback_unreached",
}


async def ask_outcome(turn: Turn, press: RecordCallback) -> None:
    ticket = await check_press(turn, press, Action.RECORD_CALLBACK)
    rows = [
        [Button(turn.t(key), CallbackOutcome(ticket.id, ticket.version, index).pack())]
        for index, (key, *_answer) in enumerate(CALLBACK_OUTCOMES)
    ]
    turn.say_key("ask_callback_outcome", rows, number=ticket.number)


async def outcome_pressed(turn: Turn, press: CallbackOutcome) -> None:
    _key, reached, solved, satisfaction = CALLBACK_OUTCOMES[press.outcome % len(CALLBACK_OUTCOMES)]
    moved = await handling.record_callback(
        turn.session,
        turn.policy,
        ticket_id=press.ticket_id,
        actor=turn.person,
        reached=reached,
        solved=solved,
        satisfaction=satisfaction,
        expected_version=press.version,
    )
    ticket = moved.ticket
    # Nobody answered: the ticket still waits, so its buttons (call again, close) come along.
    rows = staff_buttons(turn.locale, ticket) if ticket.state == State.RESOLVED else ()
    turn.say_key(RECORDED[State(ticket.state)], rows, number=ticket.number)
    await notify.announce(turn, moved)
