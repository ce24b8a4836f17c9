"""Benchmark: keyword rules vs a TF-IDF + linear SVM baseline, on the same folds; and speed.

    python bench/bench_classifier.py [DATA.csv]      # or MINHU_BENCH_DATA=...

Prints one JSON object.  Quality: stratified 5-fold cross-validation at level 1; in each fold
the rules are mined from the hand-written domain rules plus the training rows, the SVM is fit
on exactly the same training samples with the same jieba words, and both are measured on the
held-out rows, on full messages and on titles only.  Speed: the shipped default rules classify
chat-length texts (the titles) one at a time on one core.  scikit-learn is a dev-only extra.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "complaints_dev.csv"
FOLDS = 5
SEED = 0


def _skip(reason: str) -> int:
    print(json.dumps({"benchmark": "classifier", "skipped": reason}, ensure_ascii=False))
    return 0


def _svm_factory():  # type: ignore[no-untyped-def]
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    def make():  # type: ignore[no-untyped-def]
        # The usual strong text baseline: sublinear TF-IDF over the same jieba words the
        # rules see, LinearSVC with default C; inputs are lists of words already.
        return make_pipeline(
            TfidfVectorizer(analyzer=lambda words: words, sublinear_tf=True),
            LinearSVC(C=1.0),
        )

    return make


def main(argv: list[str]) -> int:
    data = Path(argv[1] if len(argv) > 1 else os.environ.get("MINHU_BENCH_DATA", DEFAULT_DATA))
    if not data.is_file():
        return _skip(f"dataset not found: {data}")
    try:
        make_svm = _svm_factory()
    except ImportError:
        return _skip("scikit-learn is not installed (pip install '.[test]')")

    from nlp.classifier import Classifier
    from nlp.evaluation import (
        metrics,
        predict,
        read_labelled_csv,
        speed,
        stratified_kfold,
        training_samples,
    )
    from nlp.mining import mine_rules
    from nlp.rules import domain_rules_path, load_rules
    from nlp.text import clean_text
    from nlp.tokenizer import load_seconds, tokens

    dict_load_ms = load_seconds() * 1000  # first use in this process: the real one-off cost
    started = time.perf_counter()
    default = Classifier.default()
    rules_load_ms = (time.perf_counter() - started) * 1000

    rows = read_labelled_csv(data)
    base = load_rules(domain_rules_path())
    folds = stratified_kfold([r.label for r in rows], FOLDS, SEED)
    words: dict[str, list[str]] = {}

    def tokenised(text: str) -> list[str]:
        if text not in words:
            words[text] = tokens(clean_text(text).text)
        return words[text]

    scores: dict[str, dict[str, list[dict[str, float]]]] = {
        f: {"rules": [], "svm": []} for f in ("text", "title")
    }
    mine_seconds = []
    for train, test in folds:
        samples = training_samples(rows[i] for i in train)
        t0 = time.perf_counter()
        rules = Classifier(mine_rules(samples, base=base))
        mine_seconds.append(time.perf_counter() - t0)
        svm = make_svm().fit([tokenised(t) for t, _ in samples], [label for _, label in samples])
        for field in ("text", "title"):
            held = [rows[i] for i in test if rows[i].field(field)]
            texts = [r.field(field) for r in held]
            truth = [r.label for r in held]
            for name, guesses in (
                ("rules", predict(rules, texts).labels),
                ("svm", list(svm.predict([tokenised(t) for t in texts]))),
            ):
                m = metrics(truth, guesses)
                scores[field][name].append({"macro_f1": m["macro_f1"], "accuracy": m["accuracy"]})

    quality = {}
    for field, by_model in scores.items():
        entry: dict[str, object] = {}
        for name, per_fold in by_model.items():
            entry[name] = {
                "macro_f1": round(statistics.fmean(f["macro_f1"] for f in per_fold), 4),
                "accuracy": round(statistics.fmean(f["accuracy"] for f in per_fold), 4),
                "macro_f1_folds": [round(f["macro_f1"], 4) for f in per_fold],
            }
        entry["ratio_rules_svm"] = round(
            entry["rules"]["macro_f1"] / entry["svm"]["macro_f1"],
            4,  # type: ignore[index]
        )
        entry["n"] = sum(1 for r in rows if r.field(field))
        quality["full_text" if field == "text" else "titles"] = entry

    # Speed of the shipped rules on chat-length texts, one complaint at a time, after warm-up.
    titles = [r.title for r in rows if r.title]
    predict(default, titles[:200])
    chat = speed(predict(default, titles).latencies)
    full = speed(predict(default, [r.field("text") for r in rows[:1000]]).latencies)

    report = {
        "benchmark": "classifier",
        "data": str(data),
        "rows": len(rows),
        "folds": FOLDS,
        "seed": SEED,
        "level": 1,
        "baseline": "TF-IDF (sublinear, jieba words) + LinearSVC(C=1), same folds and samples",
        "quality": quality,
        "speed": {
            "chat_length": {
                "texts": len(titles),
                "median_chars": statistics.median(len(t) for t in titles),
                "per_second": round(chat["per_second"]),
                "p50_ms": round(chat["p50_ms"], 3),
                "p99_ms": round(chat["p99_ms"], 3),
            },
            "full_text": {
                "texts": min(1000, len(rows)),
                "per_second": round(full["per_second"]),
                "p50_ms": round(full["p50_ms"], 3),
                "p99_ms": round(full["p99_ms"], 3),
            },
            "dict_load_ms": round(dict_load_ms, 1),
            "rules_load_ms": round(rules_load_ms, 1),
            "mine_seconds_per_fold": round(statistics.fmean(mine_seconds), 2),
        },
        "python": platform.python_version(),
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(report, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
