"""Texts by language. Every user-facing string, chat and web console, lives in one gettext
catalogue per language, `handlers/locale/<language>/LC_MESSAGES/minhu.po`, which translators edit
with ordinary tools. The catalogues are key-based: the msgid is the key the code names, and a
label (a state, urgency, action …) has its kind as msgctxt and its value as msgid.

The .po files are read with Babel once per process, on first use: no compile step. An unknown
locale falls back to Chinese, and so does a text a catalogue lacks."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from babel.messages.pofile import read_po

DEFAULT_LOCALE = "zh-CN"
LOCALES = ("zh-CN", "en")
DOMAIN = "minhu"


@dataclass(frozen=True)
class Catalogue:
    texts: dict[str, str]  # key → Python brace format
    labels: dict[str, dict[str, str]]  # kind → value → label


def catalogue_path(locale: str) -> Traversable:
    """Where a language's catalogue is, inside the installed package (a wheel carries it)."""
    folder = locale.replace("-", "_")
    return resources.files("handlers") / "locale" / folder / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def catalogue(locale: str) -> Catalogue:
    """A language's texts and labels. Empty and fuzzy entries are left out, as gettext does:
    they are not translations yet."""
    with catalogue_path(locale).open("rb") as file:
        # abort_invalid: a broken file stops here, naming its line, not at some later reply.
        read = read_po(file, locale=locale.replace("-", "_"), domain=DOMAIN, abort_invalid=True)
    texts: dict[str, str] = {}
    labels: dict[str, dict[str, str]] = {}
    for message in read:
        if not message.id or not message.string or message.fuzzy:
            continue
        if message.context is None:
            texts[message.id] = message.string
        else:
            labels.setdefault(message.context, {})[message.id] = message.string
    return Catalogue(texts, labels)


def locale_or_default(locale: str | None) -> str:
    if not locale:
        return DEFAULT_LOCALE
    if locale in LOCALES:
        return locale
    # Telegram sends language codes like "en-GB" or "zh-hans".
    return "en" if locale.lower().startswith("en") else DEFAULT_LOCALE


def tr(locale: str, key: str, **params: Any) -> str:
    texts = catalogue(locale_or_default(locale)).texts
    text = texts[key] if key in texts else catalogue(DEFAULT_LOCALE).texts[key]
    return text.format(**params)


def label(locale: str, kind: str, value: Any) -> str:
    """A state, urgency, action … in the reader's language; the raw value if it has no label."""
    labels = catalogue(locale_or_default(locale)).labels.get(kind, {})
    fallback = catalogue(DEFAULT_LOCALE).labels[kind]  # an unknown kind is the code's mistake
    return labels.get(str(value)) or fallback.get(str(value), str(value))


def languages() -> tuple[str, ...]:
    return LOCALES
