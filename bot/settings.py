"""Settings: environment variables with the MINHU_ prefix, or a .env file; read once at start-up
and passed down, never at import time."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, FilePath, HttpUrl, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from tickets.calendar import OFFICE_HOURS, WorkingCalendar, parse_hours
from tickets.clock import Clock, SystemClock
from tickets.policy import Policy
from tickets.sla import SlaPolicy

# A Bot API token: the bot's numeric id, a colon, then letters, digits, _ and -.
_BOT_TOKEN = re.compile(r"[0-9]+:[A-Za-z0-9_-]+")
# Telegram's rule for setWebhook's secret_token.
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
# The async drivers per database, the default first. Any other (say `sqlite+inloop`, once
# MinHu's own) is refused in one line naming these, not silently swapped.
_DRIVERS = {
    "sqlite": ("sqlite+aiosqlite",),
    "postgresql": ("postgresql+asyncpg",),
}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MINHU_",
        env_file=".env",
        env_file_encoding="utf-8",
        env_nested_delimiter="__",
        extra="ignore",
    )

    database_url: str = Field(
        default="sqlite+aiosqlite:///minhu.db",
        description="SQLite file (the default) or postgresql+asyncpg://user@host/db",
    )
    timezone: str = "Asia/Shanghai"
    locale: Literal["zh-CN", "en"] = "zh-CN"
    holidays: list[date] = Field(default_factory=list, description="JSON list of dates")
    makeup_workdays: list[date] = Field(default_factory=list, description="调休 working days")
    official_holidays: bool = Field(
        default=True, description="China's public holidays and 调休 days (chinese-calendar)"
    )
    working_hours: list[str] = Field(
        default_factory=lambda: [f"{start:%H:%M}-{end:%H:%M}" for start, end in OFFICE_HOURS],
        description='the office\'s hours on working days, for "wh" clocks (JSON list)',
    )
    sla: SlaPolicy = Field(default_factory=SlaPolicy)
    max_complaint_chars: int = Field(default=4000, ge=100, le=100_000)
    max_new_tickets_per_hour: int = Field(default=5, ge=1, le=10_000)
    draft_quiet_seconds: float = Field(
        default=3.0,
        ge=0,
        le=60,
        description="messages this close to a draft's last answer join it quietly; one answer "
        "follows when they stop",
    )
    nearest_grid_m: float = Field(
        default=500,
        ge=0,
        le=50_000,
        description="a location outside every grid boundary: the nearest centre within (metres)",
    )
    rules_file: FilePath | None = Field(
        default=None, description="classifier rules YAML (e.g. after `minhu nlp mine --from-db`)"
    )
    sweep_seconds: int = Field(default=30, ge=1, le=3600, description="clock sweep interval")
    digest_time: str = Field(default="08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    telegram_token: SecretStr | None = None
    telegram_framework: Literal["aiogram", "ptb"] = "aiogram"
    telegram_api_base: HttpUrl | None = Field(
        default=None, description="another Bot API server (self-hosted, or the test emulator)"
    )
    webhook_url: HttpUrl | None = Field(
        default=None, description="public URL Telegram posts updates to; unset means long polling"
    )
    webhook_secret: SecretStr | None = Field(
        default=None, description="checked against X-Telegram-Bot-Api-Secret-Token"
    )
    listen_host: str = Field(default="127.0.0.1", description="the web server: console, webhook")
    listen_port: int = Field(default=8080, ge=1, le=65535)
    send_per_second: float = Field(default=30, gt=0, le=1000, description="all chats together")
    send_per_chat_seconds: float = Field(default=1, ge=0, le=60, description="gap per chat")
    send_per_group_minute: int = Field(default=20, ge=1, le=1000, description="per group chat")
    redis_url: str | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_verbose: list[str] = Field(
        default_factory=list,
        description="framework loggers (e.g. aiogram, telegram, httpx) to log at log_level; "
        "the rest stay at WARNING",
    )
    public_url: HttpUrl | None = Field(
        default=None, description="where people reach the console; https sets Secure cookies"
    )
    web_new_residents_per_hour: int = Field(
        default=20, ge=1, le=100_000, description="new web residents per client address"
    )
    media_dir: Path = Field(
        default=Path("minhu-media"), description="where photos sent on the web chat are kept"
    )
    web_photos_per_hour: int = Field(
        default=20, ge=1, le=100_000, description="photos per web resident and per address"
    )
    open311_posts_per_minute: int = Field(
        default=60, ge=1, le=100_000, description="Open311 service requests posted per API key"
    )

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, value: str) -> str:
        """Accept the plain `sqlite:///` and `postgresql://` spellings and add the async driver."""
        try:
            url = make_url(value)
        except (ArgumentError, ValueError):
            # Never echo the value: it may hold a password.
            raise ValueError(
                "not a database URL (e.g. sqlite:///minhu.db or postgresql://user@host/db)"
            ) from None
        backend = url.get_backend_name()
        if backend not in _DRIVERS:
            raise ValueError(f"unsupported database {backend!r}: use sqlite or postgresql")
        if url.drivername == backend:
            url = url.set(drivername=_DRIVERS[backend][0])
        elif url.drivername not in _DRIVERS[backend]:
            choices = " or ".join(_DRIVERS[backend])
            raise ValueError(f"use {choices}, not {url.drivername}")
        return url.render_as_string(hide_password=False)

    @field_validator("telegram_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        # Told without the value: a token pasted with a typo is still nearly the secret.
        if value is not None and not _BOT_TOKEN.fullmatch(value.get_secret_value()):
            raise ValueError("not a bot token (the bot's id, a colon, then letters and digits)")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Shanghai)") from None
        return value

    @field_validator("working_hours")
    @classmethod
    def _hours(cls, value: list[str]) -> list[str]:
        parse_hours(value)
        return value

    @model_validator(mode="after")
    def _calendar_is_consistent(self) -> Settings:
        both = sorted(set(self.holidays) & set(self.makeup_workdays))
        if both:
            days = ", ".join(day.isoformat() for day in both)
            raise ValueError(f"MINHU_HOLIDAYS and MINHU_MAKEUP_WORKDAYS both list {days}")
        return self

    @model_validator(mode="after")
    def _webhook_is_guarded(self) -> Settings:
        # Without the secret anyone who finds the URL could post forged updates.
        if self.webhook_url and not self.webhook_secret:
            raise ValueError("MINHU_WEBHOOK_URL needs MINHU_WEBHOOK_SECRET")
        secret = self.webhook_secret.get_secret_value() if self.webhook_secret else ""
        if secret and not _SECRET_TOKEN.fullmatch(secret):
            raise ValueError("MINHU_WEBHOOK_SECRET: 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return self

    def calendar(self) -> WorkingCalendar:
        return WorkingCalendar.build(
            self.timezone,
            self.holidays,
            self.makeup_workdays,
            official=self.official_holidays,
            working_hours=parse_hours(self.working_hours),
        )

    def policy(self, clock: Clock | None = None) -> Policy:
        return Policy(
            sla=self.sla,
            calendar=self.calendar(),
            clock=clock or SystemClock(),
            max_complaint_chars=self.max_complaint_chars,
            max_new_tickets_per_hour=self.max_new_tickets_per_hour,
            nearest_grid_m=self.nearest_grid_m,
        )
