"""The ticket lifecycle (四单制) as one explicit table: which move, from which states, to which
state, by which roles. Everything else in `tickets/` asks this table before it changes a ticket.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from tickets.errors import IllegalTransition, PermissionDenied


class State(StrEnum):
    SUBMITTED = "submitted"  # 群众点单: waiting in a triage queue
    ASSIGNED = "assigned"  # 派单: sent to a worker, accept clock running
    ACCEPTED = "accepted"  # 接单/签收: the worker took it, resolve clock running
    RESOLVED = "resolved"  # 办结: waiting for the resident's callback
    CLOSED = "closed"
    RETURNED = "returned"  # 退单: back to triage with a reason
    CANCELLED = "cancelled"  # withdrawn by the resident


OPEN_STATES = frozenset(
    {State.SUBMITTED, State.ASSIGNED, State.ACCEPTED, State.RESOLVED, State.RETURNED}
)
TRIAGE_STATES = frozenset({State.SUBMITTED, State.RETURNED})
# Being worked on: open and not yet resolved.
WORKED_ON_STATES = frozenset({State.SUBMITTED, State.RETURNED, State.ASSIGNED, State.ACCEPTED})


class Role(StrEnum):
    RESIDENT = "resident"
    WORKER = "worker"  # 网格员
    STAFF = "staff"  # 街道/社区 dispatcher or supervisor
    ADMIN = "admin"
    DEPARTMENT = "department"  # 职能部门 handler: takes the tickets dispatched to their department
    SYSTEM = "system"  # the clocks


class Action(StrEnum):
    SUBMIT = "submit"
    ASSIGN = "assign"
    REASSIGN = "reassign"
    ACCEPT = "accept"
    RETURN = "return"
    NOTE = "note"
    ADD_INFO = "add_info"
    REQUEST_EXTENSION = "request_extension"
    APPROVE_EXTENSION = "approve_extension"
    REFUSE_EXTENSION = "refuse_extension"
    ESCALATE = "escalate"
    ESCALATE_OVERDUE = "escalate_overdue"
    RESOLVE = "resolve"
    CONFIRM = "confirm"
    REJECT = "reject"
    CLOSE = "close"
    REOPEN = "reopen"
    CANCEL = "cancel"
    MERGE = "merge"
    RECATEGORISE = "recategorise"
    URGE = "urge"  # 催办: the resident presses for their open ticket
    SUPERVISE = "supervise"  # 督办: staff press the worker, with a note
    # 党委派单 / 部门接单 / 联动办 (tickets/departments.py). A department's moves on its own part
    # leave the ticket's state alone, except the lead's (主办), which carry the ticket with them.
    NEEDS_DEPARTMENT = "needs_department"  # the grid cannot solve it: to the street's triage
    DISPATCH_DEPARTMENT = "dispatch_department"  # staff send it to a lead and any assists
    DEPARTMENT_ACCEPT = "department_accept"  # the lead department takes it
    DEPARTMENT_RETURN = "department_return"  # the lead department sends it back, with a reason
    DEPARTMENT_RESOLVE = "department_resolve"  # the lead department 办结 the ticket
    PART_ACCEPT = "part_accept"  # an assisting department (协办) takes its part
    PART_RETURN = "part_return"  # an assisting department returns its part, with a reason
    PART_FINISH = "part_finish"  # an assisting department finishes its part, with a note
    # 吹哨报到 (tickets/whistle.py): a worker or staff summon departments on site; each reports
    # its arrival. Both only speak: the ticket stays with whoever holds it.
    WHISTLE = "whistle"
    REPORT_ARRIVAL = "report_arrival"
    SET_TIER = "set_tier"  # 分级: staff set the tier (and the 包案 leader)
    # 回访 recorded by staff, who called the resident: nobody answered (the ticket still waits),
    # or the answer, which closes or reopens it as the resident's own (CONFIRM, REJECT) would.
    RECORD_CALLBACK = "record_callback"
    STAFF_CONFIRM = "staff_confirm"
    STAFF_REJECT = "staff_reject"


@dataclass(frozen=True)
class Transition:
    action: Action
    sources: frozenset[State]
    target: State | None  # None: the state stays, only the timeline grows
    roles: frozenset[Role]
    # Moves only the assignee may make, whatever the role: a supervisor cannot 接单 for a worker,
    # or the 响应率 would be theirs. (Workers act only on tickets assigned to them anyway.)
    assignee_only: bool = False

    def target_from(self, state: State) -> State:
        return self.target or state


def _t(
    action: Action,
    sources: set[State],
    target: State | None,
    roles: set[Role],
    *,
    assignee_only: bool = False,
) -> Transition:
    return Transition(action, frozenset(sources), target, frozenset(roles), assignee_only)


S = State
R = Role
_ACTIVE = {S.SUBMITTED, S.ASSIGNED, S.ACCEPTED, S.RETURNED}
_OFFICE = {R.STAFF, R.ADMIN}
_WITH_DEPARTMENTS = {S.ASSIGNED, S.ACCEPTED}

TRANSITIONS: dict[Action, Transition] = {
    t.action: t
    for t in (
        _t(Action.ASSIGN, {S.SUBMITTED, S.RETURNED}, S.ASSIGNED, {*_OFFICE, R.SYSTEM}),
        _t(Action.REASSIGN, {S.ASSIGNED, S.ACCEPTED}, S.ASSIGNED, _OFFICE),
        _t(Action.ACCEPT, {S.ASSIGNED}, S.ACCEPTED, {R.WORKER, R.STAFF}, assignee_only=True),
        _t(Action.RETURN, {S.ASSIGNED}, S.RETURNED, {R.WORKER, R.STAFF}, assignee_only=True),
        _t(Action.NOTE, {S.ASSIGNED, S.ACCEPTED}, None, {R.WORKER, *_OFFICE}),
        _t(Action.ADD_INFO, _ACTIVE, None, {R.RESIDENT}),
        _t(
            Action.REQUEST_EXTENSION,
            {S.ACCEPTED},
            None,
            {R.WORKER, R.STAFF},
            assignee_only=True,
        ),
        _t(Action.APPROVE_EXTENSION, {S.ACCEPTED}, None, _OFFICE),
        _t(Action.REFUSE_EXTENSION, {S.ACCEPTED}, None, _OFFICE),
        # Staff may also pass a ticket waiting in their triage up to the parent area's.
        _t(Action.ESCALATE, _ACTIVE, S.SUBMITTED, {R.WORKER, *_OFFICE}),
        _t(Action.ESCALATE_OVERDUE, _ACTIVE, None, {R.SYSTEM}),
        _t(Action.RESOLVE, {S.ACCEPTED}, S.RESOLVED, {R.WORKER, R.STAFF}, assignee_only=True),
        _t(Action.CONFIRM, {S.RESOLVED}, S.CLOSED, {R.RESIDENT}),
        _t(Action.REJECT, {S.RESOLVED}, S.ASSIGNED, {R.RESIDENT}),
        _t(Action.RECORD_CALLBACK, {S.RESOLVED}, None, _OFFICE),
        _t(Action.STAFF_CONFIRM, {S.RESOLVED}, S.CLOSED, _OFFICE),
        _t(Action.STAFF_REJECT, {S.RESOLVED}, S.ASSIGNED, _OFFICE),
        _t(Action.CLOSE, {S.SUBMITTED, S.RETURNED, S.RESOLVED}, S.CLOSED, {*_OFFICE, R.SYSTEM}),
        _t(Action.REOPEN, {S.RESOLVED, S.CLOSED}, S.ASSIGNED, _OFFICE),
        _t(Action.CANCEL, _ACTIVE, S.CANCELLED, {R.RESIDENT}),
        _t(Action.MERGE, _ACTIVE, S.CLOSED, _OFFICE),
        _t(Action.RECATEGORISE, _ACTIVE, None, _OFFICE),
        _t(Action.URGE, _ACTIVE, None, {R.RESIDENT}),
        _t(Action.SUPERVISE, {S.ASSIGNED, S.ACCEPTED}, None, _OFFICE),
        _t(
            Action.NEEDS_DEPARTMENT,
            {S.ASSIGNED, S.ACCEPTED},
            S.SUBMITTED,
            {R.WORKER, R.STAFF},
            assignee_only=True,
        ),
        _t(Action.DISPATCH_DEPARTMENT, {S.SUBMITTED, S.RETURNED}, S.ASSIGNED, _OFFICE),
        _t(Action.DEPARTMENT_ACCEPT, {S.ASSIGNED}, S.ACCEPTED, {R.DEPARTMENT}),
        _t(Action.DEPARTMENT_RETURN, {S.ASSIGNED}, S.RETURNED, {R.DEPARTMENT}),
        _t(Action.DEPARTMENT_RESOLVE, {S.ACCEPTED}, S.RESOLVED, {R.DEPARTMENT}),
        _t(Action.PART_ACCEPT, _WITH_DEPARTMENTS, None, {R.DEPARTMENT}),
        _t(Action.PART_RETURN, _WITH_DEPARTMENTS, None, {R.DEPARTMENT}),
        _t(Action.PART_FINISH, _WITH_DEPARTMENTS, None, {R.DEPARTMENT}),
        _t(Action.WHISTLE, _ACTIVE, None, {R.WORKER, *_OFFICE}),
        _t(Action.REPORT_ARRIVAL, _ACTIVE, None, {R.DEPARTMENT}),
        _t(Action.SET_TIER, _ACTIVE, None, _OFFICE),
    )
}


# Moves that only speak (催办, 督办, 吹哨, 报到): an event on the timeline, the ticket itself
# untouched (its version too, so buttons drawn before them still work).
REMARKS = frozenset({Action.URGE, Action.SUPERVISE, Action.WHISTLE, Action.REPORT_ARRIVAL})


def transition_for(action: Action, state: State, role: Role) -> Transition:
    """The transition `action` makes from `state` when done by `role`, or a domain error saying why
    it cannot happen."""
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise IllegalTransition(f"{action} is not a move of the ticket lifecycle", action=action)
    if role not in transition.roles:
        raise PermissionDenied(
            f"a {role} may not {action} a ticket", action=str(action), role=str(role)
        )
    if state not in transition.sources:
        raise IllegalTransition(
            f"cannot {action} a ticket that is {state}", action=str(action), state=str(state)
        )
    return transition
