"""SQLModel tables: the area tree, people, tickets and their timeline, the outbox, chat bookkeeping.

Times are time-zone-aware UTC datetimes (SQLModel's UTCDateTime refuses naive ones, which keeps a
local time from slipping in unnoticed). The domain converts to local time (settings) only for
working-day arithmetic and display.

Enumerations are stored as short strings; the domain (`tickets/`) owns their meaning and checks
them.
Residents' personal data (name, phone, location) is excluded from `repr` so it cannot reach a log
line through an object dump.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Index,
    Sequence,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlmodel import Field, SQLModel

# The columns 响应率 and 未回访 count, carried in the statistics indexes.
_RATE_COLUMNS = ("assigned_at", "accepted_in_time", "unvisited")


class Area(SQLModel, table=True):
    """A node of the area tree: district (区) → street (街道) → community (社区) → grid (网格)."""

    __tablename__ = "areas"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=100)
    level: str = Field(max_length=16)
    parent_id: int | None = Field(default=None, foreign_key="areas.id", index=True)
    # Materialised path of ids ("/1/4/9/"), so "this area and everything below it" is one
    # prefix comparison that an index can serve.
    path: str = Field(default="/", max_length=255, index=True)
    # The area's centre (WGS-84), so a resident's shared location finds their grid. Named for
    # what it is: a boundary may sit beside it.
    centre_latitude: float | None = None
    centre_longitude: float | None = None
    # A grid's boundary as GeoJSON text (a Polygon or MultiPolygon, WGS-84): a location inside
    # it picks the grid before any centre is measured (tickets/places.py).
    boundary: str | None = Field(default=None, sa_type=Text, repr=False)


class DirectoryRevision(SQLModel, table=True):
    """Bumped whenever a load changes the area tree, so each process rebuilds its index of grid
    boundaries once per load rather than once per shared location (one row)."""

    __tablename__ = "directory_revision"

    id: int = Field(default=1, primary_key=True)
    value: int = 0


class Department(SQLModel, table=True):
    """职能部门: a functional department (城管执法, 住建, 水务…) or a utility company that takes
    tickets the grid cannot solve; it serves its area and everything below it."""

    __tablename__ = "departments"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=100)
    area_id: int = Field(foreign_key="areas.id", index=True)


class DepartmentCategory(SQLModel, table=True):
    """The category → department table: which department takes tickets of a category (a
    level-1 or level-2 name of the taxonomy). Replaced in place by each directory load."""

    __tablename__ = "department_categories"

    category: str = Field(primary_key=True, max_length=64)
    department_id: int = Field(primary_key=True, foreign_key="departments.id", index=True)


class Person(SQLModel, table=True):
    """Anyone who talks to MinHu: a resident (群众), grid worker (网格员), staff member or admin."""

    __tablename__ = "people"
    __table_args__ = (UniqueConstraint("channel", "channel_user_id", name="uq_people_identity"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    channel_user_id: str = Field(max_length=64)
    chat_id: str = Field(max_length=64)
    role: str = Field(default="resident", max_length=16, index=True)
    area_id: int | None = Field(default=None, foreign_key="areas.id", index=True)
    locale: str = Field(default="zh-CN", max_length=8)
    on_duty: bool = Field(default=True)
    display_name: str | None = Field(default=None, max_length=100, repr=False)
    phone: str | None = Field(default=None, max_length=32, repr=False)
    created_at: datetime
    # Staff and workers signing in to the web console: "scrypt$n$r$p$salt$hash" (bot/web/auth.py).
    password_hash: str | None = Field(default=None, max_length=255, repr=False)
    # A department handler's department (role `department`).
    department_id: int | None = Field(default=None, foreign_key="departments.id", index=True)


class InviteCode(SQLModel, table=True):
    """A one-time code that staff give a grid worker (or staff member) to join an area."""

    __tablename__ = "invite_codes"

    code: str = Field(primary_key=True, max_length=32)
    area_id: int = Field(foreign_key="areas.id")
    role: str = Field(max_length=16)
    created_by_id: int | None = Field(default=None, foreign_key="people.id")
    created_at: datetime
    expires_at: datetime
    used_by_id: int | None = Field(default=None, foreign_key="people.id")
    used_at: datetime | None = None


class TicketCounter(SQLModel, table=True):
    """The ticket-number sequence on SQLite, which has no sequences (one row, bumped atomically).
    PostgreSQL uses TICKET_NUMBERS instead, which holds no row lock until commit."""

    __tablename__ = "ticket_counters"

    name: str = Field(primary_key=True, max_length=32)
    value: int = 0


TICKET_NUMBERS = Sequence("ticket_number_seq", metadata=SQLModel.metadata)


class Ticket(SQLModel, table=True):
    """工单: one resident complaint and everything that happens to it."""

    __tablename__ = "tickets"
    __table_args__ = (
        # The sweep's "what is due now": only open tickets carry a next_due_at.
        Index(
            "ix_tickets_next_due_at",
            "next_due_at",
            postgresql_where=text("next_due_at IS NOT NULL"),
            sqlite_where=text("next_due_at IS NOT NULL"),
        ),
        # Statistics per area, worker and period. The 三率 columns ride along in the index, so a
        # street's figures are read from the index alone instead of from rows spread over every
        # page of the table.
        Index("ix_tickets_area_created", "area_id", "created_at", *_RATE_COLUMNS),
        Index("ix_tickets_assignee_created", "assignee_id", "created_at", *_RATE_COLUMNS),
        Index("ix_tickets_created_at", "created_at", *_RATE_COLUMNS),
        # Work lists and routing: a worker's open tickets, a staff member's triage queue. Not
        # partial: SQLite uses a partial index only when a query repeats its WHERE word for word,
        # and the states here come as bound parameters.
        Index("ix_tickets_open_assignee", "assignee_id", "state"),
        Index("ix_tickets_open_handling_area", "handling_area_id", "state"),
        Index("ix_tickets_resident", "resident_id", "created_at"),
        # The dashboard (tickets/dashboard.py): open tickets by state with their clocks, so the
        # backlog and the overdue list read only open tickets from the index alone; and a period's
        # tickets by area and category without touching the rows.
        Index(
            "ix_tickets_state_created",
            "state",
            "created_at",
            "due_accept_at",
            "due_resolve_at",
            "handling_area_id",
            "due_dispatch_at",
        ),
        Index("ix_tickets_created_dims", "created_at", "area_id", "category", "source"),
        # Duplicate suggestions (tickets/duplicates.py): a community's open tickets of one
        # category from the last 30 days, one index range per area and state.
        Index("ix_tickets_similar", "area_id", "category", "state", "created_at"),
        # Open311's GET requests by service (tickets/open311.py): a 二级 class's newest tickets,
        # where the time index alone would walk the whole 90-day window for a rare service.
        Index("ix_tickets_service", "category", "subcategory", "created_at"),
        # The residents following an original through their merged duplicates.
        Index(
            "ix_tickets_merged_into",
            "merged_into_id",
            postgresql_where=text("merged_into_id IS NOT NULL"),
            sqlite_where=text("merged_into_id IS NOT NULL"),
        ),
        # The 12345 hotline's case number: an import meets each case once (idempotent).
        Index(
            "uq_tickets_external_number",
            "external_number",
            unique=True,
            postgresql_where=text("external_number IS NOT NULL"),
            sqlite_where=text("external_number IS NOT NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(max_length=32, unique=True)
    # The case number of the system the ticket came from (the 12345 hotline's 工单编号), the key
    # its answer goes back under.
    external_number: str | None = Field(default=None, max_length=64)
    resident_id: int = Field(foreign_key="people.id")
    text: str = Field(repr=False)
    attachments: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON))
    latitude: float | None = Field(default=None, repr=False)
    longitude: float | None = Field(default=None, repr=False)
    # The number to call the resident back on, when they asked for a call back (回电); shown
    # only to those handling the ticket.
    contact_phone: str | None = Field(default=None, max_length=32, repr=False)
    # 匿名: the assignee sees neither name nor contact; staff handling the ticket keep both.
    anonymous: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    # Where the resident said the problem is, in words (小区、楼号、路口), asked for when
    # neither a grid nor a location places it.
    address: str | None = Field(default=None, max_length=200, repr=False)

    category: str | None = Field(default=None, max_length=64)
    subcategory: str | None = Field(default=None, max_length=64)
    category_confidence: float | None = None
    category_keywords: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    urgency: str = Field(default="normal", max_length=16)
    # tickets.sources.Source: resident chat, a worker's 代办 or patrol, the hotline, the API.
    source: str = Field(
        default="resident_chat", max_length=16, sa_column_kwargs={"server_default": "resident_chat"}
    )
    # 代办: the resident's name and phone as the worker was given them (personal data).
    on_behalf_name: str | None = Field(default=None, max_length=50, repr=False)
    on_behalf_phone: str | None = Field(default=None, max_length=32, repr=False)

    state: str = Field(max_length=16)
    # Where the problem is (the resident's grid or the nearest known area) ...
    area_id: int = Field(foreign_key="areas.id")
    # ... and which level of the tree handles it now; escalation moves this one up.
    handling_area_id: int = Field(foreign_key="areas.id")
    handling_level: str = Field(max_length=16)
    assignee_id: int | None = Field(default=None, foreign_key="people.id")
    # 党委派单: the lead department (主办) holding the ticket; its parts are in ticket_parts.
    department_id: int | None = Field(default=None, foreign_key="departments.id", index=True)
    merged_into_id: int | None = Field(default=None, foreign_key="tickets.id")
    # 分级 (tickets.tiers.Tier), set by staff; None until someone decides. 历史遗留 and 重大疑难
    # name the leader who answers for the ticket (包案领导) and hears its alerts.
    tier: str | None = Field(default=None, max_length=16)
    leader_id: int | None = Field(default=None, foreign_key="people.id")

    created_at: datetime
    assigned_at: datetime | None = None
    accepted_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    cancelled_at: datetime | None = None
    returned_at: datetime | None = None
    escalated_at: datetime | None = None

    # 派单: when a ticket waiting in a triage queue must have been sent on; set each time it
    # enters triage (submitted unrouted, returned, escalated), kept once it leaves.
    due_dispatch_at: datetime | None = None
    due_accept_at: datetime | None = None
    due_resolve_at: datetime | None = None
    due_close_at: datetime | None = None
    # The hotline's own deadline (办理时限): no clock of the ticket may end after it.
    external_due_at: datetime | None = None
    # The running clock's pending reminder and its next escalation (escalation climbs one level
    # per window until the top); both NULL once spent.
    remind_at: datetime | None = None
    escalate_at: datetime | None = None
    # When a sweep must next look at the ticket: the earliest of the above, or the auto-close
    # time of a resolved ticket; NULL when no clock runs.
    next_due_at: datetime | None = None
    # Set when the accept clock is settled: True if accepted in time (响应率's numerator); False
    # also when the dispatch clock ran out first, so a ticket left in triage counts as late.
    accepted_in_time: bool | None = None

    extension_days: int = 0
    pending_extension_days: int | None = None
    reopen_count: int = 0
    resolution_reply: str | None = None

    callback_solved: bool | None = None
    callback_satisfaction: str | None = Field(default=None, max_length=16)
    callback_at: datetime | None = None
    # 未回访: closed by the auto-close clock without anyone's 回访 (句号管理 counts these apart).
    unvisited: bool = Field(default=False, sa_column_kwargs={"server_default": false()})

    # Bumped on every change; a stale button or a concurrent writer is detected by comparing it.
    version: int = 1


class TicketPart(SQLModel, table=True):
    """One department's part of a ticket: the lead (主办), an assist (协办, 联动办) or a department
    summoned by 吹哨报到. Each part runs its own clocks, like a ticket's."""

    __tablename__ = "ticket_parts"
    __table_args__ = (
        # The sweep's "which parts are due now": only parts with a running clock carry one.
        Index(
            "ix_ticket_parts_next_due_at",
            "next_due_at",
            postgresql_where=text("next_due_at IS NOT NULL"),
            sqlite_where=text("next_due_at IS NOT NULL"),
        ),
        # A department's work list: its parts in a state.
        Index("ix_ticket_parts_department_state", "department_id", "state"),
        # 三率 and 报到 per department (tickets/department_figures.py), from the index alone.
        Index(
            "ix_ticket_parts_rates",
            "department_id",
            "created_at",
            "role",
            "state",
            "accepted_in_time",
            "reported_in_time",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", index=True)
    department_id: int = Field(foreign_key="departments.id")
    # 'lead' | 'assist' | 'summoned' (tickets/departments.py owns the meaning).
    role: str = Field(max_length=16)
    # lead/assist: 'assigned' → 'accepted' → 'finished', or 'returned';
    # summoned: 'summoned' → 'reported'.
    state: str = Field(max_length=16)
    created_at: datetime
    created_by_id: int | None = Field(default=None, foreign_key="people.id")
    accepted_at: datetime | None = None
    accepted_by_id: int | None = Field(default=None, foreign_key="people.id")
    finished_at: datetime | None = None
    returned_at: datetime | None = None
    reported_at: datetime | None = None
    # The department's reply, or its reason for returning the part.
    note: str | None = None
    due_accept_at: datetime | None = None
    due_finish_at: datetime | None = None
    due_report_at: datetime | None = None
    remind_at: datetime | None = None
    escalate_at: datetime | None = None
    next_due_at: datetime | None = None
    # Set when the accept (or report) clock is settled: the department's 响应率 counts these.
    accepted_in_time: bool | None = None
    reported_in_time: bool | None = None
    version: int = 1


class TicketEvent(SQLModel, table=True):
    """One entry of a ticket's append-only timeline: who did what, when, with which note."""

    __tablename__ = "ticket_events"
    __table_args__ = (Index("ix_ticket_events_ticket", "ticket_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id")
    at: datetime
    actor_id: int | None = Field(default=None, foreign_key="people.id")
    actor_role: str = Field(max_length=16)
    action: str = Field(max_length=32)
    from_state: str | None = Field(default=None, max_length=16)
    to_state: str = Field(max_length=16)
    note: str | None = None
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))


class TicketCallback(SQLModel, table=True):
    """回访: the resident's answer after resolution, or a staff member's record of calling them
    (reached or not); the reached ones are the rows behind 解决率 and 满意率."""

    __tablename__ = "ticket_callbacks"
    __table_args__ = (
        # 解决率 and 满意率 per area, worker and period, read from the index alone.
        Index("ix_callbacks_area_at", "area_id", "at", "solved", "satisfaction"),
        Index("ix_callbacks_worker_at", "worker_id", "at", "solved", "satisfaction"),
        Index("ix_callbacks_at", "at", "solved", "satisfaction"),
        Index("ix_callbacks_department_at", "department_id", "at", "solved", "satisfaction"),
    )

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", index=True)
    at: datetime
    area_id: int = Field(foreign_key="areas.id")
    worker_id: int | None = Field(default=None, foreign_key="people.id")
    # The department that led the ticket (主办), if any: 解决率 and 满意率 per department.
    department_id: int | None = Field(default=None, foreign_key="departments.id")
    # None when a staff member called and nobody answered: such a row counts in no rate.
    solved: bool | None = None
    satisfaction: str | None = Field(default=None, max_length=16)
    comment: str | None = None
    # "resident" (their own answer in chat) or "staff" (a call someone recorded).
    kind: str = Field(
        default="resident", max_length=16, sa_column_kwargs={"server_default": "resident"}
    )
    recorded_by_id: int | None = Field(default=None, foreign_key="people.id")
    reached: bool = Field(default=True, sa_column_kwargs={"server_default": true()})


class CategoryCorrection(SQLModel, table=True):
    """A staff member changed a ticket's category: kept to teach the classifier."""

    __tablename__ = "category_corrections"

    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int = Field(foreign_key="tickets.id", index=True)
    at: datetime
    staff_id: int = Field(foreign_key="people.id")
    old_category: str | None = Field(default=None, max_length=64)
    new_category: str = Field(max_length=64)
    new_subcategory: str | None = Field(default=None, max_length=64)


class OutboxMessage(SQLModel, table=True):
    """A message to someone, written in the same transaction as the change that caused it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix_outbox_pending",
            "next_attempt_at",
            postgresql_where=text("sent_at IS NULL AND parked_at IS NULL"),
            sqlite_where=text("sent_at IS NULL AND parked_at IS NULL"),
        ),
        # A chat's pending messages in order: the claim takes only the oldest of each chat.
        Index(
            "ix_outbox_chat_pending",
            "channel",
            "chat_id",
            "id",
            postgresql_where=text("sent_at IS NULL AND parked_at IS NULL"),
            sqlite_where=text("sent_at IS NULL AND parked_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    # One message per (event, recipient): a retried transaction cannot queue it twice.
    dedupe_key: str = Field(max_length=128, unique=True)
    person_id: int | None = Field(default=None, foreign_key="people.id")
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    body: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    created_at: datetime
    next_attempt_at: datetime
    attempts: int = 0
    last_error: str | None = None
    sent_at: datetime | None = None
    parked_at: datetime | None = None


class ProcessedUpdate(SQLModel, table=True):
    """A chat update already handled: recorded so a redelivered update is handled at most once."""

    __tablename__ = "processed_updates"

    channel: str = Field(primary_key=True, max_length=16)
    update_id: int = Field(primary_key=True, sa_type=BigInteger)
    processed_at: datetime


class ConversationState(SQLModel, table=True):
    """Where a person is in a conversation (a half-written complaint survives a restart)."""

    __tablename__ = "conversation_states"

    channel: str = Field(primary_key=True, max_length=16)
    chat_id: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(primary_key=True, max_length=64)
    state: str = Field(max_length=64)
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON))
    updated_at: datetime


class ApiKey(SQLModel, table=True):
    """An Open311 client's key (`minhu apikey create`): only the SHA-256 of the key is stored,
    so the table cannot be read back into keys; the key itself is shown once, at creation."""

    __tablename__ = "api_keys"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True, index=True)
    key_hash: str = Field(max_length=64, unique=True, index=True, repr=False)
    # The key's first characters, for telling keys apart in `minhu apikey list`.
    prefix: str = Field(max_length=16)
    created_at: datetime
    revoked_at: datetime | None = None


class WebSession(SQLModel, table=True):
    """A signed-in browser: only the SHA-256 of its cookie is stored, so a leaked table cannot
    be replayed as a cookie."""

    __tablename__ = "web_sessions"

    token_hash: str = Field(primary_key=True, max_length=64)
    person_id: int = Field(foreign_key="people.id", index=True)
    created_at: datetime
    expires_at: datetime
