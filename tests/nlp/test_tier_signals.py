"""The words a tier proposal rests on: each agency named once (however it is called), the words
of a long history and of a single repair, and nothing in a plain complaint."""

from __future__ import annotations

from nlp.tier_signals import tier_signals


def test_an_agency_counts_once_whatever_it_is_called():
    signals = tier_signals("城管说归综合执法管，城市管理局又推给物业")
    assert signals.agencies == ("城管", "物业")


def test_history_and_repair_words_are_reported_as_found():
    signals = tier_signals("路灯坏了，反映多次，多年没有解决")
    assert signals.history == ("多年", "反映多次")
    assert signals.repair == ("坏了",)


def test_a_plain_complaint_has_no_signals():
    signals = tier_signals("希望社区多组织一些老年人活动")
    assert (signals.agencies, signals.history, signals.repair) == ((), (), ())


def test_words_inside_other_words_are_no_signal():
    # 许多年轻人 holds 多年, 工商银行 holds 工商: neither a long history nor an agency.
    signals = tier_signals("许多年轻人在工商银行门口排队，把路都挡住了")
    assert (signals.agencies, signals.history, signals.repair) == ((), (), ())
    assert tier_signals("这个问题多年来没人管，找过工商局").history == ("多年",)
    assert tier_signals("这个问题多年来没人管，找过工商局").agencies == ("市场监管",)
