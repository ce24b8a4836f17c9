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


# Filler the issue (#16) saw shown as 判断依据: the shipped stop list must cover them.
ISSUE_FILLER = ("星期", "晚上", "根本", "三个", "楼下", "七楼", "里面", "一个")


@pytest.mark.parametrize("path", [default_rules_path(), domain_rules_path()])
def test_shipped_rules_declare_the_filler_as_stop_words(path: Path) -> None:
    stop_words = load_rules(path).stop_words
    assert all(word in stop_words for word in ISSUE_FILLER)
    assert not any(word in stop_words for word in ("井盖", "小广告", "物业", "110", "5g", "一中"))


def test_stop_words_list_shorthand_and_patterns() -> None:
    rules = parse_rules(
        {
            "categories": {"a": ["井盖"]},
            "stop_words": {"words": [" 晚上 ", "Ok"], "patterns": [r"[一二三]个", r"\D楼"]},
        }
    )
    assert "晚上" in rules.stop_words and "ok" in rules.stop_words  # cleaned like keywords
    assert "三个" in rules.stop_words and "七楼" in rules.stop_words
    assert "三个月" not in rules.stop_words  # a pattern matches the whole word only
    assert "井盖" not in rules.stop_words
    assert "晚上" in parse_rules({"categories": {"a": ["x"]}, "stop_words": ["晚上"]}).stop_words
    assert not parse_rules({"categories": {"a": ["x"]}}).stop_words


def test_stop_words_round_trip(tmp_path: Path) -> None:
    rules = parse_rules(
        {"categories": {"a": ["x"]}, "stop_words": {"words": ["晚上"], "patterns": ["[一二]个"]}}
    )
    path = tmp_path / "rules.yaml"
    dump_rules(rules, path)
    again = load_rules(path)
    assert again == rules and "一个" in again.stop_words


@pytest.mark.parametrize(
    ("category", "words"),
    [
        ({"keywords": {"楼下": 2, "噪音": 5}}, "category 'a' keywords: '楼下' is a stop word"),
        ({"negative": {"晚上": 1}}, "category 'a' negative: '晚上'"),
        ({"combos": [{"all": ["噪音", "晚上"], "weight": 1}]}, "combo 噪音\\+晚上: '晚上'"),
        ({"subcategories": {"b": ["三个"]}}, "category 'a/b' keywords: '三个'"),
    ],
)
def test_a_weighed_stop_word_is_refused_by_name(category: dict[str, object], words: str) -> None:
    data = {
        "categories": {"a": category},
        "stop_words": {"words": ["楼下", "晚上"], "patterns": ["[一二三]个"]},
    }
    with pytest.raises(RulesError, match=words):
        parse_rules(data)


@pytest.mark.parametrize(
    ("stop_words", "words"),
    [
        ("晚上", "list of words or a mapping"),
        ({"words": ["晚上"], "regexes": ["x"]}, "list of words or a mapping"),
        ({"words": [""]}, "list of words"),
        ({"patterns": ["[unclosed"]}, "is not a regex"),
        ({"patterns": "x"}, "list of regexes"),
    ],
)
def test_a_bad_stop_list_is_named(stop_words: object, words: str) -> None:
    with pytest.raises(RulesError, match=words):
        parse_rules({"categories": {"a": ["x"]}, "stop_words": stop_words})
