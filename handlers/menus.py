"""The command menu each person sees: the commands their role may use, in their language.

Telegram shows the menu set for the person's own chat (a BotCommandScopeChat) before the bot's
default one, which is the residents' menu; the web chat lists the same commands. A person's menu
changes when their role or language does, and goes out as an outbox row for their own chat —
{"menu": {"role", "commands"}} — written in the transaction that changed them, so it is sent
(and retried) like any message and never lost between commit and send.

A row's dedupe key names the person and a fingerprint of the menu, so the start-up check that
every worker and staff member has the menu of this version (bot.telegram.commands) queues
nothing, and sends nothing, for the people whose menu is already set.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from handlers.texts import label
from storage import Session, outbox
from storage.models import Person
from tickets.lifecycle import Role

Menu = list[tuple[str, str]]
# The commands table of handlers.dispatch: name → (roles that may use it, handler).
Commands = Mapping[str, tuple[frozenset[Role], Any]]
KEY_PREFIX = "menu:"


def role_menu(commands: Commands, role: Role | str, locale: str) -> Menu:
    """(command, description) pairs `role` may use, in the order of the table."""
    role = Role(role)
    return [
        (name, label(locale, "command", name))
        for name, (roles, _handler) in commands.items()
        if role in roles
    ]


def menu_body(commands: Commands, person: Person) -> dict[str, Any]:
    menu = role_menu(commands, person.role, person.locale)
    return {"menu": {"role": str(person.role), "commands": [list(pair) for pair in menu]}}


def menu_key(person: Person, body: dict[str, Any]) -> str:
    """One key per person and menu: the same menu twice is one row."""
    text = json.dumps(body, ensure_ascii=False, sort_keys=True)
    return f"{KEY_PREFIX}p{person.id}:{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def menu_row(commands: Commands, person: Person, now: datetime, key: str | None = None) -> dict:
    body = menu_body(commands, person)
    return outbox.outbox_row(
        dedupe_key=key or menu_key(person, body),
        person_id=person.id,
        channel=person.channel,
        chat_id=person.chat_id,
        body=body,
        now=now,
    )


async def changed_menu_row(
    session: Session, commands: Commands, person: Person, now: datetime
) -> dict[str, Any]:
    """The row for a person whose role or language has just changed. A menu they had before
    (staff → worker → staff) is queued again under a key of its own: the old row records an
    older state of their chat."""
    row = menu_row(commands, person, now)
    if await outbox.queued(session, row["dedupe_key"]):
        row["dedupe_key"] = f"{row['dedupe_key']}:{uuid.uuid4().hex[:12]}"
    return row


def is_menu(body: Mapping[str, Any]) -> bool:
    return "menu" in body
