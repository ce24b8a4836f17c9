"""Mining keyword weights from labelled samples and folding in staff corrections."""

from __future__ import annotations

from nlp.classifier import Classifier
from nlp.mining import fold_corrections, mine_rules, signed_weights, split_label
from nlp.rules import RuleSet, parse_rules, rules_to_data

from .conftest import SMALL_RULES, SYNTHETIC


def test_split_label() -> None:
    assert split_label("城乡建设") == ("城乡建设", None)
    assert split_label(" 城乡建设 / 住房保障与房地产 ") == ("城乡建设", "住房保障与房地产")


def test_mine_from_nothing_learns_the_words() -> None:
    rules = mine_rules(SYNTHETIC, min_df=1, min_weight=0.0)
    assert set(rules.categories) == {"城乡建设", "教育文体", "劳动和社会保障"}
    top = {
        name: set(sorted(c.keywords, key=c.keywords.__getitem__, reverse=True)[:3])
        for name, c in rules.categories.items()
    }
    assert top["城乡建设"] & {"物业", "路灯", "小区"}
    assert top["教育文体"] & {"学校", "补课", "老师"}
    assert top["劳动和社会保障"] & {"工资", "员工", "欠薪", "社保"}
    classifier = Classifier(rules, min_confidence=0.0)
    assert classifier.classify("物业不打扫小区").category == "城乡建设"
    assert classifier.classify("老师补课").category == "教育文体"
    assert classifier.classify("公司拖欠工资").category == "劳动和社会保障"
    # Learnt negative evidence lands in `negative`, not as negative keyword weights.
    for category in rules.categories.values():
        assert all(w > 0 for w in category.keywords.values())
        assert all(w > 0 for w in category.negative.values())


def test_mine_keeps_base_rules(small_rules: RuleSet) -> None:
    rules = mine_rules(SYNTHETIC, base=small_rules, min_df=1, min_weight=0.0)
    assert rules.urgency == small_rules.urgency
    assert rules.settings == small_rules.settings
    building = rules.categories["城乡建设"]
    assert building.combos == small_rules.categories["城乡建设"].combos
    assert building.subcategories == small_rules.categories["城乡建设"].subcategories
    # Hand-written words take part as examples, so they are learnt even where data is thin.
    assert "路灯" in building.keywords


def test_mine_is_deterministic() -> None:
    assert mine_rules(SYNTHETIC, min_df=1) == mine_rules(SYNTHETIC, min_df=1)


def test_mine_ignores_empty_labels() -> None:
    base = RuleSet(categories={})
    assert mine_rules([("文本", ""), ("", "")], base=base) == base


def test_fold_corrections_changes_the_answer(small_rules: RuleSet) -> None:
    text = "小区门口的共享单车乱停乱放挡住路"
    before = Classifier(small_rules).classify(text)
    assert before.category != "交通运输"
    rules = fold_corrections(small_rules, [(text, "交通运输")])
    after = Classifier(rules)
    result = after.classify(text)
    assert result.category == "交通运输"
    assert result.is_classified
    # The same kind of text, worded a little differently, follows the correction too.
    assert after.classify("共享单车乱停乱放").category == "交通运输"
    # Unrelated texts keep their answer.
    assert after.classify("路灯坏了").category == "城乡建设"
    assert after.classify("学校老师补课").category == "教育文体"


def test_fold_corrections_overrides_a_confident_answer(small_rules: RuleSet) -> None:
    text = "物业拖欠保安工资"
    assert Classifier(small_rules).classify(text).category == "劳动和社会保障"
    rules = fold_corrections(small_rules, [(text, "城乡建设/住房保障与房地产")] * 2)
    result = Classifier(rules).classify(text)
    assert result.category == "城乡建设"
    assert result.subcategory == "住房保障与房地产"


def test_fold_corrections_on_default_rules(default_classifier: Classifier) -> None:
    text = "楼下烧烤摊占道经营到半夜"
    before = default_classifier.classify(text).category
    target = "环境保护" if before != "环境保护" else "政法"
    rules = fold_corrections(default_classifier.rules, [(text, target)])
    assert Classifier(rules).classify(text).category == target


def test_fold_nothing_is_identity(small_rules: RuleSet) -> None:
    assert fold_corrections(small_rules, []) is small_rules
    assert fold_corrections(small_rules, [("", "城乡建设")]) is small_rules


STOP = {"words": ["楼道", "一直", "了"], "patterns": ["[一二三四五六七八九十]+个月?"]}


def test_mining_never_learns_a_stop_word(small_rules: RuleSet) -> None:
    base = parse_rules({**SMALL_RULES, "stop_words": STOP})
    samples = [*SYNTHETIC, ("楼道里一直堆着杂物三个月了", "城乡建设")] * 2
    plain = mine_rules(samples, base=small_rules, min_df=1, min_weight=0.0)
    assert "楼道" in signed_weights(plain.categories["城乡建设"])  # learnt without a stop list
    rules = mine_rules(samples, base=base, min_df=1, min_weight=0.0)
    assert rules.stop_words == base.stop_words
    for category in rules.categories.values():
        for word in signed_weights(category):
            assert word not in base.stop_words, word
    # What `minhu nlp mine` writes loads again (a weighed stop word would be refused).
    assert parse_rules(rules_to_data(rules)).stop_words == base.stop_words


def test_corrections_never_teach_a_stop_word() -> None:
    base = parse_rules({**SMALL_RULES, "stop_words": STOP})
    rules = fold_corrections(base, [("楼道里一直没人扫，三个月了", "城乡建设")])
    for category in rules.categories.values():
        for word in signed_weights(category):
            assert word not in base.stop_words, word
    assert parse_rules(rules_to_data(rules)).stop_words == base.stop_words
