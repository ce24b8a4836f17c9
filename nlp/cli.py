"""``minhu nlp``: classify a text, evaluate rules on labelled data, mine rules.

    minhu nlp classify "小区楼道电动车飞线充电，物业不管"
    minhu nlp eval data.csv --cv 5 --field title --json
    minhu nlp eval tests/nlp/data/urgency.csv --urgency   # emergency / urgent / normal
    minhu nlp mine data.csv --out rules.yaml
    minhu nlp mine --from-db --out rules.yaml      # fold staff corrections into the rules

Exit codes: 0 done, 1 a failure while running (e.g. the corrections store), 2 bad usage or input.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from nlp.classifier import Classification, Classifier
from nlp.evaluation import (
    DataError,
    cross_validate,
    evaluate,
    evaluate_urgency,
    read_labelled_csv,
    training_samples,
)
from nlp.mining import fold_corrections, mine_rules
from nlp.rules import (
    RulesError,
    RuleSet,
    default_rules_path,
    domain_rules_path,
    dump_rules,
    load_rules,
)
from nlp.tokenizer import load_seconds

CorrectionsLoader = Callable[[], Iterable[tuple[str, str]]]


class UsageError(Exception):
    """Bad arguments or input: reported on stderr with exit code 2."""


def add_nlp_parser(
    subparsers: argparse._SubParsersAction,  # type: ignore[type-arg]
    corrections_loader: CorrectionsLoader | None = None,
) -> None:
    """Add the ``nlp`` command (classify / eval / mine) to a ``minhu`` argument parser.

    ``corrections_loader`` returns staff reclassifications as (text, category) pairs; it is
    what ``mine --from-db`` folds into the rules.
    """
    nlp = subparsers.add_parser("nlp", help="complaint classifier: classify, eval, mine")
    nlp.set_defaults(run=run_nlp, corrections_loader=corrections_loader)
    commands = nlp.add_subparsers(dest="nlp_command", metavar="{classify,eval,mine}")
    commands.required = True

    classify = commands.add_parser("classify", help="classify one complaint text ('-' = stdin)")
    classify.add_argument("text", help="the complaint text, or - to read it from stdin")
    classify.add_argument("--rules", type=Path, help="rules YAML (default: the shipped rules)")
    classify.add_argument("--min-confidence", type=float, help="triage threshold (0..1)")
    classify.add_argument("--json", action="store_true", help="print JSON")

    ev = commands.add_parser("eval", help="measure rules on a labelled CSV (text,label[,title])")
    ev.add_argument("file", type=Path, help="CSV with columns text,label and optionally title")
    ev.add_argument(
        "--rules",
        type=Path,
        help="rules YAML to measure; with --cv the base the folds are mined from "
        "(default: the shipped rules, or the hand-written domain rules with --cv)",
    )
    ev.add_argument("--level", type=int, choices=(1, 2), default=1, help="taxonomy level")
    ev.add_argument("--field", choices=("text", "title"), default="text", help="what to classify")
    ev.add_argument("--cv", type=int, metavar="K", help="K-fold cross-validation (mine per fold)")
    ev.add_argument("--seed", type=int, default=0, help="fold shuffling seed")
    ev.add_argument(
        "--urgency",
        action="store_true",
        help="measure urgency instead of the category: the CSV's 'urgency' column "
        "(emergency|urgent|normal) against the rules as they are",
    )
    ev.add_argument("--json", action="store_true", help="print JSON")

    mine = commands.add_parser("mine", help="mine weighted keywords into a rules YAML")
    mine.add_argument("file", nargs="?", type=Path, help="labelled CSV (text,label[,title])")
    mine.add_argument("--out", type=Path, required=True, help="where to write the rules YAML")
    mine.add_argument(
        "--rules",
        type=Path,
        help="base rules (default: the domain rules for a CSV, the shipped rules for --from-db)",
    )
    mine.add_argument("--from-db", action="store_true", help="fold in staff reclassifications")


def run_nlp(args: argparse.Namespace) -> int:
    """Run a parsed ``nlp`` command; returns the exit code."""
    handlers = {"classify": _classify, "eval": _eval, "mine": _mine}
    try:
        return handlers[args.nlp_command](args)
    except (UsageError, RulesError, DataError) as exc:
        print(f"minhu nlp: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _rules(path: Path | None, fallback: Path) -> RuleSet:
    return load_rules(path or fallback)


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def _describe(result: Classification) -> str:
    if result.is_classified:
        sub = f" / {result.subcategory}" if result.subcategory else ""
        lines = [
            f"类别 category: {result.category}{sub}  (置信度 confidence {result.confidence:.2f})"
        ]
        lines.append(f"关键词 keywords: {'、'.join(result.keywords)}")
    else:
        lines = [f"未分类 unclassified: {result.unclassified_reason} → 人工分拨 triage"]
    words = f" ({'、'.join(result.urgency_keywords)})" if result.urgency_keywords else ""
    kind = f" [{result.urgency_kind}]" if result.urgency_kind else ""
    lines.append(f"紧急程度 urgency: {result.urgency}{kind}{words}")
    if result.top:
        lines.append("候选 top: " + ", ".join(f"{name} {score:.2f}" for name, score in result.top))
    if result.truncated:
        lines.append("(长文本已截断分类 long text cut for classification)")
    return "\n".join(lines)


def _classify(args: argparse.Namespace) -> int:
    text = sys.stdin.read() if args.text == "-" else args.text
    if args.min_confidence is not None and not 0.0 <= args.min_confidence <= 1.0:
        raise UsageError("--min-confidence must be between 0 and 1")
    if args.rules:
        classifier = Classifier(load_rules(args.rules), args.min_confidence)
    else:
        classifier = Classifier.default(args.min_confidence)
    result = classifier.classify(text)
    if args.json:
        _print_json({**asdict(result), "is_classified": result.is_classified})
    else:
        print(_describe(result))
    return 0


def _eval(args: argparse.Namespace) -> int:
    if args.cv is not None and args.cv < 2:
        raise UsageError("--cv needs K ≥ 2")
    if args.urgency and args.cv:
        raise UsageError("--urgency measures the rules as they are: urgency is not mined, no --cv")
    rows = read_labelled_csv(args.file, "urgency" if args.urgency else "label")
    if args.field == "title" and not any(r.title for r in rows):
        raise UsageError(f"{args.file}: --field title needs a non-empty 'title' column")
    dict_seconds = load_seconds()
    started = time.perf_counter()
    if args.urgency:
        classifier = Classifier(_rules(args.rules, default_rules_path()))
        report = evaluate_urgency(classifier, rows, args.field)
    elif args.cv:
        base = _rules(args.rules, domain_rules_path())
        if args.cv > len(rows):
            raise UsageError(f"--cv {args.cv} is more than the {len(rows)} rows")
        report = cross_validate(rows, args.cv, base, args.level, args.field, args.seed)
    else:
        report = evaluate(
            Classifier(_rules(args.rules, default_rules_path())), rows, args.level, args.field
        )
    report["seconds"] = time.perf_counter() - started
    report["dict_load_ms"] = dict_seconds * 1000
    report["setup"] = {
        "file": str(args.file),
        "rules": str(args.rules or ("domain rules" if args.cv else "shipped rules")),
        "level": args.level,
        "field": args.field,
        "cv": args.cv,
        "seed": args.seed,
        "urgency": args.urgency,
    }
    if args.json:
        _print_json(report)
    else:
        print(_render_report(report))
    return 0


def _render_report(report: dict[str, Any]) -> str:
    setup = report["setup"]
    how = f"{setup['cv']}-fold cross-validation" if setup["cv"] else "rules as they are"
    what = "urgency" if setup.get("urgency") else f"level {setup['level']}"
    figures = (
        f"n={report['n']}  accuracy={report['accuracy']:.4f}  macro-F1={report['macro_f1']:.4f}"
    )
    if "coverage" in report:
        figures += f"  coverage={report['coverage']:.3f}"
    lines = [
        f"{setup['file']}: {what}, field {setup['field']}, {how} ({setup['rules']})",
        f"{figures}  outside={report['outside']}",
    ]
    if "kinds" in report:
        kinds = ", ".join(f"{kind} {n}" for kind, n in report["kinds"].items()) or "none"
        lines.append(f"kinds of danger named: {kinds}")
    if "fold_mean" in report:
        folds = " ".join(f"{f['macro_f1']:.4f}" for f in report["folds"])
        lines.append(
            f"per-fold mean: accuracy={report['fold_mean']['accuracy']:.4f}"
            f"  macro-F1={report['fold_mean']['macro_f1']:.4f}  (folds: {folds})"
        )
    width = max(len(c) for c in report["per_class"]) + 2
    lines.append("")
    lines.append(f"{'class':<{width}}precision  recall     f1  support")
    for name, m in report["per_class"].items():
        lines.append(
            f"{name:<{width}}{m['precision']:9.4f}{m['recall']:8.4f}{m['f1']:7.4f}{m['support']:9d}"
        )
    lines.append("")
    lines.append("confusion (rows: true, columns: predicted)")
    labels = report["labels"]
    lines.append("  ".join(f"[{i}]{name}" for i, name in enumerate(labels)))
    for i, row in enumerate(report["confusion"]):
        lines.append(f"[{i}] " + " ".join(f"{n:5d}" for n in row))
    sp = report["speed"]
    lines.append("")
    lines.append(
        f"speed: {sp['per_second']:.0f} complaints/s  p50 {sp['p50_ms']:.3f} ms  "
        f"p99 {sp['p99_ms']:.3f} ms  dictionary load {report['dict_load_ms']:.0f} ms"
    )
    return "\n".join(lines)


def _mine(args: argparse.Namespace) -> int:
    if not args.file and not args.from_db:
        raise UsageError("mine needs a labelled CSV file, --from-db, or both")
    header = ["MinHu classification rules (分类规则), written by `minhu nlp mine`."]
    if args.file:
        rows = read_labelled_csv(args.file)
        base = _rules(args.rules, domain_rules_path())
        rules = mine_rules(training_samples(rows), base=base)
        header.append(
            f"Mined from {len(rows)} labelled rows on top of {args.rules or 'the domain rules'}."
        )
    else:
        rules = _rules(args.rules, default_rules_path())
    if args.from_db:
        loader: CorrectionsLoader | None = getattr(args, "corrections_loader", None)
        if loader is None:
            raise UsageError("--from-db: no corrections store is configured")
        try:
            corrections = list(loader())
        except Exception as exc:  # the store is someone else's code: report, do not trace
            print(f"minhu nlp: cannot read staff corrections: {exc}", file=sys.stderr)
            return 1
        rules = fold_corrections(rules, corrections)
        header.append(f"Folded in {len(corrections)} staff reclassifications.")
    header.append("Weights: keywords add, negative take away; edit freely, then `minhu nlp eval`.")
    try:
        dump_rules(rules, args.out, header)
    except OSError as exc:
        raise UsageError(f"cannot write {args.out}: {exc.strerror or exc}") from exc
    counts = sum(len(c.keywords) + len(c.negative) for c in rules.categories.values())
    print(f"wrote {args.out}: {len(rules.categories)} categories, {counts} weighted keywords")
    return 0
