"""One benchmark at two commits, in the same run: is a change slower than the commit before it?

The base commit is checked out in a temporary git worktree; the benchmark script runs there and
here by turns (base, head, base, head …, so the machine's drift falls on both), and the figures
named by --lower (times: less is better) and --higher (rates) are compared by their medians.
`ratio` is the head's performance relative to the base's (≥ 1: as fast or faster), and `meets`
says whether it reaches --floor.

    python bench/compare_commits.py --base HEAD~3 --rounds 3 \\
        --lower postgresql.full_sweep_s -- bench/bench_sweeps.py --quick

Each bench script imports the repository it lives in (they put their own root first on
sys.path), so the base's script measures the base's code. Prints one JSON object on stdout;
the scripts' progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def run(checkout: Path, script: str, arguments: list[str]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(checkout / script), *arguments],
        cwd=checkout,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def figure(result: dict[str, Any], path: str) -> float:
    value: Any = result
    for part in path.split("."):
        value = value[part]
    return float(value)


def git(*arguments: str) -> str:
    return subprocess.run(
        ["git", "-C", str(ROOT), *arguments], check=True, stdout=subprocess.PIPE, text=True
    ).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", default="HEAD~1", help="the commit to compare against")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--lower", action="append", default=[], help="a time: less is better")
    parser.add_argument("--higher", action="append", default=[], help="a rate: more is better")
    parser.add_argument("--floor", type=float, default=0.8)
    parser.add_argument("script", help="the bench script, relative to the repository")
    parser.add_argument("arguments", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    arguments = [a for a in args.arguments if a != "--"]
    base = git("rev-parse", args.base)
    head = git("rev-parse", "HEAD")
    runs: dict[str, list[dict[str, Any]]] = {"base": [], "head": []}
    with tempfile.TemporaryDirectory(prefix="minhu-base-") as folder:
        checkout = Path(folder) / "base"
        git("worktree", "add", "--detach", str(checkout), base)
        try:
            for _ in range(args.rounds):
                runs["base"].append(run(checkout, args.script, arguments))
                runs["head"].append(run(ROOT, args.script, arguments))
        finally:
            git("worktree", "remove", "--force", str(checkout))
    figures = {}
    for path, lower in [(p, True) for p in args.lower] + [(p, False) for p in args.higher]:
        old = statistics.median(figure(result, path) for result in runs["base"])
        new = statistics.median(figure(result, path) for result in runs["head"])
        ratio = old / new if lower else new / old
        figures[path] = {
            "base": old,
            "head": new,
            "ratio": round(ratio, 3),
            "meets": ratio >= args.floor,
        }
    result = {
        "benchmark": "compare_commits",
        "script": " ".join([args.script, *arguments]),
        "base": base[:12],
        "head": head[:12],
        "rounds": args.rounds,
        "floor": args.floor,
        "figures": figures,
        "runs": runs,
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
