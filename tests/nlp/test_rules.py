"""Rules YAML: loading, validation, round-trip, shipped files."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from nlp.rules import (
    RulesError,
    RuleSet,
    default_rules_path,
    domain_rules_path,
    dump_rules,
    load_rules,
    parse_rules,
)

TAXONOMY = Path(__file__).resolve().parents[3] / "shared" / "data" / "category_taxonomy.csv"
LEVEL1 = set(
    [
        "城乡建设",
        "党务政务",
        "国土资源",
        "环境保护",
        "纪检监察",
        "交通运输",
        "经济管理",
        "科技与信息产业",
        "民政",
        "农村农业",
        "商贸旅游",
        "卫生计生",
        "政法",
        "教育文体",
        "劳动和社会保障",
    ]
)


def test_round_trip(small_rules: RuleSet, tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    dump_rules(small_rules, path, header=["test rules"])
    assert path.read_text(encoding="utf-8").startswith("# test rules\n")
    assert "物业" in path.read_text(encoding="utf-8")  # Chinese kept readable, not escaped
    again = load_rules(path)
    assert again == small_rules


def test_list_shorthand_and_numeric_keywords() -> None:
    rules = parse_rules(
        {
            "categories": {
                "政法": {"keywords": [110, "报警"], "subcategories": {"户籍证件": ["户口"]}}
            }
        }
    )
    assert rules.categories["政法"].keywords == {"110": 1.0, "报警": 1.0}
    assert rules.categories["政法"].subcategories["户籍证件"].keywords == {"户口": 1.0}


@pytest.mark.parametrize(
    "data",
    [
        None,
        {"categories": []},
        {"version": 99, "categories": {}},
        {"categories": {"a": {"keywords": {"x": "heavy"}}}},
        {"categories": {"a": {"combos": [{"all": [], "weight": 1}]}}},
        {"categories": {"a": {}}, "urgency": {"emergency": {"keywords": "着火"}}},
        {"categories": {"a": {}}, "settings": {"max_chars": "many"}},
    ],
)
def test_bad_rules_are_rejected(data: object) -> None:
    with pytest.raises(RulesError):
        parse_rules(data)


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(RulesError):
        load_rules(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("categories: [unclosed", encoding="utf-8")
    with pytest.raises(RulesError):
        load_rules(bad)


@pytest.mark.parametrize("path", [default_rules_path(), domain_rules_path()])
def test_shipped_rules_cover_the_taxonomy(path: Path) -> None:
    rules = load_rules(path)
    assert set(rules.categories) == LEVEL1
    for name, category in rules.categories.items():
        assert category.keywords, name
        assert category.subcategories, name
    assert rules.urgency["emergency"].keywords and rules.urgency["urgent"].keywords


@pytest.mark.skipif(not TAXONOMY.is_file(), reason="taxonomy CSV not available")
def test_subcategories_are_official_names() -> None:
    with TAXONOMY.open(encoding="utf-8") as handle:
        official = {(r["一级分类"], r["二级分类"]) for r in csv.DictReader(handle)}
    rules = load_rules(domain_rules_path())
    assert {name for name, _ in official} == set(rules.categories)
    for name, category in rules.categories.items():
        for sub in category.subcategories:
            assert (name, sub) in official
