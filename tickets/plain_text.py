"""The domain's text check: what any text from outside may contain before it is stored.

A lone UTF-16 surrogate (an emoji cut in half, which browsers and some clients send), a NUL byte
or another control character is refused by PostgreSQL and kept by SQLite; bidirectional
overrides make a text read differently from what it says. They are dropped at the edge, so both
databases store the same thing and no driver error ever quotes a resident's words.
"""

from __future__ import annotations

import re

# Surrogates; C0 and C1 controls but tab, newline and carriage return; the bidi embeddings,
# overrides and isolates. Zero-width joiners stay: emoji sequences need them.
_UNSAFE = re.compile(
    r"[\ud800-\udfff\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
)


def plain_text(raw: str) -> str:
    """`raw` without the characters no store should keep; newlines become `\\n`."""
    return _UNSAFE.sub("", raw.replace("\r\n", "\n").replace("\r", "\n"))
