"""The web console's rate-limit buckets (bot/web/limits.py), shared by every process of one
database. Its own module beside models.py: no chat or ticket table points at it."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class RateLimit(SQLModel, table=True):
    """One bucket: hits in the window that began at `window_start`, and the earliest moment the
    next hit is let through. Times are seconds since the epoch of the injected clock. The key is
    a hash: no name or address is stored."""

    __tablename__ = "rate_limits"

    key: str = Field(primary_key=True, max_length=64)
    hits: int = 0
    window_start: float
    not_before: float = 0.0
    # When the bucket no longer matters (window over, no delay pending): pruned after that.
    expires_at: float = Field(index=True)
