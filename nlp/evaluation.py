"""Evaluation (评测): metrics in pure Python, stratified k-fold, and honest cross-validation.

Cross-validation mines rules on the training folds only and measures them on the held-out fold,
so no message ever helps classify itself.  Metrics take the classifier's best guess (top-1
category, whatever its confidence), the figure comparable with any other classifier; how many
complaints would clear the triage threshold is reported beside it as ``coverage``.
"""

from __future__ import annotations

import csv
import random
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nlp.classifier import Classifier
from nlp.mining import mine_rules, split_label
from nlp.rules import RuleSet

NONE_LABEL = "(未分类)"
TITLE_JOIN = "。"
URGENCY_LABELS = ("emergency", "urgent", "normal")


class DataError(ValueError):
    """A labelled CSV that cannot be used."""


@dataclass(frozen=True)
class LabelledRow:
    """One labelled complaint (留言): text, label ('一级' or '一级/二级'), optional title."""

    text: str
    label: str
    title: str = ""

    def field(self, name: str) -> str:
        """The text to classify: 'title' alone, or 'text' with the title joined in front."""
        if name == "title":
            return self.title
        return f"{self.title}{TITLE_JOIN}{self.text}" if self.title else self.text


def read_labelled_csv(path: str | Path, label: str = "label") -> list[LabelledRow]:
    """Read a CSV with columns ``text`` and ``label`` (or another label column, e.g.
    ``urgency``), and optionally ``title``."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            columns = set(reader.fieldnames or ())
            if not {"text", label} <= columns:
                raise DataError(
                    f"{path}: needs columns 'text' and '{label}', found {sorted(columns)}"
                )
            rows = [
                LabelledRow(
                    text=(r.get("text") or "").strip(),
                    label=(r.get(label) or "").strip(),
                    title=(r.get("title") or "").strip(),
                )
                for r in reader
            ]
    except OSError as exc:
        raise DataError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except (csv.Error, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not a readable UTF-8 CSV: {exc}") from exc
    rows = [r for r in rows if r.label and (r.text or r.title)]
    if not rows:
        raise DataError(f"{path}: no labelled rows")
    return rows


def training_samples(rows: Iterable[LabelledRow]) -> list[tuple[str, str]]:
    """(text, label) pairs for mining: each full message, plus its title alone when it has one.

    The title as a sample of its own teaches the chat-length wording residents actually type.
    """
    out = []
    for row in rows:
        out.append((row.field("text"), row.label))
        if row.title:
            out.append((row.title, row.label))
    return out


def level_label(label: str, level: int) -> str:
    """The label at taxonomy level 1 ('一级') or 2 ('一级/二级')."""
    head, tail = split_label(label)
    return head if level == 1 else f"{head}/{tail or ''}"


def stratified_kfold(
    labels: Sequence[str], k: int, seed: int = 0
) -> list[tuple[list[int], list[int]]]:
    """Deterministic stratified k-fold: each class shuffled with ``seed``, dealt round-robin."""
    if k < 2:
        raise ValueError("k must be at least 2")
    by_class: dict[str, list[int]] = defaultdict(list)
    for i, label in enumerate(labels):
        by_class[label].append(i)
    rng = random.Random(seed)
    folds: list[list[int]] = [[] for _ in range(k)]
    offset = 0
    for label in sorted(by_class):
        members = by_class[label]
        rng.shuffle(members)
        for j, i in enumerate(members):
            folds[(offset + j) % k].append(i)
        offset += len(members)  # keeps fold sizes balanced across small classes
    everyone = set(range(len(labels)))
    return [(sorted(everyone - set(f)), sorted(f)) for f in folds]


def metrics(truth: Sequence[str], predicted: Sequence[str | None]) -> dict[str, Any]:
    """Accuracy, macro-F1, per-class precision/recall/F1/support and the confusion matrix.

    The classes are those of the evaluation set (its true labels).  A guess outside them (a
    category the set never uses, or no answer) is simply wrong: it costs the true class its
    recall and shows in the confusion matrix and in ``outside``, but does not add a phantom
    zero to the macro average (the same as scikit-learn's ``f1_score(labels=classes)``).
    """
    if len(truth) != len(predicted):
        raise ValueError("truth and predictions differ in length")
    pred = [p if p is not None else NONE_LABEL for p in predicted]
    classes = sorted(set(truth))
    outside = sorted(set(pred) - set(classes), key=lambda p: (p == NONE_LABEL, p))
    pairs = Counter(zip(truth, pred, strict=True))
    per_class = {}
    for cls in classes:
        tp = pairs[cls, cls]
        n_pred = sum(n for (_, p), n in pairs.items() if p == cls)
        n_true = sum(n for (t, _), n in pairs.items() if t == cls)
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_true if n_true else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[cls] = {"precision": precision, "recall": recall, "f1": f1, "support": n_true}
    columns = classes + outside
    total = len(truth)
    return {
        "n": total,
        "accuracy": sum(pairs[c, c] for c in classes) / total if total else 0.0,
        "macro_f1": statistics.fmean(v["f1"] for v in per_class.values()) if per_class else 0.0,
        "per_class": per_class,
        "outside": sum(n for (_, p), n in pairs.items() if p not in per_class),
        "labels": columns,
        "confusion": [[pairs[t, p] for p in columns] for t in classes],
    }


@dataclass(frozen=True)
class Predictions:
    """Best guesses for a batch, with timing."""

    labels: list[str | None]
    classified: int  # how many would pass the classifier's own confidence threshold
    latencies: list[float]  # seconds per complaint


def predict(classifier: Classifier, texts: Sequence[str], level: int = 1) -> Predictions:
    """Top-1 guesses (ignoring the triage threshold) and per-complaint latency."""
    labels: list[str | None] = []
    latencies = []
    classified = 0
    clock = time.perf_counter
    for text in texts:
        started = clock()
        result = classifier.classify(text)
        latencies.append(clock() - started)
        classified += result.is_classified
        guess = result.category or (result.top[0][0] if result.top else None)
        if level == 2 and guess is not None:
            guess = f"{guess}/{result.subcategory or ''}"
        labels.append(guess)
    return Predictions(labels, classified, latencies)


def speed(latencies: Sequence[float]) -> dict[str, float]:
    """Throughput and latency percentiles of one-by-one classification."""
    if not latencies:
        return {"per_second": 0.0, "p50_ms": 0.0, "p99_ms": 0.0}
    ordered = sorted(latencies)

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {
        "per_second": len(ordered) / sum(ordered) if sum(ordered) else float("inf"),
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
    }


def evaluate(
    classifier: Classifier, rows: Sequence[LabelledRow], level: int = 1, field: str = "text"
) -> dict[str, Any]:
    """Measure ``classifier`` on ``rows`` as they are (no mining)."""
    rows = [r for r in rows if r.field(field)]
    got = predict(classifier, [r.field(field) for r in rows], level)
    report = metrics([level_label(r.label, level) for r in rows], got.labels)
    report["coverage"] = got.classified / len(rows) if rows else 0.0
    report["speed"] = speed(got.latencies)
    return report


def evaluate_urgency(
    classifier: Classifier, rows: Sequence[LabelledRow], field: str = "text"
) -> dict[str, Any]:
    """Measure urgency (emergency / urgent / normal) on ``rows`` labelled with it: per-class
    precision/recall/F1, confusion matrix, and how often each kind of danger was named."""
    unknown = sorted({r.label for r in rows} - set(URGENCY_LABELS))
    if unknown:
        raise DataError(
            f"unknown urgency {', '.join(map(repr, unknown[:3]))}: expected "
            + ", ".join(URGENCY_LABELS)
        )
    rows = [r for r in rows if r.field(field)]
    guesses: list[str | None] = []
    kinds: Counter[str] = Counter()
    latencies = []
    clock = time.perf_counter
    for row in rows:
        started = clock()
        result = classifier.classify(row.field(field))
        latencies.append(clock() - started)
        guesses.append(result.urgency)
        if result.urgency_kind:
            kinds[result.urgency_kind] += 1
    report = metrics([r.label for r in rows], guesses)
    report["kinds"] = dict(kinds.most_common())
    report["speed"] = speed(latencies)
    return report


def cross_validate(
    rows: Sequence[LabelledRow],
    k: int,
    base: RuleSet,
    level: int = 1,
    field: str = "text",
    seed: int = 0,
    miner: Callable[..., RuleSet] = mine_rules,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """K-fold cross-validation: mine on k−1 folds (from ``base``), measure on the one left out.

    Folds are stratified over all rows; with ``field='title'`` only held-out rows that have a
    title are measured (training still uses every training row's message and title).
    """
    folds = stratified_kfold([level_label(r.label, 1) for r in rows], k, seed)
    truth: list[str] = []
    guesses: list[str | None] = []
    latencies: list[float] = []
    classified = 0
    fold_reports = []
    for n, (train, test) in enumerate(folds, 1):
        rules = miner(training_samples(rows[i] for i in train), base=base)
        held_out = [rows[i] for i in test if rows[i].field(field)]
        got = predict(Classifier(rules), [r.field(field) for r in held_out], level)
        fold_truth = [level_label(r.label, level) for r in held_out]
        fold = metrics(fold_truth, got.labels)
        fold_reports.append({"accuracy": fold["accuracy"], "macro_f1": fold["macro_f1"]})
        truth += fold_truth
        guesses += got.labels
        latencies += got.latencies
        classified += got.classified
        if progress:
            progress(n, k)
    report = metrics(truth, guesses)
    report["folds"] = fold_reports
    report["fold_mean"] = {
        "accuracy": statistics.fmean(f["accuracy"] for f in fold_reports),
        "macro_f1": statistics.fmean(f["macro_f1"] for f in fold_reports),
    }
    report["coverage"] = classified / len(truth) if truth else 0.0
    report["speed"] = speed(latencies)
    return report
