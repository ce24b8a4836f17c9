"""代办 and 隐患上报: a grid worker (or staff member) records a ticket from chat — a complaint for a
resident who phoned or was visited, with the resident's name and phone as given, or a hazard
found on patrol (网格敲门). The text comes first; a button says which it is.
"""

from __future__ import annotations

from handlers import notify
from handlers.buttons import DropDraft, RecordTicket, SkipComment
from handlers.context import Turn
from handlers.conversation import ChatState, Draft
from handlers.events import Incoming
from handlers.keyboards import work_buttons
from handlers.render import local_time, preview
from handlers.resident import classify_draft, new_draft
from tickets.areas import get_area
from tickets.intake import check_complaint_text, submit_complaint
from tickets.sources import Source, parse_contact

# What a worker can record, in the order of the buttons.
RECORDABLE = (Source.ON_BEHALF, Source.PATROL)
RECORD_BUTTONS = {Source.ON_BEHALF: "btn_on_behalf", Source.PATROL: "btn_patrol"}


async def offer(turn: Turn, said: Incoming) -> None:
    """A worker's text with no question pending: record it as a ticket? 代办 or 隐患上报."""
    if not said.text.strip() and said.photo:
        turn.say_key("record_photo_needs_text")
        return
    draft = new_draft(check_complaint_text(said.text, turn.policy), said.photo)
    _ask_kind(turn, draft)


async def more_text(turn: Turn, said: Incoming) -> None:
    """More of the same while the question waits: it joins the text."""
    draft = _draft(turn)
    draft.text = check_complaint_text(f"{draft.text}\n{said.text}", turn.policy)
    if said.photo:
        draft.attachments.append({"kind": "photo", "ref": said.photo})
    _ask_kind(turn, draft)


def _ask_kind(turn: Turn, draft: Draft) -> None:
    turn.expect(ChatState.RECORDING, draft=draft)
    kinds = [
        turn.button(RECORD_BUTTONS[source], RecordTicket(index).pack())
        for index, source in enumerate(RECORDABLE)
    ]
    cancel = [turn.button("btn_cancel", DropDraft().pack())]
    turn.say_key("record_ask", [kinds, cancel], text=preview(draft.text))


def _draft(turn: Turn) -> Draft:
    draft = turn.draft
    assert draft is not None, "the recording states keep a draft"
    return draft


async def kind_pressed(turn: Turn, press: RecordTicket) -> None:
    draft = _draft(turn)
    source = RECORDABLE[press.source % len(RECORDABLE)]
    if source is Source.ON_BEHALF:
        turn.expect(ChatState.ON_BEHALF_CONTACT, draft=draft)
        skip = [[turn.button("btn_no_contact", SkipComment().pack())]]
        turn.say_key("ask_on_behalf_contact", skip)
        return
    await _record(turn, draft, source)


async def contact_given(turn: Turn, said: Incoming) -> None:
    """The resident's name and phone as the worker types them; a bad number asks again."""
    name, phone = parse_contact(said.text)
    await _record(turn, _draft(turn), Source.ON_BEHALF, name, phone)


async def contact_skipped(turn: Turn, _press: SkipComment) -> None:
    await _record(turn, _draft(turn), Source.ON_BEHALF)


async def _record(
    turn: Turn, draft: Draft, source: Source, name: str | None = None, phone: str | None = None
) -> None:
    classify_draft(turn, draft)
    ticket = await submit_complaint(
        turn.session,
        turn.policy,
        resident=turn.person,
        text=draft.text,
        category=draft.category,
        subcategory=draft.subcategory,
        confidence=draft.confidence,
        keywords=draft.keywords,
        urgency=draft.urgency,
        attachments=draft.attachments,
        source=source,
        on_behalf_name=name,
        on_behalf_phone=phone,
    )
    turn.reset()
    area = await get_area(turn.session, ticket.handling_area_id)
    facts = {
        "number": ticket.number,
        "source": turn.label("source", source),
        "urgency": turn.label("urgency", ticket.urgency),
        "category": ticket.category or turn.t("none"),
        "area": area.name,
    }
    if ticket.assignee_id == turn.person.id:  # 网格收单: one's own grid, one's own ticket
        buttons = work_buttons(turn.locale, ticket)
        accept_by = local_time(ticket.due_accept_at, turn.policy)
        turn.say_key("recorded_yours", buttons, accept_by=accept_by, **facts)
    elif ticket.assignee_id is not None:
        turn.say_key("recorded_assigned", **facts)
    else:
        turn.say_key("recorded_triage", **facts)
    await notify.announce_submitted(turn, ticket)
