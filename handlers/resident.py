"""The resident (群众): choose an area once, report a problem, follow it, rate the result.

A complaint is first a draft kept in the conversation state: the bot proposes a category with the
keywords that decided it, and the resident submits, changes the category or cancels. Emergencies
skip the question and go out at once.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

from handlers import evidence, notify
from handlers.buttons import (
    AddInformation,
    AnswerSatisfaction,
    AnswerSolved,
    AskCallBack,
    ChooseArea,
    ChooseDraftCategory,
    DropDraft,
    FollowSimilar,
    ListCategories,
    Payload,
    SettleArea,
    SkipAddress,
    SkipComment,
    SubmitDraft,
    ToggleAnonymous,
    Urge,
    ViewTicket,
    Withdraw,
)
from handlers.common import check_move, check_press, help_text
from handlers.context import Turn
from handlers.conversation import ChatState, Draft
from handlers.events import Button, ContactRequest, Incoming, Reply
from handlers.render import local_time, preview, ticket_card, timeline_text
from storage import outbox
from storage.models import Area, Ticket
from tickets import handling
from tickets.areas import Level, children, get_area, search_areas
from tickets.categories import CATEGORIES
from tickets.contact import check_phone, shown_phone
from tickets.duplicates import Similar, find_similar, follow_ticket
from tickets.errors import InvalidInput, PlaceNeeded
from tickets.handling import Satisfaction
from tickets.intake import check_address, check_complaint_text, has_words, submit_complaint
from tickets.lifecycle import Action, State
from tickets.people import set_home_area, set_phone
from tickets.queries import find_ticket, tickets_of_resident
from tickets.recipients import emergency_staff, person
from tickets.sla import Urgency, emergency_number
from tickets.timeline import ticket_timeline

# The number to call first, told before anything else (tickets.sla.emergency_number).
EMERGENCY_WARNINGS = {
    "110": "emergency_call_110",
    "119": "emergency_call_119",
    "120": "emergency_call_120",
}
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


async def ask_area(turn: Turn, parent_id: int | None = None) -> None:
    """Buttons walking the area tree from `parent_id` down to the grid; typing a name or
    sharing a location also works. Below a community, the community itself is one choice too:
    a resident may not know their grid, and its staff will route."""
    options = await children(turn.session, parent_id)
    rows = [[Button(area.name, ChooseArea(area.id).pack())] for area in options[:30]]
    if parent_id is None:
        turn.say_key("choose_area", rows)
    else:
        parent = await get_area(turn.session, parent_id)
        if parent.level == Level.COMMUNITY:
            rows.append([turn.button("btn_area_whole", SettleArea(parent.id).pack())])
        turn.say_key("choose_area_below", rows, area=parent.name)
    turn.expect(ChatState.CHOOSING_AREA, **_kept_draft(turn))


async def area_pressed(turn: Turn, press: ChooseArea) -> None:
    area = await get_area(turn.session, press.area_id)
    if area.level == Level.GRID or not await children(turn.session, area.id):
        await set_area(turn, area.id)
    else:
        await ask_area(turn, area.id)


async def area_settled(turn: Turn, press: SettleArea) -> None:
    """不清楚网格: the community will do."""
    await set_area(turn, (await get_area(turn.session, press.area_id)).id)


# A typed text longer than this that names no area is taken for the complaint itself.
AREA_NAME_CHARS = 6


async def area_typed(turn: Turn, said: Incoming) -> None:
    words = said.text
    found = await search_areas(turn.session, words)
    if not found and len(words.strip()) > AREA_NAME_CHARS:
        turn.data = {"draft": new_draft(check_complaint_text(words, turn.policy), None).to_data()}
        await ask_area(turn, None)
        return
    if not found:
        turn.say_key("area_search_none", words=words[:30])
        return
    rows = [[Button(area.name, ChooseArea(area.id).pack())] for area in found]
    turn.say_key("area_search_some", rows)


async def grid_at(turn: Turn, latitude: float, longitude: float) -> Area | None:
    """The grid a shared location picks: inside its boundary, else its centre near enough."""
    return await turn.deps.places.grid_at(
        turn.session, latitude, longitude, within_m=turn.policy.nearest_grid_m
    )


async def area_located(turn: Turn, said: Incoming) -> None:
    """A location with no draft waiting for it names the resident's grid; a complaint written
    before the area was known keeps it too, as where its problem is."""
    assert said.latitude is not None and said.longitude is not None  # the dispatcher checks
    draft = turn.draft
    if draft is not None:
        draft.latitude, draft.longitude = said.latitude, said.longitude
        turn.data["draft"] = draft.to_data()
    grid = await grid_at(turn, said.latitude, said.longitude)
    if grid is None:
        turn.say_key("area_location_none")
        await ask_area(turn, None)
        return
    await set_area(turn, grid.id)


async def set_area(turn: Turn, area_id: int) -> None:
    await set_home_area(turn.session, turn.person, area_id)
    area = await get_area(turn.session, area_id)
    turn.say_key("area_set", area=area.name)
    draft = turn.draft
    turn.reset()
    if draft:  # a complaint written before the area was known goes on from here
        await propose(turn, draft)


def _kept_draft(turn: Turn) -> dict[str, Draft]:
    draft = turn.draft
    return {"draft": draft} if draft else {}


# --- a complaint -----------------------------------------------------------------------------


async def new_complaint(turn: Turn, said: Incoming) -> None:
    """A text from a resident with no question pending: a new complaint."""
    await complaint_text(turn, said.text, None)


async def photo_complaint(turn: Turn, said: Incoming) -> None:
    """A photo with no question pending: a complaint when it has words, else ask for them."""
    if has_words(said.text):
        await complaint_text(turn, said.text, said.photo)
    else:  # no caption, or one of emoji only: the photo waits for its words
        turn.expect(ChatState.DESCRIBING_PHOTO, photo=said.photo)
        turn.say_key("photo_needs_text")


async def photo_described(turn: Turn, said: Incoming) -> None:
    """The words for a photo that came alone."""
    await complaint_text(turn, said.text, turn.data.get("photo"))


async def complaint_text(turn: Turn, text: str, photo: str | None = None) -> None:
    draft = new_draft(check_complaint_text(text, turn.policy), photo)
    if turn.person.area_id is None:
        turn.data = {"draft": draft.to_data()}
        await ask_area(turn, None)
        return
    await propose(turn, draft)


def new_draft(text: str, photo: str | None) -> Draft:
    """A complaint's draft before it is classified: its text, a photo if one came with it."""
    return Draft(text, attachments=[{"kind": "photo", "ref": photo}] if photo else [])


async def propose(turn: Turn, draft: Draft) -> None:
    """Classify the draft and show the proposal; an emergency is submitted at once."""
    classify_draft(turn, draft)
    if draft.urgency == "emergency":
        await _submit_emergency(turn, draft)
        return
    await show_now(turn, draft)


async def _submit_emergency(turn: Turn, draft: Draft) -> None:
    turn.say_key(EMERGENCY_WARNINGS.get(emergency_number(draft.urgency_kind), "emergency_warning"))
    await submit_draft(turn, draft)


async def show_now(turn: Turn, draft: Draft) -> None:
    """The proposal, answered now; one held back for a burst is taken back (this is newer)."""
    await _take_back(turn, draft.later)
    draft.later, draft.shown_at = None, turn.policy.clock.now().isoformat()
    _keep_similar(turn, draft, await _similar(turn, draft))
    turn.expect(ChatState.DRAFTING, draft=draft)
    show_proposal(turn, draft)


async def _similar(turn: Turn, draft: Draft) -> Similar | None:
    """An open ticket about the same problem nearby (重复诉求), to follow instead of opening
    another, if there is one."""
    if turn.person.area_id is None:
        return None
    return await find_similar(
        turn.session,
        area_id=turn.person.area_id,
        category=draft.category,
        keywords=draft.keywords or [],
        at=turn.policy.clock.now(),
        latitude=draft.latitude,
        longitude=draft.longitude,
        exclude_resident_id=turn.person.id,
    )


def _keep_similar(turn: Turn, draft: Draft, similar: Similar | None) -> None:
    """Only what anyone may know of another resident's ticket goes into the draft (and so
    into the proposal): its number, state, date and the words both share; no text, no name."""
    draft.similar = None
    if similar is not None:
        draft.similar = {
            "id": similar.id,
            "number": similar.number,
            "state": similar.state,
            "created": local_time(similar.created_at, turn.policy),
            "shared": list(similar.shared),
        }


# --- a burst of follow-ups -----------------------------------------------------------------
# 30 messages in 10 seconds (or a long text Telegram split in pieces) would each get the whole
# growing draft back. A follow-up within `quiet_seconds` of the last proposal joins the draft
# without an answer, and one proposal of the whole draft is held back in the outbox until that
# long after the last of them: each new one rewrites it and moves it later.


def _in_burst(turn: Turn, draft: Draft) -> bool:
    if draft.shown_at is None:
        return False
    quiet = timedelta(seconds=turn.deps.quiet_seconds)
    return turn.policy.clock.now() < datetime.fromisoformat(draft.shown_at) + quiet


async def _answer_later(turn: Turn, draft: Draft) -> None:
    due = turn.policy.clock.now() + timedelta(seconds=turn.deps.quiet_seconds)
    reply = proposal(turn, draft)
    later = draft.later
    moved = later is not None and await outbox.postpone(
        turn.session,
        dedupe_key=later["key"],
        due=datetime.fromisoformat(later["due"]),
        body=reply.to_body(),
        until=due,
    )
    if not moved:  # none yet, or the last one is on its way: a new one
        key = f"later:p{turn.person.id}:{uuid.uuid4().hex}"
        turn.hold_back(reply, key=key, due=due)
        later = {"key": key}
    assert later is not None
    draft.later = {"key": later["key"], "due": due.isoformat()}
    draft.shown_at = due.isoformat()
    turn.expect(ChatState.DRAFTING, draft=draft)


async def _take_back(turn: Turn, later: dict[str, str] | None) -> None:
    if later is not None:
        await outbox.withdraw(
            turn.session, dedupe_key=later["key"], due=datetime.fromisoformat(later["due"])
        )


async def draft_over(turn: Turn) -> None:
    """The turn ended the draft (submitted, cancelled, a question asked instead): the proposal
    held back for its burst is taken back, so no stale one follows."""
    await _take_back(turn, turn.held_back)


def classify_draft(turn: Turn, draft: Draft) -> None:
    """Put the classifier's proposal for the draft's text into the draft."""
    result = turn.deps.classifier.classify(draft.text)
    draft.category, draft.subcategory = result.category, result.subcategory
    draft.confidence, draft.keywords = result.confidence, list(result.keywords)[:8]
    draft.urgency, draft.urgency_kind = result.urgency, result.urgency_kind


async def draft_text(turn: Turn, said: Incoming) -> None:
    """A second message while the proposal waits is more of the same complaint, classified
    again as a whole."""
    draft = _draft(turn)
    extended = _extended(turn, draft, said.text)
    if extended is None:
        return
    draft.text = extended
    classify_draft(turn, draft)
    if draft.urgency == "emergency":
        await _submit_emergency(turn, draft)
    elif _in_burst(turn, draft):
        await _answer_later(turn, draft)
    else:
        await show_now(turn, draft)


def _draft(turn: Turn) -> Draft:
    draft = turn.draft
    assert draft is not None, "the drafting state keeps a draft"
    return draft


def _extended(turn: Turn, draft: Draft, more: str) -> str | None:
    """The draft's text with `more` added, or None (the resident told why) when that would
    pass the complaint's length limit: the draft then stays as it was and can still be
    submitted — without the check, follow-ups grew it past what submission accepts, and
    every one made the next classification slower."""
    try:
        return check_complaint_text(f"{draft.text}\n{more}", turn.policy)
    except InvalidInput as error:
        if error.params.get("reason") != "too_long":
            raise
    rows = _proposal_buttons(turn, draft)
    turn.say_key("draft_full", rows, limit=turn.policy.max_complaint_chars)
    return None


def _proposal_buttons(turn: Turn, draft: Draft | None = None) -> list[list[Button]]:
    anonymous = draft is not None and draft.anonymous
    first = [turn.button("btn_submit", SubmitDraft().pack())]
    if draft is not None and draft.similar:
        first = [
            turn.button("btn_follow", FollowSimilar().pack()),
            turn.button("btn_submit_anyway", SubmitDraft().pack()),
        ]
    return [
        first,
        [
            turn.button("btn_change_category", ListCategories().pack()),
            turn.button("btn_cancel", DropDraft().pack()),
        ],
        [
            turn.button("btn_call_back", AskCallBack().pack()),
            turn.button("btn_named" if anonymous else "btn_anonymous", ToggleAnonymous().pack()),
        ],
    ]


def show_proposal(turn: Turn, draft: Draft) -> None:
    turn.replies.append(proposal(turn, draft))


def proposal(turn: Turn, draft: Draft) -> Reply:
    """The draft as the bot proposes to submit it, with its buttons."""
    rows = tuple(tuple(row) for row in _proposal_buttons(turn, draft))
    if draft.category:
        category = draft.category
        if draft.subcategory:
            category = f"{category}/{draft.subcategory}"
        text = turn.t(
            "proposed",
            text=preview(draft.text),
            category=category,
            keywords=turn.t("list_separator").join(draft.keywords or []) or turn.t("none"),
            urgency=turn.label("urgency", draft.urgency),
        )
    else:
        text = turn.t("proposed_unclassified", text=preview(draft.text))
    # What the resident chose about being reached, said under the proposal.
    if draft.phone:
        text += "\n" + turn.t("draft_call_back", phone=shown_phone(draft.phone))
    if draft.anonymous:
        text += "\n" + turn.t("draft_anonymous")
    if draft.similar:
        similar = draft.similar
        text += "\n\n" + turn.t(
            "similar_found",
            number=similar["number"],
            state=turn.label("state", similar["state"]),
            created=similar["created"],
            keywords=turn.t("list_separator").join(similar["shared"]),
        )
    return Reply(text, rows)


# --- 回电 and 匿名 --------------------------------------------------------------------------------


async def ask_call_back(turn: Turn, _press: AskCallBack) -> None:
    """The resident wants a call back: ask for the number (Telegram's contact button, or
    typed), or let them skip."""
    draft = _draft(turn)
    turn.expect(ChatState.GIVING_PHONE, draft=draft)
    share, skip = turn.t("btn_share_phone"), turn.t("btn_skip_phone")
    turn.replies.append(Reply(turn.t("ask_phone"), contact=ContactRequest(share, skip)))


async def phone_shared(turn: Turn, said: Incoming) -> None:
    await _phone_given(turn, said.phone or "")


async def phone_typed(turn: Turn, said: Incoming) -> None:
    if said.text.strip() in (turn.t("btn_skip_phone"), turn.t("skip_word")):
        _back_to_proposal(turn, "phone_skipped")
        return
    await _phone_given(turn, said.text)


async def _phone_given(turn: Turn, number: str) -> None:
    """A number checked (a bad one keeps the question open), remembered for next time, and
    kept on the draft for this ticket."""
    phone = check_phone(number)
    draft = _draft(turn)
    draft.phone = phone
    await set_phone(turn.session, turn.person, phone)
    turn.data["draft"] = draft.to_data()
    _back_to_proposal(turn, "phone_kept")


def _back_to_proposal(turn: Turn, key: str) -> None:
    draft = _draft(turn)
    turn.replies.append(Reply(turn.t(key), remove_keyboard=True))
    turn.expect(ChatState.DRAFTING, draft=draft)
    show_proposal(turn, draft)


async def toggle_anonymous(turn: Turn, _press: ToggleAnonymous) -> None:
    draft = _draft(turn)
    draft.anonymous = not draft.anonymous
    turn.expect(ChatState.DRAFTING, draft=draft)
    show_proposal(turn, draft)


async def draft_photo(turn: Turn, said: Incoming) -> None:
    draft = _draft(turn)
    if len(draft.attachments) < MAX_PHOTOS:
        draft.attachments.append({"kind": "photo", "ref": said.photo or ""})
    turn.say_key("draft_photo_added", count=len(draft.attachments))
    if said.text.strip():
        extended = _extended(turn, draft, said.text)
        if extended is not None:
            draft.text = extended
    turn.expect(ChatState.DRAFTING, draft=draft)


async def draft_location(turn: Turn, said: Incoming) -> None:
    """Where the problem is; the grid it falls in is told now and takes the ticket."""
    assert said.latitude is not None and said.longitude is not None  # the dispatcher checks
    draft = _draft(turn)
    draft.latitude, draft.longitude = said.latitude, said.longitude
    turn.expect(ChatState.DRAFTING, draft=draft)
    grid = await grid_at(turn, said.latitude, said.longitude)
    if grid is not None:
        turn.say_key("draft_location_grid", area=grid.name)
    else:
        turn.say_key("draft_location_added")


async def no_draft(turn: Turn, _press: object) -> None:
    """A draft's button pressed when no draft waits (submitted, cancelled, or an old one)."""
    turn.say_key("no_draft")


async def submit_pressed(turn: Turn, _press: SubmitDraft) -> None:
    """提交; when nothing says where the problem is, ask first (once: skipping submits)."""
    draft = _draft(turn)
    try:
        await submit_draft(turn, draft, ask_where=True)
    except PlaceNeeded:
        turn.expect(ChatState.GIVING_ADDRESS, draft=draft)
        turn.say_key("ask_address", [[turn.button("btn_skip", SkipAddress().pack())]])


# --- where, when nothing else says (the resident chose only a community) --------------------


async def address_given(turn: Turn, said: Incoming) -> None:
    draft = _draft(turn)
    draft.address = check_address(said.text)
    await submit_draft(turn, draft)


async def address_located(turn: Turn, said: Incoming) -> None:
    draft = _draft(turn)
    draft.latitude, draft.longitude = said.latitude, said.longitude
    await submit_draft(turn, draft)


async def address_photo(turn: Turn, said: Incoming) -> None:
    """A photo while the address is asked joins the draft; the question stays."""
    draft = _draft(turn)
    if len(draft.attachments) < MAX_PHOTOS:
        draft.attachments.append({"kind": "photo", "ref": said.photo or ""})
    turn.expect(ChatState.GIVING_ADDRESS, draft=draft)
    turn.say_key("draft_photo_added", count=len(draft.attachments))


async def address_skipped(turn: Turn, _press: SkipAddress) -> None:
    await submit_draft(turn, _draft(turn))


async def drop_pressed(turn: Turn, _press: DropDraft) -> None:
    turn.reset()
    turn.say_key("draft_cancelled")


async def list_categories(turn: Turn, _press: ListCategories) -> None:
    rows = [
        [Button(name, ChooseDraftCategory(index).pack()) for index, name in pair]
        for pair in _pairs(list(enumerate(CATEGORIES)))
    ]
    turn.say_key("choose_category", rows)


async def category_pressed(turn: Turn, press: ChooseDraftCategory) -> None:
    draft = _draft(turn)
    draft.category, draft.subcategory = CATEGORIES[press.index % len(CATEGORIES)], None
    draft.confidence, draft.keywords = 1.0, []
    turn.say_key("category_chosen", category=draft.category)
    await show_now(turn, draft)


def _pairs(items: list) -> list[list]:
    return [items[index : index + 3] for index in range(0, len(items), 3)]


async def submit_draft(turn: Turn, draft: Draft, *, ask_where: bool = False) -> None:
    """Open the ticket. A shared location names the grid where the problem is, whichever area
    the resident lives in; without one the resident's own area takes it."""
    grid = None
    if draft.latitude is not None and draft.longitude is not None:
        grid = await grid_at(turn, draft.latitude, draft.longitude)
    ticket = await submit_complaint(
        turn.session,
        turn.policy,
        resident=turn.person,
        area_id=grid.id if grid is not None else None,
        text=draft.text,
        category=draft.category,
        subcategory=draft.subcategory,
        confidence=draft.confidence,
        keywords=draft.keywords or [],
        urgency=draft.urgency or "normal",
        attachments=draft.attachments or [],
        latitude=draft.latitude,
        longitude=draft.longitude,
        contact_phone=draft.phone,
        anonymous=draft.anonymous,
        address=draft.address,
        ask_where=ask_where,
    )
    turn.reset()
    turn.say(await _what_happened(turn, ticket))
    await notify.announce_submitted(turn, ticket)


async def _what_happened(turn: Turn, ticket: Ticket) -> str:
    """What the resident is told at submission, as it really is: sent to a named grid worker,
    or waiting for the staff to dispatch it; the promised time either way; and for an
    emergency, that the staff on duty have been alerted (when anyone is)."""
    area = await get_area(turn.session, ticket.handling_area_id)
    worker = await person(turn.session, ticket.assignee_id)
    if worker is not None:
        text = turn.t(
            "submitted_assigned",
            number=ticket.number,
            area=area.name,
            worker=worker.display_name or turn.t("unnamed_worker"),
            accept_by=local_time(ticket.due_accept_at, turn.policy),
            resolve_by=local_time(ticket.due_resolve_at, turn.policy),
        )
    else:
        text = turn.t(
            "submitted_triage",
            number=ticket.number,
            area=area.name,
            dispatch_by=local_time(ticket.due_dispatch_at, turn.policy),
        )
    if ticket.urgency == Urgency.EMERGENCY and await emergency_staff(turn.session, ticket):
        text = f"{text}\n{turn.t('submitted_staff_alerted')}"
    return text


async def follow_pressed(turn: Turn, _press: FollowSimilar) -> None:
    """关注它: the draft becomes a follower of the open ticket it duplicates."""
    draft = _draft(turn)
    if not draft.similar:  # an old proposal's button: this draft offered none
        turn.say_key("bad_button")
        return
    ticket = await follow_ticket(
        turn.session,
        turn.policy,
        resident=turn.person,
        original_id=draft.similar["id"],
        text=draft.text,
        category=draft.category,
        subcategory=draft.subcategory,
        keywords=draft.keywords or [],
        urgency=draft.urgency or "normal",
        attachments=draft.attachments or [],
        latitude=draft.latitude,
        longitude=draft.longitude,
    )
    turn.reset()
    turn.say_key("followed", number=ticket.number, original=draft.similar["number"])


# --- following one's tickets -----------------------------------------------------------------


async def my_tickets(turn: Turn) -> None:
    tickets = await tickets_of_resident(turn.session, turn.person, limit=10)
    if not tickets:
        turn.say_key("my_none")
        return
    turn.say_key("my_list", _ticket_rows(turn, tickets, ViewTicket), count=len(tickets))


def _ticket_rows(
    turn: Turn, tickets: list[Ticket], press: Callable[[int], Payload]
) -> list[list[Button]]:
    """One button a ticket (number, state, category) that presses `press(ticket.id)`."""
    return [
        [
            Button(
                turn.t(
                    "ticket_line",
                    number=ticket.number,
                    state=turn.label("state", ticket.state),
                    category=ticket.category or turn.t("none"),
                ),
                press(ticket.id).pack(),
            )
        ]
        for ticket in tickets
    ]


async def show_ticket(turn: Turn, ticket: Ticket) -> None:
    card = await ticket_card(turn.session, ticket, turn.locale, turn.policy, handler=False)
    events = await ticket_timeline(turn.session, ticket.id)
    rows = []
    if ticket.state in OPEN_FOR_RESIDENT:
        rows.append(
            [
                turn.button("btn_add_info", AddInformation(ticket.id).pack()),
                turn.button("btn_urge", Urge(ticket.id).pack()),
                turn.button("btn_withdraw", Withdraw(ticket.id, ticket.version).pack()),
            ]
        )
    history = timeline_text(events, turn.locale, turn.policy, for_resident=True)
    turn.say(f"{card}\n\n{history}", rows, photos=evidence.worker_photos(ticket))


async def ask_information(turn: Turn, press: AddInformation) -> None:
    await check_move(turn, press.ticket_id, Action.ADD_INFO)
    turn.expect(ChatState.ADDING_INFORMATION, ticket_id=press.ticket_id)
    turn.say_key("ask_info")


async def information_given(turn: Turn, said: Incoming) -> None:
    text, photo = said.text, said.photo
    attachments = [{"kind": "photo", "ref": photo}] if photo else []
    moved = await handling.add_information(
        turn.session,
        turn.policy,
        ticket_id=turn.data["ticket_id"],
        actor=turn.person,
        text=text or (turn.t("photo_only") if photo else ""),
        attachments=attachments,
    )
    turn.reset()
    turn.say_key("info_added", number=moved.ticket.number)
    await notify.announce(turn, moved)


async def location_given(turn: Turn, said: Incoming) -> None:
    """A place shared while adding information: where the problem is, for this ticket (not
    the resident's home area)."""
    assert said.latitude is not None and said.longitude is not None  # the dispatcher checks
    moved = await handling.add_information(
        turn.session,
        turn.policy,
        ticket_id=turn.data["ticket_id"],
        actor=turn.person,
        text=turn.t("location_only"),
        location=(said.latitude, said.longitude),
    )
    turn.reset()
    turn.say_key("info_added", number=moved.ticket.number)
    await notify.announce(turn, moved)


async def withdraw(turn: Turn, press: Withdraw) -> None:
    moved = await handling.cancel_ticket(
        turn.session,
        turn.policy,
        ticket_id=press.ticket_id,
        actor=turn.person,
        expected_version=press.version,
    )
    turn.say_key("withdrawn", number=moved.ticket.number)
    await notify.announce(turn, moved)


# --- 催办 ---------------------------------------------------------------------------------------

# "催办", "催办 20261123-000001", "urge 20261123-000001": a word and at most a ticket number. A
# complaint that starts with 催办 ("催办了三次还没人管…") stays a complaint.
URGE_TYPED = re.compile(r"(?:催办|催单|urge)[\s:：#]*([\d\-]*)\s*", re.IGNORECASE)


def typed_urge(text: str) -> str | None:
    """The ticket number a typed 催办 names ('' for none), or None if the text is no 催办."""
    found = URGE_TYPED.fullmatch(text.strip())
    return found.group(1) if found else None


async def urge_typed(turn: Turn, number: str) -> None:
    """催办 by words: the ticket named, else the only open one, else a choice of the open ones."""
    if number:
        await _urge(turn, (await find_ticket(turn.session, turn.person, number)).id)
        return
    mine = await tickets_of_resident(turn.session, turn.person, limit=10)
    open_ones = [ticket for ticket in mine if ticket.state in OPEN_FOR_RESIDENT]
    if not open_ones:
        turn.say_key("urge_none")
    elif len(open_ones) == 1:
        await _urge(turn, open_ones[0].id)
    else:
        turn.say_key("urge_which", _ticket_rows(turn, open_ones, Urge))


async def urge_pressed(turn: Turn, press: Urge) -> None:
    await _urge(turn, press.ticket_id)


async def _urge(turn: Turn, ticket_id: int) -> None:
    moved = await handling.urge_ticket(
        turn.session, turn.policy, ticket_id=ticket_id, actor=turn.person
    )
    ticket = moved.ticket
    key = "urged" if ticket.assignee_id is not None else "urged_triage"
    turn.say_key(key, number=ticket.number)
    await notify.announce(turn, moved)


# --- the callback (回访) -----------------------------------------------------------------------


async def solved_pressed(turn: Turn, press: AnswerSolved) -> None:
    await check_press(turn, press, Action.CONFIRM)
    ticket_id, version, solved = press.ticket_id, press.version, press.solved
    rows = [
        [
            turn.button(f"btn_{name}", AnswerSatisfaction(ticket_id, version, solved, index).pack())
            for index, name in enumerate(SATISFACTION)
        ]
    ]
    turn.say_key("ask_satisfaction", rows)


async def satisfaction_pressed(turn: Turn, press: AnswerSatisfaction) -> None:
    """Ask for an optional comment; the answer is recorded when it comes (or on 跳过)."""
    ticket = await turn.session.get(Ticket, press.ticket_id)
    if ticket is None or ticket.resident_id != turn.person.id or ticket.version != press.version:
        turn.say_key("bad_button")
        return
    turn.expect(
        ChatState.COMMENTING,
        ticket_id=press.ticket_id,
        version=press.version,
        solved=bool(press.solved),
        satisfaction=SATISFACTION[press.satisfaction % len(SATISFACTION)],
    )
    turn.say_key("ask_comment", [[turn.button("btn_skip", SkipComment().pack())]])


async def comment_given(turn: Turn, said: Incoming) -> None:
    await _record_callback(turn, said.text)


async def comment_skipped(turn: Turn, _press: SkipComment) -> None:
    await _record_callback(turn, None)


async def _record_callback(turn: Turn, comment: str | None) -> None:
    data = turn.data
    moved = await handling.answer_callback(
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
    key = "callback_closed" if moved.ticket.state == State.CLOSED else "callback_reopened"
    turn.say_key(key, number=moved.ticket.number)
    await notify.announce(turn, moved)
