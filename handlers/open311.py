"""A service request posted by an Open311 client: the ticket is opened by the domain, and the
people who act on a new ticket (the grid worker, or staff in triage; staff on duty for an
emergency) are told exactly as for a complaint from a chat."""

from __future__ import annotations

from handlers import notify
from handlers.context import Deps, Turn
from handlers.events import Incoming, Kind
from storage import Session
from storage.models import ApiKey, Person, Ticket
from storage.outbox import enqueue_rows
from tickets.open311 import RequestForm, open_service_request


async def post_service_request(
    deps: Deps, session: Session, key: ApiKey, form: RequestForm
) -> Ticket:
    """Open the ticket and queue its notices in the caller's transaction."""
    ticket = await open_service_request(
        session,
        deps.policy,
        classifier=deps.classifier,  # type: ignore[arg-type]
        places=deps.places,
        key=key,
        form=form,
    )
    resident = await session.get(Person, ticket.resident_id)
    assert resident is not None  # just written by the same transaction
    # The notices are written as a chat turn writes them; the API's person has no chat, so
    # nothing is said back to them here (the HTTP answer is theirs).
    said = Incoming(
        channel=resident.channel,
        user_id=resident.channel_user_id,
        chat_id=resident.chat_id,
        kind=Kind.OTHER,
    )
    turn = Turn(deps=deps, session=session, event=said, person=resident)
    await notify.announce_submitted(turn, ticket)
    await enqueue_rows(session, turn.outgoing)
    return ticket
