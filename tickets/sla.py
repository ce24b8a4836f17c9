"""SLA clocks (派单 dispatch, 签收 accept, 办结 resolve, 报到 report) per urgency, category and
tier, from configuration.

A duration is written as a number and a unit: `15m`, `24h`, `7d` run on the wall clock; `1wd`,
`5wd` count working days of the calendar; `2wh` counts the office's working hours. Emergencies
run on the wall clock: they do not wait for Monday.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field, field_validator

from tickets.calendar import WorkingCalendar
from tickets.tiers import Tier

_DURATION = re.compile(r"^\s*(\d+)\s*(m|h|d|wd|wh)\s*$")
_UNIT_NAMES = {"m": "minutes", "h": "hours", "d": "days", "wd": "days"}


class Urgency(StrEnum):
    EMERGENCY = "emergency"  # danger to life or property
    URGENT = "urgent"  # water, power, gas, heating cut
    NORMAL = "normal"


# Whom a resident in danger calls first, by the kind of danger the urgency rules found: fire
# and rescue (trapped, drowning, gas, collapse, live wires) 119, police (violence, fraud in
# progress) 110, ambulance 120. None: no kind known, all three are named.
EMERGENCY_NUMBERS = {
    "fire": "119",
    "gas": "119",
    "electric": "119",
    "collapse": "119",
    "trapped": "119",
    "drowning": "119",
    "violence": "110",
    "fraud": "110",
    "medical": "120",
}


def emergency_number(kind: str | None) -> str | None:
    """The number to call first for an emergency of `kind`."""
    return EMERGENCY_NUMBERS.get(kind or "")


@dataclass(frozen=True)
class Duration:
    amount: int
    unit: str  # m, h, d (wall clock), wd (working days) or wh (working hours)

    @classmethod
    def parse(cls, text: str) -> Duration:
        match = _DURATION.match(text)
        if not match:
            raise ValueError(
                f"{text!r} is not a duration: write a number and m, h, d, wd or wh "
                "(e.g. 30m, 5wd, 2wh)"
            )
        return cls(int(match.group(1)), match.group(2))

    def after(self, start: datetime, calendar: WorkingCalendar) -> datetime:
        if self.unit == "wd":
            return calendar.add_working_days(start, self.amount)
        if self.unit == "wh":
            return calendar.add_working_time(start, timedelta(hours=self.amount))
        return start + timedelta(**{_UNIT_NAMES[self.unit]: self.amount})

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"


CLOCKS = ("dispatch", "accept", "resolve", "report")


class ClockSpec(BaseModel):
    """Dispatch, accept, resolve and report limits per urgency; any urgency left out keeps the
    default."""

    emergency: str | None = None
    urgent: str | None = None
    normal: str | None = None

    @field_validator("emergency", "urgent", "normal")
    @classmethod
    def _valid(cls, value: str | None) -> str | None:
        if value is not None:
            Duration.parse(value)
        return value


class SlaPolicy(BaseModel):
    """The clocks of DESIGN.md as configuration. Defaults are the street office's usual limits."""

    # 派单: a ticket waiting in a triage queue for a person to send it on.
    dispatch: dict[Urgency, str] = Field(
        default_factory=lambda: {
            Urgency.EMERGENCY: "5m",
            Urgency.URGENT: "30m",
            Urgency.NORMAL: "2wh",
        }
    )
    accept: dict[Urgency, str] = Field(
        default_factory=lambda: {
            Urgency.EMERGENCY: "15m",
            Urgency.URGENT: "30m",
            Urgency.NORMAL: "1wd",
        }
    )
    resolve: dict[Urgency, str] = Field(
        default_factory=lambda: {
            Urgency.EMERGENCY: "24h",
            Urgency.URGENT: "2wd",
            Urgency.NORMAL: "5wd",
        }
    )
    # 吹哨报到: a department summoned on site reports its arrival (报到) within this.
    report: dict[Urgency, str] = Field(
        default_factory=lambda: {
            Urgency.EMERGENCY: "30m",
            Urgency.URGENT: "1wd",
            Urgency.NORMAL: "1wd",
        }
    )
    # Category-specific limits, e.g. {"城乡建设": {"resolve": {"normal": "10wd"}}}.
    categories: dict[str, dict[str, ClockSpec]] = Field(default_factory=dict)
    # Tier-specific limits (tickets.tiers.Tier), the same shape; a ticket's tier is staff's
    # decision about this very ticket, so it wins over its category. Emergencies keep their
    # wall-clock limits whatever the tier: danger does not wait for a 联动办 meeting.
    tiers: dict[str, dict[str, ClockSpec]] = Field(
        default_factory=lambda: {
            "simple": {"resolve": ClockSpec(urgent="1wd", normal="2wd")},
            "complex": {"resolve": ClockSpec(urgent="5wd", normal="10wd")},
            "legacy": {"resolve": ClockSpec(urgent="10wd", normal="20wd")},
            "major": {"resolve": ClockSpec(urgent="5wd", normal="15wd")},
        }
    )
    # A reminder goes to whoever holds the clock: once this share of a wall-clock window (15m,
    # 24h) has passed; this long before a working-day deadline, which keeps the reminder inside
    # working hours instead of in the small hours or on a holiday.
    remind_after: float = Field(default=0.8, gt=0, lt=1)
    remind_before_working_deadline: str = "2h"
    return_window: str = "1wd"
    max_extension_days: int = Field(default=10, ge=0, le=60)
    auto_close_after: str = "7d"

    @field_validator("dispatch", "accept", "resolve", "report")
    @classmethod
    def _durations(cls, value: dict[Urgency, str]) -> dict[Urgency, str]:
        for text in value.values():
            Duration.parse(text)
        missing = set(Urgency) - set(value)
        if missing:
            raise ValueError(f"missing urgencies: {sorted(missing)}")
        return value

    @field_validator("return_window", "auto_close_after", "remind_before_working_deadline")
    @classmethod
    def _duration(cls, value: str) -> str:
        Duration.parse(value)
        return value

    @field_validator("tiers")
    @classmethod
    def _tier_names(cls, value: dict[str, dict[str, ClockSpec]]) -> dict[str, dict[str, ClockSpec]]:
        unknown = set(value) - set(Tier)
        if unknown:
            raise ValueError(f"unknown tiers {sorted(unknown)} ({', '.join(Tier)})")
        return value

    @field_validator("categories", "tiers")
    @classmethod
    def _clock_names(
        cls, value: dict[str, dict[str, ClockSpec]]
    ) -> dict[str, dict[str, ClockSpec]]:
        for category, clocks in value.items():
            unknown = set(clocks) - set(CLOCKS)
            if unknown:
                names = ", ".join(CLOCKS)
                raise ValueError(f"{category}: unknown clocks {sorted(unknown)} ({names})")
        return value

    def limit(
        self, clock: str, urgency: Urgency | str, category: str | None, tier: str | None = None
    ) -> Duration:
        urgency = Urgency(urgency)
        text = None
        for overrides, key in ((self.tiers, tier), (self.categories, category)):
            override = overrides.get(key or "", {}).get(clock)
            text = text or (getattr(override, urgency.value, None) if override else None)
        if clock not in CLOCKS:
            raise ValueError(f"unknown clock {clock!r}")
        table = getattr(self, clock)
        return Duration.parse(text or table[urgency])

    def reminder(
        self,
        clock: str,
        start: datetime,
        due: datetime,
        urgency: str,
        category: str | None,
        calendar: WorkingCalendar,
        tier: str | None = None,
    ) -> datetime:
        """When to remind about a clock that started at `start` and ends at `due`."""
        limit = self.limit(clock, urgency, category, tier)
        if limit.unit == "wd":
            lead = Duration.parse(self.remind_before_working_deadline)
            return due - timedelta(**{_UNIT_NAMES[lead.unit]: lead.amount})
        if limit.unit == "wh":  # the same share, of working time: the reminder comes in hours
            share = timedelta(hours=limit.amount) * self.remind_after
            return calendar.add_working_time(start, share)
        return start + (due - start) * self.remind_after

    def due_dispatch(
        self,
        start: datetime,
        urgency: str,
        category: str | None,
        calendar: WorkingCalendar,
        tier: str | None = None,
    ) -> datetime:
        return self.limit("dispatch", urgency, category, tier).after(start, calendar)

    def due_accept(
        self,
        start: datetime,
        urgency: str,
        category: str | None,
        calendar: WorkingCalendar,
        tier: str | None = None,
    ) -> datetime:
        return self.limit("accept", urgency, category, tier).after(start, calendar)

    def due_resolve(
        self,
        start: datetime,
        urgency: str,
        category: str | None,
        calendar: WorkingCalendar,
        tier: str | None = None,
    ) -> datetime:
        return self.limit("resolve", urgency, category, tier).after(start, calendar)

    def due_report(
        self, start: datetime, urgency: str, category: str | None, calendar: WorkingCalendar
    ) -> datetime:
        return self.limit("report", urgency, category).after(start, calendar)
