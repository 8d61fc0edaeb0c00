"""PostgreSQL appends in parallel: the own-store race and many occurrences at once.

Two shapes on PostgreSQL, every racer its own store and ``Ledger`` (the racing
engine of ``store.racers.swarm``, ``HoldInTurn``: each racer holds its own actors
one after another until its occurrence is full):

- **hot**: ``--processes`` x ``--racers`` on one occurrence of ``--capacity`` seats,
  as a ratio of the raw SQLite limit measured beside it (``--processes`` processes
  each committing 1-row transactions into one file, ``synchronous=FULL``). Target
  >= 0.25 (issue 16; 0.083 before).
- **spread**: ``--occurrences`` occurrences x ``--clients`` clients each, against one
  occurrence x ``--clients`` clients, both in ``--processes`` processes. Unrelated
  streams should not wait for each other: target >= 4x the holds/s.

``--old COMMIT`` runs the same rows on an older commit too (a detached worktree, its
own ``store`` on ``PYTHONPATH``), alternating with this checkout, ``--rounds`` times:
the figures to compare are the medians beside each other and the ratios. Every row
is verified: oversold 0 and every acknowledged hold in the log.

Run: ``.venv/bin/python bench/pg_parallel.py [--old main] [--rounds 2] [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent.parent
if str(HERE) not in sys.path:  # run as a script from a checkout: its bench/ package
    sys.path.insert(1, str(HERE))

from bench.alternate import alternate, run_checkout, without  # noqa: E402
from bench.common import percentile, table  # noqa: E402
from store import open_store  # noqa: E402
from store.audit.check import check_stream  # noqa: E402
from store.booking import Ledger, Status  # noqa: E402
from store.ledger.fold import stream_of  # noqa: E402
from store.racers.clients import RACER_DEADLINE, LedgerClient  # noqa: E402
from store.racers.script import Client, HoldInTurn  # noqa: E402
from store.racers.swarm import run_swarm  # noqa: E402

#: the bench/ files this script runs with in an older checkout
HARNESS = ("alternate.py", "common.py")
DEFAULT_PG = os.environ.get("BOXOFFICE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
SPAWN = multiprocessing.get_context("spawn")


class SpreadOpener:
    """Racer ``i`` of a process gets its own store and ``Ledger`` on ``keys[i % len(keys)]``.

    Picklable (a plain object with strings), so it reaches a spawned child.
    """

    def __init__(self, keys: Sequence[str]) -> None:
        self.keys = list(keys)

    @asynccontextmanager
    async def __call__(self, url: str, key: str, racers: int) -> AsyncIterator[Sequence[Client]]:
        async with AsyncExitStack() as stack:
            clients: list[Client] = []
            for i in range(racers):
                store = await stack.enter_async_context(open_store(url))
                ledger = Ledger(store, operator="bench", deadline=RACER_DEADLINE)
                clients.append(LedgerClient(ledger, self.keys[i % len(self.keys)]))
            yield clients


# -- one race on PostgreSQL -------------------------------------------------------------------


async def _prepare(url: str, keys: Sequence[str], capacity: int) -> None:
    async with open_store(url, create=True) as store:
        ledger = Ledger(store, operator="bench")
        for key in keys:
            outcome = await ledger.create_occurrence(key, capacity=capacity)
            assert outcome.status is Status.CREATED, outcome


async def _verify(url: str, keys: Sequence[str]) -> dict[str, Any]:
    oversold = holds = 0
    async with open_store(url) as store:
        for key in keys:
            events = await store.read(stream_of(key))
            oversold += not check_stream(events).ok
            holds += sum(e.type == "hold" for e in events)
    return {"oversold": oversold, "holds_in_log": holds}


async def _drop(url: str, schema: str) -> None:
    import asyncpg

    from store.eventstore.postgres import split_url

    conn = await asyncpg.connect(split_url(url)[0])
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


class CpuSampler:
    """The machine's CPU (``/proc/stat``, every tenant's) sampled every 50 ms, so the
    busy share of a race's sell-out window can be told: a row at 100 % is bound by the
    2 cores, not by locks. Timestamps are ``time.monotonic()``, as the racers' are."""

    def __init__(self) -> None:
        self.samples: list[tuple[float, int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
            self.samples.append((time.monotonic(), sum(fields), fields[3] + fields[4]))
            self._stop.wait(0.05)

    def __enter__(self) -> CpuSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def busy(self, start: float, end: float) -> float:
        """The busy share of every core between two monotonic instants, from the samples
        nearest outside them (a sell-out shorter than the sampling interval has no sample
        inside it)."""
        before = [s for s in self.samples if s[0] <= start]
        after = [s for s in self.samples if s[0] >= end]
        if not before or not after:
            return float("nan")  # the window began before the first sample or ended after the last
        (_, total0, idle0), (_, total1, idle1) = before[-1], after[0]
        return 1 - (idle1 - idle0) / max(1, total1 - total0)


def race(pg: str, processes: int, racers: int, occurrences: int, capacity: int) -> dict[str, Any]:
    """``processes`` x ``racers``, spread over ``occurrences`` of ``capacity`` seats each."""
    schema = f"bo_bench_{uuid.uuid4().hex[:12]}"
    parts = urlsplit(pg)
    url = urlunsplit(
        parts._replace(query="&".join(q for q in (parts.query, f"schema={schema}") if q))
    )
    keys = [f"bench-{n}" for n in range(occurrences)]
    try:
        asyncio.run(_prepare(url, keys, capacity))
        total = processes * racers
        # twice the seats in actors, dealt so that each occurrence's racers share its actors
        actors = [f"actor-{i}" for i in range(2 * capacity * occurrences)]
        lists = [actors[r::total] for r in range(total)]
        scripts = [
            HoldInTurn(tuple(map(tuple, lists[p::processes])), 120.0, stop_on_full=True)
            for p in range(processes)
        ]
        # racer i of process p is global racer p + i * processes; its key is keys[i % n]:
        # with racers a multiple of occurrences every occurrence gets racers / n per process
        with CpuSampler() as cpu:
            replies = run_swarm(url, "", scripts, opener=SpreadOpener(keys), timeout=300).replies
        checked = asyncio.run(_verify(url, keys))
    finally:
        asyncio.run(_drop(pg, schema))
    wins = [r for r in replies if r.status == "held"]
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
        "verified": checked["oversold"] == 0 and checked["holds_in_log"] == len(wins),
        **checked,
    }


def rows_of(args: argparse.Namespace) -> dict[str, dict[str, Any]]:
    """The three PostgreSQL rows of one checkout."""
    p = args.processes
    return {
        "hot": race(args.pg, p, args.racers, 1, args.capacity),
        "one": race(args.pg, p, args.clients // p, 1, args.spread_capacity),
        "spread": race(
            args.pg, p, args.clients * args.occurrences // p, args.occurrences, args.spread_capacity
        ),
    }


# -- the raw SQLite limit, several writer processes -------------------------------------------


def _raw_writer(path: str, seconds: float, barrier: Any, out: Any) -> None:
    conn = sqlite3.connect(path, isolation_level=None, timeout=30)
    conn.execute("PRAGMA synchronous = FULL")
    meta = json.dumps({"operator": "bench", "terminal": f"host:{os.getpid()}"})
    barrier.wait(60)
    txns, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO events (stream, type, data, meta) VALUES (?, 'hold', ?, ?)",
            (f"raw:{os.getpid()}", json.dumps({"actor": f"a-{txns}"}), meta),
        )
        conn.execute("COMMIT")
        txns += 1
    out.put((txns, time.perf_counter() - start))
    conn.close()


def raw_writers(processes: int, seconds: float) -> float:
    """Transactions/s of ``processes`` processes committing 1-row transactions into one file."""
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "raw.db")
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(
                "CREATE TABLE events (position INTEGER PRIMARY KEY AUTOINCREMENT,"
                " stream TEXT NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL, meta TEXT NOT NULL)"
            )
        barrier, out = SPAWN.Barrier(processes), SPAWN.Queue()
        procs = [
            SPAWN.Process(target=_raw_writer, args=(path, seconds, barrier, out))
            for _ in range(processes)
        ]
        for proc in procs:
            proc.start()
        results = [out.get(True, seconds + 120) for _ in procs]
        for proc in procs:
            proc.join(30)
    return sum(t for t, _ in results) / max(s for _, s in results)


# -- the driver ---------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--racers", type=int, default=8, help="hot: racers per process")
    parser.add_argument("--capacity", type=int, default=500, help="hot: seats")
    parser.add_argument("--occurrences", type=int, default=8)
    parser.add_argument("--clients", type=int, default=8, help="spread: clients per occurrence")
    parser.add_argument("--spread-capacity", type=int, default=250)
    parser.add_argument("--raw-seconds", type=float, default=3.0)
    parser.add_argument("--pg", default=DEFAULT_PG)
    parser.add_argument("--old", help="an older commit to run beside this checkout")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="smaller occurrences")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.passed = [a for a in argv if a not in ("--child",)]
    if args.quick:
        args.capacity, args.spread_capacity, args.raw_seconds = 300, 150, 2.0
    if args.child:
        print(json.dumps(rows_of(args)))
        return 0
    args.passed = without(args.passed, "--old", "--rounds")
    seen, raws = alternate(
        args.old,
        args.rounds,
        lambda tree: run_checkout(Path(__file__).resolve(), tree, args.passed, HARNESS),
        lambda: raw_writers(args.processes, args.raw_seconds),
    )
    _report(args, seen, statistics.median(raws))
    return 0


def _report(
    args: argparse.Namespace, seen: dict[str, list[dict[str, dict[str, Any]]]], raw: float
) -> None:
    load = os.getloadavg()[0]
    p = args.processes
    print(
        f"\nPostgreSQL, every racer its own store; {args.rounds} round(s), medians; raw SQLite"
        f" {p}-writer 1-row commits beside it: {raw:.0f} txn/s; nproc {os.cpu_count()},"
        f" load {load:.1f}\n"
    )
    labels = {
        "hot": f"hot: {p} procs x {args.racers} racers, 1 occurrence of {args.capacity}",
        "one": f"1 occurrence x {args.clients} clients ({args.spread_capacity} seats)",
        "spread": f"{args.occurrences} occurrences x {args.clients} clients",
    }
    rows = []
    med: dict[str, dict[str, float]] = {}
    for name, runs in seen.items():
        for row, label in labels.items():
            figures = [r[row] for r in runs]
            rate = statistics.median(f["holds_per_s"] for f in figures)
            med.setdefault(name, {})[row] = rate
            rows.append([
                name, label, f"{rate:.0f}", f"{rate / raw:.3f}",
                f"{statistics.median(f['p99_ms'] for f in figures):.0f}",
                f"{statistics.median(f['cpu_busy'] for f in figures):.0%}",
                sum(f["retries"] for f in figures), sum(f["gave_up"] for f in figures),
                sum(f["oversold"] for f in figures),
                all(f["verified"] for f in figures),
            ])  # fmt: skip
    headers = ["commit", "shape", "holds/s", "/ raw", "p99 ms", "CPU busy", "retries", "gave up"]
    print(table([*headers, "oversold", "verified"], rows))
    print()
    targets = []
    for name, m in med.items():
        targets.append([name, "hot / raw SQLite writers", f"{m['hot'] / raw:.3f}", "≥ 0.25"])
        targets.append([name, "spread / one occurrence", f"{m['spread'] / m['one']:.2f}", "≥ 4"])
    if "old" in med:
        for row in labels:
            targets.append(["new/old", labels[row], f"{med['new'][row] / med['old'][row]:.2f}", ""])
    print(table(["commit", "ratio", "value", "target"], targets))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
