"""Rule mining (规则挖掘): learn keyword weights from labelled complaints and staff corrections.

``mine_rules`` fits a linear support-vector machine (one category against the rest, squared
hinge loss, L2 regularised, no intercept) by dual coordinate descent — the method of LIBLINEAR —
in pure Python, on sublinear TF-IDF word features.  The hand-written keywords of the base rules
take part as short, low-cost examples of their category, so all categories of the taxonomy are
learnt on one scale, also those the data never shows.  The learnt weights × IDF are exactly the
keyword weights the classifier adds up (the TF-IDF norm is common to all categories and cannot
change the ranking), so the mined file is ordinary, editable rules: positive weights become
``keywords``, negative ones ``negative``.

``fold_corrections`` learns from staff reclassifications (改派分类) online: for each corrected
text it moves weight from the wrongly winning category to the corrected one, on that text's
words, until the classifier gives the staff's answer with some margin.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import replace
from operator import mul

from nlp.rules import CategoryRules, RuleSet, Settings, StopWords
from nlp.text import DEFAULT_MAX_CHARS, clean_text
from nlp.tokenizer import term_weights

LABEL_SEPARATOR = "/"


def split_label(label: str) -> tuple[str, str | None]:
    """'一级/二级' → ('一级', '二级'); '一级' → ('一级', None)."""
    head, _, tail = label.strip().partition(LABEL_SEPARATOR)
    return head.strip(), (tail.strip() or None)


def signed_weights(rules: CategoryRules) -> dict[str, float]:
    """Keywords minus negative keywords, as one word → signed weight mapping."""
    out = dict(rules.keywords)
    for word, weight in rules.negative.items():
        out[word] = out.get(word, 0.0) - abs(weight)
    return out


def with_signed_weights(rules: CategoryRules, weights: Mapping[str, float]) -> CategoryRules:
    """``rules`` with keywords/negative replaced by a signed mapping (zero weights dropped)."""
    return replace(
        rules,
        keywords={w: v for w, v in weights.items() if v > 0},
        negative={w: -v for w, v in weights.items() if v < 0},
    )


def features(text: str, max_chars: int, stop_words: StopWords) -> dict[str, float]:
    """The words of ``text`` that may become keywords: its term weights less the stop words, so
    filler ("晚上", "楼下", "三个") is never learnt and never shown as 判断依据."""
    terms = term_weights(clean_text(text, max_chars).text)
    if not stop_words:
        return terms
    return {t: tf for t, tf in terms.items() if t not in stop_words}


def _base_examples(
    rules: CategoryRules, stop_words: StopWords
) -> list[tuple[str, dict[str, float]]]:
    """Each positive keyword (also of subcategories) and each combo as a tiny example text."""
    words = [w for w, v in rules.keywords.items() if v > 0]
    for sub in rules.subcategories.values():
        words += [w for w, v in sub.keywords.items() if v > 0]
    out = []
    for word in dict.fromkeys(words):
        terms = features(word, DEFAULT_MAX_CHARS, stop_words)
        if terms:
            out.append((word, terms))
    for combo in rules.combos:
        text = " ".join(combo.words)
        terms = features(text, DEFAULT_MAX_CHARS, stop_words)
        if terms:
            out.append((combo.words[0], terms))
    return out


def _train_one_vs_rest(
    rows: list[tuple[list[int], list[float]]],
    positive: list[bool],
    prior: list[float],
    costs: list[float],
    max_iter: int,
    tol: float,
    rng: random.Random,
) -> list[float]:
    """Dual coordinate descent for min ½‖w − prior‖² + Σ Cᵢ max(0, 1 − yᵢ w·xᵢ)²."""
    w = list(prior)
    n = len(rows)
    alpha = [0.0] * n
    diags = [0.5 / c for c in costs]
    qd = [sum(v * v for v in vals) + d for (_, vals), d in zip(rows, diags, strict=True)]
    ys = [1.0 if p else -1.0 for p in positive]
    order = list(range(n))
    for _ in range(max_iter):
        rng.shuffle(order)
        pg_max, pg_min = -math.inf, math.inf
        for i in order:
            idx, vals = rows[i]
            yi = ys[i]
            a = alpha[i]
            g = yi * sum(map(mul, map(w.__getitem__, idx), vals)) - 1.0 + a * diags[i]
            pg = g if a > 0.0 else min(g, 0.0)
            pg_max = max(pg_max, pg)
            pg_min = min(pg_min, pg)
            if abs(pg) > 1e-12:
                new = max(a - g / qd[i], 0.0)
                alpha[i] = new
                step = (new - a) * yi
                for j, v in zip(idx, vals, strict=True):
                    w[j] += step * v
        if pg_max - pg_min <= tol:
            break
    return w


def mine_rules(
    samples: Iterable[tuple[str, str]],
    base: RuleSet | None = None,
    *,
    c: float = 1.0,
    min_df: int = 2,
    min_weight: float = 1.0,
    max_iter: int = 40,
    tol: float = 0.1,
    seed: int = 0,
    use_base_examples: bool = True,
    base_example_cost: float = 0.3,
    unseen_example_cost: float = 1.0,
    use_prior: bool = False,
    balanced: bool = True,
) -> RuleSet:
    """Mine weighted keywords for each 一级 category from ``samples`` of (text, label).

    ``base`` gives the starting rules: its urgency rules, settings, combos and subcategories
    are kept; its keywords become training examples (``base_example_cost`` × ``c`` each, so
    data outweighs them where both speak; ``unseen_example_cost`` × ``c`` for categories
    without samples, whose only knowledge they are).  ``use_prior`` additionally pulls the learnt
    weights towards the hand-written ones.  ``c`` is the SVM cost (lower: smoother weights);
    ``min_df`` ignores words seen in fewer messages; ``min_weight`` drops keywords too weak to
    matter, which keeps the file readable.  ``base``'s stop words are never learnt.
    Deterministic for a given ``seed``.
    """
    base = base or RuleSet(categories={})
    # Learn from the same cut of each message that the classifier will look at.
    max_chars = base.settings.max_chars
    stop_words = base.stop_words
    docs: list[dict[str, float]] = []
    labels: list[str] = []
    for text, label in samples:
        category, _ = split_label(label)
        if not category:
            continue
        docs.append(features(text, max_chars, stop_words))
        labels.append(category)
    if not docs:
        return base
    if balanced:
        # Each category weighs the same in total, so small ones are not drowned out: this is
        # what macro-F1 rewards.
        counts = Counter(labels)
        costs = [c * len(labels) / (len(counts) * counts[lab]) for lab in labels]
    else:
        costs = [c] * len(docs)
    # Hand-written keywords take part as one-word examples (人工规则即样本): every category of
    # the taxonomy, even one the data never shows, is learnt on the same scale and its words
    # are weighed against everything else the data says.
    # A one-word example would otherwise outweigh a whole message; a lower cost lets data win
    # where both speak, while a keyword nobody contradicts still points to its category.  A
    # category the data never shows has only these examples, so they count fully there.
    hand_words: set[str] = set()
    seen = set(labels)
    if use_base_examples:
        for category, rules in base.categories.items():
            cost = c * (base_example_cost if category in seen else unseen_example_cost)
            for word, terms in _base_examples(rules, stop_words):
                docs.append(terms)
                labels.append(category)
                costs.append(cost)
                hand_words.add(word)

    df = Counter(word for doc in docs for word in doc)
    vocab = sorted(w for w, n in df.items() if n >= min_df or w in hand_words)
    index = {w: j for j, w in enumerate(vocab)}
    n_docs = len(docs)
    # Smoothed IDF as in common TF-IDF: rare words weigh more, no word weighs zero.
    idf = [math.log((1 + n_docs) / (1 + df[w])) + 1.0 for w in vocab]
    rows = []
    for doc in docs:
        pairs = [(index[w], tf * idf[index[w]]) for w, tf in doc.items() if w in index]
        norm = math.sqrt(sum(v * v for _, v in pairs)) or 1.0
        rows.append(([j for j, _ in pairs], [v / norm for _, v in pairs]))

    rng = random.Random(seed)
    categories = dict(base.categories)
    for category in sorted(set(labels)):
        old = categories.get(category, CategoryRules())
        hand = signed_weights(old) if use_prior else {}
        # The classifier adds w × IDF per keyword (the TF-IDF norm is the same for every
        # category, so it cannot change the ranking); the prior is expressed in w units.
        prior = [hand.get(w, 0.0) / idf[j] for j, w in enumerate(vocab)]
        learnt = _train_one_vs_rest(
            rows, [lab == category for lab in labels], prior, costs, max_iter, tol, rng
        )
        # Phrases jieba splits were learnt through their words; keep only what was learnt.
        weights = {}
        for j, w in enumerate(vocab):
            value = learnt[j] * idf[j]
            if abs(value) >= min_weight:
                weights[w] = value
        categories[category] = with_signed_weights(old, weights)
    return replace(base, categories=categories, settings=base.settings or Settings())


def _fold_level(
    tables: dict[str, dict[str, float]],
    docs: list[tuple[dict[str, float], str]],
    margin: float,
    passes: int,
) -> None:
    """Passive-aggressive updates on signed weight tables until each doc's target wins."""
    for _ in range(passes):
        changed = False
        for terms, target in docs:
            tables.setdefault(target, {})
            scores = {
                name: sum(table.get(t, 0.0) * tf for t, tf in terms.items())
                for name, table in tables.items()
            }
            rivals = [name for name in scores if name != target]
            if not rivals:
                continue
            rival = max(rivals, key=scores.__getitem__)
            mass = sum(tf * tf for tf in terms.values())
            # Margin grows with the evidence so confidence (score ÷ √evidence) clears the bar.
            need = scores[rival] - scores[target] + margin * math.sqrt(mass)
            if need <= 0 or mass == 0:
                continue
            step = need / (2.0 * mass)
            for t, tf in terms.items():
                tables[target][t] = tables[target].get(t, 0.0) + step * tf
                tables[rival][t] = tables[rival].get(t, 0.0) - step * tf
            changed = True
        if not changed:
            return


def fold_corrections(
    base: RuleSet,
    corrections: Iterable[tuple[str, str]],
    *,
    margin: float = 1.0,
    passes: int = 8,
    rounds: int = 5,
) -> RuleSet:
    """Fold staff reclassifications (text, corrected '一级' or '一级/二级') into ``base``.

    Afterwards the classifier answers the corrected category for those texts (and for texts
    mostly made of the same words) with a confidence above the triage threshold: the margin
    doubles, up to ``rounds`` times, until the real classifier agrees with every correction.
    """
    from nlp.classifier import Classifier  # the classifier imports nothing from mining

    settings = base.settings
    level1: list[tuple[dict[str, float], str]] = []
    level2: dict[str, list[tuple[dict[str, float], str]]] = {}
    checks: list[tuple[str, str, str | None]] = []
    for text, label in corrections:
        category, sub = split_label(label)
        # Stop words stay out: a correction must not teach "晚上" to mean a category.
        terms = features(text, settings.max_chars, base.stop_words)
        if not category or not terms:
            continue
        level1.append((terms, category))
        checks.append((text, category, sub))
        if sub:
            level2.setdefault(category, []).append((terms, sub))
    if not level1:
        return base
    rules = base
    for _ in range(rounds):
        rules = _fold_once(base, level1, level2, margin, passes)
        classifier = Classifier(rules)
        results = [(classifier.classify(text), cat, sub) for text, cat, sub in checks]
        if all(
            r.category == cat and (sub is None or r.subcategory == sub) for r, cat, sub in results
        ):
            break
        margin *= 2
    return rules


def _fold_once(
    base: RuleSet,
    level1: list[tuple[dict[str, float], str]],
    level2: dict[str, list[tuple[dict[str, float], str]]],
    margin: float,
    passes: int,
) -> RuleSet:
    tables = {name: signed_weights(rules) for name, rules in base.categories.items()}
    _fold_level(tables, level1, margin, passes)
    categories = {
        name: with_signed_weights(base.categories.get(name, CategoryRules()), table)
        for name, table in tables.items()
    }
    for name, docs in level2.items():
        parent = categories[name]
        subs = {s: signed_weights(r) for s, r in parent.subcategories.items()}
        _fold_level(subs, docs, margin, passes)
        categories[name] = replace(
            parent,
            subcategories={
                s: with_signed_weights(parent.subcategories.get(s, CategoryRules()), table)
                for s, table in subs.items()
            },
        )
    return replace(base, categories=categories)
