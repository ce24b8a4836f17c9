"""The lifecycle under random use: hypothesis plays sequences of moves by random people.

Whatever the sequence, a ticket is always in a defined state, every accepted move appends exactly
one timeline event whose states agree with the transition table, and every refused move raises a
domain error and changes nothing at all.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as observe
from hypothesis import strategies as st
from sqlmodel import func, select

from storage.models import Ticket, TicketEvent
from tests.factories import cast_in, new_ticket
from tickets import departments, handling
from tickets.clocks import next_due
from tickets.errors import DomainError, IllegalTransition, PermissionDenied
from tickets.lifecycle import REMARKS, TRANSITIONS, Action, Role, State, transition_for

Move = Callable[..., Awaitable[Any]]

MOVES: dict[str, tuple[Action | None, Move, dict[str, Any]]] = {
    "assign_g1": (None, handling.assign_ticket, {"worker": "worker-g1"}),
    "assign_g3": (None, handling.assign_ticket, {"worker": "worker-g3"}),
    "accept": (Action.ACCEPT, handling.accept_ticket, {}),
    "return": (Action.RETURN, handling.return_ticket, {"reason": "不是本网格的事"}),
    "note": (Action.NOTE, handling.add_note, {"note": "已电话联系居民"}),
    "add_info": (Action.ADD_INFO, handling.add_information, {"text": "补充：是3号楼"}),
    "extend": (
        Action.REQUEST_EXTENSION,
        handling.request_extension,
        {"days": 3, "reason": "等配件"},
    ),
    "approve": (Action.APPROVE_EXTENSION, handling.decide_extension, {"approve": True}),
    "refuse": (Action.REFUSE_EXTENSION, handling.decide_extension, {"approve": False}),
    "escalate": (Action.ESCALATE, handling.escalate_ticket, {"reason": "需要社区协调"}),
    "resolve": (Action.RESOLVE, handling.resolve_ticket, {"reply": "已修好"}),
    "satisfied": (
        Action.CONFIRM,
        handling.answer_callback,
        {"solved": True, "satisfaction": "satisfied"},
    ),
    "unsatisfied": (
        Action.REJECT,
        handling.answer_callback,
        {"solved": False, "satisfaction": "unsatisfied"},
    ),
    "close": (Action.CLOSE, handling.close_ticket, {"note": "不属于受理范围"}),
    "reopen": (Action.REOPEN, handling.reopen_ticket, {"reason": "居民再次反映"}),
    "cancel": (Action.CANCEL, handling.cancel_ticket, {}),
    "recategorise": (Action.RECATEGORISE, handling.recategorise_ticket, {"category": "环境保护"}),
    "urge": (Action.URGE, handling.urge_ticket, {}),
    "supervise": (Action.SUPERVISE, handling.supervise_ticket, {"note": "今天务必处理"}),
    # 分级 and staff 回访 records (句号管理)
    "tier_complex": (Action.SET_TIER, handling.set_tier, {"tier": "complex"}),
    "tier_legacy": (Action.SET_TIER, handling.set_tier, {"tier": "legacy", "leader": "staff-s1"}),
    "call_unreached": (Action.RECORD_CALLBACK, handling.record_callback, {"reached": False}),
    "call_satisfied": (
        Action.STAFF_CONFIRM,
        handling.record_callback,
        {"reached": True, "solved": True, "satisfaction": "basic"},
    ),
    "call_unsolved": (
        Action.STAFF_REJECT,
        handling.record_callback,
        {"reached": True, "solved": False, "satisfaction": "unsatisfied"},
    ),
    # 党委派单 / 部门接单 / 联动办 (tickets/departments.py)
    "needs_dept": (Action.NEEDS_DEPARTMENT, departments.needs_department, {"reason": "网格修不了"}),
    "dispatch_dept": (
        Action.DISPATCH_DEPARTMENT,
        departments.dispatch_to_departments,
        {"lead": "cg", "assists": ["zj"]},
    ),
    "lead_accept": (Action.DEPARTMENT_ACCEPT, departments.accept_part, {}),
    "assist_accept": (Action.PART_ACCEPT, departments.accept_part, {}),
    "lead_return": (Action.DEPARTMENT_RETURN, departments.return_part, {"reason": "非本部门职责"}),
    "assist_finish": (Action.PART_FINISH, departments.finish_part, {"note": "已配合处置"}),
    "lead_resolve": (
        Action.DEPARTMENT_RESOLVE,
        departments.resolve_by_lead,
        {"reply": "已处理完毕", "without_reason": "现场已处置"},
    ),
}
ACTORS = [
    "resident",
    "resident2",
    "worker-g1",
    "worker-g2",
    "worker-g3",
    "staff-c1",
    "staff-s2",
    "admin",
    "dept-cg",
    "dept-zj",
    "system",
]
# Half the moves are made by the person who would naturally make them ("assignee" is whoever holds
# the ticket), so sequences get deep into the lifecycle; the other half by anyone at all.
NATURAL = {
    "resident": ["add_info", "satisfied", "unsatisfied", "cancel", "urge"],
    "assignee": ["accept", "return", "note", "extend", "escalate", "resolve", "needs_dept"],
    "staff-c1": [
        "assign_g1",
        "approve",
        "refuse",
        "close",
        "reopen",
        "recategorise",
        "supervise",
        "dispatch_dept",
        "tier_complex",
        "tier_legacy",
        "call_unreached",
        "call_satisfied",
        "call_unsolved",
    ],
    "admin": ["assign_g3"],
    "dept-cg": ["lead_accept", "lead_return", "lead_resolve"],
    "dept-zj": ["assist_accept", "assist_finish"],
}
NATURAL_ACTOR = {move: actor for actor, moves in NATURAL.items() for move in moves}
steps = st.lists(
    st.tuples(
        # The forward moves are listed thrice, so a sequence often gets to 办结 and 回访, and
        # to the departments and back.
        st.sampled_from(
            [
                *sorted(MOVES),
                *["accept", "resolve", "satisfied", "unsatisfied"] * 4,
                *["needs_dept", "dispatch_dept", "lead_accept", "assist_accept"] * 3,
                *["assist_finish", "lead_return"] * 2,
                *["lead_resolve"] * 5,
            ]
        ),
        st.one_of(st.none(), st.sampled_from(ACTORS)),  # None: the natural actor
        st.sampled_from([0, 0, 0, 2, 30]),  # hours passing before the move
    ),
    min_size=1,
    max_size=16,
)


async def _snapshot(sessions, ticket_id: int) -> tuple[dict[str, Any], int]:
    async with sessions() as session:
        ticket = await session.get(Ticket, ticket_id)
        events = (
            await session.exec(
                select(func.count())
                .select_from(TicketEvent)
                .where(TicketEvent.ticket_id == ticket_id)
            )
        ).one()
        return ticket.model_dump(), events


async def _play(sessions, policy, cast, ticket_id: int, move: str, actor_name: str) -> None:
    _action, function, arguments = MOVES[move]
    arguments = dict(arguments)
    if "worker" in arguments:
        arguments["worker_id"] = cast[arguments.pop("worker")].id
    if "leader" in arguments:
        arguments["leader_id"] = cast[arguments.pop("leader")].id
    if "lead" in arguments:
        arguments["lead_id"] = cast.departments[arguments.pop("lead")].id
        arguments["assist_ids"] = [cast.departments[c].id for c in arguments.pop("assists")]
    actor = None if actor_name == "system" else cast[actor_name]
    async with sessions() as session:
        try:
            await function(session, policy, ticket_id=ticket_id, actor=actor, **arguments)
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


@pytest.fixture
async def cast(sessions, policy):
    return await cast_in(sessions, policy)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=steps)
async def test_random_moves_keep_the_lifecycle_sound(sessions, policy, clock, cast, sequence):
    ticket_id = await new_ticket(sessions, policy, cast["resident"])
    await _check_sequence(sessions, policy, clock, cast, ticket_id, sequence)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=steps)
async def test_random_moves_on_a_ticket_departments_hold_keep_it_sound(
    sessions, policy, clock, cast, sequence
):
    """The same, from a ticket dispatched to 城管 (lead) and 住建 (assist)."""
    ticket_id = await new_ticket(sessions, policy, cast["resident"])
    for move, actor in (("accept", "worker-g1"), ("needs_dept", "worker-g1")):
        await _play(sessions, policy, cast, ticket_id, move, actor)
    await _play(sessions, policy, cast, ticket_id, "dispatch_dept", "staff-s1")
    await _check_sequence(sessions, policy, clock, cast, ticket_id, sequence)


async def _check_sequence(sessions, policy, clock, cast, ticket_id: int, sequence) -> None:
    for move, chosen_actor, hours in sequence:
        clock.advance(timedelta(hours=hours))
        before, events_before = await _snapshot(sessions, ticket_id)
        actor_name = chosen_actor or _natural_actor(move, before, cast)
        try:
            await _play(sessions, policy, cast, ticket_id, move, actor_name)
        except DomainError:
            after, events_after = await _snapshot(sessions, ticket_id)
            assert after == before, f"refused {move} by {actor_name} changed the ticket"
            assert events_after == events_before
            continue
        after, events_after = await _snapshot(sessions, ticket_id)
        observe(f"reached {after['state']}")
        observe(f"made {move}")
        assert State(after["state"]) in State
        assert events_after == events_before + 1, f"{move} wrote {events_after - events_before}"
        async with sessions() as session:
            event = (
                await session.exec(
                    select(TicketEvent)
                    .where(TicketEvent.ticket_id == ticket_id)
                    .order_by(TicketEvent.id.desc())
                )
            ).first()
        if Action(event.action) in REMARKS:  # they only speak: the ticket stays as it was
            assert after == before
        else:
            assert after["version"] == before["version"] + 1
        transition = TRANSITIONS[Action(event.action)]
        role = Role.SYSTEM if actor_name == "system" else Role(cast[actor_name].role)
        assert transition_for(transition.action, State(before["state"]), role) == transition
        assert (event.from_state, event.to_state) == (before["state"], after["state"])
        assert after["state"] == transition.target_from(State(before["state"]))
        _assert_consistent(after)


def _natural_actor(move: str, ticket: dict[str, Any], cast) -> str:
    name = NATURAL_ACTOR[move]
    if name != "assignee":
        return name
    holders = [key for key, person in cast.people.items() if person.id == ticket["assignee_id"]]
    return holders[0] if holders else "worker-g1"


def _assert_consistent(row: dict[str, Any]) -> None:
    """What each state promises about the rest of the row."""
    state = State(row["state"])
    if state in (State.ASSIGNED, State.ACCEPTED):
        # A worker holds it, or a lead department does (党委派单).
        assert (row["assignee_id"] is None) != (row["department_id"] is None)
        assert row["due_accept_at"] is not None
    if state is State.ACCEPTED:
        assert row["accepted_at"] is not None
    if state is State.RESOLVED:
        assert row["resolved_at"] is not None and row["resolution_reply"]
    if state is State.CLOSED:
        assert row["closed_at"] is not None
    if state is State.CANCELLED:
        assert row["cancelled_at"] is not None
    assert row["next_due_at"] == next_due(Ticket(**row))


def test_every_state_is_reachable_and_terminal_states_only_reopen():
    targets = {transition.target for transition in TRANSITIONS.values() if transition.target}
    assert targets | {State.SUBMITTED} == set(State)
    leaving_closed = {t.action for t in TRANSITIONS.values() if State.CLOSED in t.sources}
    assert leaving_closed == {Action.REOPEN}
    assert not [t for t in TRANSITIONS.values() if State.CANCELLED in t.sources]


@pytest.mark.parametrize(
    ("action", "state", "role", "error"),
    [
        (Action.ACCEPT, State.SUBMITTED, Role.WORKER, IllegalTransition),
        (Action.ACCEPT, State.ASSIGNED, Role.RESIDENT, PermissionDenied),
        (Action.CANCEL, State.CLOSED, Role.RESIDENT, IllegalTransition),
        (Action.CONFIRM, State.RESOLVED, Role.STAFF, PermissionDenied),
        (Action.ESCALATE_OVERDUE, State.ACCEPTED, Role.ADMIN, PermissionDenied),
    ],
)
def test_transition_table_refuses_with_a_reason(action, state, role, error):
    with pytest.raises(error) as raised:
        transition_for(action, state, role)
    assert str(action) in raised.value.message
