"""The resident (群众): choose an area once, report a problem, follow it, rate the result.

A complaint is first a draft kept in the conversation state: the bot proposes a category with the
keywords that decided it, and the resident submits, changes the category or cancels. Emergencies
skip the question and go out at once.
"""

from __future__ import annotations

from typing import Any

from handlers import buttons, notify
from handlers.common import help_text
from handlers.context import Turn
from handlers.events import Button
from handlers.render import local_time, preview, ticket_card, timeline_text
from storage.models import Ticket
from tickets import handling
from tickets.areas import children, get_area, nearest_area, search_areas
from tickets.categories import CATEGORIES
from tickets.errors import InvalidInput
from tickets.handling import Satisfaction
from tickets.intake import check_complaint_text, submit_complaint
from tickets.lifecycle import State
from tickets.people import set_home_area
from tickets.queries import tickets_of_resident
from tickets.timeline import ticket_timeline

SATISFACTION = (Satisfaction.SATISFIED, Satisfaction.BASIC, Satisfaction.UNSATISFIED)
OPEN_FOR_RESIDENT = {State.SUBMITTED, State.ASSIGNED, State.ACCEPTED, State.RETURNED}
MAX_PHOTOS = 9


async def start(turn: Turn) -> None:
    turn.say_key("welcome")
    if turn.person.area_id is None:
        await ask_area(turn, None)
    else:
        turn.say(help_text(turn))


# --- choosing one's area -------------------------------------------------------------------


async def ask_area(turn: Turn, parent_id: int | None) -> None:
    """Buttons walking the area tree from `parent_id` down; typing a name also works."""
    options = await children(turn.session, parent_id)
    rows = [[Button(area.name, buttons.make("area", area.id))] for area in options[:30]]
    if parent_id is None:
        turn.say_key("choose_area", rows)
    else:
        parent = await get_area(turn.session, parent_id)
        turn.say_key("choose_area_below", rows, area=parent.name)
    turn.expect("choosing_area", **_kept_draft(turn))


async def area_pressed(turn: Turn, area_id: int) -> None:
    area = await get_area(turn.session, area_id)
    # A resident may not know their grid: a community is enough, its staff will route.
    if area.level in ("grid", "community") or not await children(turn.session, area.id):
        await set_area(turn, area.id)
    else:
        await ask_area(turn, area.id)


# A typed text longer than this that names no area is taken for the complaint itself.
AREA_NAME_CHARS = 6


async def area_typed(turn: Turn, words: str) -> None:
    found = await search_areas(turn.session, words)
    if not found and len(words.strip()) > AREA_NAME_CHARS:
        turn.data = {"draft": new_draft(check_complaint_text(words, turn.policy), None)}
        await ask_area(turn, None)
        return
    if not found:
        turn.say_key("area_search_none", words=words[:30])
        return
    rows = [[Button(area.name, buttons.make("area", area.id))] for area in found]
    turn.say_key("area_search_some", rows)


async def area_located(turn: Turn, latitude: float, longitude: float) -> None:
    grid = await nearest_area(turn.session, latitude, longitude)
    if grid is None:
        turn.say_key("area_location_none")
        await ask_area(turn, None)
        return
    await set_area(turn, grid.id)


async def set_area(turn: Turn, area_id: int) -> None:
    await set_home_area(turn.session, turn.person, area_id)
    area = await get_area(turn.session, area_id)
    turn.say_key("area_set", area=area.name)
    draft = turn.data.get("draft")
    turn.reset()
    if draft:  # a complaint written before the area was known goes on from here
        await propose(turn, draft)


def _kept_draft(turn: Turn) -> dict[str, Any]:
    draft = turn.data.get("draft")
    return {"draft": draft} if draft else {}


# --- a complaint -----------------------------------------------------------------------------


async def complaint_text(turn: Turn, text: str, photo: str | None = None) -> None:
    """A new message from a resident with no question pending: a new complaint."""
    draft = new_draft(check_complaint_text(text, turn.policy), photo)
    if turn.person.area_id is None:
        turn.data = {"draft": draft}
        await ask_area(turn, None)
        return
    await propose(turn, draft)


def new_draft(text: str, photo: str | None) -> dict[str, Any]:
    """A complaint's draft before it is classified: its text, a photo if one came with it."""
    attachments = [{"kind": "photo", "ref": photo}] if photo else []
    return {"text": text, "attachments": attachments, "latitude": None, "longitude": None}


async def propose(turn: Turn, draft: dict[str, Any]) -> None:
    """Classify the draft and show the proposal; an emergency is submitted at once."""
    classify_draft(turn, draft)
    if draft["urgency"] == "emergency":
        turn.say_key("emergency_warning")
        await submit_draft(turn, draft)
        return
    turn.expect("drafting", draft=draft)
    show_proposal(turn, draft)


def classify_draft(turn: Turn, draft: dict[str, Any]) -> None:
    """Put the classifier's proposal for the draft's text into the draft."""
    result = turn.deps.classifier.classify(draft["text"])
    draft.update(
        category=result.category,
        subcategory=result.subcategory,
        confidence=result.confidence,
        keywords=list(result.keywords)[:8],
        urgency=result.urgency,
    )


async def draft_text(turn: Turn, text: str) -> None:
    """A second message while the proposal waits is more of the same complaint, classified
    again as a whole."""
    draft = turn.data["draft"]
    extended = _extended(turn, draft, text)
    if extended is not None:
        await propose(turn, {**draft, "text": extended})


def _extended(turn: Turn, draft: dict[str, Any], more: str) -> str | None:
    """The draft's text with `more` added, or None (the resident told why) when that would
    pass the complaint's length limit: the draft then stays as it was and can still be
    submitted — without the check, follow-ups grew it past what submission accepts, and
    every one made the next classification slower."""
    try:
        return check_complaint_text(f"{draft['text']}\n{more}", turn.policy)
    except InvalidInput as error:
        if error.params.get("reason") != "too_long":
            raise
    turn.say_key("draft_full", _proposal_buttons(turn), limit=turn.policy.max_complaint_chars)
    return None


def _proposal_buttons(turn: Turn) -> list[list[Button]]:
    return [
        [turn.button("btn_submit", buttons.make("ok"))],
        [
            turn.button("btn_change_category", buttons.make("cats")),
            turn.button("btn_cancel", buttons.make("drop")),
        ],
    ]


def show_proposal(turn: Turn, draft: dict[str, Any]) -> None:
    rows = _proposal_buttons(turn)
    if draft.get("category"):
        category = draft["category"]
        if draft.get("subcategory"):
            category = f"{category}/{draft['subcategory']}"
        turn.say_key(
            "proposed",
            rows,
            text=preview(draft["text"]),
            category=category,
            keywords=turn.t("list_separator").join(draft.get("keywords") or []) or turn.t("none"),
            urgency=turn.label("urgency", draft.get("urgency", "normal")),
        )
    else:
        turn.say_key("proposed_unclassified", rows, text=preview(draft["text"]))


async def draft_photo(turn: Turn, photo: str, caption: str) -> None:
    draft = turn.data["draft"]
    if len(draft["attachments"]) < MAX_PHOTOS:
        draft["attachments"].append({"kind": "photo", "ref": photo})
    turn.say_key("draft_photo_added", count=len(draft["attachments"]))
    if caption.strip():
        extended = _extended(turn, draft, caption)
        if extended is not None:
            draft["text"] = extended
    turn.expect("drafting", draft=draft)


async def draft_location(turn: Turn, latitude: float, longitude: float) -> None:
    draft = turn.data["draft"]
    draft["latitude"], draft["longitude"] = latitude, longitude
    turn.expect("drafting", draft=draft)
    turn.say_key("draft_location_added")


async def draft_pressed(turn: Turn, verb: str, args: tuple[int, ...]) -> None:
    draft = turn.data.get("draft") if turn.state == "drafting" else None
    if draft is None:
        turn.say_key("no_draft")
        return
    if verb == "ok":
        await submit_draft(turn, draft)
    elif verb == "drop":
        turn.reset()
        turn.say_key("draft_cancelled")
    elif verb == "cats":
        rows = [
            [Button(name, buttons.make("cat", index)) for index, name in pair]
            for pair in _pairs(list(enumerate(CATEGORIES)))
        ]
        turn.say_key("choose_category", rows)
    elif verb == "cat":
        draft.update(category=CATEGORIES[args[0] % len(CATEGORIES)], subcategory=None)
        draft.update(confidence=1.0, keywords=[])
        turn.expect("drafting", draft=draft)
        turn.say_key("category_chosen", category=draft["category"])
        show_proposal(turn, draft)


def _pairs(items: list) -> list[list]:
    return [items[index : index + 3] for index in range(0, len(items), 3)]


async def submit_draft(turn: Turn, draft: dict[str, Any]) -> None:
    ticket = await submit_complaint(
        turn.session,
        turn.policy,
        resident=turn.person,
        text=draft["text"],
        category=draft.get("category"),
        subcategory=draft.get("subcategory"),
        confidence=draft.get("confidence"),
        keywords=draft.get("keywords") or [],
        urgency=draft.get("urgency") or "normal",
        attachments=draft.get("attachments") or [],
        latitude=draft.get("latitude"),
        longitude=draft.get("longitude"),
    )
    turn.reset()
    area = await get_area(turn.session, ticket.handling_area_id)
    if ticket.assignee_id is not None:
        turn.say_key(
            "submitted_assigned",
            number=ticket.number,
            area=area.name,
            accept_by=local_time(ticket.due_accept_at, turn.policy),
            resolve_by=local_time(ticket.due_resolve_at, turn.policy),
        )
    else:
        turn.say_key("submitted_triage", number=ticket.number, area=area.name)
    await notify.after_submit(turn, ticket)


# --- following one's tickets -----------------------------------------------------------------


async def my_tickets(turn: Turn) -> None:
    tickets = await tickets_of_resident(turn.session, turn.person, limit=10)
    if not tickets:
        turn.say_key("my_none")
        return
    rows = [
        [
            Button(
                turn.t(
                    "ticket_line",
                    number=ticket.number,
                    state=turn.label("state", ticket.state),
                    category=ticket.category or turn.t("none"),
                ),
                buttons.make("v", ticket.id),
            )
        ]
        for ticket in tickets
    ]
    turn.say_key("my_list", rows, count=len(tickets))


async def show_ticket(turn: Turn, ticket: Ticket) -> None:
    card = await ticket_card(turn.session, ticket, turn.locale, turn.policy, handler=False)
    events = await ticket_timeline(turn.session, ticket.id)
    rows = []
    if ticket.state in OPEN_FOR_RESIDENT:
        rows.append(
            [
                turn.button("btn_add_info", buttons.make("info", ticket.id)),
                turn.button("btn_withdraw", buttons.make("wd", ticket.id, ticket.version)),
            ]
        )
    history = timeline_text(events, turn.locale, turn.policy, for_resident=True)
    turn.say(f"{card}\n\n{history}", rows)


async def ask_information(turn: Turn, ticket_id: int) -> None:
    turn.expect("info", ticket_id=ticket_id)
    turn.say_key("ask_info")


async def information_given(turn: Turn, text: str, photo: str | None = None) -> None:
    attachments = [{"kind": "photo", "ref": photo}] if photo else []
    ticket = await handling.add_information(
        turn.session,
        turn.policy,
        ticket_id=turn.data["ticket_id"],
        actor=turn.person,
        text=text or (turn.t("photo_only") if photo else ""),
        attachments=attachments,
    )
    turn.reset()
    turn.say_key("info_added", number=ticket.number)
    await notify.after_information(turn, ticket, text)


async def withdraw(turn: Turn, ticket_id: int, version: int) -> None:
    before = await turn.session.get(Ticket, ticket_id)
    previous = before.assignee_id if before else None
    ticket = await handling.cancel_ticket(
        turn.session, turn.policy, ticket_id=ticket_id, actor=turn.person, expected_version=version
    )
    turn.say_key("withdrawn", number=ticket.number)
    await notify.after_cancel(turn, ticket, previous)


# --- the callback (回访) -----------------------------------------------------------------------


async def solved_pressed(turn: Turn, ticket_id: int, version: int, solved: int) -> None:
    rows = [
        [
            turn.button(f"btn_{name}", buttons.make("cs", ticket_id, version, solved, index))
            for index, name in enumerate(SATISFACTION)
        ]
    ]
    turn.say_key("ask_satisfaction", rows)


async def satisfaction_pressed(
    turn: Turn, ticket_id: int, version: int, solved: int, index: int
) -> None:
    """Ask for an optional comment; the answer is recorded when it comes (or on 跳过)."""
    ticket = await turn.session.get(Ticket, ticket_id)
    if ticket is None or ticket.resident_id != turn.person.id or ticket.version != version:
        turn.say_key("bad_button")
        return
    turn.expect(
        "comment",
        ticket_id=ticket_id,
        version=version,
        solved=bool(solved),
        satisfaction=SATISFACTION[index % len(SATISFACTION)],
    )
    turn.say_key("ask_comment", [[turn.button("btn_skip", buttons.make("skip"))]])


async def comment_given(turn: Turn, comment: str | None) -> None:
    data = turn.data
    ticket = await handling.answer_callback(
        turn.session,
        turn.policy,
        ticket_id=data["ticket_id"],
        actor=turn.person,
        solved=data["solved"],
        satisfaction=data["satisfaction"],
        comment=comment,
        expected_version=data["version"],
    )
    turn.reset()
    key = "callback_closed" if ticket.state == State.CLOSED else "callback_reopened"
    turn.say_key(key, number=ticket.number)
    await notify.after_callback(turn, ticket, data["solved"], data["satisfaction"])
