"""The entry point of the conversations: one incoming event in, the replies out.

Each event is handled in one transaction: the update id is claimed (a redelivered update does
nothing), the person is found or registered, the conversation state is loaded, and the event goes
to the handler the tables below give it — commands by name, everything else by the conversation
state and the kind of input (a text, a photo, a location, or a button's payload), with what works
in any state after that. A refusal by the domain rolls the transaction back and is answered in a
fresh one, so a refused move leaves nothing behind but the reply.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from handlers import (
    common,
    departments,
    menus,
    recording,
    resident,
    staff,
    tiers,
    visits,
    whistle,
    worker,
)
from handlers.buttons import (
    Accept,
    AddInformation,
    AddNote,
    AnswerSatisfaction,
    AnswerSolved,
    ApproveExtension,
    AskCallBack,
    AskExtension,
    AssignTo,
    BadButton,
    CallbackOutcome,
    ChooseArea,
    ChooseCategory,
    ChooseDraftCategory,
    ChooseLanguage,
    ChooseTier,
    ChooseWorker,
    Close,
    ConfirmDispatch,
    DispatchDepartments,
    DropDraft,
    Escalate,
    ExtensionDays,
    FollowSimilar,
    LeadResolve,
    ListCategories,
    Merge,
    MergeInto,
    NeedsDepartment,
    OnTicket,
    PartAccept,
    PartFinish,
    PartReturn,
    Payload,
    PickLead,
    Recategorise,
    RecategoriseSub,
    RecordCallback,
    RecordTicket,
    RefuseExtension,
    Reopen,
    ReportArrival,
    Resolve,
    Return,
    SetTier,
    SettleArea,
    SkipAddress,
    SkipComment,
    SubmitDraft,
    Supervise,
    TierLeader,
    ToggleAnonymous,
    ToggleAssist,
    Urge,
    ViewTicket,
    Whistle,
    WhistleGo,
    WhistlePick,
    Withdraw,
    parse,
)
from handlers.context import Deps, Turn
from handlers.conversation import ChatState
from handlers.events import Incoming, Kind, Outcome, Reply
from handlers.faults import describe_fault
from handlers.texts import locale_or_default, tr
from storage import Session, WriteConflict
from storage.conversations import load_person_and_state, load_state, store_state
from storage.models import ProcessedUpdate, Ticket
from storage.outbox import enqueue_rows
from storage.updates import claim_update
from tickets.errors import DomainError, InvalidInput, NotFound
from tickets.handling import check_return_window, check_visited
from tickets.lifecycle import Action, Role, State
from tickets.people import register_person
from tickets.permissions import check_can_view

log = logging.getLogger(__name__)

R, W, S = frozenset({Role.RESIDENT}), frozenset({Role.WORKER}), frozenset({Role.STAFF, Role.ADMIN})
D = frozenset({Role.DEPARTMENT})
ANYONE = R | W | S | D
Command = Callable[[Turn], Awaitable[None]]
# A handler gets the turn and what was said: the Incoming message, or a button's payload.
Handler = Callable[[Turn, Any], Awaitable[None]]
Trigger = Kind | type[Payload]


def asking(action: Action, state: ChatState, question: str) -> Handler:
    """A button whose move needs words first: check the move can happen now, ask for them."""

    async def ask(turn: Turn, press: OnTicket) -> None:
        ticket = await common.check_press(turn, press, action)
        if action is Action.RETURN:
            check_return_window(ticket, turn.policy)
        if action is Action.CLOSE and ticket.state == State.RESOLVED:
            await check_visited(turn.session, ticket)  # before the note is typed in vain
        turn.expect(state, ticket_id=press.ticket_id, version=press.version)
        turn.say_key(question)

    return ask


async def _start(turn: Turn) -> None:
    turn.reset()
    if Role(turn.person.role) is Role.RESIDENT:
        await resident.start(turn)
    else:
        await common.show_help(turn)


async def _cancel(turn: Turn) -> None:
    turn.reset()
    turn.say_key("draft_cancelled")


def _is_resident(turn: Turn) -> bool:
    return Role(turn.person.role) is Role.RESIDENT


async def _idle_text(turn: Turn, said: Incoming) -> None:
    """A resident's text is a complaint, or a 催办; a worker's or staff member's is offered as
    a ticket to record (代办, 隐患上报); a department's handler records none, and is shown
    what they can do."""
    if Role(turn.person.role) is Role.DEPARTMENT:
        await common.show_help(turn)
    elif not _is_resident(turn):
        await recording.offer(turn, said)
    elif (number := resident.typed_urge(said.text)) is not None:
        await resident.urge_typed(turn, number)
    else:
        await resident.new_complaint(turn, said)


async def _idle_photo(turn: Turn, said: Incoming) -> None:
    if Role(turn.person.role) is Role.DEPARTMENT:
        await common.show_help(turn)
    elif _is_resident(turn):
        await resident.photo_complaint(turn, said)
    else:
        await recording.offer(turn, said)


async def _location(turn: Turn, said: Incoming) -> None:
    if _is_resident(turn):
        await resident.area_located(turn, said)
    else:
        await common.show_help(turn)


async def _area_pressed(turn: Turn, press: ChooseArea) -> None:
    if _is_resident(turn):
        await resident.area_pressed(turn, press)
    else:
        turn.say_key("bad_button")


async def _area_settled(turn: Turn, press: SettleArea) -> None:
    if _is_resident(turn):
        await resident.area_settled(turn, press)
    else:
        turn.say_key("bad_button")


async def _view(turn: Turn, press: ViewTicket) -> None:
    ticket = await turn.session.get(Ticket, press.ticket_id)
    if ticket is None:
        raise NotFound("no such ticket")
    await check_can_view(turn.session, turn.person, ticket)
    role = Role(turn.person.role)
    if role is Role.RESIDENT:
        await resident.show_ticket(turn, ticket)
    elif role is Role.WORKER:
        await worker.show_ticket(turn, ticket)
    elif role is Role.DEPARTMENT:
        await departments.show_ticket(turn, ticket)
    else:
        await staff.show_ticket(turn, ticket)


async def _tasks(turn: Turn) -> None:
    if Role(turn.person.role) is Role.DEPARTMENT:
        await departments.tasks(turn)
    else:
        await worker.tasks(turn)


COMMANDS: dict[str, tuple[frozenset[Role], Command]] = {
    "start": (ANYONE, _start),
    "help": (ANYONE, common.show_help),
    "lang": (ANYONE, common.ask_language),
    "join": (ANYONE, common.join),
    "cancel": (ANYONE, _cancel),
    "area": (R, resident.ask_area),
    "my": (R, resident.my_tickets),
    "tasks": (W | S | D, _tasks),
    "triage": (S, staff.triage),
    "overdue": (S, staff.overdue),
    "stats": (S, staff.stats),
    "invite": (S, staff.invite),
    "ticket": (S | W, staff.lookup),
    "undelivered": (S, staff.undelivered),
}

# The conversation, state by state: what each kind of input does while the bot waits for it.
# A text's handler also gets photos (a photo's caption is its text) unless the state names
# Kind.PHOTO itself.
CONVERSATION: dict[ChatState, dict[Trigger, Handler]] = {
    ChatState.IDLE: {
        Kind.TEXT: _idle_text,
        Kind.PHOTO: _idle_photo,
    },
    ChatState.CHOOSING_AREA: {Kind.TEXT: resident.area_typed, Kind.PHOTO: _idle_photo},
    ChatState.DRAFTING: {
        Kind.TEXT: resident.draft_text,
        Kind.PHOTO: resident.draft_photo,
        Kind.LOCATION: resident.draft_location,
        SubmitDraft: resident.submit_pressed,
        DropDraft: resident.drop_pressed,
        ListCategories: resident.list_categories,
        ChooseDraftCategory: resident.category_pressed,
        AskCallBack: resident.ask_call_back,
        ToggleAnonymous: resident.toggle_anonymous,
        FollowSimilar: resident.follow_pressed,
    },
    ChatState.GIVING_PHONE: {
        Kind.TEXT: resident.phone_typed,
        Kind.CONTACT: resident.phone_shared,
    },
    ChatState.GIVING_ADDRESS: {
        Kind.TEXT: resident.address_given,
        Kind.PHOTO: resident.address_photo,
        Kind.LOCATION: resident.address_located,
        SkipAddress: resident.address_skipped,
        DropDraft: resident.drop_pressed,
    },
    ChatState.DESCRIBING_PHOTO: {Kind.TEXT: resident.photo_described},
    ChatState.ADDING_INFORMATION: {
        Kind.TEXT: resident.information_given,
        Kind.LOCATION: resident.location_given,
    },
    ChatState.COMMENTING: {
        Kind.TEXT: resident.comment_given,
        SkipComment: resident.comment_skipped,
    },
    ChatState.RETURN_REASON: {Kind.TEXT: worker.returned},
    ChatState.WRITING_NOTE: {Kind.TEXT: worker.noted},
    ChatState.EXTENSION_REASON: {Kind.TEXT: worker.extension_reason},
    ChatState.ESCALATION_REASON: {Kind.TEXT: worker.escalated},
    ChatState.RESOLUTION_REPLY: {Kind.TEXT: worker.resolved, Kind.PHOTO: worker.resolution_photo},
    ChatState.CLOSING_NOTE: {Kind.TEXT: staff.closed},
    ChatState.REOPEN_REASON: {Kind.TEXT: staff.reopened},
    ChatState.MERGE_ORIGINAL: {Kind.TEXT: staff.merged},
    ChatState.RECORDING: {
        Kind.TEXT: recording.more_text,
        RecordTicket: recording.kind_pressed,
        DropDraft: resident.drop_pressed,
    },
    ChatState.ON_BEHALF_CONTACT: {
        Kind.TEXT: recording.contact_given,
        SkipComment: recording.contact_skipped,
    },
    ChatState.SUPERVISE_NOTE: {Kind.TEXT: staff.supervised},
    ChatState.WHISTLE_CHOOSING: {WhistlePick: whistle.picked, WhistleGo: whistle.chosen},
    ChatState.WHISTLE_NOTE: {Kind.TEXT: whistle.noted},
    ChatState.NEEDS_DEPARTMENT_REASON: {Kind.TEXT: departments.needs_department},
    ChatState.DISPATCHING: {
        ToggleAssist: departments.assist_toggled,
        ConfirmDispatch: departments.dispatch_confirmed,
    },
    ChatState.PART_RETURN_REASON: {Kind.TEXT: departments.returned},
    ChatState.PART_FINISH_NOTE: {Kind.TEXT: departments.finished},
    ChatState.LEAD_WITHOUT_REASON: {Kind.TEXT: departments.without_reason_given},
    ChatState.LEAD_RESOLVE_REPLY: {Kind.TEXT: departments.resolved},
}

# In any state (ConversationHandler's fallbacks): buttons on messages the person can still see,
# and a location, which names the resident's area.
ANY_STATE: dict[Trigger, Handler] = {
    Kind.LOCATION: _location,
    ChooseLanguage: common.choose_language,
    ChooseArea: _area_pressed,
    SettleArea: _area_settled,
    SkipAddress: resident.no_draft,
    ViewTicket: _view,
    SubmitDraft: resident.no_draft,
    DropDraft: resident.no_draft,
    ListCategories: resident.no_draft,
    ChooseDraftCategory: resident.no_draft,
    AskCallBack: resident.no_draft,
    ToggleAnonymous: resident.no_draft,
    FollowSimilar: resident.no_draft,
    AddInformation: resident.ask_information,
    Withdraw: resident.withdraw,
    Urge: resident.urge_pressed,
    RecordTicket: resident.no_draft,
    AnswerSolved: resident.solved_pressed,
    AnswerSatisfaction: resident.satisfaction_pressed,
    Accept: worker.accept,
    Return: asking(Action.RETURN, ChatState.RETURN_REASON, "ask_return_reason"),
    AddNote: worker.ask_note,
    AskExtension: worker.ask_extension_days,
    ExtensionDays: worker.ask_extension_reason,
    Escalate: asking(Action.ESCALATE, ChatState.ESCALATION_REASON, "ask_escalate_reason"),
    Resolve: asking(Action.RESOLVE, ChatState.RESOLUTION_REPLY, "ask_resolve_reply"),
    ChooseWorker: staff.choose_worker,
    AssignTo: staff.assign,
    ChooseCategory: staff.choose_category,
    Recategorise: staff.recategorise,
    RecategoriseSub: staff.recategorise_sub,
    Supervise: asking(Action.SUPERVISE, ChatState.SUPERVISE_NOTE, "ask_supervise_note"),
    ApproveExtension: staff.decide_extension,
    RefuseExtension: staff.decide_extension,
    Close: asking(Action.CLOSE, ChatState.CLOSING_NOTE, "ask_close_reason"),
    Reopen: asking(Action.REOPEN, ChatState.REOPEN_REASON, "ask_reopen_reason"),
    Merge: asking(Action.MERGE, ChatState.MERGE_ORIGINAL, "ask_merge_original"),
    MergeInto: staff.merge_into,
    ChooseTier: tiers.choose_tier,
    SetTier: tiers.tier_pressed,
    TierLeader: tiers.leader_pressed,
    RecordCallback: visits.ask_outcome,
    CallbackOutcome: visits.outcome_pressed,
    Whistle: whistle.choose_departments,
    WhistlePick: whistle.no_whistle,
    WhistleGo: whistle.no_whistle,
    ReportArrival: whistle.reported,
    NeedsDepartment: asking(
        Action.NEEDS_DEPARTMENT, ChatState.NEEDS_DEPARTMENT_REASON, "ask_needs_department_reason"
    ),
    DispatchDepartments: departments.choose_lead,
    PickLead: departments.lead_picked,
    PartAccept: departments.accept,
    PartReturn: departments.ask_return_reason,
    PartFinish: departments.ask_finish_note,
    LeadResolve: departments.ask_resolve,
}

# States a refusal does not end: the resident's draft (or a worker's) waits for another try.
KEPT_AFTER_REFUSAL = frozenset(
    {ChatState.IDLE, ChatState.DRAFTING, ChatState.RECORDING, ChatState.GIVING_ADDRESS}
)


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
        except WriteConflict:
            if await _handled_before(deps, event):
                return Outcome(duplicate=True)
            raise
    except WriteConflict as error:
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


async def _begin(deps: Deps, session: Session, event: Incoming) -> Turn:
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
    state, data = _resumed(saved.state, saved.data) if saved else (ChatState.IDLE, {})
    turn = Turn(deps, session, event, person, state, data, state_stored=saved is not None)
    turn.held_back = (data.get("draft") or {}).get("later")
    turn.menu_was = (person.role, person.locale)
    return turn


def _resumed(name: str, data: dict[str, Any]) -> tuple[ChatState, dict[str, Any]]:
    """The stored state; one this version does not know starts the conversation afresh. The
    data is a deep copy: the turn edits it in place, the stored row changes only on save."""
    try:
        return ChatState(name), copy.deepcopy(data)
    except ValueError:
        return ChatState.IDLE, {}


async def _finish(turn: Turn) -> Outcome:
    event = turn.event
    if turn.state is not ChatState.DRAFTING:
        await resident.draft_over(turn)
    if _menu_changed(turn):
        now = turn.policy.clock.now()
        turn.outgoing.append(await menus.changed_menu_row(turn.session, COMMANDS, turn.person, now))
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


def _menu_changed(turn: Turn) -> bool:
    """The person's menu differs now: a new role (/join), or a new language for anyone but a
    resident (residents keep the bot's default menu, in their client's language)."""
    role, locale = turn.menu_was
    person = turn.person
    return person.role != role or (person.locale != locale and person.role != Role.RESIDENT)


async def _refused(deps: Deps, event: Incoming, error: DomainError) -> Outcome:
    """Answer a refusal in a fresh transaction. A bad text keeps its question open (the person
    can try again); anything else ends the question."""
    async with deps.sessions() as session:
        turn = await _begin(deps, session, event)
        common.explain(turn, error)
        if not isinstance(error, InvalidInput) and turn.state not in KEPT_AFTER_REFUSAL:
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
    elif event.kind is Kind.LOCATION and (event.latitude is None or event.longitude is None):
        turn.say_key("not_text")
    elif (handler := _handler(turn.state, event.kind)) is not None:
        await handler(turn, event)
    else:
        turn.say_key("not_text")


def _handler(state: ChatState, trigger: Trigger) -> Handler | None:
    """The table's handler for `trigger` in `state`: the state's own, else any state's. A text
    handler takes photos too (their caption is their text)."""
    own = CONVERSATION[state]
    if trigger in own:
        return own[trigger]
    if trigger is Kind.PHOTO and Kind.TEXT in own:
        return own[Kind.TEXT]
    return ANY_STATE.get(trigger)


# Where a text becomes (part of) a complaint; in every other state it is a note, a reason or a
# reply, with the notes' shorter limit.
COMPLAINT_STATES = frozenset(
    {ChatState.IDLE, ChatState.CHOOSING_AREA, ChatState.DRAFTING, ChatState.DESCRIBING_PHOTO}
)


def text_limit(turn: Turn) -> int:
    """The most characters a text may have in this state: the limit the domain applies to it."""
    policy = turn.policy
    own = policy.max_complaint_chars if turn.state in COMPLAINT_STATES else policy.max_note_chars
    return min(own, turn.deps.max_message_chars)


def _too_long(turn: Turn, text: str) -> bool:
    """The safety net for a message longer than any channel sends: refused before any work,
    naming the limit that really holds here (the domain's, not the channel's)."""
    if len(text) <= turn.deps.max_message_chars:
        return False
    turn.say_key("too_long", length=len(text), limit=text_limit(turn))
    return True


async def _command(turn: Turn) -> None:
    roles, handler = COMMANDS.get(turn.event.command, (frozenset(), common.unknown_command))
    if Role(turn.person.role) not in roles:
        handler = common.unknown_command
    await handler(turn)


async def _button(turn: Turn) -> None:
    try:
        press = parse(turn.event.button)
    except BadButton:
        turn.say_key("bad_button")
        return
    handler = _handler(turn.state, type(press))
    if handler is None:  # one of ours, but not now (a skip with no comment asked for)
        turn.say_key("bad_button")
        return
    await handler(turn, press)
