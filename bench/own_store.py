"""Independent clients: every racer its own store and ``Ledger``, on SQLite and PostgreSQL.

The shapes real box offices and on-sales have (issue 16), each as a ratio of the
raw SQLite limit measured beside it in the same run (``--processes`` processes
each committing 1-row transactions into one file, ``synchronous=FULL``):

- **hot**: ``--processes`` x ``--racers`` on one occurrence of ``--capacity`` seats,
  twice as many actors as seats. Targets: SQLite >= 0.5 (0.15 before), PostgreSQL
  >= 0.25 (0.083 before).
- **rush**: ``--rush-processes`` x ``--rush-racers`` on one occurrence of
  ``--rush-capacity`` seats, four actors per seat. Target on SQLite >= 0.30 (0.033
  before), p99 <= 250 ms, and no racer left without a seat (every racer holds its
  own actors in turn until told ``full``, so one without a seat was starved).

Every racer holds its own actors one after another until it is told ``full``
(``HoldInTurn``, the racing engine of ``store.racers.swarm``). ``--old COMMIT``
runs the same rows on an older commit too (a detached worktree, its own ``store``
on ``PYTHONPATH``), alternating with this checkout, ``--rounds`` times. Every row
is verified: oversold 0 and every acknowledged hold in the log.

Run: ``.venv/bin/python bench/own_store.py [--old main] [--rounds 2] [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent.parent
if str(HERE) not in sys.path:  # run as a script from a checkout: its bench/ package
    sys.path.insert(1, str(HERE))

from bench.alternate import alternate, run_checkout, without  # noqa: E402
from bench.common import percentile, table  # noqa: E402
from bench.pg_parallel import (  # noqa: E402
    DEFAULT_PG,
    CpuSampler,
    _drop,
    _prepare,
    _verify,
    raw_writers,
)
from store.racers.script import HoldInTurn  # noqa: E402
from store.racers.swarm import run_swarm  # noqa: E402

KEY = "bench-own"
#: the bench/ files this script runs with in an older checkout
HARNESS = ("pg_parallel.py", "alternate.py", "common.py")


def race(url: str, processes: int, racers: int, capacity: int, per_seat: int) -> dict[str, Any]:
    """``processes`` x ``racers`` own-store clients on one occurrence; ``per_seat`` actors/seat."""
    asyncio.run(_prepare(url, [KEY], capacity))
    total = processes * racers
    actors = [f"actor-{i}" for i in range(per_seat * capacity)]
    lists = [tuple(actors[r::total]) for r in range(total)]
    scripts = [
        HoldInTurn(tuple(lists[p::processes]), 180.0, stop_on_full=True) for p in range(processes)
    ]
    with CpuSampler() as cpu:
        replies = run_swarm(url, KEY, scripts, operator="bench", timeout=400).replies
    checked = asyncio.run(_verify(url, [KEY]))
    wins = [r for r in replies if r.status == "held"]
    held = {r.actor for r in wins}
    start = min(r.started for r in replies)
    seconds = max(r.ended for r in wins) - start if wins else 0.0
    latencies = [(r.ended - r.started) * 1e3 for r in replies]
    return {
        "cpu_busy": cpu.busy(start, start + seconds),
        "holds": len(wins),
        "holds_per_s": len(wins) / seconds if seconds else 0.0,
        "p99_ms": percentile(latencies, 99),
        "retries": sum(r.attempts - 1 for r in replies),
        "gave_up": sum(r.status == "conflict" for r in replies),
        # a racer tries its actors in turn until `full`: none held means it never got in
        "seatless": sum(not held.intersection(own) for own in lists),
        "verified": checked["oversold"] == 0 and checked["holds_in_log"] == len(wins) == capacity,
        **checked,
    }


def _pg_schema_url(pg: str) -> tuple[str, str]:
    schema = f"bo_bench_{uuid.uuid4().hex[:12]}"
    parts = urlsplit(pg)
    query = "&".join(q for q in (parts.query, f"schema={schema}") if q)
    return urlunsplit(parts._replace(query=query)), schema


def rows_of(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """The rows of one checkout, each on a fresh database."""
    shapes = {
        "hot": (args.processes, args.racers, args.capacity, 2),
        "rush": (args.rush_processes, args.rush_racers, args.rush_capacity, 4),
    }
    out: dict[str, dict[str, Any]] = {}
    for backend in args.backends.split(","):
        for shape, (p, r, c, k) in shapes.items():
            if backend == "sqlite":
                with tempfile.TemporaryDirectory() as tmp:
                    out[f"sqlite {shape}"] = race(str(Path(tmp) / "own.db"), p, r, c, k)
            else:
                url, schema = _pg_schema_url(args.pg)
                try:
                    out[f"postgres {shape}"] = race(url, p, r, c, k)
                finally:
                    asyncio.run(_drop(args.pg, schema))
    return out


TARGETS = {"sqlite hot": 0.5, "sqlite rush": 0.30, "postgres hot": 0.25}


def report(args: argparse.Namespace, seen: dict[str, list[dict[str, Any]]], raw: float) -> None:
    print(
        f"\nEvery racer its own store; {args.rounds} round(s), medians; raw SQLite"
        f" {args.processes}-writer 1-row commits beside it: {raw:.0f} txn/s;"
        f" nproc {os.cpu_count()}, load {os.getloadavg()[0]:.1f}\n"
    )
    sizes = {
        "hot": f"{args.processes} procs x {args.racers}, {args.capacity} seats",
        "rush": f"{args.rush_processes} procs x {args.rush_racers}, {args.rush_capacity} seats",
    }
    rows, med = [], {}
    for name, runs in seen.items():
        for row in runs[0]:
            figures = [r[row] for r in runs]
            rate = statistics.median(f["holds_per_s"] for f in figures)
            med[(name, row)] = rate
            target = TARGETS.get(row)
            rows.append([
                name, f"{row}: {sizes[row.split()[1]]}", f"{rate:.0f}", f"{rate / raw:.3f}",
                f"≥ {target}" if target else "",
                f"{statistics.median(f['p99_ms'] for f in figures):.0f}",
                f"{statistics.median(f['cpu_busy'] for f in figures):.0%}",
                sum(f["retries"] for f in figures), sum(f["gave_up"] for f in figures),
                max(f["seatless"] for f in figures), sum(f["oversold"] for f in figures),
                all(f["verified"] for f in figures),
            ])  # fmt: skip
    headers = ["commit", "shape", "holds/s", "/ raw", "target", "p99 ms", "CPU busy", "retries"]
    print(table([*headers, "gave up", "seatless", "oversold", "verified"], rows))
    if "old" in seen:
        print()
        ratios = [[row, f"{med[('new', row)] / med[('old', row)]:.2f}"] for row in seen["new"][0]]
        print(table(["shape", "new / old holds/s"], ratios))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--racers", type=int, default=8, help="hot: racers per process")
    parser.add_argument("--capacity", type=int, default=500, help="hot: seats")
    parser.add_argument("--rush-processes", type=int, default=8)
    parser.add_argument("--rush-racers", type=int, default=64)
    parser.add_argument("--rush-capacity", type=int, default=2000)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--raw-seconds", type=float, default=3.0)
    parser.add_argument("--pg", default=DEFAULT_PG)
    parser.add_argument("--old", help="an older commit to run beside this checkout")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="smaller occurrences")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.passed = without([a for a in argv if a != "--child"], "--old", "--rounds")
    if args.quick:
        args.capacity, args.rush_capacity, args.raw_seconds = 300, 1000, 2.0
    if args.child:
        print(json.dumps(rows_of(args)))
        return 0
    seen, raws = alternate(
        args.old,
        args.rounds,
        lambda tree: run_checkout(Path(__file__).resolve(), tree, args.passed, HARNESS),
        lambda: raw_writers(args.processes, args.raw_seconds),
    )
    report(args, seen, statistics.median(raws))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
