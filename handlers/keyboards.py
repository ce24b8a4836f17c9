"""Button rows for a ticket, in the reader's language, bound to the ticket's current version:
a button drawn before the ticket moved on is refused as stale rather than applied blindly."""

from __future__ import annotations

from handlers import buttons
from handlers.events import Button
from handlers.texts import tr
from storage.models import Ticket
from tickets.lifecycle import State

Rows = tuple[tuple[Button, ...], ...]


def work_buttons(locale: str, ticket: Ticket) -> Rows:
    """What the assignee can do next: 接单/退单 while assigned; 办结, 备注, 延期, 上报 once
    accepted."""

    def b(key: str, verb: str, *args: int) -> Button:
        return Button(tr(locale, key), buttons.make(verb, *args))

    ticket_id, version = ticket.id, ticket.version
    if ticket.state == State.ASSIGNED:
        return (
            (
                b("btn_accept", "acc", ticket_id, version),
                b("btn_return", "ret", ticket_id, version),
            ),
        )
    if ticket.state == State.ACCEPTED:
        return (
            (b("btn_resolve", "res", ticket_id, version), b("btn_note", "note", ticket_id)),
            (
                b("btn_extend", "ext", ticket_id, version),
                b("btn_escalate", "esc", ticket_id, version),
            ),
        )
    return ()


def staff_buttons(locale: str, ticket: Ticket) -> Rows:
    """What staff can do with the ticket in its current state."""

    def b(key: str, verb: str) -> Button:
        return Button(tr(locale, key), buttons.make(verb, ticket.id, ticket.version))

    rows: list[tuple[Button, ...]] = []
    if ticket.state in (State.SUBMITTED, State.RETURNED, State.ASSIGNED, State.ACCEPTED):
        rows.append((b("btn_assign", "asg"), b("btn_category", "rc"), b("btn_merge", "mg")))
    if ticket.pending_extension_days:
        rows.append((b("btn_approve", "xa"), b("btn_refuse", "xr")))
    if ticket.state in (State.SUBMITTED, State.RETURNED, State.RESOLVED):
        rows.append((b("btn_close", "cl"),))
    if ticket.state in (State.RESOLVED, State.CLOSED) and ticket.assignee_id:
        rows.append((b("btn_reopen", "ro"),))
    return tuple(rows)
