"""Odd input never raises: it is unclassified with a reason, long texts are cut."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nlp.classifier import EMPTY, NO_CHINESE, NO_KEYWORDS, Classifier


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", EMPTY),
        ("   \n\t  ", EMPTY),
        ("\x00\x01\x02\x1b\x7f", EMPTY),
        ("😀😡🔥👍", NO_CHINESE),
        ("The street light outside my building has been broken for weeks", NO_CHINESE),
        ("12345 !!! ???", NO_CHINESE),
    ],
)
def test_unclassified_with_reason(default_classifier: Classifier, text: str, reason: str) -> None:
    result = default_classifier.classify(text)
    assert not result.is_classified
    assert result.category is None and result.subcategory is None
    assert result.unclassified_reason == reason
    assert result.keywords == ()
    assert result.urgency == "normal"


def test_no_keywords(small_classifier: Classifier) -> None:
    result = small_classifier.classify("今天天气很好")
    assert result.unclassified_reason == NO_KEYWORDS


def test_mixed_scripts_classify_the_chinese(default_classifier: Classifier) -> None:
    result = default_classifier.classify("Hello，小区物业不管事 😡 the 路灯 is broken!!")
    assert result.category == "城乡建设"
    assert result.keywords


def test_control_characters_are_ignored(default_classifier: Classifier) -> None:
    plain = default_classifier.classify("老板拖欠工资三个月")
    noisy = default_classifier.classify("老板\x00拖欠\u200b工资\x1b三个月\ufeff")
    assert noisy.category == plain.category == "劳动和社会保障"


def test_fifty_thousand_characters_are_cut(default_classifier: Classifier) -> None:
    text = "学校老师组织有偿补课，" + "啊" * 50_000
    result = default_classifier.classify(text)
    assert result.truncated
    assert result.category == "教育文体"
    assert len(text) == 50_011  # the caller's text is untouched


def test_non_string_input_does_not_raise(default_classifier: Classifier) -> None:
    assert default_classifier.classify(None).unclassified_reason == EMPTY  # type: ignore[arg-type]
    assert not default_classifier.classify(12345).is_classified  # type: ignore[arg-type]


def test_lone_surrogates_do_not_raise(default_classifier: Classifier) -> None:
    result = default_classifier.classify("小区\ud800物业")
    assert result.category == "城乡建设"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_never_raises(text: str) -> None:
    result = Classifier.default().classify(text)
    assert 0.0 <= result.confidence <= 1.0
    assert result.urgency in {"emergency", "urgent", "normal"}
    assert result.is_classified == (result.unclassified_reason is None)
