"""Metrics on tiny known examples, stratified folds, CSV reading."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp.evaluation import (
    NONE_LABEL,
    DataError,
    LabelledRow,
    cross_validate,
    metrics,
    read_labelled_csv,
    speed,
    stratified_kfold,
    training_samples,
)
from nlp.rules import RuleSet

from .conftest import SYNTHETIC


def test_metrics_known_example() -> None:
    truth = ["a", "a", "a", "b", "b", "c"]
    pred = ["a", "a", "b", "b", None, "c"]
    m = metrics(truth, pred)
    assert m["accuracy"] == pytest.approx(4 / 6)
    a, b, c = (m["per_class"][k] for k in "abc")
    assert (a["precision"], a["recall"]) == (1.0, pytest.approx(2 / 3))
    assert a["f1"] == pytest.approx(0.8)
    assert (b["precision"], b["recall"], b["f1"]) == (0.5, 0.5, 0.5)
    assert (c["precision"], c["recall"], c["f1"]) == (1.0, 1.0, 1.0)
    assert m["macro_f1"] == pytest.approx((0.8 + 0.5 + 1.0) / 3)
    assert m["labels"] == ["a", "b", "c", NONE_LABEL]
    assert m["confusion"] == [[2, 1, 0, 0], [0, 1, 0, 1], [0, 0, 1, 0]]


def test_metrics_match_scikit_learn() -> None:
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    truth = list("aabbccddaabbcd")
    pred = list("abbbcadddabccd")
    m = metrics(truth, pred)
    assert m["macro_f1"] == pytest.approx(sklearn_metrics.f1_score(truth, pred, average="macro"))
    pred[0] = "z"  # a category the evaluation set does not use
    m = metrics(truth, pred)
    expected = sklearn_metrics.f1_score(truth, pred, labels=sorted(set(truth)), average="macro")
    assert m["macro_f1"] == pytest.approx(expected)
    assert m["accuracy"] == pytest.approx(sklearn_metrics.accuracy_score(truth, pred))


def test_metrics_guess_outside_the_classes_is_wrong() -> None:
    m = metrics(["a", "a", "b"], ["a", "z", "b"])
    assert set(m["per_class"]) == {"a", "b"}
    assert m["per_class"]["a"]["recall"] == 0.5
    assert m["macro_f1"] == pytest.approx((2 / 3 + 1) / 2)
    assert m["outside"] == 1
    assert m["labels"] == ["a", "b", "z"]
    assert m["confusion"] == [[1, 0, 1], [0, 1, 0]]


def test_stratified_kfold_is_deterministic_and_stratified() -> None:
    labels = ["a"] * 10 + ["b"] * 5 + ["c"] * 3
    folds = stratified_kfold(labels, 3, seed=7)
    assert folds == stratified_kfold(labels, 3, seed=7)
    assert folds != stratified_kfold(labels, 3, seed=8)
    tests = [set(te) for _, te in folds]
    assert set().union(*tests) == set(range(len(labels)))
    assert sum(len(t) for t in tests) == len(labels)
    for train, test in folds:
        assert not set(train) & set(test)
        assert sorted(labels[i] for i in test).count("a") in (3, 4)
    with pytest.raises(ValueError):
        stratified_kfold(labels, 1)


def test_speed_percentiles() -> None:
    s = speed([0.001] * 99 + [0.01])
    assert s["p50_ms"] == pytest.approx(1.0)
    assert s["p99_ms"] == pytest.approx(10.0)
    assert s["per_second"] == pytest.approx(100 / 0.109)


def test_row_fields_and_training_samples() -> None:
    row = LabelledRow(text="正文", label="城乡建设", title="标题")
    assert row.field("text") == "标题。正文"
    assert row.field("title") == "标题"
    assert LabelledRow(text="正文", label="x").field("text") == "正文"
    assert training_samples([row]) == [("标题。正文", "城乡建设"), ("标题", "城乡建设")]


def test_read_csv(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("id,title,text,label\n1,标题,正文,城乡建设\n2,,,城乡建设\n", encoding="utf-8")
    assert read_labelled_csv(path) == [LabelledRow("正文", "城乡建设", "标题")]
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(DataError, match="columns"):
        read_labelled_csv(tmp_path / "bad.csv")
    with pytest.raises(DataError):
        read_labelled_csv(tmp_path / "missing.csv")
    (tmp_path / "bin.csv").write_bytes(b"text,label\n\xff\xfe\x00,x\n")
    with pytest.raises(DataError):
        read_labelled_csv(tmp_path / "bin.csv")


def test_cross_validate_on_synthetic_rows() -> None:
    rows = [LabelledRow(text=t, label=label) for t, label in SYNTHETIC] * 2
    seen: list[int] = []
    report = cross_validate(rows, 3, RuleSet(categories={}), progress=lambda n, k: seen.append(n))
    assert seen == [1, 2, 3]
    assert len(report["folds"]) == 3
    assert report["n"] == len(rows)
    assert 0.0 <= report["macro_f1"] <= 1.0
    assert report["speed"]["per_second"] > 0
