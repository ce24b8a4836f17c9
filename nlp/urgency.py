"""Urgency detection (紧急程度), independent of the category.

``emergency``: danger to life or property (fire, gas leak, collapse, live wires, people trapped);
``urgent``: a utility cut (water, power, gas, heating); otherwise ``normal``.  Words are matched
as substrings of the cleaned text, word sets within one clause, and a match right after a
negation ("没有着火", "预防火灾") does not count.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from nlp.rules import URGENCY_LEVELS, UrgencyRules

NORMAL = "normal"
_CLAUSE = re.compile(r"[。！？!?；;\n，,]")
# How far before a keyword a negation may stand: "没有发生着火" still reads as negated.
_NEGATION_REACH = 4
# A keyword followed by one of these names a risk, not an event: "火灾隐患", "坍塌风险" are
# complaints to handle, not emergencies under way.
_ONLY_A_RISK = ("隐患", "风险", "危险性", "苗头")
_RISK_REACH = 3


@dataclass(frozen=True)
class UrgencyDetector:
    """Compiled urgency rules; immutable, so one instance serves all threads."""

    levels: tuple[tuple[str, UrgencyRules], ...]
    negations: tuple[str, ...]

    @classmethod
    def from_rules(
        cls, urgency: Mapping[str, UrgencyRules], negations: tuple[str, ...]
    ) -> UrgencyDetector:
        levels = tuple((lvl, urgency[lvl]) for lvl in URGENCY_LEVELS if lvl in urgency)
        return cls(levels=levels, negations=negations)

    def _negated(self, text: str, start: int) -> bool:
        before = text[max(0, start - _NEGATION_REACH) : start]
        return any(neg in before for neg in self.negations)

    def _only_a_risk(self, text: str, end: int) -> bool:
        after = text[end : end + _RISK_REACH + 2]
        return any(risk in after for risk in _ONLY_A_RISK)

    def _occurs(self, text: str, word: str) -> bool:
        start = text.find(word)
        while start != -1:
            if not self._negated(text, start) and not self._only_a_risk(text, start + len(word)):
                return True
            start = text.find(word, start + 1)
        return False

    def detect(self, text: str) -> tuple[str, tuple[str, ...]]:
        """(urgency, the words that made it so) for a cleaned text."""
        clauses: list[str] | None = None
        for level, rules in self.levels:
            found = [w for w in rules.keywords if w in text and self._occurs(text, w)]
            if rules.all_of:
                if clauses is None:
                    clauses = _CLAUSE.split(text)
                for group in rules.all_of:
                    if any(all(self._occurs(c, w) for w in group) for c in clauses):
                        found.append("+".join(group))
            if found:
                return level, tuple(dict.fromkeys(found))
        return NORMAL, ()
