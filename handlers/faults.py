"""A fault described for the log: the exception's kinds and where they were raised, never their
messages. A database error's message quotes the values it failed on (a resident's complaint,
name or phone), and a framework's may quote the bot's token; the frames say enough to debug."""

from __future__ import annotations

import traceback


def describe_fault(error: BaseException) -> str:
    """A traceback in the usual order (the first cause first), each message left out."""
    chain: list[BaseException] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    parts = []
    for fault in reversed(chain):
        frames = traceback.format_list(traceback.extract_tb(fault.__traceback__))
        kind = type(fault)
        parts.append("".join(frames) + f"{kind.__module__}.{kind.__qualname__} (message withheld)")
    return "\nwhich led to\n".join(parts)
