"""``minhu nlp`` through a tiny argparse, as bot/cli.py wires it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from nlp.cli import add_nlp_parser
from nlp.rules import load_rules

from .conftest import SYNTHETIC


def run(argv: list[str], loader=None) -> int:  # type: ignore[no-untyped-def]
    parser = argparse.ArgumentParser(prog="minhu")
    add_nlp_parser(parser.add_subparsers(dest="command", required=True), loader)
    args = parser.parse_args(argv)
    return args.run(args)


@pytest.fixture
def labelled_csv(tmp_path: Path) -> Path:
    path = tmp_path / "labelled.csv"
    lines = ["title,text,label"] + [f"{t[:4]},{t},{label}" for t, label in SYNTHETIC * 2]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_classify_text(capsys: pytest.CaptureFixture[str]) -> None:
    # 判断依据 are the words that set the category apart ("物业" speaks for 商贸旅游 too).
    assert run(["nlp", "classify", "小区路灯坏了一个月没人修"]) == 0
    out = capsys.readouterr().out
    assert "城乡建设" in out and "keywords: 路灯" in out


def test_classify_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["nlp", "classify", "--json", "楼下着火了"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["urgency"] == "emergency"
    assert "\\u" not in json.dumps(data, ensure_ascii=False)


def test_classify_empty_is_not_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["nlp", "classify", "   "]) == 0
    assert "empty" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["nlp"],
        ["nlp", "frobnicate"],
        ["nlp", "classify"],
        ["nlp", "eval"],
        ["nlp", "eval", "x.csv", "--level", "3"],
        ["nlp", "eval", "x.csv", "--cv", "many"],
        ["nlp", "eval", "x.csv", "--field", "body"],
        ["nlp", "mine", "x.csv"],
    ],
)
def test_bad_arguments_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        run(argv)
    assert exc.value.code == 2


def test_bad_inputs_exit_2(
    tmp_path: Path, labelled_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("a,b\n1,2\n", encoding="utf-8")
    bad_rules = tmp_path / "bad.yaml"
    bad_rules.write_text("categories: 3\n", encoding="utf-8")
    cases = [
        ["nlp", "eval", str(tmp_path / "missing.csv")],
        ["nlp", "eval", str(bad_csv)],
        ["nlp", "eval", str(labelled_csv), "--cv", "1"],
        ["nlp", "eval", str(labelled_csv), "--rules", str(bad_rules)],
        ["nlp", "classify", "文本", "--rules", str(tmp_path / "missing.yaml")],
        ["nlp", "classify", "文本", "--min-confidence", "2"],
        ["nlp", "mine", "--out", str(tmp_path / "o.yaml")],
        ["nlp", "mine", "--from-db", "--out", str(tmp_path / "o.yaml")],  # no loader wired
        ["nlp", "mine", str(labelled_csv), "--out", str(tmp_path / "no" / "dir" / "o.yaml")],
    ]
    for argv in cases:
        assert run(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("minhu nlp: ") and "Traceback" not in err, argv


def test_eval_and_cv(labelled_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["nlp", "eval", str(labelled_csv)]) == 0
    out = capsys.readouterr().out
    assert "macro-F1" in out and "confusion" in out and "complaints/s" in out
    assert run(["nlp", "eval", str(labelled_csv), "--cv", "2", "--field", "title", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert len(report["folds"]) == 2
    assert {"accuracy", "macro_f1", "per_class", "confusion", "speed", "dict_load_ms"} <= set(
        report
    )
    assert run(["nlp", "eval", str(labelled_csv), "--level", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n"] == len(SYNTHETIC) * 2


URGENCY_SET = Path(__file__).parent / "data" / "urgency.csv"


def test_eval_urgency(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["nlp", "eval", str(URGENCY_SET), "--urgency"]) == 0
    out = capsys.readouterr().out
    assert ": urgency, field text" in out and "kinds of danger named: " in out
    assert "[0]emergency" in out and "coverage" not in out
    row = next(line for line in out.splitlines() if line.startswith("emergency "))
    precision, recall = map(float, row.split()[1:3])
    assert recall >= 0.95 and precision >= 0.8
    assert run(["nlp", "eval", str(URGENCY_SET), "--urgency", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["per_class"]) == {"emergency", "urgent", "normal"}
    assert report["per_class"]["emergency"]["recall"] >= 0.95
    assert report["setup"]["urgency"] is True and "trapped" in report["kinds"]
    assert len(report["confusion"]) == 3


def test_eval_urgency_bad_input(
    tmp_path: Path, labelled_csv: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    odd_label = tmp_path / "odd.csv"
    odd_label.write_text("id,text,urgency\n1,楼下着火了,danger\n", encoding="utf-8")
    cases = [
        (["nlp", "eval", str(labelled_csv), "--urgency"], "'urgency'"),  # no urgency column
        (["nlp", "eval", str(odd_label), "--urgency"], "unknown urgency 'danger'"),
        (["nlp", "eval", str(URGENCY_SET), "--urgency", "--cv", "3"], "no --cv"),
    ]
    for argv, words in cases:
        assert run(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("minhu nlp: ") and words in err and err.count("\n") == 1, err


def test_classify_names_the_kind(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["nlp", "classify", "--json", "电梯卡在七楼了里面还有一个老人出不来"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["urgency"], data["urgency_kind"]) == ("emergency", "trapped")
    assert run(["nlp", "classify", "电梯卡在七楼了里面还有一个老人出不来"]) == 0
    assert "emergency [trapped]" in capsys.readouterr().out


def test_mine_from_csv_and_db(tmp_path: Path, labelled_csv: Path) -> None:
    out = tmp_path / "mined.yaml"
    assert run(["nlp", "mine", str(labelled_csv), "--out", str(out)]) == 0
    mined = load_rules(out)
    assert "城乡建设" in mined.categories
    text = "共享单车乱停乱放挡住小区大门"
    folded = tmp_path / "folded.yaml"
    loader = lambda: [(text, "交通运输")]  # noqa: E731
    argv = ["nlp", "mine", "--from-db", "--rules", str(out), "--out", str(folded)]
    assert run(argv, loader) == 0
    from nlp.classifier import Classifier

    assert Classifier(load_rules(folded)).classify(text).category == "交通运输"


def test_mine_from_db_loader_failure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def broken() -> list[tuple[str, str]]:
        raise ConnectionError("database is down")

    assert run(["nlp", "mine", "--from-db", "--out", str(tmp_path / "o.yaml")], broken) == 1
    assert "database is down" in capsys.readouterr().err
