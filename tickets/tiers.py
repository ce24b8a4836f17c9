"""Tiers (分级): 简单 (立即办), 一般 (协调办), 复杂 (现场办), 历史遗留 and 重大疑难 (联动办).

Staff set a ticket's tier at triage or later (tickets.handling.set_tier); the tier sets the
handling mode and, through SlaPolicy.tiers, the default clocks. 历史遗留 and 重大疑难 name a
leader who answers for the ticket (包案领导) and hears its alerts.

The classifier only proposes one, from the urgency and the words (nlp.tier_signals), and says
why; an unset tier means nobody decided yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from nlp.tier_signals import tier_signals


class Tier(StrEnum):
    SIMPLE = "simple"  # 简单: 立即办
    GENERAL = "general"  # 一般: 协调办
    COMPLEX = "complex"  # 复杂: 现场办
    LEGACY = "legacy"  # 历史遗留: 联动办, 包案领导
    MAJOR = "major"  # 重大疑难: 联动办, 包案领导


# The order staff read them in, simplest first; buttons index into it.
TIERS = tuple(Tier)
# Tiers a named leader answers for (包案).
LEADER_TIERS = frozenset({Tier.LEGACY, Tier.MAJOR})
# The handling mode each tier sets.
MODES = {
    Tier.SIMPLE: "immediate",  # 立即办
    Tier.GENERAL: "coordinated",  # 协调办
    Tier.COMPLEX: "on_site",  # 现场办
    Tier.LEGACY: "joint",  # 联动办
    Tier.MAJOR: "joint",
}
# The rules a proposal may name (TierProposal.reason).
TIER_REASONS = ("emergency", "urgent", "history", "agencies", "repair", "plain")
# Named agencies from which a complaint reads as 重大疑难 rather than 复杂.
MAJOR_AGENCIES = 3


@dataclass(frozen=True)
class TierProposal:
    """The tier the classifier proposes and why: `reason` names the rule (a text key suffix),
    `words` the words or agencies it rests on."""

    tier: Tier
    reason: str
    words: tuple[str, ...] = ()


def propose_tier(text: str, urgency: str) -> TierProposal:
    """Emergencies and utility cuts are handled at once (简单); a long history is 历史遗留;
    several agencies named make it 复杂 (three or more: 重大疑难); a single repair is 简单;
    anything else 一般."""
    if urgency in ("emergency", "urgent"):
        return TierProposal(Tier.SIMPLE, urgency)
    signals = tier_signals(text)
    if signals.history:
        return TierProposal(Tier.LEGACY, "history", signals.history)
    if len(signals.agencies) >= MAJOR_AGENCIES:
        return TierProposal(Tier.MAJOR, "agencies", signals.agencies)
    if len(signals.agencies) == 2:
        return TierProposal(Tier.COMPLEX, "agencies", signals.agencies)
    if signals.repair:
        return TierProposal(Tier.SIMPLE, "repair", signals.repair)
    return TierProposal(Tier.GENERAL, "plain")
