"""Where a ticket came from (工单来源), and who may open tickets of each kind.

A resident writes in chat; a grid worker records a complaint for a resident who phoned or was
visited (代办) or a hazard found on patrol (隐患上报, 网格敲门); the 12345 hotline's cases are
imported and Open311 clients post them (issue #18). An Open311 client's resident is a person of
their own on the `open311` channel (`API_CHANNEL`): API tickets are theirs, and nobody else's.
A ticket recorded by someone else keeps the person who recorded it as its follower
(`Ticket.resident_id`) and the resident's name and phone as given (`Ticket.on_behalf_name`,
`on_behalf_phone`), which are personal data.
"""

from __future__ import annotations

import re
from enum import StrEnum

from tickets.contact import check_phone
from tickets.errors import InvalidInput, PermissionDenied
from tickets.lifecycle import Role


class Source(StrEnum):
    RESIDENT_CHAT = "resident_chat"  # 群众自报
    ON_BEHALF = "on_behalf"  # 网格员代办
    PATROL = "patrol"  # 巡查发现 (隐患上报)
    HOTLINE = "hotline"  # 12345 热线
    API = "api"  # Open311 clients


# Who may open a ticket of each source in their own name.
RECORDED_BY: dict[Source, frozenset[Role]] = {
    Source.RESIDENT_CHAT: frozenset({Role.RESIDENT}),
    Source.ON_BEHALF: frozenset({Role.WORKER, Role.STAFF, Role.ADMIN}),
    Source.PATROL: frozenset({Role.WORKER, Role.STAFF, Role.ADMIN}),
    Source.HOTLINE: frozenset({Role.STAFF, Role.ADMIN}),
    Source.API: frozenset({Role.RESIDENT}),
}

# 句号管理: a hazard found on patrol has no resident to call back, so it closes without a 回访
# and never counts as 未回访.
NO_CALLBACK = frozenset({Source.PATROL})

# The channel of the people Open311 clients post for; they have no chat (storage.outbox).
API_CHANNEL = "open311"
# The channel of the 12345 hotline's callers, known by their number; no chat either.
HOTLINE_CHANNEL = "hotline"

MAX_NAME_CHARS = 50


def check_source(source: Source | str, role: Role, channel: str) -> Source:
    """The source, if a person of `role` on `channel` may open tickets of it: API tickets come
    only from the API's own people, and they open no other kind."""
    try:
        source = Source(source)
    except ValueError:
        raise InvalidInput(f"unknown ticket source {source!r}") from None
    if role not in RECORDED_BY[source] or (source is Source.API) != (channel == API_CHANNEL):
        raise PermissionDenied(f"a {role} may not open {source} tickets", role=str(role))
    return source


def parse_contact(text: str) -> tuple[str | None, str | None]:
    """The resident's name and phone from what a worker typed ("张三 138 0000 0000", "李阿姨",
    "13800000000"). Either may be missing; a run of digits that is no phone number is refused,
    so a mistyped number is not kept as a name."""
    words = text.strip()
    runs = list(re.finditer(r"\+?\d[\d\s\-－—()（）]*\d", words))
    digits = max(runs, key=lambda run: len(re.sub(r"\D", "", run.group())), default=None)
    phone = None
    # Five digits or more is meant as a number ("3号楼" is part of a name or an address).
    if digits is not None and len(re.sub(r"\D", "", digits.group())) >= 5:
        # One rule for every number MinHu keeps: the resident's own call-back number and the
        # one a worker types are checked and stored alike (E.164).
        try:
            phone = check_phone(digits.group())
        except InvalidInput:
            raise InvalidInput("not a phone number", reason="bad_contact") from None
        words = (words[: digits.start()] + " " + words[digits.end() :]).strip()
    name = " ".join(words.replace("，", " ").replace(",", " ").split()) or None
    if name is not None and len(name) > MAX_NAME_CHARS:
        raise InvalidInput(
            "the name is too long", reason="too_long", length=len(name), limit=MAX_NAME_CHARS
        )
    return name, phone
