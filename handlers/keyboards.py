"""Button rows for a ticket, in the reader's language, bound to the ticket's current version:
a button drawn before the ticket moved on is refused as stale rather than applied blindly."""

from __future__ import annotations

from collections.abc import Callable

from handlers.buttons import (
    Accept,
    AddNote,
    ApproveExtension,
    AskExtension,
    ChooseCategory,
    ChooseTier,
    ChooseWorker,
    Close,
    DispatchDepartments,
    Escalate,
    LeadResolve,
    Merge,
    MergeInto,
    NeedsDepartment,
    OnTicket,
    PartAccept,
    PartFinish,
    PartReturn,
    RecordCallback,
    RefuseExtension,
    Reopen,
    Resolve,
    Return,
    Supervise,
    Whistle,
)
from handlers.events import Button
from handlers.texts import tr
from storage.models import Ticket, TicketPart
from tickets.duplicates import Similar
from tickets.lifecycle import State
from tickets.parts import PartRole, PartState

Rows = tuple[tuple[Button, ...], ...]


def work_buttons(locale: str, ticket: Ticket) -> Rows:
    """What the assignee can do next: 接单/退单 while assigned; 办结, 备注, 延期, 上报, 吹哨
    and 需要部门处理 once accepted."""

    def b(key: str, kind: type[OnTicket]) -> Button:
        return Button(tr(locale, key), kind(ticket.id, ticket.version).pack())

    if ticket.state == State.ASSIGNED:
        return ((b("btn_accept", Accept), b("btn_return", Return)),)
    if ticket.state == State.ACCEPTED:
        note = Button(tr(locale, "btn_note"), AddNote(ticket.id).pack())
        return (
            (b("btn_resolve", Resolve), note),
            (b("btn_extend", AskExtension), b("btn_escalate", Escalate)),
            (b("btn_whistle", Whistle),),
            (b("btn_needs_department", NeedsDepartment),),
        )
    return ()


def staff_buttons(locale: str, ticket: Ticket) -> Rows:
    """What staff can do with the ticket in its current state: 督办 the worker handling it, 上报
    to the parent area, 派给部门 from triage, 分级, 记录回访 on a resolved ticket, besides 派单,
    改类, 合并 …"""

    def b(key: str, kind: type[OnTicket]) -> Button:
        return Button(tr(locale, key), kind(ticket.id, ticket.version).pack())

    rows: list[tuple[Button, ...]] = []
    if ticket.state in (State.SUBMITTED, State.RETURNED, State.ASSIGNED, State.ACCEPTED):
        rows.append(
            (
                b("btn_assign", ChooseWorker),
                b("btn_category", ChooseCategory),
                b("btn_merge", Merge),
            )
        )
    if ticket.state in (State.ASSIGNED, State.ACCEPTED):
        rows.append(
            (b("btn_supervise", Supervise), b("btn_escalate", Escalate), b("btn_whistle", Whistle))
        )
    elif ticket.state in (State.SUBMITTED, State.RETURNED):
        rows.append(
            (
                b("btn_dispatch_departments", DispatchDepartments),
                b("btn_escalate", Escalate),
                b("btn_tier", ChooseTier),
            )
        )
    if ticket.state in (State.ASSIGNED, State.ACCEPTED):
        rows.append((b("btn_tier", ChooseTier),))
    if ticket.pending_extension_days:
        rows.append((b("btn_approve", ApproveExtension), b("btn_refuse", RefuseExtension)))
    if ticket.state in (State.SUBMITTED, State.RETURNED):
        rows.append((b("btn_close", Close),))
    if ticket.state == State.RESOLVED:  # 句号管理: the 回访 first, then the close
        rows.append((b("btn_record_callback", RecordCallback), b("btn_close", Close)))
    if ticket.state in (State.RESOLVED, State.CLOSED) and (
        ticket.assignee_id or ticket.department_id
    ):
        rows.append((b("btn_reopen", Reopen),))
    return tuple(rows)


def merge_rows(locale: str, ticket: Ticket, similar: Similar | None) -> Rows:
    """合并 into the original the duplicate rule suggests, with one press."""
    if similar is None:
        return ()
    data = MergeInto(ticket.id, ticket.version, similar.id).pack()
    return ((Button(tr(locale, "btn_merge_into", number=similar.number), data),),)


def part_buttons(t: Callable[..., str], part: TicketPart | None, ticket: Ticket) -> Rows:
    """What the department can do with its part now: 接单/退单 while assigned; 办结 (lead) or
    完成我的部分 (assist) once accepted."""
    if part is None:
        return ()

    def b(key: str, kind: type[OnTicket]) -> Button:
        return Button(t(key), kind(ticket.id, part.version).pack())

    if part.state == PartState.ASSIGNED:
        return ((b("btn_accept", PartAccept), b("btn_return", PartReturn)),)
    if part.state == PartState.ACCEPTED and part.role == PartRole.LEAD:
        return ((b("btn_resolve", LeadResolve),),)
    if part.state == PartState.ACCEPTED:
        return ((b("btn_finish_part", PartFinish),),)
    return ()
