"""The contended race on SQLite and on PostgreSQL, side by side.

``processes`` spawned processes x ``racers`` asyncio racers each; every racer has
its own store and its own ``Ledger`` (the ledgers of a process share its fold and
lane, ``store.ledger.shared``; the processes race through the database's
optimistic check) and holds its own actors, one after another, on one occurrence
until it sells out. Both backends run the same
workload in the same invocation, so the ratio between them is what to read: on a
shared machine, absolute figures move with everyone else's load.

On PostgreSQL the stores of one process share a connection pool (at most 8
connections), so 4 x 16 racers use about 32 server connections, not 64.

Run: ``.venv/bin/python bench/backends.py [--processes 4 --racers 16 --pg URL]``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from store import open_store
from store.audit.check import check_stream
from store.booking import Ledger, Status
from store.ledger.fold import stream_of
from store.racers.script import HoldInTurn
from store.racers.swarm import run_swarm

KEY = "bench-race"
DEFAULT_PG = os.environ.get("BOXOFFICE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [headers] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    rule = "| " + " | ".join("-" * w for w in widths) + " |"
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


# -- one backend ---------------------------------------------------------------------------


async def _create(url: str, capacity: int) -> None:
    async with open_store(url, create=True) as store:
        outcome = await Ledger(store, operator="bench").create_occurrence(KEY, capacity=capacity)
        assert outcome.status is Status.CREATED, outcome


async def _verify(url: str) -> dict[str, Any]:
    async with open_store(url) as store:
        events = await store.read(stream_of(KEY))
    report = check_stream(events)
    return {"oversold": not report.ok, "holds_in_log": sum(e.type == "hold" for e in events)}


def run_backend(
    url: str, processes: int, racers: int, capacity: int, budget: float
) -> dict[str, Any]:
    asyncio.run(_create(url, capacity))
    actors = [f"actor-{i}" for i in range(capacity * 2)]
    lists = [actors[r :: processes * racers] for r in range(processes * racers)]
    # Every racer its own store and Ledger, warmed, holding its actors until it is told full.
    scripts = [
        HoldInTurn(tuple(map(tuple, lists[p::processes])), budget, stop_on_full=True)
        for p in range(processes)
    ]
    replies = run_swarm(url, KEY, scripts, operator="bench", timeout=budget + 180).replies
    wins = [r for r in replies if r.status == "held"]
    start = min(r.started for r in replies)
    seconds = max(r.ended for r in wins) - start if wins else 0.0
    latencies = [(r.ended - r.started) * 1e3 for r in replies]
    checked = asyncio.run(_verify(url))
    return {
        "holds": len(wins),
        "seconds": seconds,
        "holds_per_s": len(wins) / seconds if seconds else 0.0,
        "commands": len(replies),
        "conflicts": sum(r.attempts - 1 for r in replies),
        "gave_up": sum(r.status == "conflict" for r in replies),
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        **checked,
    }


async def _drop_schema(url: str, schema: str) -> None:
    import asyncpg

    from store.eventstore.postgres import split_url

    conn = await asyncpg.connect(split_url(url)[0])
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--racers", type=int, default=16, help="racers per process")
    parser.add_argument("--capacity", type=int, default=500)
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per backend at most")
    parser.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL server URL")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--rounds", type=int, default=1, help="alternate the backends N times")
    args = parser.parse_args(argv)

    results: dict[str, list[dict[str, Any]]] = {}
    for _ in range(args.rounds):
        for backend in args.backends.split(","):
            if backend == "sqlite":
                with tempfile.TemporaryDirectory() as tmp:
                    url = str(Path(tmp) / "race.db")
                    figures = run_backend(
                        url, args.processes, args.racers, args.capacity, args.budget
                    )
            elif backend == "postgres":
                schema = f"bo_bench_{uuid.uuid4().hex[:12]}"
                parts = urlsplit(args.pg)
                query = "&".join(q for q in (parts.query, f"schema={schema}") if q)
                url = urlunsplit(parts._replace(query=query))
                try:
                    figures = run_backend(
                        url, args.processes, args.racers, args.capacity, args.budget
                    )
                finally:
                    asyncio.run(_drop_schema(args.pg, schema))
            else:
                parser.error(f"unknown backend {backend!r}")
            results.setdefault(backend, []).append(figures)
            print(f"{backend}: {figures}", file=sys.stderr)

    load = os.getloadavg()[0]
    print(
        f"\nContended race: {args.processes} processes x {args.racers} racers "
        f"(each its own store + Ledger), capacity {args.capacity}, "
        f"{2 * args.capacity} actors; nproc {os.cpu_count()}, load {load:.1f}\n"
    )
    rows = []
    for backend, runs in results.items():
        for n, f in enumerate(runs, start=1):
            rows.append(
                [
                    backend if len(runs) == 1 else f"{backend} #{n}",
                    f["holds"],
                    f"{f['seconds']:.2f}",
                    f"{f['holds_per_s']:.0f}",
                    f["commands"],
                    f["conflicts"],
                    f["gave_up"],
                    f"{f['p50_ms']:.1f}",
                    f"{f['p99_ms']:.1f}",
                    "no" if not f["oversold"] and f["holds_in_log"] == f["holds"] else "YES",
                ]
            )
    headers = ["backend", "holds", "sell-out s", "holds/s", "commands", "conflicts"]
    headers += ["gave up", "p50 ms", "p99 ms", "oversold/lost"]
    print(table(headers, rows))
    if "sqlite" in results and "postgres" in results:
        rate = {b: sum(f["holds_per_s"] for f in runs) / len(runs) for b, runs in results.items()}
        print(f"\nPostgreSQL / SQLite holds/s: {rate['postgres'] / rate['sqlite']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
