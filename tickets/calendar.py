"""The working-day calendar: weekends, public holidays and make-up working days (调休).

China's public holidays and 调休 days come from the chinese-calendar package, which the State
Council's yearly notice updates; the operator's own lists (MINHU_HOLIDAYS, MINHU_MAKEUP_WORKDAYS)
override it day by day. A year the package does not know yet counts weekends only
(`unknown_years` says which, so it can be said at start).

Deadlines measured in working days keep the time of day: a ticket assigned on Tuesday 15:00 with
one working day to go is due Wednesday 15:00. A clock that starts on a day off starts at midnight
of the next working day, so "1 working day" from Saturday ends when Monday ends.

Deadlines measured in working hours (triage's 2 working hours) count only the office's hours
(`working_hours`, 09:00-12:00 and 13:30-17:30 by default) of working days: a ticket that waits
for dispatch from Friday 17:00 is due Monday 10:30, not at midnight.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

# Longer than any real run of days off; a calendar with no working day at all is a config error.
_MAX_DAYS_OFF_IN_A_ROW = 60

Hours = tuple[tuple[time, time], ...]
# A street office's usual day: morning and afternoon, lunch between.
OFFICE_HOURS: Hours = ((time(9, 0), time(12, 0)), (time(13, 30), time(17, 30)))


def parse_hours(spans: Iterable[str]) -> Hours:
    """ "09:00-12:00" spans, in order and not overlapping, as (start, end) pairs."""
    hours: list[tuple[time, time]] = []
    for span in spans:
        try:
            start, end = (time.fromisoformat(part.strip()) for part in span.split("-"))
        except ValueError:
            raise ValueError(f"{span!r} is not a span of hours like 09:00-12:00") from None
        if start >= end or (hours and start < hours[-1][1]):
            raise ValueError(f"{span!r}: spans must run forward, in order, without overlap")
        hours.append((start, end))
    if not hours:
        raise ValueError("at least one span of working hours is needed")
    return tuple(hours)


@dataclass(frozen=True)
class WorkingCalendar:
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    holidays: frozenset[date] = frozenset()
    makeup_workdays: frozenset[date] = frozenset()
    weekend: frozenset[int] = frozenset({5, 6})  # Saturday, Sunday (date.weekday())
    working_hours: Hours = OFFICE_HOURS

    @classmethod
    def build(
        cls,
        timezone: str = "Asia/Shanghai",
        holidays: Iterable[date] = (),
        makeup_workdays: Iterable[date] = (),
        *,
        official: bool = False,
        working_hours: Hours = OFFICE_HOURS,
    ) -> WorkingCalendar:
        """`official`: start from China's public holidays and 调休 days; the given lists win."""
        holidays, makeup_workdays = frozenset(holidays), frozenset(makeup_workdays)
        both = holidays & makeup_workdays
        if both:
            raise ValueError(f"dates both holiday and make-up working day: {sorted(both)}")
        if official:
            holidays |= frozenset(chinese_calendar.holidays) - makeup_workdays
            makeup_workdays |= frozenset(chinese_calendar.workdays) - holidays
        return cls(ZoneInfo(timezone), holidays, makeup_workdays, working_hours=working_hours)

    def is_working_day(self, day: date) -> bool:
        if day in self.makeup_workdays:
            return True
        return day.weekday() not in self.weekend and day not in self.holidays

    def next_working_day(self, day: date) -> date:
        """The first working day strictly after `day`."""
        for offset in range(1, _MAX_DAYS_OFF_IN_A_ROW + 1):
            candidate = day + timedelta(days=offset)
            if self.is_working_day(candidate):
                return candidate
        raise ValueError(f"no working day within {_MAX_DAYS_OFF_IN_A_ROW} days after {day}")

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """`start` moved forward by `days` working days, in UTC."""
        if days < 0:
            raise ValueError("working days to add must not be negative")
        local = start.astimezone(self.timezone)
        day, time_of_day = local.date(), local.timetz().replace(tzinfo=None)
        if not self.is_working_day(day):
            day, time_of_day = self.next_working_day(day), time(0, 0)
        for _ in range(days):
            day = self.next_working_day(day)
        return datetime.combine(day, time_of_day, tzinfo=self.timezone).astimezone(UTC)

    def add_working_time(self, start: datetime, span: timedelta) -> datetime:
        """`start` moved forward by `span` of working hours, in UTC: time outside the office's
        hours and on days off does not count; a clock started after hours starts next morning."""
        if span < timedelta(0):
            raise ValueError("working time to add must not be negative")
        local = start.astimezone(self.timezone)
        day, left = local.date(), span
        if not self.is_working_day(day):
            day = self.next_working_day(day)
        while True:
            for opens, closes in self.working_hours:
                begin = max(local, datetime.combine(day, opens, tzinfo=self.timezone))
                end = datetime.combine(day, closes, tzinfo=self.timezone)
                if begin <= end and left <= end - begin:
                    return (begin + left).astimezone(UTC)
                if begin < end:
                    left -= end - begin
            day = self.next_working_day(day)

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.timezone).date()

    def working_day_of(self, moment: datetime) -> date:
        """The working day `moment` counts for: its own local day, or after a day off the next
        working day (what is asked on Sunday is Monday's business)."""
        day = self.local_date(moment)
        return day if self.is_working_day(day) else self.next_working_day(day)


def official_years() -> range:
    """The years whose public holidays the chinese-calendar package knows."""
    years = [day.year for day in chinese_calendar.holidays]
    return range(min(years), max(years) + 1)


def unknown_years(start: date, end: date) -> list[int]:
    """The years from `start` to `end` whose public holidays are not known yet."""
    known = official_years()
    return [year for year in range(start.year, end.year + 1) if year not in known]
