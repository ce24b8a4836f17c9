"""A ticket's clocks: the SLA deadlines, the reminder before each, the escalation when one passes,
and the one `next_due_at` the sweeps look at.

Triage has its own clock: a ticket waiting for a person to dispatch it (待派单) must be sent on by
`due_dispatch_at`, or the level above hears of it like any other clock.

The deadlines (`due_dispatch_at`, `due_accept_at`, `due_resolve_at`) are promises and never
move except by an approved extension; overdue figures are measured against them. A ticket from
the 12345 hotline carries the hotline's own deadline (办理时限, `external_due_at`): each clock
that starts ends by it at the latest, however often it starts over. `remind_at`
and `escalate_at` say what the running clock does next: remind once, then escalate up the area
tree (to the nearest level with staff on duty) each time another window passes, until the top.
"""

from __future__ import annotations

from datetime import datetime

from storage.models import Ticket
from tickets.lifecycle import TRIAGE_STATES, State
from tickets.policy import Policy
from tickets.sla import Duration

RESOLVE_CLOCK_STATES = frozenset({State.ACCEPTED, State.SUBMITTED, State.RETURNED})


def start_clocks(ticket: Ticket, policy: Policy, now: datetime) -> None:
    """On (re)assignment: the accept and resolve clocks start over from `now`."""
    sla, calendar, kind = policy.sla, policy.calendar, (ticket.urgency, ticket.category)
    due_accept = sla.due_accept(now, *kind, calendar, ticket.tier)
    due_resolve = sla.due_resolve(now, *kind, calendar, ticket.tier)
    ticket.due_accept_at = within_external(ticket, due_accept)
    ticket.due_resolve_at = within_external(ticket, due_resolve)
    ticket.accepted_in_time = None


def start_dispatch_clock(ticket: Ticket, policy: Policy, now: datetime) -> None:
    """On entering a triage queue (unrouted, returned, escalated): dispatch by the deadline."""
    due = policy.sla.due_dispatch(
        now, ticket.urgency, ticket.category, policy.calendar, ticket.tier
    )
    ticket.due_dispatch_at = within_external(ticket, due)


def within_external(ticket: Ticket, due: datetime) -> datetime:
    """`due`, or the hotline's deadline when that comes first: the hotline's promise wins."""
    external = ticket.external_due_at
    return due if external is None or due <= external else external


def restart_for_tier(ticket: Ticket, policy: Policy, now: datetime) -> None:
    """A tier was set: the clocks that still run are measured again by the tier's limits, from
    when they started (an approved extension stays granted). A settled clock keeps its deadline:
    the 响应率 was judged against it. The running clock is re-armed only if its deadline moved
    (see `moved_deadline`): a reminder already sent or an escalation already made stays done."""
    before = deadline(ticket)
    _measure_for_tier(ticket, policy)
    if moved_deadline(before, deadline(ticket), ticket.escalate_at, now):
        start = _entered_triage(ticket) if running_clock(ticket) == "dispatch" else None
        arm(ticket, policy, now, start=start)


def moved_deadline(
    before: datetime | None, after: datetime | None, escalate_at: datetime | None, now: datetime
) -> bool:
    """Whether a running clock whose deadline went from `before` to `after` must be re-armed:
    when the new deadline lies ahead, or has passed but the clock had not escalated yet (it was
    still armed at `before`), so it escalates now and once. An unchanged deadline, or one that
    passed after the clock escalated, leaves the reminder and the escalation as they were."""
    if after is None or after == before:
        return False
    return after > now or escalate_at == before


def _entered_triage(ticket: Ticket) -> datetime:
    entered = [ticket.created_at, ticket.returned_at, ticket.escalated_at]
    return max(moment for moment in entered if moment is not None)


def _measure_for_tier(ticket: Ticket, policy: Policy) -> None:
    sla, calendar, kind = policy.sla, policy.calendar, (ticket.urgency, ticket.category)
    if ticket.state in TRIAGE_STATES and ticket.due_dispatch_at is not None:
        due = sla.due_dispatch(_entered_triage(ticket), *kind, calendar, ticket.tier)
        ticket.due_dispatch_at = within_external(ticket, due)
    if ticket.assigned_at is None:
        return
    if ticket.state == State.ASSIGNED:
        due = sla.due_accept(ticket.assigned_at, *kind, calendar, ticket.tier)
        ticket.due_accept_at = within_external(ticket, due)
    resolve = sla.due_resolve(ticket.assigned_at, *kind, calendar, ticket.tier)
    if ticket.extension_days:
        resolve = calendar.add_working_days(resolve, ticket.extension_days)
    ticket.due_resolve_at = within_external(ticket, resolve)


def start_auto_close(ticket: Ticket, policy: Policy, now: datetime) -> None:
    ticket.due_close_at = Duration.parse(policy.sla.auto_close_after).after(now, policy.calendar)


def running_clock(ticket: Ticket) -> str | None:
    """ "accept" while assigned, "dispatch" while waiting in triage, "resolve" while accepted (or
    in triage without a dispatch deadline, as tickets from before it had), else None."""
    if ticket.state == State.ASSIGNED:
        return "accept"
    if ticket.state in TRIAGE_STATES and ticket.due_dispatch_at is not None:
        return "dispatch"
    if ticket.state in RESOLVE_CLOCK_STATES and ticket.due_resolve_at is not None:
        return "resolve"
    return None


def deadline(ticket: Ticket) -> datetime | None:
    """The promise the running clock keeps: what "time left" is measured against."""
    clock = running_clock(ticket)
    if clock == "dispatch":
        return ticket.due_dispatch_at
    if clock == "accept":
        return ticket.due_accept_at
    if clock == "resolve":
        return ticket.due_resolve_at
    return None


def arm(ticket: Ticket, policy: Policy, now: datetime, *, start: datetime | None = None) -> None:
    """After a change of state (or of a deadline): the running clock's reminder and escalation
    are set afresh from its deadline, and `next_due_at` follows. A dispatch clock is armed as
    the ticket enters triage, so it started `now` unless `start` says otherwise."""
    clock, due = running_clock(ticket), deadline(ticket)
    ticket.escalate_at = due
    ticket.remind_at = None
    if clock is not None and due is not None and due > now:
        if start is None:
            start = now if clock == "dispatch" else ticket.assigned_at or ticket.created_at or now
        remind = policy.sla.reminder(
            clock, start, due, ticket.urgency, ticket.category, policy.calendar, ticket.tier
        )
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
