"""The 12345 hotline's cases: read from a file, imported in bulk, idempotent, answered back."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import func, select

from storage.models import Person, Ticket, TicketCounter, TicketEvent
from tests.factories import cast_in
from tickets.departments import dispatch_to_departments, needs_department
from tickets.handling import (
    accept_ticket,
    answer_callback,
    assign_ticket,
    merge_ticket,
    resolve_ticket,
)
from tickets.hotline import (
    ANSWER_COLUMNS,
    answers_as_csv,
    answers_as_json_lines,
    parse_cases,
)
from tickets.hotline_answers import hotline_answers
from tickets.hotline_intake import import_cases

HEADER = [
    "case_number",
    "received_at",
    "caller_name",
    "caller_phone",
    "address",
    "text",
    "category",
    "deadline",
]
COMPLAINTS = [
    "楼道的灯坏了一个月，晚上很黑，老人上下楼不方便",
    "附近工地晚上十一点还在施工，噪音吵得孩子睡不着",
    "小区3号楼化粪池堵塞，污水漫到路面，气味很大",
]
# A grid with a worker, a community (triage at its street), nothing (triage at the district).
ADDRESSES = ["幸福社区第一网格5号楼", "阳光社区东门", ""]


@pytest.fixture(scope="module")
def classifier():
    from nlp.classifier import Classifier

    return Classifier.default()


@pytest.fixture
async def cast(sessions, policy):
    return await cast_in(sessions, policy)


def csv_text(rows: list[dict[str, str]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=HEADER, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue()


def case_row(index: int, **given: str) -> dict[str, str]:
    row = {
        "case_number": f"12345-{index:06d}",
        "received_at": "2026-11-23 09:30",
        "caller_name": f"来电人{index}",
        "caller_phone": f"138{index:08d}",
        "address": ADDRESSES[index % len(ADDRESSES)],
        "text": COMPLAINTS[index % len(COMPLAINTS)],
        "category": "",
        "deadline": "",
    }
    return row | given


async def _counts(sessions) -> dict[str, int]:
    async with sessions() as session:
        counts = {}
        for table in (Ticket, TicketEvent, Person):
            query = select(func.count()).select_from(table)
            counts[table.__tablename__] = (await session.exec(query)).one()
        counter = await session.get(TicketCounter, "ticket")
        counts["counter"] = counter.value if counter else 0
        return counts


async def _import(sessions, policy, classifier, text: str, *, commit: bool = True):
    cases = parse_cases(text, policy, json_lines=False)
    assert cases.problems == []
    async with sessions() as session:
        made = await import_cases(session, policy, classifier, cases.cases)
        if commit:
            await session.commit()
        else:
            await session.rollback()
    return made


async def test_ten_thousand_cases_import_at_once_and_again_change_nothing(
    sessions, policy, cast, classifier
):
    text = csv_text([case_row(index) for index in range(10_000)])
    before = await _counts(sessions)
    # All of it is the caller's transaction: rolled back, not a row is left, not a number taken.
    made = await _import(sessions, policy, classifier, text, commit=False)
    assert len(made.tickets) == 10_000
    assert await _counts(sessions) == before
    made = await _import(sessions, policy, classifier, text)
    first = await _counts(sessions)
    assert first["tickets"] == 10_000 and first["counter"] == 10_000
    assert first["people"] == before["people"] + 10_000  # one caller each, known by number
    async with sessions() as session:
        numbers = (await session.exec(select(Ticket.external_number))).all()
        routed = (
            await session.exec(
                select(Ticket.state, func.count()).group_by(Ticket.state).order_by(Ticket.state)
            )
        ).all()
    assert sorted(numbers) == [f"12345-{index:06d}" for index in range(10_000)]
    # A third name a grid with its worker; the others wait in a triage queue.
    assert dict(routed) == {"assigned": 3334, "submitted": 6666}
    again = await _import(sessions, policy, classifier, text)
    assert (len(again.tickets), again.already_imported) == (0, 10_000)
    assert await _counts(sessions) == first


async def test_cases_are_routed_and_their_callers_kept(sessions, policy, cast, classifier):
    rows = [
        case_row(0, address="幸福社区第一网格5号楼"),
        case_row(1, address="西湖街道阳光社区东门"),
        case_row(2, address="", caller_phone="", caller_name=""),
        case_row(3, address="", caller_phone="", category="环境保护/环境污染"),
        case_row(4, caller_phone="13800000000"),
        case_row(5, caller_phone="138 0000 0000", caller_name="另一个名字"),
    ]
    made = await _import(sessions, policy, classifier, csv_text(rows))
    grid, community, nowhere, named, first_call, second_call = made.tickets
    assert (grid.state, grid.assignee_id) == ("assigned", cast["worker-g1"].id)
    assert (grid.area_id, grid.source) == (cast.areas["g1"].id, "hotline")
    assert grid.on_behalf_name == "来电人0" and grid.contact_phone == "+8613800000000"
    # The community's triage queue is its own, as a chat complaint's would be (staff sit there).
    assert (community.state, community.area_id) == ("submitted", cast.areas["c2"].id)
    assert community.handling_area_id == cast.areas["s2"].id
    assert community.address == "西湖街道阳光社区东门"
    assert nowhere.area_id == cast.areas["d"].id and nowhere.contact_phone is None
    assert (named.category, named.subcategory, named.category_keywords) == (
        "环境保护",
        "环境污染",
        [],
    )
    # One caller, one person: the same number twice is the same person, named as first given.
    assert first_call.resident_id == second_call.resident_id == grid.resident_id
    assert nowhere.resident_id == named.resident_id != grid.resident_id
    async with sessions() as session:
        caller = await session.get(Person, grid.resident_id)
    assert (caller.channel, caller.display_name, caller.chat_id) == ("hotline", "来电人0", "")
    # What the import does not set is the model's own default, new columns' too.
    blank = Ticket()
    defaults = {
        column.key: getattr(blank, column.key)
        for column in Ticket.__table__.columns
        if getattr(blank, column.key) is not None
        and column.key not in {"attachments", "category_keywords", "anonymous", "urgency", "source"}
    }
    assert defaults and {key: getattr(grid, key) for key in defaults} == defaults


def test_bad_rows_are_told_by_their_line_numbers(policy):
    rows = [
        case_row(0),
        case_row(1, received_at="yesterday"),
        case_row(2, text="多行的\n诉求内容"),  # a quoted cell over two lines: 4 and 5
        case_row(3, caller_phone="12345"),
        case_row(4, text="  "),
        case_row(0),
        case_row(6, case_number=""),
        case_row(7, deadline="2026-13-01"),
        case_row(8, address="幸" * 201),
        case_row(9, received_at="0001-01-01 00:00"),  # at the calendar's ends: no crash
        case_row(10, deadline="9999-12-31"),
    ]
    found = parse_cases(csv_text(rows) + "\n,,,\n", policy, json_lines=False)
    assert [case.line for case in found.cases] == [2, 4]
    assert found.problems == [
        (3, "received_at: Input should be a valid datetime or date, input is too short"),
        (6, "caller_phone: not a phone number"),
        (7, "text: missing"),
        (8, "case number given before, on line 2"),
        (9, "case_number: missing"),
        (
            10,
            "deadline: Input should be a valid datetime or date, month value is outside "
            "expected range of 1-12",
        ),
        (11, "address: longer than 200 characters"),
        (12, "received_at: the year must be between 1900 and 2999"),
        (13, "deadline: the year must be between 1900 and 2999"),
    ]
    # Nothing a caller said is repeated in a problem: it goes to a terminal or a log.
    assert not any("1234" in problem or "幸幸" in problem for _line, problem in found.problems)


def test_json_lines_with_chinese_keys_and_times_in_the_office_zone(policy):
    lines = [
        json.dumps({"工单编号": "A-1", "来电时间": "2026-11-23 09:30", "诉求内容": "路灯坏了"}),
        "",
        json.dumps(
            {
                "case_number": "A-2",
                "received_at": "2026-11-23T09:30:00+00:00",
                "text": "路灯坏了",
                "caller_phone": 13800000000,
                "deadline": "2026-11-25",
            },
            ensure_ascii=False,
        ),
        "[1]",
        "{not json",
    ]
    found = parse_cases("\n".join(lines), policy, json_lines=True)
    first, second = found.cases
    assert first.received_at == datetime(2026, 11, 23, 1, 30, tzinfo=UTC)  # 09:30 in Beijing
    assert second.received_at == datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
    assert second.caller_phone == "+8613800000000"
    # A date alone: by the end of that day, local time.
    assert second.deadline == datetime(2026, 11, 25, 16, 0, tzinfo=UTC)
    assert found.problems == [
        (4, "not a JSON object"),
        (5, "not JSON (Expecting property name enclosed in double quotes)"),
    ]


async def test_the_hotlines_deadline_wins_when_it_comes_first(
    sessions, policy, clock, cast, classifier
):
    """Monday 10:00: MinHu's clocks would ask acceptance by Tuesday 10:00 and resolution by
    next Monday 10:00 (normal urgency), and dispatch from triage by 12:00."""
    rows = [
        case_row(0, address="幸福社区第一网格", deadline="2026-11-25 17:00"),
        case_row(3, address="幸福社区第一网格", deadline="2026-12-10"),
        case_row(6, address="幸福社区第一网格", deadline="2026-11-23 15:00"),
        case_row(1, address="阳光社区", deadline="2026-11-23 11:00"),
    ]
    made = await _import(sessions, policy, classifier, csv_text(rows))
    earlier, later, today, waiting = made.tickets
    tuesday_10, monday_next = (
        datetime(2026, 11, 24, 2, 0, tzinfo=UTC),
        datetime(2026, 11, 30, 2, 0, tzinfo=UTC),
    )
    assert (earlier.due_accept_at, earlier.due_resolve_at) == (
        tuesday_10,
        datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
    )
    assert (later.due_accept_at, later.due_resolve_at) == (tuesday_10, monday_next)
    three_pm = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
    assert (today.due_accept_at, today.due_resolve_at) == (three_pm, three_pm)
    assert waiting.due_dispatch_at == datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    # Kept on the ticket: accepted, or sent on from triage later, the hotline's deadline holds.
    clock.advance(timedelta(hours=1))
    async with sessions() as session:
        accepted = await accept_ticket(
            session, policy, ticket_id=earlier.id, actor=cast["worker-g1"]
        )
        assigned = await assign_ticket(
            session,
            policy,
            ticket_id=waiting.id,
            actor=cast["staff-s2"],
            worker_id=cast["worker-g3"].id,
        )
        await session.commit()
    assert accepted.ticket.due_resolve_at == datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    assert (
        assigned.ticket.due_resolve_at
        == assigned.ticket.due_accept_at
        == datetime(2026, 11, 23, 3, 0, tzinfo=UTC)
    )


async def test_a_case_sent_to_departments_keeps_the_hotlines_deadline(
    sessions, policy, cast, classifier
):
    """Wednesday 17:00 comes before a department's 5 working days: its part ends by then."""
    rows = [case_row(0, address="幸福社区第一网格", deadline="2026-11-25 17:00")]
    (case,) = (await _import(sessions, policy, classifier, csv_text(rows))).tickets
    worker = {"ticket_id": case.id, "actor": cast["worker-g1"]}
    async with sessions() as session:
        await accept_ticket(session, policy, **worker)
        await needs_department(session, policy, **worker, reason="网格修不了")
        moved = await dispatch_to_departments(
            session,
            policy,
            ticket_id=case.id,
            actor=cast["staff-s1"],
            lead_id=cast.departments["cg"].id,
        )
        await session.commit()
    wednesday_17 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    assert moved.part.due_finish_at == moved.ticket.due_resolve_at == wednesday_17
    assert moved.part.due_accept_at == datetime(2026, 11, 24, 2, 0, tzinfo=UTC)


async def test_answers_go_back_by_case_number_in_both_formats(
    sessions, policy, clock, cast, classifier
):
    rows = [case_row(index, address="幸福社区第一网格") for index in (0, 3, 6)]
    made = await _import(sessions, policy, classifier, csv_text(rows))
    answered, duplicate, untouched = made.tickets
    worker = cast["worker-g1"]
    async with sessions() as session:
        # 重复诉求: the second call about the same problem is merged into the first.
        await merge_ticket(
            session,
            policy,
            ticket_id=duplicate.id,
            actor=cast["staff-c1"],
            original_id=answered.id,
        )
        await accept_ticket(session, policy, ticket_id=answered.id, actor=worker)
        clock.advance(timedelta(hours=2))
        await resolve_ticket(
            session, policy, ticket_id=answered.id, actor=worker, reply="已更换灯泡，请查看"
        )
        await session.commit()
    clock.advance(timedelta(hours=1))
    async with sessions() as session:
        # The callback is recorded as the caller's (the hotline's own 回访).
        caller = await session.get(Person, answered.resident_id)
        await answer_callback(
            session,
            policy,
            ticket_id=answered.id,
            actor=caller,
            solved=True,
            satisfaction="satisfied",
        )
        await session.commit()
    since = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
    async with sessions() as session:
        answers = await hotline_answers(session, policy, since=since)
        later = await hotline_answers(session, policy, since=since + timedelta(days=1))
    assert later == []
    expected = {
        "case_number": "12345-000000",
        "ticket_number": answered.number,
        "merged_into": None,
        "state": "closed",
        "reply": "已更换灯泡，请查看",
        "resolved_at": "2026-11-23T12:00:00+08:00",
        "closed_at": "2026-11-23T13:00:00+08:00",
        "callback_at": "2026-11-23T13:00:00+08:00",
        "solved": True,
        "satisfaction": "satisfied",
        "responded_in_time": True,
    }
    merged = expected | {
        "case_number": "12345-000003",
        "ticket_number": duplicate.number,
        "merged_into": answered.number,
        "closed_at": "2026-11-23T10:00:00+08:00",
    }
    # The untouched case has nothing to say yet.
    assert answers == [expected, merged] and untouched.external_number == "12345-000006"
    assert [json.loads(line) for line in answers_as_json_lines(answers).splitlines()] == answers
    table = list(csv.reader(io.StringIO(answers_as_csv(answers))))
    assert table[:2] == [
        list(ANSWER_COLUMNS),
        [
            "12345-000000",
            answered.number,
            "",
            "closed",
            "已更换灯泡，请查看",
            "2026-11-23T12:00:00+08:00",
            "2026-11-23T13:00:00+08:00",
            "2026-11-23T13:00:00+08:00",
            "true",
            "satisfied",
            "true",
        ],
    ]
    assert table[2][:4] == ["12345-000003", duplicate.number, answered.number, "closed"]
