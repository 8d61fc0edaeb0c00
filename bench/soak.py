"""Soak: the fault suite's runs (tests/support/faultrun.py) for as long as asked, then a table.

    .venv/bin/python bench/soak.py --minutes 10            # races and kill -9 runs, mixed
    .venv/bin/python bench/soak.py --minutes 5 --kill-every 1   # every run kills a racer
    .venv/bin/python bench/soak.py --seed 1234 [--kill] [--broken]  # replay one run's plan
    .venv/bin/python bench/soak.py --minutes 5 --backend postgres  # each run a fresh schema
    .venv/bin/python bench/soak.py --minutes 5 --waitlist  # waiters too (SPEC §4.5)

Each run is a fresh database file, two or three spawned racer processes firing a
random hold/book/confirm/release/cancel/expire mix at one occurrence of random
capacity, on a stepped clock so holds lapse mid-run; a kill run SIGKILLs one
racer at a random command. Every run is judged from the log and the replies
alone: no oversell (``check_stream``), no acknowledged write missing and none
unexplained (``audit_stream``), and every history linearizable
(``check_history``). With ``--waitlist`` clients also join and leave the waiting
list, and the refold also holds every offer the fold derived against the
checkers' own model of first fit. A failing run prints the command that replays its plan
(the interleaving is the scheduler's) and keeps its files. Exit 1 on any failure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `tests.support` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from store.racers.pool import SwarmPool
from tests.support import faultrun
from tests.support.faultrun import RunResult

COLUMNS = (
    "kind",
    "runs",
    "commands",
    "unknown",
    "retried",
    "offers",
    "histories",
    "oversold",
    "lost",
    "unexplained",
    "violations",
    "crashes",
    "ms/run",
)


def _row(kind: str, results: list[RunResult]) -> list[str]:
    runs = len(results) or 1
    return [
        kind,
        str(len(results)),
        str(sum(r.ops for r in results)),
        str(sum(r.unknown for r in results)),
        str(sum(r.retried for r in results)),
        str(sum(r.offers for r in results)),
        str(sum(r.histories for r in results)),
        str(sum(r.oversold for r in results)),
        str(sum(len(r.lost) for r in results)),
        str(sum(len(r.unexplained) for r in results)),
        str(sum(len(r.violations) for r in results)),
        str(sum(len(r.crashes) for r in results)),
        f"{1000 * sum(r.seconds for r in results) / runs:.0f}",
    ]


def print_table(by_kind: dict[str, list[RunResult]]) -> None:
    rows = [list(COLUMNS)] + [_row(k, v) for k, v in by_kind.items() if v]
    if len(rows) > 2:
        rows.append(_row("all", [r for v in by_kind.values() for r in v]))
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    for n, row in enumerate(rows):
        cells = zip(row, widths, strict=True)
        print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(cells)))
        if n == 0:
            print("  ".join("-" * w for w in widths))


DEFAULT_PG = os.environ.get("BOXOFFICE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


async def _pg(server: str, sql: str, *args: object) -> object:
    import asyncpg

    from store.eventstore.postgres import split_url

    conn = await asyncpg.connect(split_url(server)[0], timeout=10)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


@contextlib.contextmanager
def _database(args: argparse.Namespace) -> Iterator[tuple[str | None, Callable[[], None]]]:
    """Where one run writes: None (a fresh SQLite file) or a fresh PostgreSQL schema.

    Also yields the connection-kill fault for that schema (``pg_terminate_backend``
    of the run's own connections, found by an ``application_name`` unique to it).
    """
    if args.backend == "sqlite":
        yield None, lambda: None
        return
    schema = f"bo_soak_{uuid.uuid4().hex[:12]}"
    sep = "&" if "?" in args.pg_url else "?"

    def terminate() -> None:
        asyncio.run(
            _pg(
                args.pg_url,
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = $1",
                schema,
            )
        )

    try:
        yield f"{args.pg_url}{sep}schema={schema}&application_name={schema}", terminate
    finally:
        asyncio.run(_pg(args.pg_url, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


def replay(pool: SwarmPool, workdir: Path, args: argparse.Namespace) -> int:
    seed, kill, broken = args.seed, args.kill, args.broken
    plan = faultrun.plan_run(seed, kill=kill, broken=broken, waitlist=args.waitlist)
    print(plan.describe())
    with _database(args) as (db, _):
        result = faultrun.execute(pool, plan, workdir / "replay", db=db)
    print_table({"replay": [result]})
    print(f"replies: {dict(result.statuses.most_common())}")
    if not result.ok:
        print(result.failure())
        print(f"files kept in {workdir / 'replay'}")
    return 0 if result.ok else 1


def soak(pool: SwarmPool, workdir: Path, args: argparse.Namespace) -> int:
    base = args.base_seed if args.base_seed is not None else random.randrange(2**32)
    print(f"soak for {args.minutes:g} min, base seed {base} (replay: --base-seed {base})")
    rng = random.Random(base)
    stop = time.monotonic() + 60 * args.minutes
    by_kind: dict[str, list[RunResult]] = {"race": [], "kill -9": [], "terminate": []}
    faults = 0
    failures = 0
    replies: Counter[str] = Counter()
    n = 0
    while time.monotonic() < stop and (args.runs is None or n < args.runs):
        kill = args.kill_every > 0 and n % args.kill_every == args.kill_every - 1
        plan = faultrun.plan_run(rng.randrange(2**32), kill=kill, waitlist=args.waitlist)
        rundir = workdir / f"run{n}"
        # on PostgreSQL, every other kill run ends the run's connections instead
        cut = kill and args.backend == "postgres" and faults % 2 == 1
        faults += kill
        with _database(args) as (db, terminate):
            result = faultrun.execute(pool, plan, rundir, db=db, fault=terminate if cut else None)
        by_kind["terminate" if cut else "kill -9" if kill else "race"].append(result)
        replies.update(result.statuses)
        if result.ok:
            shutil.rmtree(rundir, ignore_errors=True)
        else:
            failures += 1
            print(f"FAILED run {n}: {result.failure()}\nfiles kept in {rundir}", flush=True)
        n += 1
        if n % args.report_every == 0:
            print(f"... {n} runs, {failures} failed", flush=True)
    print()
    print_table(by_kind)
    print(f"\nreplies: {dict(replies.most_common())}")
    print(f"{failures} failing runs")
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=1.0, help="how long to soak (default 1)")
    parser.add_argument("--runs", type=int, help="stop after this many runs")
    parser.add_argument(
        "--kill-every", type=int, default=3, help="every Nth run is a kill run (0: none)"
    )
    parser.add_argument("--base-seed", type=int, help="replay a soak's sequence of plans")
    parser.add_argument("--seed", type=int, help="replay one run's plan, then stop")
    parser.add_argument("--kill", action="store_true", help="with --seed: a kill run")
    parser.add_argument("--broken", action="store_true", help="with --seed: the broken ledger")
    parser.add_argument(
        "--waitlist", action="store_true", help="clients also join and leave the waiting list"
    )
    parser.add_argument("--report-every", type=int, default=100, help=argparse.SUPPRESS)
    parser.add_argument(
        "--backend",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="postgres: each run in a fresh schema of --pg-url; kill runs alternate kill -9"
        " and pg_terminate_backend of the run's own connections",
    )
    parser.add_argument(
        "--pg-url", default=DEFAULT_PG, help="the PostgreSQL server (default $BOXOFFICE_TEST_PG)"
    )
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="boxoffice-soak-"))
    pool = SwarmPool()
    try:
        if args.seed is not None:
            return replay(pool, workdir, args)
        return soak(pool, workdir, args)
    finally:
        pool.close()
        if workdir.is_dir() and not any(workdir.iterdir()):  # failing runs keep their files
            workdir.rmdir()


if __name__ == "__main__":
    sys.exit(main())
