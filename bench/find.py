"""``find`` across a season (issue 14): 10 shows against 1,000, first and repeated searches.

Each season has 200 parties per show (1,000 shows: 201,000 events). For each size,
in one run so the ratios mean something on a shared machine:

- **fold the season**: what the first search used to cost, a cold catalog folding
  every stream from ``read_all`` (the baseline);
- **first search**: a fresh ledger each time (a cold catalog), searching a name on
  one show; the store narrows the streams (``streams_mentioning``) and only those
  are folded;
- **repeated search**: one ledger, each search after a booking somewhere, so
  every search sees a new commit;
- **after a broad search**: a text naming every show folds the season once; from
  then on searches are answered from memory, tailing ``read_all``.

Run: ``.venv/bin/python bench/find.py [--quick] [--pg URL]``; the table is printed
and a JSON copy goes to ``bench/results/``. The load average is printed at the start
and the end: the 100 ms target is at load 2.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_db, machine, median, percentile, table, write_json
from bench.seasons import build_season
from store import open_store
from store.booking import Ledger
from store.ledger.catalog import Catalog

PARTIES = 200


async def drop_schema(url: str) -> None:
    """Remove a PostgreSQL season (its schema) so each run starts from nothing."""
    import asyncpg

    from store.eventstore.postgres import split_url

    dsn, schema, _ = split_url(url)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


async def _timed(call: Callable[..., Awaitable[Any]], *args: Any) -> tuple[float, Any]:
    t0 = time.perf_counter()
    result = await call(*args)
    return time.perf_counter() - t0, result


def _stats(times: list[float]) -> dict[str, float]:
    return {"p50_ms": median(times) * 1e3, "p99_ms": percentile(times, 99) * 1e3, "n": len(times)}


async def measure(url: str, shows: int, samples: int) -> dict[str, Any]:
    """The four measurements on a season of ``shows`` already in ``url``."""
    async with open_store(url) as store:
        folds = []
        for _ in range(3):  # seconds each on 1,000 shows: three are enough for a baseline
            took, _ = await _timed(Catalog(store).catch_up)
            folds.append(took)
        firsts, hits = [], 0
        for i in range(samples):
            show = (i * 37) % shows
            ledger = Ledger(store, operator="bench")  # a cold catalog
            took, found = await _timed(ledger.find, f"guest {show}-{i % PARTIES}")
            firsts.append(took)
            hits += len(found)
        ledger = Ledger(store, operator="bench")
        repeated = []
        for i in range(samples):
            await ledger.book(f"show-{(i * 37) % shows}", f"walk-in {i:03d}", seats=2)
            took, found = await _timed(ledger.find, f"walk-in {i:03d}")
            assert len(found) == 1, found
            repeated.append(took)
        # every show: past NARROW_AT_MOST streams on 1,000 shows, so the season is folded once
        broad, _ = await _timed(ledger.find, "guest")
        whole = []
        for i in range(samples):
            await ledger.book(f"show-{(i * 41) % shows}", f"late {i:03d}", seats=1)
            took, found = await _timed(ledger.find, f"late {i:03d}")
            assert len(found) == 1, found
            whole.append(took)
    return {
        "shows": shows,
        "events": shows * (PARTIES + 1),
        "fold_season": _stats(folds),
        "first": _stats(firsts),
        "first_hits": hits,
        "repeated": _stats(repeated),
        "broad_search_ms": broad * 1e3,
        "after_broad": _stats(whole),
    }


def _row(label: str, shows: int, stats: dict[str, float], base: float) -> list[str]:
    return [
        label,
        f"{shows:,}",
        f"{stats['p50_ms']:.1f}",
        f"{stats['p99_ms']:.1f}",
        f"{stats['p50_ms'] / base:.3f}×" if base else "",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer samples")
    parser.add_argument("--pg", metavar="URL", help="also measure on this PostgreSQL database")
    args = parser.parse_args()
    samples = 10 if args.quick else 30
    facts = machine()
    workdir = Path(tempfile.mkdtemp(prefix="boxoffice-find-"))
    print(f"load {os.getloadavg()[0]:.2f} at start; {facts['nproc']} cores", flush=True)
    results: list[tuple[str, dict[str, Any]]] = []
    targets: list[tuple[str, str]] = [("sqlite", str(workdir / "season-{n}.db"))]
    if args.pg:
        sep = "&" if "?" in args.pg else "?"
        targets.append(("postgres", args.pg + sep + "schema=bench_find_{n}"))
    for backend, pattern in targets:
        for shows in (10, 1000):
            url = pattern.format(n=shows)
            clean = fresh_db if backend == "sqlite" else lambda u: asyncio.run(drop_schema(u))
            clean(url)
            asyncio.run(build_season(url, shows, PARTIES))
            results.append((backend, asyncio.run(measure(url, shows, samples))))
            clean(url)
    load_end = os.getloadavg()[0]
    rows = []
    for backend, r in results:
        base = r["fold_season"]["p50_ms"]
        rows.append(
            _row(
                f"{backend}: fold the season (old first search)", r["shows"], r["fold_season"], base
            )
        )
        rows.append(_row(f"{backend}: first search, fresh ledger", r["shows"], r["first"], base))
        rows.append(
            _row(f"{backend}: repeated search, after a booking", r["shows"], r["repeated"], base)
        )
        rows.append(
            _row(f"{backend}: after one broad search (tailing)", r["shows"], r["after_broad"], base)
        )
    print()
    print(table(["find", "shows", "p50 ms", "p99 ms", "p50 / fold the season"], rows))
    print(
        f"\nload average: {facts['load_1m_at_start']} at start, {load_end:.2f} at end; "
        f"{PARTIES} parties per show; {samples} samples per row"
    )
    path = write_json("find", {"machine": facts, "load_1m_at_end": load_end, "results": results})
    print(f"JSON: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
