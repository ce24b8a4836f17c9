"""Benchmark of loading the directory file (issue #14: 100,000 areas in under 30 s).

A file of --areas areas (4 districts × 20 streets × 20 communities, the rest grids, every grid
with a centre; 9 MB at 100,000) is loaded on SQLite and, with a server, on PostgreSQL:

* `command_s`: `minhu areas load FILE` as an admin runs it, in a process of its own on an empty
  database (interpreter start and migrations included), with the process's peak memory;
* `read_s` and `load_s`, `reload_s`: the same work in this process, step by step:
  `read_directory_file` (bounded reading, YAML, validation), then `load_directory` and commit
  on an empty database, then the same file again (nothing to write);
* baselines in the same run: `yaml_load_s`, the bare `yaml.load` of the same text with libyaml
  as anyone would call it, and `yaml_load_gc_paused_s` with the cyclic collector paused as the
  reader does; `bare_insert_s`, one executemany INSERT of the same rows with ids, parents and
  paths worked out beforehand (the floor of putting them in the table at all).

    python bench/bench_directory.py                      # 100,000 areas
    python bench/bench_directory.py --areas 20000        # a smoke run
    python bench/bench_directory.py --postgres-url postgresql+asyncpg://…/test_x

PostgreSQL work happens in a scratch database (--database, default `minhu_bench_directory`) on
the server of --postgres-url / MINHU_TEST_DATABASE_URL, dropped at the end. Prints one JSON
object on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import yaml
from sqlalchemy import insert, text

from bench.kit import drop_postgres, log, prepare_postgres
from storage.engine import make_engine, make_session_factory
from storage.models import Area
from storage.schema import create_all, drop_all
from tests.factories import directory_yaml
from tickets.areas import AreaRow
from tickets.calendar import WorkingCalendar
from tickets.clock import SystemClock
from tickets.directory import area_rows, load_directory, read_directory_file
from tickets.policy import Policy
from tickets.sla import SlaPolicy

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 30.0


def timed(step: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    value = step()
    return value, round(time.perf_counter() - started, 3)


def yaml_baselines(text_: str) -> dict[str, float]:
    _, plain = timed(lambda: yaml.load(text_, Loader=yaml.CSafeLoader))
    gc.disable()
    try:
        _, paused = timed(lambda: yaml.load(text_, Loader=yaml.CSafeLoader))
    finally:
        gc.enable()
    return {"yaml_load_s": plain, "yaml_load_gc_paused_s": paused}


async def empty(url: str) -> None:
    engine = make_engine(url)
    await drop_all(engine)
    async with engine.begin() as connection:
        await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    await engine.dispose()


def run_command(url: str, path: Path) -> dict[str, Any]:
    """`minhu areas load` in a process of its own: wall time and peak memory."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "MINHU_DATABASE_URL": url}
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bot", "areas", "load", str(path)],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = round(time.perf_counter() - started, 3)
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {
        "command_s": seconds,
        "command_exit": done.returncode,
        "command_said": (done.stdout or done.stderr).strip()[-200:],
        # ru_maxrss of all children so far: exact when this is the largest run yet.
        "command_peak_rss_mb": round(max(peak_kb, before) / 1024),
    }


async def load_in_process(url: str, path: Path, policy: Policy) -> dict[str, Any]:
    spec, read_s = timed(lambda: read_directory_file(path))
    engine = make_engine(url)
    await drop_all(engine)
    await create_all(engine)
    sessions = make_session_factory(engine)
    result: dict[str, Any] = {"read_s": read_s}
    try:
        for step in ("load_s", "reload_s"):
            started = time.perf_counter()
            async with sessions() as session:
                counts = await load_directory(session, policy, spec)
                await session.commit()
            result[step] = round(time.perf_counter() - started, 3)
        async with sessions() as session:
            stored = (await session.exec(text("SELECT count(*) FROM areas"))).scalar_one()
        result["areas_loaded"], result["areas_stored"] = counts["areas"], stored
        result["bare_insert_s"] = await bare_insert(engine, area_rows(spec))
    finally:
        await engine.dispose()
    return result


async def bare_insert(engine: Any, rows: list[AreaRow]) -> float:
    """The same rows, ids and paths worked out here, in one executemany on an empty table."""
    await drop_all(engine)
    await create_all(engine)
    ids = {row.code: number for number, row in enumerate(rows, start=1)}
    paths: dict[str, str] = {}
    params = []
    for row in rows:
        above = paths[row.parent_code] if row.parent_code else "/"
        paths[row.code] = f"{above}{ids[row.code]}/"
        params.append(
            {
                "id": ids[row.code],
                "code": row.code,
                "name": row.name,
                "level": row.level.value,
                "parent_id": ids[row.parent_code] if row.parent_code else None,
                "path": paths[row.code],
                "centre_latitude": row.centre_latitude,
                "centre_longitude": row.centre_longitude,
            }
        )
    started = time.perf_counter()
    async with engine.begin() as connection:
        await connection.execute(insert(Area.__table__), params)
    return round(time.perf_counter() - started, 3)


async def bench(
    url: str, path: Path, command_url: str, policy: Policy, baselines: dict[str, float]
) -> dict[str, Any]:
    await empty(command_url)
    log(f"minhu areas load on {url.split(':')[0]}")
    result = run_command(command_url, path)
    log("the same steps in this process")
    result |= await load_in_process(url, path, policy)
    result["in_process_s"] = round(result["read_s"] + result["load_s"], 3)
    # What the load costs beyond parsing the YAML and inserting the rows at all.
    floor = baselines["yaml_load_gc_paused_s"] + result["bare_insert_s"]
    result["ratio_over_floor"] = round(result["in_process_s"] / floor, 2)
    result["meets_target"] = result["command_s"] < TARGET_S and result["command_exit"] == 0
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--areas", type=int, default=100_000)
    parser.add_argument("--postgres-url", default=os.environ.get("MINHU_TEST_DATABASE_URL"))
    parser.add_argument("--database", default="minhu_bench_directory")
    args = parser.parse_args()
    policy = Policy(
        sla=SlaPolicy(), calendar=WorkingCalendar.build("Asia/Shanghai"), clock=SystemClock()
    )
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "areas.yaml"
        content = directory_yaml(args.areas)
        path.write_text(content, encoding="utf-8")
        log(f"{args.areas:,} areas, {path.stat().st_size / 1e6:.1f} MB; bare yaml.load")
        result: dict[str, Any] = {
            "benchmark": "directory",
            "areas": args.areas,
            "file_mb": round(path.stat().st_size / 1e6, 2),
            "target_s": TARGET_S,
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            **yaml_baselines(content),
        }
        del content
        sqlite_url = f"sqlite+aiosqlite:///{Path(scratch) / 'bench.db'}"
        command_url = f"sqlite+aiosqlite:///{Path(scratch) / 'command.db'}"
        result["sqlite"] = await bench(sqlite_url, path, command_url, policy, result)
        if not args.postgres_url:
            result["postgresql"] = {"skipped": "no --postgres-url or MINHU_TEST_DATABASE_URL"}
        else:
            url = await prepare_postgres(args.postgres_url, args.database)
            try:
                result["postgresql"] = await bench(url, path, url, policy, result)
            finally:
                await drop_postgres(args.postgres_url, args.database)
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    asyncio.run(main())
