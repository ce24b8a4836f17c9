"""Shared fixtures for the nlp tests: a small hand-made rule set and synthetic samples."""

from __future__ import annotations

from pathlib import Path

import pytest

from nlp.classifier import Classifier
from nlp.rules import RuleSet, load_rules, parse_rules

SMALL_RULES = {
    "version": 1,
    "settings": {"min_confidence": 0.4, "max_chars": 200, "confidence_scale": 6.0},
    "urgency": {
        "negations": ["没有", "防止", "容易"],
        "emergency": {"keywords": ["着火", "煤气泄漏"], "all_of": [["电线", "掉"]]},
        "urgent": {"keywords": ["停水", "停电"]},
    },
    "categories": {
        "城乡建设": {
            "keywords": {"物业": 4, "路灯": 5, "小区": 2},
            "negative": {"学校": 2},
            "combos": [{"all": ["电动车", "充电"], "weight": 3}],
            "subcategories": {
                "住房保障与房地产": {"keywords": ["物业", "物业费"]},
                "城市建设和市政管理": ["路灯", "电动车充电"],
            },
        },
        "教育文体": {"keywords": {"学校": 5, "老师": 4, "补课": 5}},
        "劳动和社会保障": {"keywords": {"工资": 5, "社保": 6, "欠薪": 6}},
    },
}

# Synthetic labelled messages written for the tests (not from any data set).
SYNTHETIC = [
    ("小区物业不管楼道里的垃圾", "城乡建设"),
    ("物业费年年涨小区却没人打扫", "城乡建设"),
    ("路灯坏了一个月没人修", "城乡建设"),
    ("小区门口路灯不亮晚上很黑", "城乡建设"),
    ("楼下化粪池满了物业不处理", "城乡建设"),
    ("学校补课收费太高", "教育文体"),
    ("老师周末组织学生有偿补课", "教育文体"),
    ("孩子学校作业太多睡不够", "教育文体"),
    ("学校食堂饭菜太差孩子吃不饱", "教育文体"),
    ("老板拖欠工资三个月不给", "劳动和社会保障"),
    ("公司不给员工交社保", "劳动和社会保障"),
    ("工地欠薪农民工讨薪无门", "劳动和社会保障"),
    ("单位辞退员工不给补偿工资", "劳动和社会保障"),
]


def shared_data(name: str) -> Path | None:
    """A file of the shared data folder (``shared/data`` beside the repository or beside one of
    its parents: a worktree sits one level deeper than the main checkout), if present."""
    for folder in Path(__file__).resolve().parents:
        path = folder / "shared" / "data" / name
        if path.is_file():
            return path
    return None


@pytest.fixture(scope="session")
def small_rules() -> RuleSet:
    return parse_rules(SMALL_RULES)


@pytest.fixture(scope="session")
def small_classifier(small_rules: RuleSet) -> Classifier:
    return Classifier(small_rules)


@pytest.fixture(scope="session")
def default_classifier() -> Classifier:
    return Classifier.default()


@pytest.fixture(scope="session")
def domain_rules() -> RuleSet:
    from nlp.rules import domain_rules_path

    return load_rules(domain_rules_path())
