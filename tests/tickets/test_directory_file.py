"""Reading the directory file (`minhu areas load FILE.yaml`): whatever the file holds, the
command answers with one line and exit status 2, in bounded time and memory."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from tickets.directory import MAX_FILE_BYTES, read_directory_file
from tickets.errors import InvalidInput

ROOT = Path(__file__).parents[2]
MEMORY_LIMIT = 1 << 30  # the command itself needs about 150 MB


@pytest.fixture(autouse=True)
def scratch_database(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # keeps a developer's own .env out of the tests
    for name in list(os.environ):
        if name.startswith("MINHU_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("MINHU_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")


def alias_bomb() -> str:
    """Under 1 KB: each area repeats the one before it nine times, 9**9 areas in all."""
    lines = ["areas:", "  - &a0 {code: g, name: G, level: grid}"]
    for depth in range(1, 10):
        repeats = ", ".join([f"*a{depth - 1}"] * 9)
        lines.append(
            f"  - &a{depth} {{code: a{depth}, name: A, level: street, children: [{repeats}]}}"
        )
    return "\n".join(lines) + "\n"


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def minhu_load(path: Path | str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real command in a process of its own, its address space capped at 1 GB."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "bot", "areas", "load", str(path)],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_limit_memory,
        check=False,
    )


def one_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr[-2000:]
    return lines[0]


def test_an_alias_bomb_is_refused_in_bounded_memory(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb(), encoding="utf-8")
    assert path.stat().st_size < 2_600
    done = minhu_load(path, tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "aliases" in one_line(done.stderr)


def test_an_endless_file_is_refused_in_bounded_memory(tmp_path):
    done = minhu_load("/dev/zero", tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    assert one_line(done.stderr) == f"minhu: /dev/zero is larger than {MAX_FILE_BYTES >> 20} MB"


def test_a_file_one_byte_over_the_bound_is_refused(tmp_path):
    path = tmp_path / "big.yaml"
    with path.open("wb") as file:
        file.truncate(MAX_FILE_BYTES + 1)  # sparse: nothing written to disk
    with pytest.raises(InvalidInput, match="larger than"):
        read_directory_file(path)


def _write(tmp_path: Path, content: str | bytes) -> Path:
    path = tmp_path / "areas.yaml"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


A_DISTRICT = "areas:\n  - {code: d, name: D, level: district"
A_GRID = "areas:\n  - {code: g, name: G, level: grid, boundary: "
SQUARE = "{type: Polygon, coordinates: [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]]}"


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("areas: " + "[" * 500, "nests lists and mappings deeper than 20 levels (line 1)"),
        ("areas: " + "{a: " * 500, "nests lists and mappings deeper than 20 levels (line 1)"),
        (
            "a:\n" + "".join(f"{' ' * n}a:\n" for n in range(1, 100)),
            "deeper than 20 levels (line 21)",
        ),
        ("areas: " + "[" * 100_000, "nest"),
        ("areas:\n  - {code: a\n  - b: [", "not valid YAML: "),
        (
            "areas: [1]\n---\nareas: [2]\n",
            "expected a single document in the stream, but found another document "
            "(line 2, column 1)",
        ),
        (b"areas:\n  - {code: \xff}\n", "is not UTF-8 text (line 2)"),
        ("", "the directory file is empty"),
        ("- just\n- a list\n", "Input should be a valid dictionary"),
        ("areas:\n  - {code: d, name: D, level: [1]}\n", "unknown level [1]"),
        (A_DISTRICT + ", latitude: 30.1}\n", "give both latitude and longitude, or neither"),
        (
            A_DISTRICT + ", latitude: 91, longitude: 0}\n",
            "areas.0: area 'd': latitude 91, longitude 0 is not on Earth",
        ),
        (A_DISTRICT + ", latitude: .nan, longitude: 0}\n", "area 'd': latitude nan"),
        (A_DISTRICT + ", latitude: 30, longitude: 181}\n", "area 'd': latitude 30, longitude 181"),
        (A_DISTRICT + ", latitude: yes, longitude: 0}\n", "areas.0.latitude: must be a number"),
        (A_DISTRICT + ", centre: x}\n", "areas.0.centre: Extra inputs are not permitted"),
        (
            A_DISTRICT + ", boundary: " + SQUARE + "}\n",
            "area 'd' (district): only a grid takes a boundary",
        ),
        (
            A_GRID + "x}\n",
            "area 'g': boundary is neither a GeoJSON mapping nor GeoJSON text",
        ),
        (
            A_GRID + "{type: Point, coordinates: [114.5, 38.0]}}\n",
            "area 'g': boundary must be a GeoJSON Polygon or MultiPolygon",
        ),
        (A_GRID + "{type: Polygon, coordinates: 7}}\n", "area 'g': boundary has malformed"),
        (
            A_GRID + "{type: Polygon, coordinates: [[[114.5, 38.0], [114.6, 38.0]]]}}\n",
            "area 'g': boundary has malformed coordinates",
        ),
        (
            A_GRID + "{type: Polygon, coordinates: [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}}\n",
            "area 'g': boundary is not a valid polygon: Self-intersection[0.5 0.5]",
        ),
        (
            # Latitude first, the usual slip: 114 is no latitude.
            A_GRID
            + "{type: Polygon, coordinates: [[[38, 114], [38, 115], [39, 115], [38, 114]]]}}\n",
            "area 'g': boundary point [38, 114] is not on Earth: GeoJSON gives [longitude, ",
        ),
        (A_DISTRICT + ",\n      name: E}\n", "gives the key 'name' twice in one mapping (line 3)"),
        (
            "areas:\n" + "".join(f"  - {{code: a{n}, level: grid}}\n" for n in range(9)),
            "areas.0.name: Field required; areas.1.name: Field required; areas.2.name: Field "
            "required; areas.3.name: Field required; areas.4.name: Field required; and 4 more",
        ),
        (
            "areas:\n  - {code: a, name: A, level: district}\n  - {code: a, name: B, level: grid}",
            "area codes used twice: a",
        ),
    ],
)
def test_a_bad_file_is_told_in_one_line_with_exit_status_2(tmp_path, capsys, content, words):
    path = _write(tmp_path, content)
    assert main(["areas", "load", str(path)]) == 2
    line = one_line(capsys.readouterr().err)
    assert words in line
    assert len(line) < 600


def test_a_directory_or_an_unreadable_file_is_one_line(tmp_path, capsys):
    assert main(["areas", "load", str(tmp_path)]) == 2
    assert one_line(capsys.readouterr().err) == f"minhu: cannot read {tmp_path}: Is a directory"


def test_aliases_within_the_bound_still_work(tmp_path):
    path = _write(
        tmp_path,
        "areas:\n  - {code: d, name: D, level: district}\n"
        "people:\n"
        "  - &worker {name: 甲, role: worker, area: d, user_id: 1, locale: en}\n"
        "  - {<<: *worker, name: 乙, user_id: 2}\n",
    )
    spec = read_directory_file(path)
    assert [(p.name, p.user_id, p.locale) for p in spec.people] == [
        ("甲", "1", "en"),
        ("乙", "2", "en"),
    ]
