"""Staff sign-in for the web console: scrypt password hashes (stdlib) and server-side sessions.

The browser holds a random token in an HttpOnly, SameSite=Lax cookie; the database holds only its
SHA-256, so a copied table is no key. POSTs also carry a CSRF token (double-submit: a cookie the
page's script or form repeats), checked in bot/web/app.py.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Person, WebSession
from tickets.lifecycle import Role

SESSION_DAYS = 7
MIN_PASSWORD = 8
# scrypt's cost: 16 MiB of memory per check (n·r·128 bytes), about 50 ms.
_N, _R, _P = 2**14, 8, 1


class PasswordTooShort(ValueError):
    pass


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise PasswordTooShort(f"at least {MIN_PASSWORD} characters")
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored:
        # Same work as a real check, so the response time does not tell which names exist.
        hashlib.scrypt(password.encode(), salt=b"0" * 16, n=_N, r=_R, p=_P)
        return False
    try:
        _, n, r, p, salt, digest = stored.split("$")
        again = hashlib.scrypt(
            password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p)
        )
    except ValueError:
        return False
    return hmac.compare_digest(again.hex(), digest)


class SignInThrottle:
    """After `limit` wrong passwords for one name within `window`, that name is refused until
    the window has passed: scrypt makes each guess slow, this makes guessing hopeless.

    Kept in the process (one console per machine); several processes would each allow `limit`.
    """

    def __init__(self, limit: int = 5, window: timedelta = timedelta(minutes=15)) -> None:
        self.limit, self.window = limit, window
        self._failures: dict[str, list[datetime]] = {}

    def blocked(self, name: str, now: datetime) -> bool:
        recent = [at for at in self._failures.get(name, []) if now - at < self.window]
        self._failures[name] = recent
        if not recent:
            del self._failures[name]  # the table holds only names being guessed right now
        return len(recent) >= self.limit

    def failed(self, name: str, now: datetime) -> None:
        self._failures.setdefault(name, []).append(now)

    def succeeded(self, name: str) -> None:
        self._failures.pop(name, None)


def can_sign_in(person: Person) -> bool:
    return Role(person.role) in (Role.WORKER, Role.STAFF, Role.ADMIN)


async def people_named(session: AsyncSession, name: str) -> list[Person]:
    """The staff, workers and admins with this display name (sign-in is by name)."""
    query = select(Person).where(
        Person.display_name == name, col(Person.role).in_([Role.WORKER, Role.STAFF, Role.ADMIN])
    )
    return list((await session.exec(query)).all())


async def set_password(session: AsyncSession, person: Person, password: str) -> None:
    person.password_hash = hash_password(password)
    session.add(person)
    # A new password signs out every browser that knew the old one.
    await session.exec(delete(WebSession).where(col(WebSession.person_id) == person.id))


async def sign_in(
    session: AsyncSession, name: str, password: str, now: datetime
) -> tuple[Person, str] | None:
    """The person and a new session token, or None (wrong name, wrong password, or a name that
    several people share: those must be told apart by an admin first)."""
    people = await people_named(session, name.strip())
    person = people[0] if len(people) == 1 else None
    if not verify_password(password, person.password_hash if person else None) or person is None:
        return None
    # Expired sessions go when their owner signs in again, so the table does not only grow.
    await session.exec(
        delete(WebSession).where(
            col(WebSession.person_id) == person.id, col(WebSession.expires_at) <= now
        )
    )
    token = secrets.token_urlsafe(32)
    session.add(
        WebSession(
            token_hash=_digest(token),
            person_id=person.id,
            created_at=now,
            expires_at=now + timedelta(days=SESSION_DAYS),
        )
    )
    return person, token


async def signed_in(session: AsyncSession, token: str | None, now: datetime) -> Person | None:
    if not token:
        return None
    row = await session.get(WebSession, _digest(token))
    if row is None or row.expires_at <= now:
        return None
    return await session.get(Person, row.person_id)


async def sign_out(session: AsyncSession, token: str | None) -> None:
    if token:
        await session.exec(delete(WebSession).where(col(WebSession.token_hash) == _digest(token)))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def demo_accounts(session: AsyncSession) -> list[Person]:
    """The demo district's staff and workers (bot/demo.py gives them ids on channel "web")."""
    query = select(Person).where(
        Person.channel == "web",
        col(Person.role).in_([Role.WORKER, Role.STAFF, Role.ADMIN]),
        col(Person.channel_user_id).startswith("staff-")
        | col(Person.channel_user_id).startswith("worker-"),
    )
    return list((await session.exec(query)).all())
