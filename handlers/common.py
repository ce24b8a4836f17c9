"""What everyone can say: /help, /lang, /join, and the answer to a refusal by the domain."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from handlers.buttons import ChooseLanguage, OnTicket, ViewTicket
from handlers.context import Turn
from handlers.events import Button
from handlers.render import duration_words, time_left
from handlers.texts import tr
from storage.models import Ticket
from tickets.areas import get_area
from tickets.clocks import deadline
from tickets.errors import DomainError, IllegalTransition, NotFound, PermissionDenied, StaleTicket
from tickets.handling import Move, load_ticket
from tickets.lifecycle import Action, Role
from tickets.people import redeem_invite, set_locale
from tickets.permissions import authorize, check_can_view

HELP = {
    Role.RESIDENT: "help_resident",
    Role.WORKER: "help_worker",
    Role.STAFF: "help_staff",
    Role.ADMIN: "help_staff",
    Role.DEPARTMENT: "help_department",
}
LANGUAGES = ("zh-CN", "en")


async def check_move(turn: Turn, ticket_id: int, action: Action) -> Ticket:
    """The ticket, if this person may make `action` on it now (a button with no version)."""
    ticket = await load_ticket(turn.session, ticket_id)
    await authorize(turn.session, turn.person, ticket, action)
    return ticket


async def check_press(turn: Turn, press: OnTicket, action: Action) -> Ticket:
    """The ticket a button is about, if the move can still be made by this person: it exists,
    they may see it, it has not moved on since the button was drawn, and `action` is allowed."""
    ticket = await turn.session.get(Ticket, press.ticket_id)
    if ticket is None:
        raise NotFound("no such ticket")
    # Scope before version: a stale press must not tell a stranger the ticket's number and state.
    await check_can_view(turn.session, turn.person, ticket)
    if ticket.version != press.version:
        raise StaleTicket("stale button", number=ticket.number, state=ticket.state)
    await authorize(turn.session, turn.person, ticket, action)
    return ticket


async def complete_pending(
    turn: Turn, move: Callable[..., Awaitable[Move]], **arguments: Any
) -> Move:
    """Finish a move that a button started and a text completes (a reason, a reply): the ticket
    and the version the button showed come from the conversation state."""
    ticket = await move(
        turn.session,
        turn.policy,
        ticket_id=turn.data["ticket_id"],
        actor=turn.person,
        expected_version=turn.data["version"],
        **arguments,
    )
    turn.reset()
    return ticket


async def say_ticket_list(turn: Turn, tickets: Sequence[Ticket], key: str) -> None:
    """A list of tickets as buttons (number, state, time left on the running clock) that open
    each ticket."""
    now = turn.policy.clock.now()
    rows = [
        [
            Button(
                turn.t(
                    "task_line",
                    number=ticket.number,
                    state=turn.label("state", ticket.state),
                    left=time_left(turn.locale, deadline(ticket), now),
                ),
                ViewTicket(ticket.id).pack(),
            )
        ]
        for ticket in tickets
    ]
    turn.say_key(key, rows, count=len(tickets))


def role(turn: Turn) -> Role:
    return Role(turn.person.role)


def help_text(turn: Turn) -> str:
    return turn.t(HELP[role(turn)])


async def show_help(turn: Turn) -> None:
    turn.say(help_text(turn))


async def unknown_command(turn: Turn) -> None:
    turn.say_key("unknown_command", help=help_text(turn))


async def ask_language(turn: Turn) -> None:
    row = [
        Button(tr(code, "language_name"), ChooseLanguage(index).pack())
        for index, code in enumerate(LANGUAGES)
    ]
    turn.say_key("lang_choose", [row])


async def choose_language(turn: Turn, press: ChooseLanguage) -> None:
    await set_locale(turn.session, turn.person, LANGUAGES[press.index % len(LANGUAGES)])
    turn.say_key("lang_set")


async def join(turn: Turn) -> None:
    code = turn.event.text.strip()
    if not code:
        turn.say_key("join_usage")
        return
    person = await redeem_invite(turn.session, turn.policy, person=turn.person, code=code)
    area = await get_area(turn.session, person.area_id)
    turn.say_key(
        "joined", area=area.name, role=turn.label("role", person.role), help=help_text(turn)
    )


RULE_KEYS = {
    "return_window": "rule_return_window",
    "extension_range": "rule_extension_range",
    "extension_pending": "rule_extension_pending",
    "no_extension": "rule_no_extension",
    "top_of_tree": "rule_top_of_tree",
    "already_assigned": "rule_already_assigned",
    "off_duty": "rule_off_duty",
    "no_worker": "rule_no_worker",
    "merge_closed": "rule_merge_closed",
    "merge_self": "rule_merge_self",
    "follow_closed": "rule_follow_closed",
    "same_category": "rule_same_category",
    "leader_required": "rule_leader_required",
    "leader_not_eligible": "rule_leader_not_eligible",
    "same_tier": "rule_same_tier",
    "unknown_tier": "rule_unknown_tier",
    "no_callback": "rule_no_callback",
    "unknown_subcategory": "rule_unknown_subcategory",
    "urged_today": "rule_urged_today",
    "bad_contact": "rule_bad_phone",
    "invite_used": "invite_used",
    "invite_expired": "invite_expired",
    "invite_unknown": "invite_unknown",
    "flood": "flood",
    "empty": "empty",
    "no_words": "no_words",
    "too_long": "text_too_long",
    "required": "required",
    "no_area": "no_area",
    "bad_phone": "bad_phone",
    "no_departments": "whistle_choose_one",
    "already_summoned": "rule_already_summoned",
    "already_reported": "rule_already_reported",
    "too_many": "rule_too_many_departments",
    "parts_open": "rule_parts_open",
    "not_lead": "rule_not_lead",
    "lead_resolves": "rule_lead_resolves",
    "no_part": "rule_no_part",
    "part_accepted": "rule_part_accepted",
    "part_assigned": "rule_part_assigned",
    "lead_assists": "rule_lead_assists",
    "not_serving": "rule_not_serving",
}


# Refusal parameters that are a clock's configured limit ("1wd"), told in words.
DURATION_PARAMS = frozenset({"window"})


def explain(turn: Turn, error: DomainError) -> None:
    """A refusal by the domain, told politely in the person's language."""
    params = {
        key: duration_words(turn.locale, value) if key in DURATION_PARAMS else value
        for key, value in error.params.items()
        if key != "reason"
    }
    reason = error.params.get("reason")
    if isinstance(error, StaleTicket):
        turn.say_key(
            "stale",
            number=params.get("number", ""),
            state=turn.label("state", params.get("state", "")),
        )
    elif reason in RULE_KEYS:
        turn.say(_format(turn, RULE_KEYS[reason], params))
    elif isinstance(error, NotFound):
        turn.say_key("not_found")
    elif isinstance(error, PermissionDenied):
        turn.say_key("permission_denied")
    elif isinstance(error, IllegalTransition):
        turn.say_key("illegal", state=turn.label("state", params.get("state", "")))
    else:
        turn.say_key("failed")


def _format(turn: Turn, key: str, params: dict) -> str:
    try:
        return turn.t(key, **params)
    except KeyError:  # a refusal without the detail its text wants: say it without
        return turn.t("failed")
