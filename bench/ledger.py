"""The ledger's own benchmark (issue 2): history cost, the disk's limit, and a hot race.

Three measurements, taken in one run so their ratios mean something on a shared
machine:

1. per-hold latency on a stream of 100 events and on one of 100,000 events (both
   in one database, holds interleaved, after the ledger has caught up once):
   the incremental fold keeps the ratio near 1;
2. one uncontended writer's holds/s against the raw SQLite limit (one-row
   INSERT + COMMIT per transaction through aiosqlite, same ``synchronous``),
   the two taking turns in half-second slices so load changes hit both alike;
3. 4 processes x 16 racers on one occurrence of 500 seats (2,000 actors);
4. parties (``bench/parties.py``): a hold of 4 seats against a hold of 1,
   ``find`` over a 1,000-show season, and a hold on an occurrence with 10,000
   waiters and 100,000 events against one with 100 events.

Run: ``.venv/bin/python bench/ledger.py [--quick]``; the table is printed and a
JSON copy goes to ``bench/results/``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_db, machine, median, percentile, table, write_json
from bench.parties import find_cost, party_hold_cost, waitlist_hold_cost
from bench.systems import bulk_book
from bench.workloads import hot_race, single_writers
from store import NewEvent, open_store
from store.booking import Ledger
from store.ledger.fold import stream_of


async def history_cost(path: str, long_events: int, holds: int) -> dict[str, Any]:
    """Median per-hold latency on a short and a long stream, interleaved hold by hold."""
    fresh_db(path)
    async with open_store(path, create=True) as store:
        ledger = Ledger(store, operator="bench")
        await ledger.create_occurrence("short", capacity=10 * long_events)
        await ledger.create_occurrence("long", capacity=10 * long_events)
    await bulk_book("boxoffice", path, "short", [f"past-{i}" for i in range(99)])
    await bulk_book("boxoffice", path, "long", [f"past-{i}" for i in range(long_events - 1)], 5000)
    async with open_store(path) as store:
        ledger = Ledger(store, operator="bench", share=False)  # a cold start: its own fold
        lengths = {key: await store.last_seq(stream_of(key)) for key in ("short", "long")}
        catch_up = time.perf_counter()
        await ledger.seats_left("long")  # the one-time fold of the whole history
        catch_up = time.perf_counter() - catch_up
        await ledger.seats_left("short")
        times: dict[str, list[float]] = {"short": [], "long": []}
        for i in range(holds):
            for key in ("short", "long") if i % 2 else ("long", "short"):
                t0 = time.perf_counter()
                await ledger.hold(key, f"new-{i}")
                times[key].append(time.perf_counter() - t0)
        matches = await ledger.matches_full_fold("long")
    fresh_db(path)
    short, long = median(times["short"]), median(times["long"])
    return {
        "short_events": lengths["short"],
        "long_events": lengths["long"],
        "holds_each": holds,
        "short_p50_ms": short * 1e3,
        "long_p50_ms": long * 1e3,
        "short_p99_ms": percentile(times["short"], 99) * 1e3,
        "long_p99_ms": percentile(times["long"], 99) * 1e3,
        "ratio": long / short,
        "first_catch_up_s": catch_up,
        "incremental_equals_full_fold": matches,
    }


async def build_long_stream_rate(path: str) -> float:
    """Events/s of the bulk builder, so a reader knows the 100,000 events cost seconds."""
    fresh_db(path)
    async with open_store(path, create=True) as store:
        t0 = time.perf_counter()
        for i in range(0, 20_000, 5000):
            batch = [NewEvent("booking", {"actor": f"a-{i + j}"}) for j in range(5000)]
            await store.append_many("booking:x", None, batch)
        rate = 20_000 / (time.perf_counter() - t0)
    fresh_db(path)
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="a short run (smaller race, fewer holds)"
    )
    parser.add_argument(
        "--dir", default=None, help="where to put the database files (default: a temp dir)"
    )
    args = parser.parse_args()
    quick = args.quick
    workdir = Path(args.dir or tempfile.mkdtemp(prefix="boxoffice-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    db = str(workdir / "ledger-bench.db")
    facts = machine()
    print(
        f"machine: {facts['nproc']} cores, {facts['cpu']}, disk {facts['disk']}, "
        f"load {facts['load_1m_at_start']}; database in {workdir}",
        flush=True,
    )

    history = asyncio.run(history_cost(db, 100_000, 100 if quick else 300))
    singles = asyncio.run(single_writers(["boxoffice"], str(workdir), slices=4 if quick else 10))
    single, raw = singles["boxoffice"], singles["raw"]["ops_per_s"]
    race = hot_race(
        "boxoffice",
        db,
        processes=4,
        racers=16,
        capacity=200 if quick else 500,
        actors=800 if quick else 2000,
        budget=60,
    )

    party = asyncio.run(party_hold_cost(db, 10_000, 100 if quick else 300))
    finder = asyncio.run(find_cost(db, 1000, 20, 20 if quick else 50))
    waits = asyncio.run(waitlist_hold_cost(db, 10_000, 100_000, 100 if quick else 300))

    rows = [
        [
            "hold on a 100-event stream",
            f"p50 {history['short_p50_ms']:.2f} ms, p99 {history['short_p99_ms']:.2f} ms",
            "",
        ],
        [
            f"hold on a {history['long_events']:,}-event stream",
            f"p50 {history['long_p50_ms']:.2f} ms, p99 {history['long_p99_ms']:.2f} ms "
            f"(one-time catch-up {history['first_catch_up_s']:.1f} s)",
            f"ratio {history['ratio']:.2f} (target <= 1.5)",
        ],
        [
            "raw SQLite: 1-row INSERT+COMMIT",
            f"{raw:,.0f} txn/s (p50 {singles['raw']['p50_ms']:.2f} ms)",
            "taking turns with the writer below",
        ],
        [
            "uncontended holds, one writer",
            f"{single['ops_per_s']:,.0f} holds/s (p50 {single['p50_ms']:.2f} ms)",
            f"{single['ops_per_s'] / raw:.0%} of raw (target >= 50%)",
        ],
        [
            f"hot race: 4 processes x 16 racers, {race['capacity']} seats",
            f"{race['holds_per_s']:,.0f} holds/s; p50 {race['p50_ms']:.1f} ms, "
            f"p99 {race['p99_ms']:.1f} ms",
            f"oversold {race['oversold']}, lost acks {race['acknowledged_not_in_log']}",
        ],
        [
            "hot race: conflicts",
            f"{race['txn_conflicts']} lost appends ({race['txns']} appends); "
            f"{race['conflicts']} command retries",
            f"most retries by one racer: {race['max_retries']}",
        ],
        [
            "hot race: wins per process",
            " / ".join(f"{s:.0%}" for s in race["win_shares"]),
            "fair share 25%",
        ],
        [
            f"hold of 4 seats vs 1 ({party['history_events']:,}-event stream)",
            f"p50 {party['party_p50_ms']:.2f} ms vs {party['one_p50_ms']:.2f} ms",
            f"ratio {party['ratio']:.2f} (target: within noise of 1)",
        ],
        [
            f"find over {finder['shows']:,} shows ({finder['events']:,} events), warm",
            f"p50 {finder['warm_p50_ms']:.1f} ms, p99 {finder['warm_p99_ms']:.1f} ms "
            f"(each after a booking)",
            "target < 100 ms",
        ],
        [
            f"hold with {waits['waiters']:,} waiters ({waits['long_events']:,} events) vs 100",
            f"p50 {waits['long_p50_ms']:.2f} ms vs {waits['short_p50_ms']:.2f} ms",
            f"ratio {waits['ratio']:.2f} (target <= 1.5)",
        ],
        [
            "find: first search of a fresh ledger",
            f"{finder['cold_first_search_ms']:.0f} ms (folds only the shows that mention it)",
            "",
        ],
    ]
    print()
    print(table(["measurement", "figure", "against"], rows))
    path = write_json(
        "ledger",
        {
            "machine": facts,
            "command": " ".join(["python", "bench/ledger.py", *sys.argv[1:]]),
            "history": history,
            "single_writers": singles,
            "hot_race": race,
            "party_hold": party,
            "find": finder,
            "waitlist_hold": waits,
        },
    )
    print(f"\nJSON: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
