"""Everything the domain needs to know besides the database: clocks, calendar, limits."""

from __future__ import annotations

from dataclasses import dataclass, field

from tickets.calendar import WorkingCalendar
from tickets.clock import Clock, SystemClock
from tickets.sla import SlaPolicy


@dataclass(frozen=True)
class Policy:
    sla: SlaPolicy = field(default_factory=SlaPolicy)
    calendar: WorkingCalendar = field(default_factory=WorkingCalendar)
    clock: Clock = field(default_factory=SystemClock)
    # A complaint longer than this is refused with a clear message (Telegram's own cap is 4,096).
    max_complaint_chars: int = 4000
    max_note_chars: int = 2000
    invite_valid_days: int = 7
    # Flood guard: at most this many new tickets per resident in any hour.
    max_new_tickets_per_hour: int = 5
    # A location outside every grid boundary picks the grid whose centre is nearest, if it is at
    # most this far (metres); farther, the resident chooses.
    nearest_grid_m: float = 500.0
