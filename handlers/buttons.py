"""Buttons' payloads: one small class per kind of button, packed into Telegram's callback data
(`verb:int:int…`, at most 64 bytes) and parsed back, in this one place.

A button is input like any other: it may be forged, stale or garbled. `parse` accepts only the
kinds below with their exact number of whole-number fields; the domain then checks whether the
move is still allowed. A button about a ticket carries the ticket's version as the person saw
it, so a press after the ticket moved on is refused as stale instead of applied blindly.

The wire format is what chats already hold: a verb and the fields in order. A new field or kind
must keep the old ones parsing (buttons stay in chats for months).
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields
from typing import ClassVar

MAX_BYTES = 64  # Telegram's limit for callback data
MAX_FIELD = 2**53  # larger numbers are no id of ours


class BadButton(ValueError):
    """Callback data that is not one of ours."""


@dataclass(frozen=True)
class Payload:
    """What a button says when pressed. Subclasses name their verb and list int fields."""

    verb: ClassVar[str]
    kinds: ClassVar[dict[str, type[Payload]]] = {}

    def __init_subclass__(cls, *, verb: str | None = None, **kwargs: object) -> None:
        """`verb`: the kind's name on the wire; none for a base that is no button itself."""
        super().__init_subclass__(**kwargs)
        if verb is None:
            return
        if verb in Payload.kinds:
            raise TypeError(f"two button kinds use the verb {verb!r}")
        cls.verb = verb
        Payload.kinds[verb] = cls

    def pack(self) -> str:
        data = ":".join([self.verb, *(str(int(value)) for value in astuple(self))])
        if len(data.encode()) > MAX_BYTES:
            raise ValueError(f"callback data over {MAX_BYTES} bytes: {data}")
        return data


def parse(data: str) -> Payload:
    """The payload `data` packs, or BadButton."""
    if not data or len(data.encode("utf-8", "replace")) > MAX_BYTES:
        raise BadButton(data)
    verb, *parts = data.split(":")
    kind = Payload.kinds.get(verb)
    if kind is None or len(parts) != len(fields(kind)):
        raise BadButton(data)
    try:
        values = [int(part) for part in parts]
    except ValueError:
        raise BadButton(data) from None
    if any(value < 0 or value > MAX_FIELD for value in values):
        raise BadButton(data)
    return kind(*values)


@dataclass(frozen=True)
class OnTicket(Payload):
    """A move on a ticket as it was when the button was drawn."""

    ticket_id: int
    version: int


# --- anyone ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChooseLanguage(Payload, verb="lang"):
    index: int  # into handlers.common.LANGUAGES


@dataclass(frozen=True)
class ViewTicket(Payload, verb="v"):
    ticket_id: int


# --- the resident ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChooseArea(Payload, verb="area"):
    area_id: int


@dataclass(frozen=True)
class SettleArea(Payload, verb="here"):
    """A community chosen as it is, by a resident who does not know their grid."""

    area_id: int


@dataclass(frozen=True)
class SkipAddress(Payload, verb="noaddr"):
    """Submit without saying where (the address is optional)."""


@dataclass(frozen=True)
class SubmitDraft(Payload, verb="ok"):
    pass


@dataclass(frozen=True)
class ListCategories(Payload, verb="cats"):
    pass


@dataclass(frozen=True)
class ChooseDraftCategory(Payload, verb="cat"):
    index: int  # into tickets.categories.CATEGORIES


@dataclass(frozen=True)
class AskCallBack(Payload, verb="phone"):
    """回电: the resident wants a call back; the bot asks for the number."""


@dataclass(frozen=True)
class ToggleAnonymous(Payload, verb="anon"):
    """匿名: hide (or show again) the resident's name and contact from the assignee."""


@dataclass(frozen=True)
class DropDraft(Payload, verb="drop"):
    pass


@dataclass(frozen=True)
class FollowSimilar(Payload, verb="fol"):
    """关注它: follow the open ticket the draft duplicates (the draft names it, not the button,
    so a forged press can follow nothing the bot did not offer)."""


@dataclass(frozen=True)
class AddInformation(Payload, verb="info"):
    ticket_id: int


@dataclass(frozen=True)
class Withdraw(OnTicket, verb="wd"):
    pass


@dataclass(frozen=True)
class AnswerSolved(OnTicket, verb="cb"):
    solved: int  # 1 已解决, 0 未解决


@dataclass(frozen=True)
class AnswerSatisfaction(OnTicket, verb="cs"):
    solved: int
    satisfaction: int  # into handlers.resident.SATISFACTION


@dataclass(frozen=True)
class SkipComment(Payload, verb="skip"):
    pass


@dataclass(frozen=True)
class Urge(Payload, verb="urge"):
    """催办: no version, an urge is as good after the ticket moved on (the domain checks it is
    still open)."""

    ticket_id: int


# --- the grid worker ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Accept(OnTicket, verb="acc"):
    pass


@dataclass(frozen=True)
class Return(OnTicket, verb="ret"):
    pass


@dataclass(frozen=True)
class AddNote(Payload, verb="note"):
    ticket_id: int


@dataclass(frozen=True)
class AskExtension(OnTicket, verb="ext"):
    pass


@dataclass(frozen=True)
class ExtensionDays(OnTicket, verb="extd"):
    days: int


@dataclass(frozen=True)
class Escalate(OnTicket, verb="esc"):
    pass


@dataclass(frozen=True)
class Resolve(OnTicket, verb="res"):
    pass


@dataclass(frozen=True)
class NeedsDepartment(OnTicket, verb="nd"):
    """需要部门处理: beyond the grid; the reason is asked next."""


@dataclass(frozen=True)
class RecordTicket(Payload, verb="rec"):
    """代办 or 隐患上报 for the text a worker (or staff member) just sent."""

    source: int  # into handlers.recording.RECORDABLE


# --- staff -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChooseWorker(OnTicket, verb="asg"):
    pass


@dataclass(frozen=True)
class AssignTo(OnTicket, verb="asw"):
    worker_id: int


@dataclass(frozen=True)
class ChooseCategory(OnTicket, verb="rc"):
    pass


@dataclass(frozen=True)
class Recategorise(OnTicket, verb="rcc"):
    """The first level chosen: the second level is asked next."""

    index: int  # into tickets.categories.CATEGORIES


@dataclass(frozen=True)
class RecategoriseSub(OnTicket, verb="rcs"):
    index: int  # into tickets.categories.CATEGORIES
    sub: int  # 0: the first level alone; n: the n-th of SUBCATEGORIES[CATEGORIES[index]]


@dataclass(frozen=True)
class Supervise(OnTicket, verb="sup"):
    pass


@dataclass(frozen=True)
class ApproveExtension(OnTicket, verb="xa"):
    pass


@dataclass(frozen=True)
class RefuseExtension(OnTicket, verb="xr"):
    pass


@dataclass(frozen=True)
class Close(OnTicket, verb="cl"):
    pass


@dataclass(frozen=True)
class Reopen(OnTicket, verb="ro"):
    pass


@dataclass(frozen=True)
class Merge(OnTicket, verb="mg"):
    pass


@dataclass(frozen=True)
class MergeInto(OnTicket, verb="mgi"):
    """合并 with one press, into the original the duplicate rule suggested."""

    original_id: int


# --- 吹哨报到 ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Whistle(OnTicket, verb="wh"):
    """吹哨: choose the departments to summon on site."""


@dataclass(frozen=True)
class WhistlePick(Payload, verb="whp"):
    """A department chosen (or chosen no more) for the whistle being prepared."""

    department_id: int


@dataclass(frozen=True)
class WhistleGo(Payload, verb="whg"):
    """The departments are chosen: on to the note, then the whistle."""


@dataclass(frozen=True)
class ReportArrival(Payload, verb="arr"):
    """报到: a summoned department is on site. No version: arrival is a fact whatever the
    ticket did meanwhile (the domain checks the summons still waits)."""

    part_id: int


# --- 党委派单 ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DispatchDepartments(OnTicket, verb="dd"):
    """党委派单: choose the lead department first."""


@dataclass(frozen=True)
class PickLead(OnTicket, verb="dl"):
    department_id: int


@dataclass(frozen=True)
class ToggleAssist(OnTicket, verb="da"):
    """Add (or drop again) an assisting department to the dispatch being prepared."""

    department_id: int


@dataclass(frozen=True)
class ConfirmDispatch(OnTicket, verb="dgo"):
    pass


# --- a department's handler ----------------------------------------------------------------------
# `version` on these is the version of the department's own part, not the ticket's: each
# department's buttons stay good while other departments move their parts.


@dataclass(frozen=True)
class PartAccept(OnTicket, verb="pa"):
    pass


@dataclass(frozen=True)
class PartReturn(OnTicket, verb="pr"):
    pass


@dataclass(frozen=True)
class PartFinish(OnTicket, verb="pf"):
    pass


@dataclass(frozen=True)
class LeadResolve(OnTicket, verb="lr"):
    pass


@dataclass(frozen=True)
class ChooseTier(OnTicket, verb="tr"):
    """分级: show the tiers, the classifier's proposal marked."""


@dataclass(frozen=True)
class SetTier(OnTicket, verb="tier"):
    index: int  # into tickets.tiers.TIERS


@dataclass(frozen=True)
class TierLeader(OnTicket, verb="tld"):
    """历史遗留 / 重大疑难 with the leader who answers for it (包案领导)."""

    index: int  # into tickets.tiers.TIERS
    leader_id: int


@dataclass(frozen=True)
class RecordCallback(OnTicket, verb="rv"):
    """记录回访: show the outcomes of a call to the resident."""


@dataclass(frozen=True)
class CallbackOutcome(OnTicket, verb="rvo"):
    outcome: int  # into handlers.visits.CALLBACK_OUTCOMES
