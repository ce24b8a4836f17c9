"""A ticket's clocks: the SLA deadlines, the reminder before each, the escalation when one passes,
and the one `next_due_at` the sweeps look at.

The deadlines (`due_accept_at`, `due_resolve_at`) are promises and never move except by an
approved extension; overdue figures are measured against them. `remind_at` and `escalate_at`
say what the running clock does next: remind once, then escalate one level up the area tree
each time another window passes, until the top.
"""

from __future__ import annotations

from datetime import datetime

from storage.models import Ticket
from tickets.lifecycle import State
from tickets.policy import Policy
from tickets.sla import Duration

RESOLVE_CLOCK_STATES = frozenset({State.ACCEPTED, State.SUBMITTED, State.RETURNED})


def start_clocks(ticket: Ticket, policy: Policy, now: datetime) -> None:
    """On (re)assignment: the accept and resolve clocks start over from `now`."""
    calendar = policy.calendar
    ticket.due_accept_at = policy.sla.due_accept(now, ticket.urgency, ticket.category, calendar)
    ticket.due_resolve_at = policy.sla.due_resolve(now, ticket.urgency, ticket.category, calendar)
    ticket.accepted_in_time = None


def start_auto_close(ticket: Ticket, policy: Policy, now: datetime) -> None:
    ticket.due_close_at = Duration.parse(policy.sla.auto_close_after).after(now, policy.calendar)


def running_clock(ticket: Ticket) -> str | None:
    """ "accept" while assigned, "resolve" while accepted or waiting in triage, else None."""
    if ticket.state == State.ASSIGNED:
        return "accept"
    if ticket.state in RESOLVE_CLOCK_STATES and ticket.due_resolve_at is not None:
        return "resolve"
    return None


def deadline(ticket: Ticket) -> datetime | None:
    """The promise the running clock keeps: what "time left" is measured against."""
    clock = running_clock(ticket)
    if clock == "accept":
        return ticket.due_accept_at
    if clock == "resolve":
        return ticket.due_resolve_at
    return None


def arm(ticket: Ticket, policy: Policy, now: datetime) -> None:
    """After a change of state (or of a deadline): the running clock's reminder and escalation
    are set afresh from its deadline, and `next_due_at` follows."""
    clock, due = running_clock(ticket), deadline(ticket)
    ticket.escalate_at = due
    ticket.remind_at = None
    if clock is not None and due is not None and due > now:
        start = ticket.assigned_at or ticket.created_at or now
        remind = policy.sla.reminder(clock, start, due, ticket.urgency, ticket.category)
        ticket.remind_at = max(remind, now) if remind < due else None
    ticket.next_due_at = next_due(ticket)


def next_due(ticket: Ticket) -> datetime | None:
    """When a sweep must next look at the ticket."""
    if ticket.state == State.RESOLVED:
        return ticket.due_close_at
    if running_clock(ticket) is None:
        return None
    pending = [moment for moment in (ticket.remind_at, ticket.escalate_at) if moment is not None]
    return min(pending) if pending else None
