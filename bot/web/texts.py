"""The web console's strings. They live in the product's one catalogue per language
(handlers/locale), under keys starting with "web.", so a translator has the chat and the console
in one file; labels of states and urgencies are the chat's, so both channels say the same."""

from __future__ import annotations

from typing import Any

from handlers.texts import locale_or_default, tr

PREFIX = "web."


def web_text(locale: str | None, key: str, **params: Any) -> str:
    return tr(locale_or_default(locale), PREFIX + key, **params)
