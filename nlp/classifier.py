"""Complaint classifier (诉求分类): weighted keyword rules → 一级/二级 category, confidence,
explanation and urgency.

Scoring is a linear sum a reader can redo by hand: each distinct keyword found in the text adds
its weight to its category (× 1 + ln(count) when repeated), negative keywords take weight away,
combos add weight when all their words occur.  Confidence is a softmax over the categories
that matched anything, with scores divided by the amount of evidence so long texts do not look
certain just for being long.  Below ``min_confidence`` the complaint goes to human triage.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from nlp.rules import CategoryRules, RuleSet, default_rules_path, load_rules
from nlp.text import clean_text
from nlp.tokenizer import is_single_token, term_weights
from nlp.urgency import UrgencyDetector

EXPLAIN_KEYWORDS = 5  # issue #16: at most five reasons shown
TOP_CATEGORIES = 3

# Reason codes for unclassified complaints (the bot maps them to user texts).
EMPTY = "empty"
NO_CHINESE = "no_chinese"
NO_KEYWORDS = "no_keywords"
LOW_CONFIDENCE = "low_confidence"


@dataclass(frozen=True)
class Classification:
    """The result of classifying one complaint."""

    category: str | None
    subcategory: str | None
    confidence: float
    keywords: tuple[str, ...]
    urgency: str
    urgency_keywords: tuple[str, ...]
    # The kind of danger of an emergency (fire, gas, trapped …): whom to call depends on it.
    urgency_kind: str | None
    top: tuple[tuple[str, float], ...]
    unclassified_reason: str | None
    truncated: bool

    @property
    def is_classified(self) -> bool:
        """True when a category was chosen; otherwise the complaint goes to triage (分拨)."""
        return self.category is not None


@dataclass(frozen=True)
class _Table:
    """Compiled rules of a set of sibling categories."""

    names: tuple[str, ...]
    tokens: Mapping[str, tuple[tuple[int, float], ...]]
    phrases: tuple[tuple[str, int, float], ...]  # keywords jieba would split: substring match
    combos: tuple[tuple[int, tuple[str, ...], float], ...]

    @classmethod
    def build(cls, categories: Mapping[str, CategoryRules]) -> _Table:
        names = tuple(categories)
        by_word: dict[tuple[str, int], float] = {}
        for i, name in enumerate(names):
            rules = categories[name]
            for word, weight in rules.keywords.items():
                by_word[word, i] = by_word.get((word, i), 0.0) + weight
            for word, weight in rules.negative.items():
                by_word[word, i] = by_word.get((word, i), 0.0) - abs(weight)
        tokens: dict[str, list[tuple[int, float]]] = {}
        phrases = []
        single: dict[str, bool] = {}
        for (word, i), weight in by_word.items():
            if weight == 0.0:
                continue
            if word not in single:
                single[word] = is_single_token(word)
            if single[word]:
                tokens.setdefault(word, []).append((i, weight))
            else:
                phrases.append((word, i, weight))
        combos = tuple(
            (i, combo.words, combo.weight)
            for i, name in enumerate(names)
            for combo in categories[name].combos
        )
        return cls(
            names=names,
            tokens={w: tuple(hits) for w, hits in tokens.items()},
            phrases=tuple(phrases),
            combos=combos,
        )

    def score(
        self, text: str, terms: Mapping[str, float]
    ) -> tuple[list[float], list[list[tuple[str, float]]], float]:
        """Scores per category, each category's contributions, and the evidence mass."""
        scores = [0.0] * len(self.names)
        contributions: list[list[tuple[str, float]]] = [[] for _ in self.names]
        evidence = 0.0
        table = self.tokens
        for term, tf in terms.items():
            hits = table.get(term)
            if hits is None:
                continue
            evidence += tf * tf
            for i, weight in hits:
                scores[i] += weight * tf
                contributions[i].append((term, weight * tf))
        for phrase, i, weight in self.phrases:
            if phrase in text:
                evidence += 1.0
                scores[i] += weight
                contributions[i].append((phrase, weight))
        for i, words, weight in self.combos:
            if all(w in terms or w in text for w in words):
                evidence += 1.0
                scores[i] += weight
                contributions[i].append(("+".join(words), weight))
        return scores, contributions, evidence


def _explain(
    chosen: list[tuple[str, float]], runner_up: list[tuple[str, float]]
) -> tuple[str, ...]:
    """The keywords that decided the category (判断依据), at most ``EXPLAIN_KEYWORDS``.

    A keyword counts when it adds to the chosen category, ranked by how much it puts the chosen
    category ahead of the runner-up: "小区" that speaks for both says less than "井盖" that speaks
    for one.  Readable: single characters only when nothing longer matched ("市" explains nothing
    to a resident), and a fragment of a longer matched keyword ("派出" of "派出所", from jieba's
    search mode) gives way to the whole word.  Stop words never get here: the rules may not
    weigh them (checked on load).
    """
    rival = dict(runner_up)
    positive = [(word, value) for word, value in chosen if value > 0]
    deciding = [(word, value - rival.get(word, 0.0)) for word, value in positive]
    ranked = sorted((c for c in deciding if c[1] > 0), key=lambda c: -c[1]) or sorted(
        positive, key=lambda c: -c[1]
    )
    words = [word for word, _ in ranked if len(word) > 1] or [word for word, _ in ranked]
    head = words[: EXPLAIN_KEYWORDS * 2]
    whole = [w for w in head if not any(w != other and w in other for other in head)]
    return tuple(whole[:EXPLAIN_KEYWORDS])


class Classifier:
    """Classifies complaint texts with a ``RuleSet``; pure CPU, no I/O, safe across threads."""

    def __init__(self, rules: RuleSet, min_confidence: float | None = None) -> None:
        self.rules = rules
        settings = rules.settings
        self.min_confidence = (
            settings.min_confidence if min_confidence is None else float(min_confidence)
        )
        self.max_chars = settings.max_chars
        self.confidence_scale = settings.confidence_scale
        self._level1 = _Table.build(rules.categories)
        self._level2 = {
            name: _Table.build(cat.subcategories)
            for name, cat in rules.categories.items()
            if cat.subcategories
        }
        self._urgency = UrgencyDetector.from_rules(rules.urgency, rules.negations)

    _default: dict[float | None, Classifier] = {}  # noqa: RUF012 - a class-level cache on purpose
    _default_lock = threading.Lock()

    @classmethod
    def default(cls, min_confidence: float | None = None) -> Classifier:
        """The classifier with the shipped rules, loaded once per process and threshold."""
        with cls._default_lock:
            if min_confidence not in cls._default:
                cls._default[min_confidence] = cls(load_rules(default_rules_path()), min_confidence)
            return cls._default[min_confidence]

    @classmethod
    def from_file(cls, path: str | Path, min_confidence: float | None = None) -> Classifier:
        """A classifier from a rules YAML file."""
        return cls(load_rules(path), min_confidence)

    @property
    def categories(self) -> tuple[str, ...]:
        """The 一级 category names, in rules order."""
        return self._level1.names

    def classify(self, text: str) -> Classification:
        """Classify one complaint; never raises on odd input (empty, emoji, huge, binary)."""
        clean = clean_text(text, self.max_chars)
        urgency = self._urgency.detect(clean.text)

        def unclassified(reason: str, top: tuple[tuple[str, float], ...] = ()) -> Classification:
            return Classification(
                category=None,
                subcategory=None,
                confidence=top[0][1] if top else 0.0,
                keywords=(),
                urgency=urgency.level,
                urgency_keywords=urgency.words,
                urgency_kind=urgency.kind,
                top=top,
                unclassified_reason=reason,
                truncated=clean.truncated,
            )

        if not clean.text:
            return unclassified(EMPTY)
        if not clean.has_chinese:
            return unclassified(NO_CHINESE)
        terms = term_weights(clean.text)
        scores, contributions, evidence = self._level1.score(clean.text, terms)
        candidates = [i for i, c in enumerate(contributions) if c]
        if not candidates:
            return unclassified(NO_KEYWORDS)
        # Softmax over the categories that matched something; a category with no keyword
        # in the text is not a candidate rather than a zero-score contender.
        scale = self.confidence_scale / math.sqrt(max(evidence, 1.0))
        peak = max(scores[i] for i in candidates)
        exps = {i: math.exp((scores[i] - peak) * scale) for i in candidates}
        total = sum(exps.values())
        ranked = sorted(candidates, key=lambda i: -scores[i])
        names = self._level1.names
        top = tuple((names[i], round(exps[i] / total, 4)) for i in ranked[:TOP_CATEGORIES])
        best = ranked[0]
        confidence = exps[best] / total
        if confidence < self.min_confidence:
            return unclassified(LOW_CONFIDENCE, top)
        category = names[best]
        return Classification(
            category=category,
            subcategory=self._subcategory(category, clean.text, terms),
            confidence=round(confidence, 4),
            keywords=_explain(
                contributions[best], contributions[ranked[1]] if len(ranked) > 1 else []
            ),
            urgency=urgency.level,
            urgency_keywords=urgency.words,
            urgency_kind=urgency.kind,
            top=top,
            unclassified_reason=None,
            truncated=clean.truncated,
        )

    def _subcategory(self, category: str, text: str, terms: Mapping[str, float]) -> str | None:
        table = self._level2.get(category)
        if table is None:
            return None
        scores, contributions, _ = table.score(text, terms)
        best = max(range(len(scores)), key=lambda i: scores[i])
        return table.names[best] if contributions[best] and scores[best] > 0 else None
