"""The bot's command menu (Telegram's setMyCommands), built from the handlers' command table and
texts: the commands a resident may use — the public menu everyone sees — in each language."""

from __future__ import annotations

from handlers.dispatch import COMMANDS
from handlers.texts import DEFAULT_LOCALE, label, languages
from tickets.lifecycle import Role


def menu(locale: str) -> list[tuple[str, str]]:
    """(command, description) pairs, in the order of the handlers' table."""
    return [
        (name, label(locale, "command", name))
        for name, (roles, _handler) in COMMANDS.items()
        if Role.RESIDENT in roles
    ]


def menus() -> dict[str | None, list[tuple[str, str]]]:
    """Telegram language code → menu; None is the default for every other language."""
    result: dict[str | None, list[tuple[str, str]]] = {None: menu(DEFAULT_LOCALE)}
    for locale in languages():
        if locale != DEFAULT_LOCALE:
            result[locale.split("-")[0]] = menu(locale)
    return result
