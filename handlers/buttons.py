"""Compact, validated callback data for buttons: `verb:int:int…`, at most 64 bytes (Telegram).

A button is input like any other: it may be forged, stale or garbled. `parse` accepts only the
verbs and argument counts listed here; the domain then checks whether the move is still allowed.
"""

from __future__ import annotations

from dataclasses import dataclass

# verb → number of integer arguments
VERBS: dict[str, int] = {
    "area": 1,  # choose home area
    "ok": 0,  # submit the draft complaint
    "cats": 0,  # list categories for the draft
    "cat": 1,  # choose category (index) for the draft
    "drop": 0,  # cancel the draft
    "v": 1,  # view a ticket
    "info": 1,  # resident: add information
    "wd": 2,  # resident: withdraw
    "cb": 3,  # resident callback: solved? (1/0)
    "cs": 4,  # resident callback: satisfaction (0 satisfied, 1 basic, 2 unsatisfied)
    "skip": 0,  # skip an optional text
    "acc": 2,  # worker: accept
    "ret": 2,  # worker: return (asks for a reason)
    "note": 1,  # worker/staff: note
    "ext": 2,  # worker: extension (asks for days)
    "extd": 3,  # worker: extension days chosen (asks for a reason)
    "esc": 2,  # worker: escalate (asks for a reason)
    "res": 2,  # worker: resolve (asks for the reply)
    "asg": 2,  # staff: choose a worker
    "asw": 3,  # staff: assign to worker
    "rc": 2,  # staff: choose a category
    "rcc": 3,  # staff: recategorise (index)
    "xa": 2,  # staff: approve extension
    "xr": 2,  # staff: refuse extension
    "cl": 2,  # staff: close (asks for a reason)
    "ro": 2,  # staff: reopen (asks for a reason)
    "mg": 2,  # staff: merge (asks for the original's number)
    "lang": 1,  # 0 zh-CN, 1 en
}


class BadButton(ValueError):
    """Callback data that is not one of ours."""


@dataclass(frozen=True)
class Press:
    verb: str
    args: tuple[int, ...]


def make(verb: str, *args: int) -> str:
    if VERBS.get(verb) != len(args):
        raise ValueError(f"button {verb} takes {VERBS.get(verb)} arguments")
    data = ":".join([verb, *(str(int(arg)) for arg in args)])
    if len(data.encode()) > 64:
        raise ValueError("callback data over 64 bytes")
    return data


def parse(data: str) -> Press:
    if not data or len(data.encode("utf-8", "replace")) > 64:
        raise BadButton(data)
    verb, *parts = data.split(":")
    if VERBS.get(verb) != len(parts):
        raise BadButton(data)
    try:
        args = tuple(int(part) for part in parts)
    except ValueError:
        raise BadButton(data) from None
    if any(arg < 0 or arg > 2**53 for arg in args):
        raise BadButton(data)
    return Press(verb, args)
