"""Classification, explanations, subcategories and urgency."""

from __future__ import annotations

import threading

import pytest

from nlp.classifier import LOW_CONFIDENCE, Classification, Classifier
from nlp.rules import RuleSet


def test_classifies_with_explanation(small_classifier: Classifier) -> None:
    result = small_classifier.classify("小区物业把路灯关了")
    assert isinstance(result, Classification)
    assert result.category == "城乡建设"
    assert result.is_classified and result.unclassified_reason is None
    assert result.keywords[0] == "路灯"  # most weighty first
    assert set(result.keywords) == {"路灯", "物业", "小区"}
    assert result.top[0][0] == "城乡建设"
    assert 0.4 <= result.confidence <= 1.0


def test_negative_keyword_and_combo(small_classifier: Classifier) -> None:
    assert small_classifier.classify("学校老师补课").category == "教育文体"
    result = small_classifier.classify("电动车在楼道充电")
    assert result.category == "城乡建设"
    assert "电动车+充电" in result.keywords


def test_subcategory_within_category(small_classifier: Classifier) -> None:
    assert small_classifier.classify("物业费太贵了").subcategory == "住房保障与房地产"
    assert small_classifier.classify("路灯不亮").subcategory == "城市建设和市政管理"
    assert small_classifier.classify("社保断缴").subcategory is None


def test_low_confidence_goes_to_triage(small_rules: RuleSet) -> None:
    # One equally weighty word for each of two categories: a coin toss, so staff decide.
    result = Classifier(small_rules, min_confidence=0.6).classify("物业 老师")
    assert result.unclassified_reason == LOW_CONFIDENCE
    assert result.category is None
    assert result.confidence == pytest.approx(0.5)
    assert {name for name, _ in result.top} == {"城乡建设", "教育文体"}


def test_threshold_is_configurable(small_rules: RuleSet) -> None:
    assert Classifier(small_rules, min_confidence=0.0).classify("物业 老师").is_classified


@pytest.mark.parametrize(
    ("text", "urgency", "word"),
    [
        ("楼道里有很重的煤气泄漏的味道", "emergency", "煤气泄漏"),
        ("三楼厨房着火了，快来人", "emergency", "着火"),
        ("大风把电线吹断，电线掉在路上", "emergency", "电线+掉"),
        ("小区今天停水停电，也没有通知", "urgent", "停水"),
        ("我们这边停电一整天了", "urgent", "停电"),
        ("小区路灯不亮", "normal", None),
        ("楼道堆放杂物，容易着火", "normal", None),
        ("去年没有着火，但消防通道被堵", "normal", None),
        ("电动车在楼道里充电，存在火灾隐患", "normal", None),
        ("老房子有坍塌风险，请来看看", "normal", None),
        ("有火灾隐患的那栋楼现在着火了", "emergency", "着火"),
    ],
)
def test_urgency(small_classifier: Classifier, text: str, urgency: str, word: str | None) -> None:
    result = small_classifier.classify(text)
    assert result.urgency == urgency
    if word:
        assert word in result.urgency_keywords


@pytest.mark.parametrize(
    ("text", "urgency"),
    [
        ("煤气泄漏", "emergency"),
        ("家里闻到很重的燃气味", "emergency"),
        ("楼下着火了", "emergency"),
        ("电线掉落在人行道上", "emergency"),
        ("电梯困人半小时没人管", "emergency"),
        ("停水停电", "urgent"),
        ("暖气不热，家里只有十度", "urgent"),
        ("小区门口摆摊占道", "normal"),
    ],
)
def test_default_urgency(default_classifier: Classifier, text: str, urgency: str) -> None:
    result = default_classifier.classify(text)
    assert result.urgency == urgency
    assert bool(result.urgency_keywords) == (urgency != "normal")


def test_urgency_even_when_unclassified(small_classifier: Classifier) -> None:
    result = small_classifier.classify("着火了")
    assert not result.is_classified and result.urgency == "emergency"


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("小区物业乱收物业费", "城乡建设"),
        ("路灯坏了一个月没人修", "城乡建设"),
        ("老板拖欠工资不给，农民工讨薪无门", "劳动和社会保障"),
        ("学校老师周末组织有偿补课", "教育文体"),
        ("工厂晚上偷排废水，河里的鱼都死了", "环境保护"),
        ("医院乱收费，看病太贵", "卫生计生"),
        ("出租车司机拒载还绕路", "交通运输"),
        ("景区门票太贵，导游强制购物", "商贸旅游"),
        ("派出所不给办理户口迁移", "政法"),
        ("举报镇干部贪污受贿", "纪检监察"),
        ("宽带网速太慢，运营商乱扣话费", "科技与信息产业"),
        ("申请低保被拒，民政局不给说法", "民政"),
        ("党员组织关系转接", "党务政务"),
        ("矿山非法开采", "国土资源"),
        ("银行信用卡乱扣费", "经济管理"),
        ("扶贫款被村干部截留", "农村农业"),
    ],
)
def test_default_rules_examples(default_classifier: Classifier, text: str, category: str) -> None:
    result = default_classifier.classify(text)
    assert result.category == category, result
    assert result.keywords


def test_default_is_cached() -> None:
    assert Classifier.default() is Classifier.default()
    assert Classifier.default(0.9) is not Classifier.default()


def test_thread_safe(default_classifier: Classifier) -> None:
    texts = ["小区物业乱收物业费", "学校老师有偿补课", "老板拖欠工资"] * 50
    expected = [default_classifier.classify(t) for t in texts]
    results: list[list[Classification]] = []

    def work() -> None:
        results.append([default_classifier.classify(t) for t in texts])

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r == expected for r in results)
