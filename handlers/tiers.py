"""分级 in chat: staff choose a ticket's tier (the classifier's proposal marked, with its reason),
and for 历史遗留 / 重大疑难 the leader who answers for it (包案领导)."""

from __future__ import annotations

from handlers import notify
from handlers.buttons import ChooseTier, SetTier, TierLeader
from handlers.common import check_press
from handlers.context import Turn
from handlers.events import Button
from handlers.render import local_time, proposal_text, tier_text
from storage.models import Person, Ticket
from tickets import handling
from tickets.lifecycle import Action
from tickets.people import possible_leaders
from tickets.tiers import LEADER_TIERS, TIERS, propose_tier


async def choose_tier(turn: Turn, press: ChooseTier) -> None:
    ticket = await check_press(turn, press, Action.SET_TIER)
    proposed = propose_tier(ticket.text, ticket.urgency).tier
    rows = []
    for index, tier in enumerate(TIERS):
        text = tier_text(turn.locale, tier)
        if tier == proposed:
            text = turn.t("btn_tier_proposed", tier=text)
        if tier == ticket.tier:
            text = turn.t("btn_tier_current", tier=text)
        rows.append([Button(text, SetTier(ticket.id, ticket.version, index).pack())])
    proposal = proposal_text(turn.locale, ticket)
    turn.say_key("choose_tier", rows, number=ticket.number, proposal=proposal)


async def tier_pressed(turn: Turn, press: SetTier) -> None:
    """A tier chosen: set at once, or first the leader for 历史遗留 / 重大疑难."""
    tier = TIERS[press.index % len(TIERS)]
    if tier not in LEADER_TIERS:
        await _set(turn, press.ticket_id, press.version, tier, None)
        return
    ticket = await check_press(turn, press, Action.SET_TIER)
    leaders = await possible_leaders(turn.session, ticket)
    if not leaders:
        turn.say_key("no_leaders")
        return
    rows = [
        [
            Button(
                leader.display_name or str(leader.id),
                TierLeader(ticket.id, ticket.version, press.index, leader.id).pack(),
            )
        ]
        for leader in leaders[:20]
    ]
    turn.say_key("choose_leader", rows, tier=tier_text(turn.locale, tier))


async def leader_pressed(turn: Turn, press: TierLeader) -> None:
    tier = TIERS[press.index % len(TIERS)]
    await _set(turn, press.ticket_id, press.version, tier, press.leader_id)


async def _set(turn: Turn, ticket_id: int, version: int, tier: str, leader_id: int | None) -> None:
    moved = await handling.set_tier(
        turn.session,
        turn.policy,
        ticket_id=ticket_id,
        actor=turn.person,
        tier=tier,
        leader_id=leader_id,
        expected_version=version,
    )
    turn.say(await tier_line(turn, moved.ticket))
    await notify.announce(turn, moved)


async def tier_line(turn: Turn, ticket: Ticket) -> str:
    """工单 X 已定为 复杂（现场办）, with its leader and the resolve clock it now runs."""
    leader = await turn.session.get(Person, ticket.leader_id) if ticket.leader_id else None
    text = turn.t(
        "tier_set",
        number=ticket.number,
        tier=tier_text(turn.locale, ticket.tier),
        resolve_by=local_time(ticket.due_resolve_at, turn.policy),
    )
    if leader is not None:
        text += "\n" + turn.t("tier_leader", leader=leader.display_name or leader.id)
    return text
