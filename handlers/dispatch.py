"""The entry point of the conversations: one incoming event in, the replies out.

Each event is handled in one transaction: the update id is claimed (a redelivered update does
nothing), the person is found or registered, the conversation state is loaded, and the event goes
to the command, button or pending question that owns it — the tables below are the whole map.
A refusal by the domain rolls the transaction back and is answered in a fresh one, so a refused
move leaves nothing behind but the reply.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from handlers import common, resident, staff, worker
from handlers.buttons import BadButton, Press, parse
from handlers.context import Deps, Turn
from handlers.events import Incoming, Kind, Outcome, Reply
from handlers.faults import describe_fault
from handlers.texts import locale_or_default, tr
from storage.conversations import load_person_and_state, load_state, store_state
from storage.models import ProcessedUpdate, Ticket
from storage.outbox import enqueue_rows
from storage.updates import claim_update
from tickets.errors import DomainError, InvalidInput, NotFound, StaleTicket
from tickets.handling import check_return_window, load_ticket
from tickets.lifecycle import TRIAGE_STATES, Action, Role
from tickets.people import register_person
from tickets.permissions import authorize, check_can_view

log = logging.getLogger(__name__)

R, W, S = frozenset({Role.RESIDENT}), frozenset({Role.WORKER}), frozenset({Role.STAFF, Role.ADMIN})
ANYONE = R | W | S
Handler = Callable[[Turn], Awaitable[None]]

COMMANDS: dict[str, tuple[frozenset[Role], Handler]] = {
    "start": (ANYONE, lambda turn: _start(turn)),
    "help": (ANYONE, common.show_help),
    "lang": (ANYONE, common.ask_language),
    "join": (ANYONE, common.join),
    "cancel": (ANYONE, lambda turn: _cancel(turn)),
    "area": (R, lambda turn: resident.ask_area(turn, None)),
    "my": (R, resident.my_tickets),
    "tasks": (W | S, worker.tasks),
    "triage": (S, staff.triage),
    "overdue": (S, staff.overdue),
    "stats": (S, staff.stats),
    "invite": (S, staff.invite),
    "ticket": (S | W, staff.lookup),
    "undelivered": (S, staff.undelivered),
}

# Questions the bot asked and the text that answers them: state → handler(turn, text, photo).
Prompt = Callable[[Turn, str, str | None], Awaitable[None]]
PROMPTS: dict[str, Prompt] = {
    "info": resident.information_given,
    "comment": lambda turn, text, _photo: resident.comment_given(turn, text),
    "photo_text": lambda turn, text, _photo: resident.complaint_text(
        turn, text, turn.data.get("photo")
    ),
    "return_reason": lambda turn, text, _photo: worker.returned(turn, text),
    "note": lambda turn, text, _photo: worker.noted(turn, text),
    "extension_reason": lambda turn, text, _photo: worker.extension_reason(turn, text),
    "escalate_reason": lambda turn, text, _photo: worker.escalated(turn, text),
    "resolve_reply": worker.resolved,
    "close_reason": lambda turn, text, _photo: staff.closed(turn, text),
    "reopen_reason": lambda turn, text, _photo: staff.reopened(turn, text),
    "merge_original": lambda turn, text, _photo: staff.merged(turn, text),
}

# Buttons that ask for a text first: verb → (action checked now, state, question).
ASKING_BUTTONS: dict[str, tuple[Action, str, str]] = {
    "ret": (Action.RETURN, "return_reason", "ask_return_reason"),
    "esc": (Action.ESCALATE, "escalate_reason", "ask_escalate_reason"),
    "res": (Action.RESOLVE, "resolve_reply", "ask_resolve_reply"),
    "cl": (Action.CLOSE, "close_reason", "ask_close_reason"),
    "ro": (Action.REOPEN, "reopen_reason", "ask_reopen_reason"),
    "mg": (Action.MERGE, "merge_original", "ask_merge_original"),
}


async def handle(deps: Deps, event: Incoming) -> Outcome:
    """Handle one event; every reply for the sender is in the outcome, every message for anyone
    else is in the outbox, committed together."""
    event = event.cleaned()
    try:
        async with deps.sessions() as session:
            turn = await _begin(deps, session, event)
            await _route(turn)
            return await _finish(turn)
    except DomainError as error:
        try:
            return await _refused(deps, event, error)
        except IntegrityError:
            if await _handled_before(deps, event):
                return Outcome(duplicate=True)
            raise
    except IntegrityError as error:
        # The update id was recorded before (a redelivery, or another process was first): it
        # has been handled, and everything this attempt did is rolled back.
        if await _handled_before(deps, event):
            return Outcome(duplicate=True)
        return _failed(event, error)
    except Exception as error:
        return _failed(event, error)


def _failed(event: Incoming, error: Exception) -> Outcome:
    """A fault of ours (or of the database): nothing was committed; say so politely and log
    what happened — the kind of event and where it failed, never what the person wrote (a
    database error's message quotes the values it failed on)."""
    log.error(
        "handling a %s (update %s) failed\n%s", event.kind, event.update_id, describe_fault(error)
    )
    return Outcome([Reply(tr(locale_or_default(event.language), "failed"))])


async def _handled_before(deps: Deps, event: Incoming) -> bool:
    if event.update_id is None:
        return False
    async with deps.sessions() as session:
        key = (event.channel, event.update_id)
        return await session.get(ProcessedUpdate, key) is not None


async def _begin(deps: Deps, session: AsyncSession, event: Incoming) -> Turn:
    if event.update_id is not None:
        await claim_update(session, event.channel, event.update_id, deps.policy.clock.now())
    person, saved = await load_person_and_state(
        session, event.channel, event.chat_id, event.user_id
    )
    if person is None:  # first contact
        person = await register_person(
            session,
            deps.policy,
            channel=event.channel,
            channel_user_id=event.user_id,
            chat_id=event.chat_id,
            display_name=(event.display_name or None) and event.display_name[:100],
            locale=locale_or_default(event.language),
        )
        saved = await load_state(session, event.channel, event.chat_id, event.user_id)
    # A deep copy: the turn edits drafts in place, the stored row must only change on save.
    state, data = (saved.state, copy.deepcopy(saved.data)) if saved else ("idle", {})
    return Turn(deps, session, event, person, state, data, state_stored=saved is not None)


async def _finish(turn: Turn) -> Outcome:
    event = turn.event
    await enqueue_rows(turn.session, turn.outgoing)
    if turn.state_changed:
        await store_state(
            turn.session,
            turn.state_stored,
            channel=event.channel,
            chat_id=event.chat_id,
            user_id=event.user_id,
            state=turn.state,
            data=turn.data,
            now=turn.policy.clock.now(),
        )
    await turn.session.commit()
    return Outcome(turn.replies)


async def _refused(deps: Deps, event: Incoming, error: DomainError) -> Outcome:
    """Answer a refusal in a fresh transaction. A bad text keeps its question open (the person
    can try again); anything else ends the question."""
    async with deps.sessions() as session:
        turn = await _begin(deps, session, event)
        common.explain(turn, error)
        if not isinstance(error, InvalidInput) and turn.state not in ("idle", "drafting"):
            turn.reset()
        return await _finish(turn)


async def _route(turn: Turn) -> None:
    event = turn.event
    if event.kind is Kind.COMMAND:
        await _command(turn)
    elif event.kind is Kind.BUTTON:
        await _button(turn)
    elif event.kind in (Kind.TEXT, Kind.PHOTO) and _too_long(turn, event.text):
        return
    elif event.kind is Kind.TEXT:
        await _text(turn, event.text, None)
    elif event.kind is Kind.PHOTO:
        await _photo(turn)
    elif event.kind is Kind.LOCATION:
        await _location(turn)
    else:
        turn.say_key("not_text")


def _too_long(turn: Turn, text: str) -> bool:
    if len(text) <= turn.deps.max_message_chars:
        return False
    turn.say_key("too_long", length=len(text), limit=turn.deps.max_message_chars)
    return True


async def _command(turn: Turn) -> None:
    roles, handler = COMMANDS.get(turn.event.command, (frozenset(), common.unknown_command))
    if Role(turn.person.role) not in roles:
        handler = common.unknown_command
    await handler(turn)


async def _start(turn: Turn) -> None:
    turn.reset()
    if Role(turn.person.role) is Role.RESIDENT:
        await resident.start(turn)
    else:
        await common.show_help(turn)


async def _cancel(turn: Turn) -> None:
    turn.reset()
    turn.say_key("draft_cancelled")


async def _text(turn: Turn, text: str, photo: str | None) -> None:
    prompt = PROMPTS.get(turn.state)
    if prompt is not None:
        await prompt(turn, text, photo)
    elif Role(turn.person.role) is not Role.RESIDENT:
        await common.show_help(turn)
    elif turn.state == "choosing_area":
        await resident.area_typed(turn, text)
    elif turn.state == "drafting":
        await resident.draft_text(turn, text)
    else:
        await resident.complaint_text(turn, text, photo)


async def _photo(turn: Turn) -> None:
    event = turn.event
    if turn.state in PROMPTS or Role(turn.person.role) is not Role.RESIDENT:
        await _text(turn, event.text, event.photo)
    elif turn.state == "drafting":
        await resident.draft_photo(turn, event.photo or "", event.text)
    elif event.text.strip():
        await resident.complaint_text(turn, event.text, event.photo)
    else:
        turn.expect("photo_text", photo=event.photo)
        turn.say_key("photo_needs_text")


async def _location(turn: Turn) -> None:
    event = turn.event
    if event.latitude is None or event.longitude is None:
        turn.say_key("not_text")
    elif Role(turn.person.role) is not Role.RESIDENT:
        await common.show_help(turn)
    elif turn.state == "drafting":
        await resident.draft_location(turn, event.latitude, event.longitude)
    else:
        await resident.area_located(turn, event.latitude, event.longitude)


async def _button(turn: Turn) -> None:
    try:
        press = parse(turn.event.button)
    except BadButton:
        turn.say_key("bad_button")
        return
    verb, args = press.verb, press.args
    if verb == "lang":
        await common.choose_language(turn, args[0])
    elif verb == "area" and Role(turn.person.role) is Role.RESIDENT:
        await resident.area_pressed(turn, args[0])
    elif verb in ("ok", "drop", "cats", "cat"):
        await resident.draft_pressed(turn, verb, args)
    elif verb == "skip" and turn.state == "comment":
        await resident.comment_given(turn, None)
    elif verb == "v":
        await _view(turn, args[0])
    elif verb in ASKING_BUTTONS:
        await _ask(turn, press)
    else:
        await _ticket_button(turn, press)


async def _ask(turn: Turn, press: Press) -> None:
    """A button whose move needs a text: check it can happen now, then ask for the text."""
    action, state, question = ASKING_BUTTONS[press.verb]
    ticket_id, version = press.args
    ticket = await _precheck(turn, ticket_id, version, action)
    if action is Action.RETURN:
        check_return_window(ticket, turn.policy)
    turn.expect(state, ticket_id=ticket_id, version=version)
    turn.say_key(question)


async def _precheck(turn: Turn, ticket_id: int, version: int, action: Action) -> Ticket:
    ticket = await turn.session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound("no such ticket")
    # Scope before version: a stale press must not tell a stranger the ticket's number and state.
    await check_can_view(turn.session, turn.person, ticket)
    if ticket.version != version:
        raise StaleTicket("stale button", number=ticket.number, state=ticket.state)
    await authorize(turn.session, turn.person, ticket, action)
    return ticket


async def _ticket_button(turn: Turn, press: Press) -> None:
    verb, args = press.verb, press.args
    if verb == "acc":
        await worker.accept(turn, *args)
    elif verb == "note":
        ticket = await load_ticket(turn.session, args[0])
        await authorize(turn.session, turn.person, ticket, Action.NOTE)
        turn.expect("note", ticket_id=args[0])
        turn.say_key("ask_note")
    elif verb == "ext":
        await _precheck(turn, args[0], args[1], Action.REQUEST_EXTENSION)
        await worker.ask_extension_days(turn, *args)
    elif verb == "extd":
        await _precheck(turn, args[0], args[1], Action.REQUEST_EXTENSION)
        turn.expect("extension_reason", ticket_id=args[0], version=args[1], days=args[2])
        turn.say_key("ask_extension_reason")
    elif verb == "info":
        ticket = await load_ticket(turn.session, args[0])
        await authorize(turn.session, turn.person, ticket, Action.ADD_INFO)
        await resident.ask_information(turn, args[0])
    elif verb == "wd":
        await resident.withdraw(turn, *args)
    elif verb == "cb":
        await _precheck(turn, args[0], args[1], Action.CONFIRM)
        await resident.solved_pressed(turn, *args)
    elif verb == "cs":
        await resident.satisfaction_pressed(turn, *args)
    elif verb == "asg":
        ticket = await turn.session.get(Ticket, args[0])
        waiting = ticket is not None and ticket.state in TRIAGE_STATES
        await _precheck(turn, args[0], args[1], Action.ASSIGN if waiting else Action.REASSIGN)
        await staff.choose_worker(turn, *args)
    elif verb == "asw":
        await staff.assign(turn, *args)
    elif verb == "rc":
        await _precheck(turn, args[0], args[1], Action.RECATEGORISE)
        await staff.choose_category(turn, *args)
    elif verb == "rcc":
        await staff.recategorise(turn, *args)
    elif verb in ("xa", "xr"):
        await staff.decide_extension(turn, args[0], args[1], approve=verb == "xa")
    else:
        turn.say_key("bad_button")


async def _view(turn: Turn, ticket_id: int) -> None:
    ticket = await turn.session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound("no such ticket")
    await check_can_view(turn.session, turn.person, ticket)
    role = Role(turn.person.role)
    if role is Role.RESIDENT:
        await resident.show_ticket(turn, ticket)
    elif role is Role.WORKER:
        await worker.show_ticket(turn, ticket)
    else:
        await staff.show_ticket(turn, ticket)
