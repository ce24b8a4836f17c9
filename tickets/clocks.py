"""Setting a ticket's SLA due times and the one `next_due_at` the sweeps look at."""

from __future__ import annotations

from datetime import datetime

from storage.models import Ticket
from tickets.lifecycle import State
from tickets.policy import Policy
from tickets.sla import Duration


def start_clocks(ticket: Ticket, policy: Policy, now: datetime) -> None:
    """On (re)assignment: the accept and resolve clocks start over from `now`."""
    calendar = policy.calendar
    ticket.due_accept_at = policy.sla.due_accept(now, ticket.urgency, ticket.category, calendar)
    ticket.due_resolve_at = policy.sla.due_resolve(now, ticket.urgency, ticket.category, calendar)
    ticket.accepted_in_time = None


def start_auto_close(ticket: Ticket, policy: Policy, now: datetime) -> None:
    ticket.due_close_at = Duration.parse(policy.sla.auto_close_after).after(now, policy.calendar)


def next_due(ticket: Ticket) -> datetime | None:
    """The clock that matters in the ticket's state: accept while assigned, resolve while accepted
    (or while an escalated ticket waits in triage), auto-close while resolved."""
    state = State(ticket.state)
    if state is State.ASSIGNED:
        return ticket.due_accept_at
    if state is State.ACCEPTED or state in (State.SUBMITTED, State.RETURNED):
        return ticket.due_resolve_at
    if state is State.RESOLVED:
        return ticket.due_close_at
    return None
