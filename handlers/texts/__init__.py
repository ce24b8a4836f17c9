"""Texts by language. Every user-facing string lives in `zh_CN.py` or `en.py`; this module only
looks them up, falling back to Chinese for an unknown locale."""

from __future__ import annotations

from typing import Any

from handlers.texts import en, zh_CN

DEFAULT_LOCALE = "zh-CN"
_TEXTS = {"zh-CN": zh_CN.TEXTS, "en": en.TEXTS}
_LABELS = {"zh-CN": zh_CN.LABELS, "en": en.LABELS}


def locale_or_default(locale: str | None) -> str:
    if not locale:
        return DEFAULT_LOCALE
    if locale in _TEXTS:
        return locale
    # Telegram sends language codes like "en-GB" or "zh-hans".
    return "en" if locale.lower().startswith("en") else DEFAULT_LOCALE


def tr(locale: str, key: str, **params: Any) -> str:
    return _TEXTS[locale_or_default(locale)][key].format(**params)


def label(locale: str, kind: str, value: Any) -> str:
    """A state, urgency, action … in the reader's language; the raw value if it has no label."""
    return _LABELS[locale_or_default(locale)][kind].get(str(value), str(value))


def languages() -> tuple[str, ...]:
    return tuple(_TEXTS)
