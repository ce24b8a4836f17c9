"""Short everyday complaints, as residents type them into a chat, classify.

``data/short_complaints.csv`` (id,text,label) was written for MinHu, none of it taken from any
data set: 120 complaints of 4 to 14 characters about what a street office hears every day
(clutter in stairwells, flyers, manhole covers, noise, wages, schools…).  Issue #16 found
"楼道堆满杂物", "小广告贴满墙", "井盖丢了" unclassified or filed under 环境保护 for "楼下".

The bar: the top category is right for at least 90 % of the set and for at least 80 % of the
rows whose id is a multiple of 5 (held out while the rules were written); at least 90 % clear
the triage threshold.  The shipped rules of before scored 0.79 on the set.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from nlp.classifier import Classifier

SHORT_SET = Path(__file__).parent / "data" / "short_complaints.csv"
ACCURACY, HELD_OUT_ACCURACY, CLASSIFIED = 0.9, 0.8, 0.9


def _rows() -> list[tuple[int, str, str]]:
    with SHORT_SET.open(encoding="utf-8", newline="") as handle:
        return [(int(r["id"]), r["text"], r["label"]) for r in csv.DictReader(handle)]


def _accuracy(classifier: Classifier, rows: list[tuple[int, str, str]]) -> tuple[float, list]:
    misses = []
    for _, text, label in rows:
        result = classifier.classify(text)
        guess = result.category or (result.top[0][0] if result.top else None)
        if guess != label:
            misses.append((text, label, guess))
    return 1 - len(misses) / len(rows), misses


def test_the_set_is_short_and_sizeable() -> None:
    rows = _rows()
    assert len(rows) >= 100 and len({i for i, _, _ in rows}) == len(rows)
    assert max(len(text) for _, text, _ in rows) <= 14


def test_short_complaints_classify(default_classifier: Classifier) -> None:
    rows = _rows()
    accuracy, misses = _accuracy(default_classifier, rows)
    assert accuracy >= ACCURACY, misses
    held_out, misses = _accuracy(default_classifier, [r for r in rows if r[0] % 5 == 0])
    assert held_out >= HELD_OUT_ACCURACY, misses
    classified = sum(default_classifier.classify(text).is_classified for _, text, _ in rows)
    assert classified / len(rows) >= CLASSIFIED


@pytest.mark.parametrize("text", ["楼道堆满杂物", "小广告贴满墙", "井盖丢了", "楼下的井盖没了"])
def test_the_issue_examples(default_classifier: Classifier, text: str) -> None:
    result = default_classifier.classify(text)
    assert result.category == "城乡建设", result
    assert "楼下" not in result.keywords
