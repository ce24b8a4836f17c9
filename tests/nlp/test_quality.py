"""Quality on the real development data, when it is present beside the repository.

A 3-fold cross-validation on full messages (~40 s); the full 5-fold comparison with the SVM
baseline, titles included, is ``python bench/bench_classifier.py``.
"""

from __future__ import annotations

import pytest

from nlp.evaluation import cross_validate, read_labelled_csv
from nlp.rules import domain_rules_path, load_rules

from .conftest import shared_data

DEV = shared_data("complaints_dev.csv")

pytestmark = pytest.mark.skipif(DEV is None, reason="shared/data/complaints_dev.csv not available")


def test_cross_validated_macro_f1_full_text() -> None:
    assert DEV is not None
    rows = read_labelled_csv(DEV)
    report = cross_validate(rows, 3, load_rules(domain_rules_path()), field="text")
    assert report["fold_mean"]["macro_f1"] >= 0.88
