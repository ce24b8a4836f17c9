"""The bot's command menus (Telegram's setMyCommands), built from the handlers' command table
and texts: the default menu — the residents' — in each language, set at every start (two
calls), and each worker's and staff member's own, set for their chat through the outbox
(handlers.menus)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from handlers.context import Deps
from handlers.dispatch import COMMANDS
from handlers.menus import Menu, menu_row, role_menu
from handlers.texts import DEFAULT_LOCALE, languages
from storage.outbox import enqueue_many
from tickets.lifecycle import Role
from tickets.people import people_with_duties

CHANNEL = "telegram"


def menu(locale: str) -> Menu:
    """The residents' (default) menu, in the order of the handlers' table."""
    return role_menu(COMMANDS, Role.RESIDENT, locale)


def menus() -> dict[str | None, Menu]:
    """Telegram language code → menu; None is the default for every other language."""
    result: dict[str | None, Menu] = {None: menu(DEFAULT_LOCALE)}
    for locale in languages():
        if locale != DEFAULT_LOCALE:
            result[locale.split("-")[0]] = menu(locale)
    return result


async def queue_chat_menus(deps: Deps) -> None:
    """At start: each worker's and staff member's menu for their chat, queued only where this
    version of it was never queued (its key is taken), so a start with nothing new sends
    nothing. People who got their role from the directory file, and everyone after a release
    that changes a menu, get it here; a role or language changed in chat sets it at once."""
    async with deps.sessions() as session:
        now = deps.policy.clock.now()
        people = await people_with_duties(session, channel=CHANNEL)
        await enqueue_many(session, [menu_row(COMMANDS, person, now) for person in people])
        await session.commit()


def chat_menu(body: Mapping[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    """An outbox menu body as (role, [(command, description)])."""
    menu = body["menu"]
    return menu["role"], [(name, text) for name, text in menu["commands"]]
