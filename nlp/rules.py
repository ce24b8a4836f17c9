"""Classification rules (分类规则) as data: a YAML file staff can read and edit.

Layout (see ``nlp/data/domain_rules.yaml`` for a commented example)::

    version: 1
    settings: {min_confidence: 0.6, max_chars: 2000, confidence_scale: 1.5}
    urgency:
      negations: [没有, 未, 预防]          # "没有着火" is not a fire
      emergency:                         # words may be grouped by kind of danger
        fire: {keywords: [着火], all_of: [[电线, 冒火|火花]]}   # a|b: either word
        gas:  {keywords: [煤气泄漏]}
      urgent:    {keywords: [停水, 停电]}    # or flat, without kinds
    categories:
      城乡建设:                           # 一级分类
        keywords: {物业: 1.2, 小区: 0.8}  # word: weight added when the word occurs
        negative: {学校: 0.5}             # word: weight taken away when it occurs
        combos:                           # weight added only when all words occur together
          - {all: [电动车, 充电], weight: 1.0}
        subcategories:                    # 二级分类, chosen within the 一级 class
          住房保障与房地产: {keywords: {物业费: 1.0, 公积金: 1.0}}
    stop_words:                           # filler: never a keyword, never mined, never shown
      words: [星期, 晚上, 楼下, 里面]
      patterns: ['^第?[0-9一二三四五六七八九十两几]+[个楼层天]?$']   # whole-word regexes

A keyword list instead of a mapping gives every word weight 1.0.  A bare list under
``stop_words`` is its ``words``.  No keyword of any category (nor a combo's word) may be a stop
word: such a file is refused, naming the word, so the 判断依据 shown to people never includes
filler.  Urgency words are not affected ("里面" still tells that someone is trapped).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from importlib import resources
from math import isfinite
from pathlib import Path
from typing import Any

import yaml

RULES_VERSION = 1
DEFAULT_RULES = "default_rules.yaml"
DOMAIN_RULES = "domain_rules.yaml"
URGENCY_LEVELS = ("emergency", "urgent")
MAX_RULES_BYTES = 20 * 2**20  # the shipped rules are under 1 MB

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class RulesError(ValueError):
    """A rules file that cannot be used (bad YAML, wrong shape, bad weight)."""


@dataclass(frozen=True)
class Combo:
    """共现规则: ``weight`` counts only when every word in ``words`` occurs."""

    words: tuple[str, ...]
    weight: float


@dataclass(frozen=True)
class CategoryRules:
    """Rules of one category (一级 or 二级)."""

    keywords: Mapping[str, float] = field(default_factory=dict)
    negative: Mapping[str, float] = field(default_factory=dict)
    combos: tuple[Combo, ...] = ()
    subcategories: Mapping[str, CategoryRules] = field(default_factory=dict)


@dataclass(frozen=True)
class UrgencyRules:
    """紧急程度: words or word sets that make a complaint an emergency or urgent."""

    keywords: tuple[str, ...] = ()
    all_of: tuple[tuple[str, ...], ...] = ()
    # Words grouped by kind of danger (fire, gas …) so that the kind can be told apart.
    kinds: Mapping[str, UrgencyRules] = field(default_factory=dict)


@dataclass(frozen=True)
class Settings:
    """Classifier knobs stored with the rules so a rules file is self-contained."""

    min_confidence: float = 0.6
    max_chars: int = 2000
    # Confidence is softmax(scale × score ÷ evidence): bigger scale, sharper confidence.
    confidence_scale: float = 1.5


@dataclass(frozen=True)
class StopWords:
    """停用词: filler words (星期, 晚上, 楼下, 三个…) that say nothing about a category.

    They are kept out of the category rules (checked on load), out of mining, and so out of the
    keywords shown to people as 判断依据.  ``patterns`` are regexes a whole word must match
    (numbers with a measure word: 三个, 七楼, 第二天), for fillers too many to list.
    """

    words: frozenset[str] = frozenset()
    patterns: tuple[str, ...] = ()

    @cached_property
    def _pattern(self) -> re.Pattern[str] | None:
        if not self.patterns:
            return None
        return re.compile("|".join(f"(?:{p})" for p in self.patterns))

    def __contains__(self, word: object) -> bool:
        if not isinstance(word, str):
            return False
        if word in self.words:
            return True
        pattern = self._pattern
        return pattern is not None and pattern.fullmatch(word) is not None

    def __bool__(self) -> bool:
        return bool(self.words or self.patterns)


@dataclass(frozen=True)
class RuleSet:
    """All rules: categories keyed by 一级 name, urgency rules, stop words and settings."""

    categories: Mapping[str, CategoryRules]
    urgency: Mapping[str, UrgencyRules] = field(default_factory=dict)
    negations: tuple[str, ...] = ()
    settings: Settings = field(default_factory=Settings)
    stop_words: StopWords = field(default_factory=StopWords)

    def with_categories(self, categories: Mapping[str, CategoryRules]) -> RuleSet:
        """A copy with other category rules (urgency and settings kept)."""
        return replace(self, categories=dict(categories))


def _data_file(name: str) -> Path:
    return Path(str(resources.files("nlp").joinpath("data").joinpath(name)))


def default_rules_path() -> Path:
    """The shipped rules: domain rules plus keywords mined from labelled messages."""
    return _data_file(DEFAULT_RULES)


def domain_rules_path() -> Path:
    """The hand-written rules only (no data mined); the base for mining and cross-validation."""
    return _data_file(DOMAIN_RULES)


def _weights(value: Any, where: str) -> dict[str, float]:
    if value is None:
        return {}
    if isinstance(value, list):
        if not all(isinstance(word, str | int) for word in value):
            raise RulesError(f"{where}: expected a list of words")
        value = {word: 1.0 for word in value}
    if not isinstance(value, dict):
        raise RulesError(f"{where}: expected a mapping word: weight or a list of words")
    out: dict[str, float] = {}
    for word, weight in value.items():
        if isinstance(word, int) and not isinstance(word, bool):
            word = str(word)  # YAML reads 110 or 5 as numbers
        if not isinstance(word, str) or not word.strip():
            raise RulesError(f"{where}: keyword {word!r} is not a non-empty string")
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not isfinite(weight):
            raise RulesError(f"{where}: weight of {word!r} is not a number")
        out[word.strip().lower()] = float(weight)
    return out


def _words(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise RulesError(f"{where}: expected a list of words")
    words = [str(w) if isinstance(w, int) and not isinstance(w, bool) else w for w in value]
    if not all(isinstance(w, str) and w.strip() for w in words):
        raise RulesError(f"{where}: expected a list of words")
    return tuple(w.strip().lower() for w in words)


_CATEGORY_FIELDS = frozenset({"keywords", "negative", "combos", "subcategories"})


def _category(name: str, raw: Any) -> CategoryRules:
    if raw is None:
        raw = {}
    # Shorthand: a bare list or word: weight mapping is the category's keywords.
    if isinstance(raw, list) or (isinstance(raw, dict) and raw and not _CATEGORY_FIELDS & set(raw)):
        raw = {"keywords": raw}
    if not isinstance(raw, dict):
        raise RulesError(f"category {name!r}: expected a mapping")
    combos = []
    for i, combo in enumerate(raw.get("combos") or []):
        if not isinstance(combo, dict):
            raise RulesError(f"category {name!r}: combo {i} must be a mapping")
        words = _words(combo.get("all"), f"category {name!r} combo {i}")
        weight = combo.get("weight", 1.0)
        if (
            not words
            or isinstance(weight, bool)
            or not isinstance(weight, int | float)
            or not isfinite(weight)
        ):
            raise RulesError(f"category {name!r}: combo {i} needs words and a numeric weight")
        combos.append(Combo(words, float(weight)))
    subs = raw.get("subcategories") or {}
    if not isinstance(subs, dict):
        raise RulesError(f"category {name!r}: subcategories must be a mapping")
    return CategoryRules(
        keywords=_weights(raw.get("keywords"), f"category {name!r} keywords"),
        negative=_weights(raw.get("negative"), f"category {name!r} negative"),
        combos=tuple(combos),
        subcategories={str(k): _category(f"{name}/{k}", v) for k, v in subs.items()},
    )


def parse_rules(data: Any) -> RuleSet:
    """Build a ``RuleSet`` from parsed YAML; raises ``RulesError`` with the faulty place."""
    if not isinstance(data, dict) or not isinstance(data.get("categories"), dict):
        raise RulesError("rules need a 'categories' mapping")
    if not data["categories"]:
        raise RulesError("rules need at least one category")
    version = data.get("version", RULES_VERSION)
    if version != RULES_VERSION:
        raise RulesError(f"unsupported rules version {version!r}")
    raw_urgency = data.get("urgency") or {}
    if not isinstance(raw_urgency, dict):
        raise RulesError("'urgency' must be a mapping")
    urgency = {level: _urgency_level(level, raw_urgency.get(level)) for level in URGENCY_LEVELS}
    raw_settings = data.get("settings") or {}
    if not isinstance(raw_settings, dict):
        raise RulesError("'settings' must be a mapping")
    try:
        settings = Settings(
            min_confidence=float(raw_settings.get("min_confidence", Settings.min_confidence)),
            max_chars=int(raw_settings.get("max_chars", Settings.max_chars)),
            confidence_scale=float(raw_settings.get("confidence_scale", Settings.confidence_scale)),
        )
    except (TypeError, ValueError) as exc:
        raise RulesError(f"bad settings: {exc}") from exc
    _check_settings(settings)
    categories = {str(k): _category(str(k), v) for k, v in data["categories"].items()}
    stop_words = _stop_words(data.get("stop_words"))
    _check_no_stop_words(categories, stop_words)
    return RuleSet(
        categories=categories,
        urgency=urgency,
        negations=_words(raw_urgency.get("negations"), "urgency negations"),
        settings=settings,
        stop_words=stop_words,
    )


_STOP_FIELDS = frozenset({"words", "patterns"})


def _stop_words(raw: Any) -> StopWords:
    if raw is None:
        return StopWords()
    if isinstance(raw, list):
        raw = {"words": raw}
    if not isinstance(raw, dict) or not set(raw) <= _STOP_FIELDS:
        raise RulesError("'stop_words' must be a list of words or a mapping of words and patterns")
    patterns = raw.get("patterns") or []
    # Not through _words: lower-casing would change a regex ("\\D" is not "\\d").
    if not isinstance(patterns, list) or not all(isinstance(p, str) and p for p in patterns):
        raise RulesError("stop_words: patterns must be a list of regexes")
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise RulesError(f"stop_words: pattern {pattern!r} is not a regex: {exc}") from None
    return StopWords(frozenset(_words(raw.get("words"), "stop_words words")), tuple(patterns))


def _category_words(name: str, rules: CategoryRules) -> Iterable[tuple[str, str]]:
    """(place, word) for every word a category's score can come from, subcategories included."""
    for word in rules.keywords:
        yield f"category {name!r} keywords", word
    for word in rules.negative:
        yield f"category {name!r} negative", word
    for combo in rules.combos:
        for word in combo.words:
            yield f"category {name!r} combo {'+'.join(combo.words)}", word
    for sub, sub_rules in rules.subcategories.items():
        yield from _category_words(f"{name}/{sub}", sub_rules)


def _check_no_stop_words(categories: Mapping[str, CategoryRules], stop_words: StopWords) -> None:
    # A stop word that scores would be shown as 判断依据; refuse the file rather than hide it.
    if not stop_words:
        return
    for name, rules in categories.items():
        for where, word in _category_words(name, rules):
            if word in stop_words:
                raise RulesError(f"{where}: {word!r} is a stop word (see 'stop_words')")


_URGENCY_FIELDS = ("keywords", "all_of")


def _urgency_words(raw: dict[Any, Any], where: str) -> UrgencyRules:
    all_of = raw.get("all_of") or []
    if not isinstance(all_of, list):
        raise RulesError(f"{where}: all_of must be a list of word lists")
    return UrgencyRules(
        keywords=_words(raw.get("keywords"), f"{where} keywords"),
        all_of=tuple(_words(group, f"{where} all_of") for group in all_of),
    )


def _urgency_level(level: str, raw: Any) -> UrgencyRules:
    """One level: its own keywords/all_of (the old flat form), and any other key is a kind."""
    raw = raw or {}
    if not isinstance(raw, dict):
        raise RulesError(f"urgency {level!r} must be a mapping")
    where = f"urgency {level!r}"
    kinds = {}
    for kind, body in raw.items():
        if kind in _URGENCY_FIELDS:
            continue
        if not isinstance(kind, str) or not kind.strip():
            raise RulesError(f"{where}: kind {kind!r} is not a name")
        if not isinstance(body, dict) or not set(body) <= set(_URGENCY_FIELDS):
            raise RulesError(f"{where}: kind {kind!r} must be a mapping of keywords and all_of")
        kinds[kind.strip()] = _urgency_words(body, f"{where} {kind!r}")
    return replace(_urgency_words(raw, where), kinds=kinds)


def _check_settings(settings: Settings) -> None:
    if not 0 <= settings.min_confidence <= 1:
        raise RulesError("settings: min_confidence must lie between 0 and 1")
    if settings.max_chars < 1:
        raise RulesError("settings: max_chars must be at least 1")
    if not 0 < settings.confidence_scale < 1000:
        raise RulesError("settings: confidence_scale must be above 0 (and below 1000)")


def load_rules(path: str | Path) -> RuleSet:
    """Read a rules YAML file; any problem is a RulesError of one line."""
    try:
        with open(path, "rb") as file:
            raw = file.read(MAX_RULES_BYTES + 1)
    except OSError as exc:
        raise RulesError(f"cannot read rules file {path}: {exc.strerror or exc}") from exc
    if len(raw) > MAX_RULES_BYTES:
        raise RulesError(f"{path}: a rules file may hold at most {MAX_RULES_BYTES:,} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RulesError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        raise RulesError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from None
    except RecursionError:
        raise RulesError(f"{path}: nested too deeply") from None
    return parse_rules(data)


def _round(weights: Mapping[str, float]) -> dict[str, float]:
    # Sorted by weight so the words that matter most come first for a reader.
    items = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))
    return {word: round(weight, 4) for word, weight in items}


def _category_data(rules: CategoryRules) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if rules.keywords:
        out["keywords"] = _round(rules.keywords)
    if rules.negative:
        out["negative"] = _round(rules.negative)
    if rules.combos:
        out["combos"] = [{"all": list(c.words), "weight": c.weight} for c in rules.combos]
    if rules.subcategories:
        out["subcategories"] = {k: _category_data(v) for k, v in rules.subcategories.items()}
    return out


def _urgency_data(rules: UrgencyRules) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if rules.keywords or not rules.kinds:
        out["keywords"] = list(rules.keywords)
    if rules.all_of or not rules.kinds:
        out["all_of"] = [list(g) for g in rules.all_of]
    for kind, words in rules.kinds.items():
        out[kind] = _urgency_data(words)
    return out


def rules_to_data(ruleset: RuleSet) -> dict[str, Any]:
    """Plain data for YAML (the inverse of ``parse_rules``)."""
    urgency: dict[str, Any] = {"negations": list(ruleset.negations)}
    for level, rules in ruleset.urgency.items():
        urgency[level] = _urgency_data(rules)
    s = ruleset.settings
    data: dict[str, Any] = {
        "version": RULES_VERSION,
        "settings": {
            "min_confidence": s.min_confidence,
            "max_chars": s.max_chars,
            "confidence_scale": s.confidence_scale,
        },
        "urgency": urgency,
    }
    if ruleset.stop_words:
        data["stop_words"] = {
            "words": sorted(ruleset.stop_words.words),
            "patterns": list(ruleset.stop_words.patterns),
        }
    data["categories"] = {k: _category_data(v) for k, v in ruleset.categories.items()}
    return data


def dump_rules(ruleset: RuleSet, path: str | Path, header: Iterable[str] = ()) -> None:
    """Write ``ruleset`` as YAML (UTF-8, Chinese kept readable), with optional comment lines."""
    body = yaml.dump(
        rules_to_data(ruleset), Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=1000
    )
    comments = "".join(f"# {line}\n" for line in header)
    Path(path).write_text(comments + body, encoding="utf-8")
