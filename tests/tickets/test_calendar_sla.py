"""Due times across weekends, holidays and make-up working days (调休)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from tickets.calendar import WorkingCalendar
from tickets.sla import Duration, SlaPolicy

BEIJING = ZoneInfo("Asia/Shanghai")
# A National Day week as the State Council publishes it: 1-7 October off, Saturday 10th worked.
NATIONAL_DAY = WorkingCalendar.build(
    "Asia/Shanghai",
    holidays=[date(2026, 10, day) for day in range(1, 8)],
    makeup_workdays=[date(2026, 10, 10)],
)


def local(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BEIJING)


@pytest.mark.parametrize(
    ("start", "days", "due"),
    [
        (local(2026, 11, 20, 15, 0), 1, local(2026, 11, 23, 15, 0)),  # Friday → Monday
        (local(2026, 11, 21, 11, 0), 1, local(2026, 11, 24, 0, 0)),  # Saturday → end of Monday
        (local(2026, 11, 23, 9, 30), 5, local(2026, 11, 30, 9, 30)),  # a full week
        (local(2026, 11, 23, 9, 30), 0, local(2026, 11, 23, 9, 30)),
    ],
)
def test_working_days_skip_weekends(start, days, due):
    assert WorkingCalendar().add_working_days(start, days) == due


@pytest.mark.parametrize(
    ("days", "due"),
    [
        (1, local(2026, 10, 8, 10, 0)),  # the whole holiday week is skipped
        (2, local(2026, 10, 9, 10, 0)),
        (3, local(2026, 10, 10, 10, 0)),  # the make-up Saturday counts
        (4, local(2026, 10, 12, 10, 0)),  # Sunday the 11th does not
    ],
)
def test_working_days_skip_holidays_and_count_makeup_days(days, due):
    assert NATIONAL_DAY.add_working_days(local(2026, 9, 30, 10, 0), days) == due


def test_a_day_cannot_be_both_holiday_and_working_day():
    with pytest.raises(ValueError, match="both"):
        WorkingCalendar.build(holidays=[date(2026, 10, 1)], makeup_workdays=[date(2026, 10, 1)])


def test_emergencies_run_on_the_wall_clock_even_on_a_holiday():
    sla, start = SlaPolicy(), local(2026, 10, 3, 22, 0)
    assert sla.due_accept(start, "emergency", None, NATIONAL_DAY) == start + timedelta(minutes=15)
    assert sla.due_resolve(start, "emergency", None, NATIONAL_DAY) == start + timedelta(hours=24)
    assert sla.due_accept(start, "urgent", None, NATIONAL_DAY) == start + timedelta(minutes=30)


def test_normal_tickets_wait_for_working_days():
    sla, start = SlaPolicy(), local(2026, 9, 30, 16, 0)
    assert sla.due_accept(start, "normal", None, NATIONAL_DAY) == local(2026, 10, 8, 16, 0)
    # 5 working days: 8, 9, 10 (make-up), 12, 13 October.
    assert sla.due_resolve(start, "normal", None, NATIONAL_DAY) == local(2026, 10, 13, 16, 0)
    assert sla.due_resolve(start, "urgent", None, NATIONAL_DAY) == local(2026, 10, 9, 16, 0)


def test_category_overrides_only_what_they_name():
    sla = SlaPolicy(categories={"城乡建设": {"resolve": {"normal": "10wd"}}})
    start = local(2026, 11, 23, 9, 0)
    calendar = WorkingCalendar()
    assert sla.due_resolve(start, "normal", "城乡建设", calendar) == local(2026, 12, 7, 9, 0)
    assert sla.due_resolve(start, "urgent", "城乡建设", calendar) == local(2026, 11, 25, 9, 0)
    assert sla.due_resolve(start, "normal", "环境保护", calendar) == local(2026, 11, 30, 9, 0)


@pytest.mark.parametrize("text", ["", "5", "5 weeks", "-1d", "1.5h", "wd"])
def test_bad_durations_are_refused_with_an_example(text):
    with pytest.raises(ValueError, match=r"e\.g\. 30m"):
        Duration.parse(text)


def test_bad_sla_configuration_names_the_problem():
    with pytest.raises(ValidationError, match="not a duration"):
        SlaPolicy(accept={"emergency": "soon", "urgent": "30m", "normal": "1wd"})
    with pytest.raises(ValidationError, match="missing urgencies"):
        SlaPolicy(accept={"emergency": "15m"})
    with pytest.raises(ValidationError, match="unknown clocks"):
        SlaPolicy(categories={"城乡建设": {"respond": {"normal": "1wd"}}})


OFFICIAL = WorkingCalendar.build(official=True)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 10, 1), False),  # National Day
        (date(2026, 10, 10), True),  # the Saturday worked for it (调休)
        (date(2026, 9, 20), True),  # a Sunday worked (调休)
        (date(2026, 2, 17), False),  # Spring Festival, a Tuesday
        (date(2026, 11, 24), True),  # an ordinary Tuesday
    ],
)
def test_the_official_calendar_knows_chinas_holidays(day, working):
    assert OFFICIAL.is_working_day(day) is working


def test_the_operators_lists_override_the_official_calendar():
    calendar = WorkingCalendar.build(
        holidays=[date(2026, 9, 20)], makeup_workdays=[date(2026, 10, 2)], official=True
    )
    assert not calendar.is_working_day(date(2026, 9, 20))
    assert calendar.is_working_day(date(2026, 10, 2))
    assert not calendar.is_working_day(date(2026, 10, 1))  # the rest of the package stays


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        (local(2026, 11, 23, 10, 0), 2, local(2026, 11, 23, 12, 0)),  # within the morning
        (local(2026, 11, 23, 11, 0), 2, local(2026, 11, 23, 14, 30)),  # lunch does not count
        (local(2026, 11, 23, 7, 0), 2, local(2026, 11, 23, 11, 0)),  # before opening
        (local(2026, 11, 20, 17, 0), 2, local(2026, 11, 23, 10, 30)),  # Friday evening → Monday
        (local(2026, 9, 30, 17, 0), 2, local(2026, 10, 8, 10, 30)),  # across National Day
        (local(2026, 10, 9, 17, 30), 1, local(2026, 10, 10, 10, 0)),  # the make-up Saturday
    ],
)
def test_working_hours_count_only_office_hours_of_working_days(start, hours, due):
    assert NATIONAL_DAY.add_working_time(start, timedelta(hours=hours)) == due


def test_the_dispatch_clock_runs_two_working_hours_and_minutes_for_emergencies():
    sla, start = SlaPolicy(), local(2026, 11, 20, 17, 0)  # Friday 17:00
    assert sla.due_dispatch(start, "emergency", None, NATIONAL_DAY) == start + timedelta(minutes=5)
    assert sla.due_dispatch(start, "urgent", None, NATIONAL_DAY) == start + timedelta(minutes=30)
    due = sla.due_dispatch(start, "normal", None, NATIONAL_DAY)
    assert due == local(2026, 11, 23, 10, 30)
    # Reminded once 80% of the working time has passed: Monday 10:06, not in the small hours.
    remind = sla.reminder("dispatch", start, due, "normal", None, NATIONAL_DAY)
    assert remind == local(2026, 11, 23, 10, 6)


def test_the_dispatch_clock_is_configured_like_the_others():
    sla = SlaPolicy.model_validate(
        {"dispatch": {"emergency": "3m", "urgent": "1h", "normal": "4wh"}}
    )
    assert str(sla.limit("dispatch", "normal", None)) == "4wh"
    with pytest.raises(ValidationError):
        SlaPolicy.model_validate(
            {"dispatch": {"emergency": "soon", "urgent": "1h", "normal": "1h"}}
        )
