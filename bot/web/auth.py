"""Staff sign-in for the web console: scrypt password hashes (stdlib) and server-side sessions.

The browser holds a random token in an HttpOnly, SameSite=Lax cookie; the database holds only its
SHA-256, so a copied table is no key. POSTs also carry a CSRF token (double-submit: a cookie the
page's script or form repeats), checked in bot/web/app.py.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import secrets
import unicodedata
from datetime import datetime, timedelta

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.engine import SessionFactory
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


def sign_in_name(name: str) -> str:
    """The name as sign-in looks it up: without the spaces around it."""
    return name.strip()


def throttle_name(name: str) -> str:
    """The name as the sign-in throttle counts it: every spelling that could reach one account
    (spaces around or inside, full-width forms, case) is one bucket. Coarser than the look-up,
    never finer, so no variant escapes the count."""
    folded = unicodedata.normalize("NFKC", sign_in_name(name)).casefold()
    return "".join(folded.split())


class Busy(Exception):
    """Too many password checks are waiting already."""


class PasswordChecker:
    """Runs scrypt in worker threads (it releases the GIL), at most `max_parallel` at once: the
    event loop keeps serving pages while a check takes its 50 ms, and a crowd of sign-ins takes
    at most that many cores. Past `max_waiting` queued checks, `verify` raises Busy at once."""

    def __init__(self, max_parallel: int | None = None, max_waiting: int = 32) -> None:
        self.max_parallel = max_parallel or max(1, (os.cpu_count() or 2) // 2)
        self._slots = asyncio.Semaphore(self.max_parallel)
        self._max_waiting = max_waiting
        self._waiting = 0
        self.running = 0

    async def verify(self, password: str, stored: str | None) -> bool:
        if self._waiting >= self._max_waiting:
            raise Busy()
        self._waiting += 1
        try:
            await self._slots.acquire()
        finally:
            self._waiting -= 1
        self.running += 1
        work = asyncio.get_running_loop().run_in_executor(None, verify_password, password, stored)
        # The slot is free when the thread is done, not when a cancelled request stops waiting.
        work.add_done_callback(self._done)
        return await asyncio.shield(work)

    def _done(self, _work: asyncio.Future[bool]) -> None:
        self.running -= 1
        self._slots.release()


# Who may sign in to the console (its chat, and for staff its pages): everyone but residents,
# who are known by a cookie instead.
SIGN_IN_ROLES = (Role.WORKER, Role.STAFF, Role.ADMIN, Role.DEPARTMENT)


def can_sign_in(person: Person) -> bool:
    return Role(person.role) in SIGN_IN_ROLES


async def people_named(session: AsyncSession, name: str) -> list[Person]:
    """The staff, workers, department handlers and admins with this display name (sign-in is by
    name)."""
    query = select(Person).where(
        Person.display_name == name, col(Person.role).in_(list(SIGN_IN_ROLES))
    )
    return list((await session.exec(query)).all())


async def set_password(session: AsyncSession, person: Person, password: str) -> None:
    person.password_hash = hash_password(password)
    session.add(person)
    # A new password signs out every browser that knew the old one.
    await session.exec(delete(WebSession).where(col(WebSession.person_id) == person.id))


async def sign_in(
    sessions: SessionFactory, name: str, password: str, now: datetime, checker: PasswordChecker
) -> tuple[Person, str] | None:
    """The person and a new session token, or None (wrong name, wrong password, or a name that
    several people share: those must be told apart by an admin first). Raises Busy when too many
    checks wait already. No database connection is held while the password is checked: a queue
    of checks must not empty the pool the pages need."""
    async with sessions() as session:
        people = await people_named(session, sign_in_name(name))
    person = people[0] if len(people) == 1 else None
    right = await checker.verify(password, person.password_hash if person else None)
    if not right or person is None:
        return None
    token = secrets.token_urlsafe(32)
    async with sessions() as session:
        # Expired sessions go when their owner signs in again, so the table does not only grow.
        await session.exec(
            delete(WebSession).where(
                col(WebSession.person_id) == person.id, col(WebSession.expires_at) <= now
            )
        )
        session.add(
            WebSession(
                token_hash=_digest(token),
                person_id=person.id,
                created_at=now,
                expires_at=now + timedelta(days=SESSION_DAYS),
            )
        )
        await session.commit()
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
    """The demo district's staff, workers and department handlers (bot/demo.py gives them ids
    on channel "web")."""
    query = select(Person).where(
        Person.channel == "web",
        col(Person.role).in_([Role.WORKER, Role.STAFF, Role.ADMIN, Role.DEPARTMENT]),
        col(Person.channel_user_id).startswith("staff-")
        | col(Person.channel_user_id).startswith("worker-")
        | col(Person.channel_user_id).startswith("dept-"),
    )
    return list((await session.exec(query)).all())
