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
    emergency = rules.urgency["emergency"]
    assert emergency.kinds and all(k.keywords or k.all_of for k in emergency.kinds.values())
    assert rules.urgency["urgent"].keywords


def test_shipped_rules_carry_the_same_urgency() -> None:
    # default_rules.yaml is mined on top of domain_rules.yaml, which owns the urgency rules.
    domain, default = load_rules(domain_rules_path()), load_rules(default_rules_path())
    assert default.urgency == domain.urgency
    assert default.negations == domain.negations


def test_urgency_grouped_by_kind_round_trips(tmp_path: Path) -> None:
    data = {
        "categories": {"a": ["x"]},
        "urgency": {
            "emergency": {
                "keywords": ["危及生命"],
                "fire": {"keywords": ["着火"], "all_of": [["烟", "冒|窜"]]},
                "gas": {"keywords": ["煤气味"]},
            },
            "urgent": {"keywords": ["停水"]},
        },
    }
    rules = parse_rules(data)
    emergency = rules.urgency["emergency"]
    assert emergency.keywords == ("危及生命",)
    assert list(emergency.kinds) == ["fire", "gas"]
    assert emergency.kinds["fire"].all_of == (("烟", "冒|窜"),)
    path = tmp_path / "rules.yaml"
    dump_rules(rules, path)
    assert load_rules(path) == rules


@pytest.mark.parametrize(
    ("emergency", "words"),
    [
        ({"fire": ["着火"]}, "kind 'fire' must be a mapping"),
        ({"fire": {"keywords": ["着火"], "weight": 2}}, "kind 'fire' must be a mapping"),
        ({"fire": {"keywords": "着火"}}, "list of words"),
        ({"fire": {"all_of": "烟"}}, "all_of must be a list"),
    ],
)
def test_a_bad_urgency_kind_is_named(emergency: dict[str, object], words: str) -> None:
    with pytest.raises(RulesError, match=words):
        parse_rules({"categories": {"a": ["x"]}, "urgency": {"emergency": emergency}})


@pytest.mark.skipif(not TAXONOMY.is_file(), reason="taxonomy CSV not available")
def test_subcategories_are_official_names() -> None:
    with TAXONOMY.open(encoding="utf-8") as handle:
        official = {(r["一级分类"], r["二级分类"]) for r in csv.DictReader(handle)}
    rules = load_rules(domain_rules_path())
    assert {name for name, _ in official} == set(rules.categories)
    for name, category in rules.categories.items():
        for sub in category.subcategories:
            assert (name, sub) in official


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"categories: [unclosed\n  - x", "not valid YAML"),
        (b"just a sentence", "'categories' mapping"),
        (b"categories: {}", "at least one category"),
        (b"categories: {a: [[1]]}", "list of words"),
        (b"categories: {a: {keywords: {x: .inf}}}", "not a number"),
        (b"categories: {a: [x]}\nsettings: {min_confidence: 5}", "between 0 and 1"),
        (b"categories: {a: [x]}\nsettings: {max_chars: -5}", "at least 1"),
        (b"\xda\xff\x00binary", "not UTF-8"),
        (b"categories: {a: " + b"[" * 5000 + b"]" * 5000 + b"}", "nesting depth"),
    ],
)
def test_a_broken_rules_file_is_one_line_naming_the_fault(
    tmp_path: Path, content: bytes, words: str
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_bytes(content)
    with pytest.raises(RulesError) as raised:
        load_rules(path)
    assert words in str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_rules_file_past_the_size_bound_is_not_read(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("nlp.rules.MAX_RULES_BYTES", 1000)
    path = tmp_path / "rules.yaml"
    path.write_text("categories: {a: [x]}\n" + "# padding\n" * 200, encoding="utf-8")
    with pytest.raises(RulesError, match="at most"):
        load_rules(path)
