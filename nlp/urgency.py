"""Urgency detection (紧急程度), independent of the category.

``emergency``: danger to life or property under way (fire, gas leak, collapse, live wires,
people trapped, drowning, violence, fraud in progress…); ``urgent``: a utility cut (water,
power, gas, heating); otherwise ``normal``.  The emergency rules are grouped by kind of danger,
and the kind that fired is reported so the resident can be told whom to call (110/119/120).

Words are matched as substrings of the cleaned text; ``a|b`` in a word means either.  An
``all_of`` group counts when all its words occur in one sentence.  A word does not count:
right after a negation ("没有着火", "预防火灾"); right before a risk word ("火灾隐患"); inside a
phrase that only looks like danger ("落水管", "跳楼价").  For emergencies, a danger word also
does not count after a past or habitual time word in its sentence ("去年着火", "电梯经常困人")
unless a present-time word stands between ("去年装的管子现在漏气"), nor in a sentence about a
drill, the news, hearsay or a warning ("消防演练", "听说着火了", "提醒大家").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from nlp.rules import URGENCY_LEVELS, UrgencyRules

NORMAL = "normal"
EMERGENCY = "emergency"
_SENTENCE = re.compile(r"[。！？!?；;\n]")
# How far before a keyword a negation may stand: "没有发生着火" still reads as negated.
_NEGATION_REACH = 4
# A keyword followed by one of these names a risk, not an event: "火灾隐患", "坍塌风险" are
# complaints to handle, not emergencies under way.
_ONLY_A_RISK = ("隐患", "风险", "危险性", "苗头", "警示")
_RISK_REACH = 3
# Everyday words that contain a danger word, blanked out before matching; "是不是" asks, it
# does not negate ("是不是着火了").
_LOOKALIKES = (
    "是不是", "火灾报警", "落水管", "跳楼价", "跳楼大甩卖", "游戏中毒", "防溺水",
    "在医院昏迷", "困扰", "贫困", "困难", "困惑", "火锅", "火车", "火爆", "上火", "发火",
    "火气", "火葬", "烧烤", "烧纸", "发烧", "一刀切", "刀削面", "开刀", "轮胎漏气",
    "车胎漏气", "气炸", "炸鸡", "油炸", "炸酱", "炸串", "跳舞", "跳广场舞", "被电话",
    "被电信", "被电动车", "被电视", "被电商", "被电脑",
)  # fmt: skip
# Time words that put what follows in the past or make it a chronic problem, not an emergency
# under way; a present-time word after them brings the sentence back to now.
_NOT_NOW = (
    "去年", "前年", "上个月", "上月", "上周", "上星期", "上礼拜", "上次", "那次", "前天",
    "昨天", "昨晚", "前几天", "前段时间", "以前", "之前", "曾经", "当年", "几年前", "经常",
    "总是", "老是", "天天", "每天", "每次", "每年", "每个月", "每月", "常有", "常常",
    "动不动", "隔三差五", "三天两头", "时不时",
)  # fmt: skip
# "晕倒过", "困过人": the experiential 过 right after a danger word tells of the past ("烧过来",
# "晕过去" are directions, not the aspect).
_PAST_ASPECT = re.compile(r"过(?![来去])")
_NOW = ("现在", "正在", "刚刚", "刚才", "还在", "一直", "目前", "今天", "今晚", "此刻", "马上")
# A sentence about a drill, the news, hearsay or a warning reports no emergency under way.
_NOT_REAL = ("演练", "演习", "听说", "据说", "新闻", "提醒", "宣传", "讲座", "模拟")


@dataclass(frozen=True)
class Urgency:
    """What the detector found: the level, the words that made it so, and the kind of danger
    (``None`` when the level's rules are not grouped by kind, or for ``normal``)."""

    level: str
    words: tuple[str, ...] = ()
    kind: str | None = None


@dataclass(frozen=True)
class _Group:
    """Compiled words of one kind (or of a level's own, ungrouped words)."""

    kind: str | None
    keywords: tuple[tuple[str, ...], ...]  # each keyword's alternatives ("a|b")
    all_of: tuple[tuple[tuple[str, ...], ...], ...]

    @classmethod
    def build(cls, kind: str | None, rules: UrgencyRules) -> _Group:
        return cls(
            kind=kind,
            keywords=tuple(_alternatives(w) for w in rules.keywords),
            all_of=tuple(tuple(_alternatives(w) for w in g) for g in rules.all_of),
        )


def _alternatives(word: str) -> tuple[str, ...]:
    return tuple(a for a in (part.strip() for part in word.split("|")) if a)


def _groups(rules: UrgencyRules) -> tuple[_Group, ...]:
    own = (_Group.build(None, rules),) if rules.keywords or rules.all_of else ()
    return own + tuple(_Group.build(kind, words) for kind, words in rules.kinds.items())


def _blank(text: str) -> str:
    for phrase in _LOOKALIKES:
        if phrase in text:
            text = text.replace(phrase, "_" * len(phrase))
    return text


@dataclass(frozen=True)
class UrgencyDetector:
    """Compiled urgency rules; immutable, so one instance serves all threads."""

    levels: tuple[tuple[str, tuple[_Group, ...]], ...]
    negations: tuple[str, ...]

    @classmethod
    def from_rules(
        cls, urgency: Mapping[str, UrgencyRules], negations: tuple[str, ...]
    ) -> UrgencyDetector:
        levels = tuple((lvl, _groups(urgency[lvl])) for lvl in URGENCY_LEVELS if lvl in urgency)
        return cls(levels=levels, negations=negations)

    def _negated(self, text: str, start: int) -> bool:
        before = text[max(0, start - _NEGATION_REACH) : start]
        return any(neg in before for neg in self.negations)

    def _only_a_risk(self, text: str, end: int) -> bool:
        after = text[end : end + _RISK_REACH + 2]
        return any(risk in after for risk in _ONLY_A_RISK)

    def _find(self, text: str, words: tuple[str, ...], now_only: bool) -> str | None:
        """The first of ``words`` (alternatives) that occurs and counts, or ``None``."""
        for word in words:
            start = text.find(word)
            while start != -1:
                if not (
                    self._negated(text, start)
                    or self._only_a_risk(text, start + len(word))
                    or (now_only and _not_now(text, start, start + len(word)))
                ):
                    return word
                start = text.find(word, start + 1)
        return None

    def _match(self, group: _Group, sentences: list[str], now_only: bool) -> list[str]:
        """The words that fired, as found in the text ("电梯+卡+里面" for an all_of group)."""
        found = []
        for sentence in sentences:
            for words in group.keywords:
                word = self._find(sentence, words, now_only)
                if word:
                    found.append(word)
            for group_words in group.all_of:
                hits = [self._find(sentence, words, now_only) for words in group_words]
                if all(hits):
                    found.append("+".join(hit for hit in hits if hit))
        return found

    def detect(self, text: str) -> Urgency:
        """The urgency of a cleaned text, with the words that made it so and the kind."""
        sentences = [s for s in _SENTENCE.split(_blank(text)) if s.strip()]
        # Drills, news and hearsay are dropped for emergencies only: "听说要停水" is still
        # worth a quick answer.
        current = [s for s in sentences if not any(m in s for m in _NOT_REAL)]
        for level, groups in self.levels:
            emergency = level == EMERGENCY
            found: list[str] = []
            kind: str | None = None
            for group in groups:
                words = self._match(group, current if emergency else sentences, emergency)
                if words and not found:
                    kind = group.kind  # the first kind in the rules file wins
                found += words
            if found:
                return Urgency(level, tuple(dict.fromkeys(found)), kind)
        return Urgency(NORMAL)


def _not_now(sentence: str, start: int, end: int) -> bool:
    """True when the word at ``start:end`` is followed by the experiential 过, or when a past
    or habitual time word stands before it with no present-time word between them."""
    if _PAST_ASPECT.match(sentence, end):
        return True
    before = sentence[:start]
    last = max((before.rfind(w) + len(w) for w in _NOT_NOW if w in before), default=-1)
    return last >= 0 and not any(w in before[last:] for w in _NOW)
