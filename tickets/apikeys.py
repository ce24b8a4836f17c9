"""Open311 API keys: who may post service requests (`minhu apikey create|list|revoke`).

A key is 32 random bytes shown once, when it is made; only its SHA-256 is stored. A slow hash
(as for passwords) buys nothing here: a random key has no dictionary to guess from, and every
POST checks one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ApiKey
from tickets.errors import InvalidInput, NotFound

KEY_PREFIX = "mh_"
PREFIX_SHOWN = 8
MAX_NAME_CHARS = 100


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def create_api_key(session: AsyncSession, name: str, now: datetime) -> tuple[ApiKey, str]:
    """A new key called `name` (a client: an app, a partner's system) and the key itself, which
    is never stored and cannot be shown again."""
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME_CHARS:
        raise InvalidInput(f"an API key's name has 1 to {MAX_NAME_CHARS} characters")
    if (await session.exec(select(ApiKey).where(ApiKey.name == name))).first() is not None:
        raise InvalidInput(f"there is already an API key called {name!r}")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(name=name, key_hash=key_digest(key), prefix=key[:PREFIX_SHOWN], created_at=now)
    session.add(row)
    await session.flush()
    return row, key


async def api_keys(session: AsyncSession) -> Sequence[ApiKey]:
    """Every key, revoked ones included, oldest first."""
    return (await session.exec(select(ApiKey).order_by(col(ApiKey.id)))).all()


async def revoke_api_key(session: AsyncSession, name: str, now: datetime) -> ApiKey:
    """The key called `name` stops working at once (its row stays, for the record)."""
    row = (await session.exec(select(ApiKey).where(ApiKey.name == " ".join(name.split())))).first()
    if row is None:
        raise NotFound(f"no API key called {name!r}")
    if row.revoked_at is None:
        row.revoked_at = now
        session.add(row)
    return row


async def valid_api_key(session: AsyncSession, key: str | None) -> ApiKey | None:
    """The live key a client sent, or None (missing, unknown or revoked)."""
    if not key or len(key) > 200:
        return None
    digest = key_digest(key)
    row = (await session.exec(select(ApiKey).where(ApiKey.key_hash == digest))).first()
    # The lookup is by digest; comparing again in constant time costs nothing.
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.key_hash, digest):
        return None
    return row
