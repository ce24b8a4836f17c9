"""Benchmark: a shared location → its grid over 10,000 grid boundaries (issue #16: p99 ≤ 1 ms).

--grids grids tile a district 100 × 100 (each a 12-sided ring of about 250 m, slightly
irregular, its neighbours' edges close but apart), and --lookups locations fall on it at random,
one in ten outside every boundary. Timed per location, in this process:

Each is timed by the wall clock (p50, p99, max) and by the process's CPU time (`cpu_p99_ms`),
which leaves out the time other processes held the core on a shared machine.

* `index`: tickets.places.GridIndex.locate (STRtree over the boundaries, then the centres within
  500 m), as a chat turn asks it;
* `linear_scan`: the baseline in the same run, every boundary asked in turn whether it holds the
  point (shapely's own `intersects`, the geometry already built), as code without an index would;
  over the first --scan-lookups locations only, as it is slow.

Both must give the same grid wherever the scan finds one (`agree`; the scan knows no centres).
`build_s` is the index's build from GeoJSON text, as a process does it once per directory load.

    python bench/bench_locate.py                  # 10,000 grids, 20,000 locations
    python bench/bench_locate.py --grids 1000     # a smoke run

Prints one JSON object on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import gc
import math
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import shapely

from bench.kit import emit, log, machine
from tickets.places import GridIndex, GridPlace, boundary_text, parse_boundary

SOUTH, WEST = 38.0, 114.4  # the demo district's corner
STEP = 0.003  # degrees between grid centres (about 330 m north-south, 260 m east-west)
WITHIN_M = 500.0


def ring(latitude: float, longitude: float, rng: random.Random) -> dict[str, Any]:
    """A 12-sided GeoJSON polygon around a centre, its radius wobbling a little."""
    points = []
    for corner in range(12):
        angle = 2 * math.pi * corner / 12
        radius = STEP * 0.45 * rng.uniform(0.9, 1.0)
        points.append([longitude + radius * math.cos(angle), latitude + radius * math.sin(angle)])
    points.append(points[0])
    return {"type": "Polygon", "coordinates": [points]}


def district(grids: int, rng: random.Random) -> list[tuple[int, str, float, float]]:
    """(area id, boundary as stored, centre) for each grid."""
    side = math.ceil(math.sqrt(grids))
    rows = []
    for number in range(grids):
        latitude = SOUTH + STEP * (number // side)
        longitude = WEST + STEP * (number % side)
        text = boundary_text(parse_boundary(ring(latitude, longitude, rng)))
        rows.append((number + 1, text, latitude, longitude))
    return rows


def timed(
    locate: Callable[[float, float], int | None], points: list[tuple[float, float]]
) -> tuple[list[int | None], dict[str, list[float]]]:
    """Each point's grid, and each call's wall-clock and CPU time: on a shared machine the wall
    clock also counts the time other processes had the core."""
    found, wall, cpu = [], [], []
    for latitude, longitude in points:
        started, started_cpu = time.perf_counter(), time.thread_time()
        found.append(locate(latitude, longitude))
        cpu.append(time.thread_time() - started_cpu)
        wall.append(time.perf_counter() - started)
    return found, {"wall": wall, "cpu": cpu}


def percentile_ms(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return round(ordered[max(0, math.ceil(share * len(ordered)) - 1)] * 1000, 4)


def timings(samples: dict[str, list[float]]) -> dict[str, float]:
    wall, cpu = samples["wall"], samples["cpu"]
    return {
        "p50_ms": percentile_ms(wall, 0.50),
        "p99_ms": percentile_ms(wall, 0.99),
        "max_ms": percentile_ms(wall, 1.0),
        "cpu_p50_ms": percentile_ms(cpu, 0.50),
        "cpu_p99_ms": percentile_ms(cpu, 0.99),
        "runs": len(wall),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grids", type=int, default=10_000)
    parser.add_argument("--lookups", type=int, default=20_000)
    parser.add_argument(
        "--scan-lookups", type=int, default=500, help="the linear scan's share: it is slow"
    )
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    rng = random.Random(args.seed)

    log(f"{args.grids} grid boundaries")
    rows = district(args.grids, rng)
    started = time.perf_counter()
    shapes = shapely.from_geojson([text for _, text, _, _ in rows])
    places = [
        GridPlace(area_id, shape, lat, lon)
        for (area_id, _, lat, lon), shape in zip(rows, shapes, strict=True)
    ]
    index = GridIndex(places)
    build_s = time.perf_counter() - started

    side = math.ceil(math.sqrt(args.grids))
    north, east = SOUTH + STEP * (args.grids // side), WEST + STEP * side
    # Nine in ten on the district, one in ten a few kilometres off it.
    points = [
        (rng.uniform(SOUTH, north), rng.uniform(WEST, east))
        if rng.random() < 0.9
        else (rng.uniform(SOUTH - 0.05, SOUTH - 0.01), rng.uniform(WEST, east))
        for _ in range(args.lookups)
    ]

    # The built index and the points are long-lived: the cyclic collector need not walk them.
    gc.collect()
    gc.freeze()
    log(f"{args.lookups} locations through the index")
    found, indexed = timed(lambda lat, lon: index.locate(lat, lon, within_m=WITHIN_M), points)
    log(f"{args.scan_lookups} of them by a linear scan")
    scanned, linear = timed(lambda lat, lon: _scan(places, lat, lon), points[: args.scan_lookups])

    agree = all(
        a == b for a, b in zip(found[: len(scanned)], scanned, strict=True) if b is not None
    )
    emit(
        {
            "benchmark": "locate",
            "grids": args.grids,
            "lookups": args.lookups,
            "scan_lookups": len(scanned),
            "placed": sum(grid is not None for grid in found),
            "build_s": round(build_s, 3),
            "index": timings(indexed),
            "linear_scan": timings(linear),
            "speedup_p50": round(
                percentile_ms(linear["wall"], 0.5) / max(percentile_ms(indexed["wall"], 0.5), 1e-6)
            ),
            "agree": agree,
            "machine": machine() | {"shapely": shapely.__version__},
        }
    )


def _scan(places: list[GridPlace], latitude: float, longitude: float) -> int | None:
    """Every boundary in turn; the smallest that holds the point, as the index chooses."""
    point = shapely.Point(longitude, latitude)
    holding = [
        (place.boundary.area, place.area_id)
        for place in places
        if place.boundary is not None and place.boundary.intersects(point)
    ]
    return min(holding)[1] if holding else None


if __name__ == "__main__":
    main()
