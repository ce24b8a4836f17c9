"""Where a person is in a conversation (`ChatState`) and the complaint a resident is writing
(`Draft`). Both are stored between turns (storage.conversations) as a name and plain JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class ChatState(StrEnum):
    """What the bot is waiting for from this person."""

    IDLE = "idle"  # nothing: a resident's text is a new complaint
    CHOOSING_AREA = "choosing_area"  # the resident's community or grid
    DRAFTING = "drafting"  # the resident's go for the proposed complaint (or more of it)
    GIVING_ADDRESS = "address"  # where the problem is, when neither a grid nor a location says
    DESCRIBING_PHOTO = "photo_text"  # words for a photo that came alone
    ADDING_INFORMATION = "adding_information"  # more information on a ticket
    COMMENTING = "comment"  # the resident's optional words after the callback
    RETURN_REASON = "return_reason"  # 退单: why
    WRITING_NOTE = "writing_note"  # a working note
    EXTENSION_REASON = "extension_reason"  # 延期: why
    ESCALATION_REASON = "escalate_reason"  # 上报: why
    RESOLUTION_REPLY = "resolve_reply"  # 办结: the reply to the resident
    CLOSING_NOTE = "close_reason"  # staff close: why
    REOPEN_REASON = "reopen_reason"  # 重办: why
    MERGE_ORIGINAL = "merge_original"  # 合并: the original ticket's number
    GIVING_PHONE = "giving_phone"  # the resident's number for a call back (回电), or a skip
    RECORDING = "recording"  # a worker's text: 代办 or 隐患上报?
    ON_BEHALF_CONTACT = "on_behalf_contact"  # 代办: the resident's name and phone
    SUPERVISE_NOTE = "supervise_note"  # 督办: what the worker must hear
    WHISTLE_CHOOSING = "whistle_choose"  # 吹哨: which departments to summon
    WHISTLE_NOTE = "whistle_note"  # 吹哨: what the departments are needed for
    NEEDS_DEPARTMENT_REASON = "needs_department_reason"  # 需要部门处理: why
    DISPATCHING = "dispatching"  # 党委派单: the lead chosen, assists being added
    PART_RETURN_REASON = "part_return_reason"  # 部门退单: why
    PART_FINISH_NOTE = "part_finish_note"  # 协办完成: what the department did
    LEAD_WITHOUT_REASON = "lead_without_reason"  # 主办办结 before the assists: why
    LEAD_RESOLVE_REPLY = "lead_resolve_reply"  # 主办办结: the reply to the resident

    @classmethod
    def _missing_(cls, value: object) -> ChatState | None:
        # Names stored before these states had their own (they were also button verbs).
        return {"info": cls.ADDING_INFORMATION, "note": cls.WRITING_NOTE}.get(str(value))


@dataclass
class Draft:
    """A complaint before it is submitted: the resident's words, what came with them, and the
    classifier's proposal once it has been asked."""

    text: str
    attachments: list[dict[str, Any]] = field(default_factory=list)
    latitude: float | None = None
    longitude: float | None = None
    address: str | None = None  # where it is, in the resident's words
    category: str | None = None
    subcategory: str | None = None
    confidence: float | None = None
    keywords: list[str] = field(default_factory=list)
    urgency: str = "normal"
    urgency_kind: str | None = None  # the kind of danger an emergency rule found
    # When its proposal was last shown (or will be, when held back), ISO 8601; and the proposal
    # held back for a burst of follow-ups: {"key": outbox dedupe key, "due": ISO 8601}.
    shown_at: str | None = None
    later: dict[str, str] | None = None
    phone: str | None = None  # 回电: the number to call back on (E.164), when asked for
    anonymous: bool = False  # 匿名: name and contact hidden from the assignee
    # The open ticket it may duplicate, offered to follow: id, number, state, created, shared.
    similar: dict[str, Any] | None = None

    def to_data(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Draft:
        """The draft as stored; fields of other versions are left out."""
        known = {name: data[name] for name in cls.__dataclass_fields__ if name in data}
        return cls(**known)
