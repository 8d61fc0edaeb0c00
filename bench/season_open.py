"""History-flat reads (issue 16, third bullet): cold starts with and without the caches.

Rows, each measured with the caches off (no snapshots, no house summaries: every
stream folded from seq 1, as main did before them) and on, the two alternating
round by round in the same run:

- first hold on a 100,000-event stream (100,000 parties) from a newly opened
  store and ledger (the "on" rounds run after one cold start has left the
  snapshot), target < 50 ms;
- the house (``Ledger.views``, what the app's house list and ``occurrences`` call)
  of 10 shows and of ``--shows`` shows x 200 bookings from a new ledger, and the
  ratio of the two (the "on" rounds run after one house has left the summaries;
  that first house is its own row, measured once);
- ``boxoffice occurrences`` as a process on both seasons, and their ratio (the
  issue's target, <= 3: what an operator waits for);
- the app (headless, in this process) from its start to its house listing every
  show, painted, on both seasons, and their ratio (<= 3).

    python bench/season_open.py [--rounds 5] [--shows 1000] [--pg URL]

Measured 2026-12-02, ``--rounds 3 --shows 1000 --pg postgresql://...`` (2 cores,
load 2.3 from other jobs; off -> on, medians): first hold 1,752 -> 15.0 ms on SQLite,
1,930 -> 35.0 ms on PostgreSQL (fetching the snapshot's 3.3 MB of party lines is
most of it; this stream's events share one timestamp, real ones add ~1 MB);
house of 1,000 shows 3,400 -> 20.8 ms (SQLite), 3,911 -> 32.8 ms (PostgreSQL), its
first open (folds every stream, writes the summaries) 4.2 / 3.3 s once;
``boxoffice occurrences`` 1,000 / 10 shows 1.15 and 1.16. In-process a house of
summaries still costs its lines (~20 us each plus one query), so 1,000 / 10 shows
in-process is 42x (SQLite) and 15x (PostgreSQL), against 110x folded.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import median, table, write_json
from bench.seasons import build_season
from bench.tui_bench import after_refresh
from store import NewEvent, open_store
from store.booking import Ledger
from store.ledger.fold import stream_of
from store.ledger.provenance import event_meta

BOXOFFICE = str(Path(sys.executable).with_name("boxoffice"))


def ledger(store: object, snapshots: bool) -> Ledger:
    # share=False: a terminal's cold start, not a fold another ledger here already holds
    made = Ledger(store, operator="bench", share=False)  # type: ignore[arg-type]
    # the bench's switch: False is main before either cache (no snapshots, no house
    # summaries: every stream folded from seq 1)
    made._lanes.snapshots = snapshots
    return made


async def build_long(url: str, events: int) -> None:
    meta = event_meta("bench", datetime.now(UTC))
    async with open_store(url, create=True) as store:
        created = NewEvent("created", {"title": "Long", "capacity": events * 2}, meta)
        batch = [created]
        for i in range(events - 1):
            batch.append(NewEvent("booking", {"actor": f"p{i}"}, meta))
            if len(batch) == 5000:
                await store.append_many(stream_of("long"), None, batch)
                batch = []
        if batch:
            await store.append_many(stream_of("long"), None, batch)


_walkups = iter(range(1_000_000))


async def first_hold(url: str, snapshots: bool) -> float:
    async with open_store(url) as store:
        led = ledger(store, snapshots)
        began = time.perf_counter()
        outcome = await led.hold("long", f"walkup {next(_walkups)}")
        took = time.perf_counter() - began
        assert outcome.status == "held", outcome
        return took


async def house(url: str, snapshots: bool) -> float:
    async with open_store(url) as store:
        led = ledger(store, snapshots)
        began = time.perf_counter()
        views = await led.views()
        took = time.perf_counter() - began
        assert views
        return took


async def app_house(url: str, shows: int) -> float:
    """The app started on ``url`` until its house lists every show and that frame is out:
    what an operator waits for on opening the house."""
    from tui.app import BoxOfficeApp

    app = BoxOfficeApp(url, operator="bench", tick=None)
    began = time.perf_counter()
    async with app.run_test(size=(140, 40)) as pilot:
        house = app.main.house
        while len(house.lines) + len(house.hidden) < shows:
            await pilot.pause(0.002)
        return await after_refresh(app) - began


def cli_occurrences(url: str) -> float:
    began = time.perf_counter()
    subprocess.run([BOXOFFICE, "occurrences", "--db", url], check=True, capture_output=True)
    return time.perf_counter() - began


def pg_schema(url: str, schema: str) -> str:
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, f"schema={schema}") if q)
    return urlunsplit(parts._replace(query=query))


async def drop_schemas(url: str, schemas: list[str]) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        for schema in schemas:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


async def run_backend(
    name: str, urls: dict[str, str], rounds: int, events: int, shows: int
) -> list[list[str]]:
    long_url, small, big = urls["long"], urls["small"], urls["big"]
    await first_hold(long_url, True)  # the cold start that leaves the snapshot
    # the first house of each season folds every stream and leaves their summaries
    first_small, first_big = await house(small, True), await house(big, True)
    await app_house(small, 10)  # the first app of the process pays Textual's imports
    times: dict[str, list[float]] = {}
    for r in range(rounds):
        for snapshots in (False, True) if r % 2 == 0 else (True, False):
            tag = "on" if snapshots else "off"
            times.setdefault(f"hold {tag}", []).append(await first_hold(long_url, snapshots))
            times.setdefault(f"small {tag}", []).append(await house(small, snapshots))
            times.setdefault(f"big {tag}", []).append(await house(big, snapshots))
        times.setdefault("cli small", []).append(cli_occurrences(small))
        times.setdefault("cli", []).append(cli_occurrences(big))
        times.setdefault("app small", []).append(await app_house(small, 10))
        times.setdefault("app", []).append(await app_house(big, shows))
    m = {k: median(v) * 1000 for k, v in times.items()}
    long = f"first hold, {events:,}-event stream"
    return [
        [name, long, f"{m['hold off']:.1f}", f"{m['hold on']:.1f}",
         f"{m['hold on'] / m['hold off']:.3f}"],
        [name, "house, 10 shows", f"{m['small off']:.1f}", f"{m['small on']:.1f}",
         f"{m['small on'] / m['small off']:.3f}"],
        [name, "house, big season", f"{m['big off']:.1f}", f"{m['big on']:.1f}",
         f"{m['big on'] / m['big off']:.3f}"],
        [name, "house big / small (target <= 3)", f"{m['big off'] / m['small off']:.1f}",
         f"{m['big on'] / m['small on']:.1f}", ""],
        [name, "house, first open (folds, writes summaries): 10 shows", "",
         f"{first_small * 1000:.1f}", ""],
        [name, "house, first open (folds, writes summaries): big season", "",
         f"{first_big * 1000:.1f}", ""],
        [name, "`boxoffice occurrences`, 10 shows", "", f"{m['cli small']:.1f}", ""],
        [name, "`boxoffice occurrences`, big season", "", f"{m['cli']:.1f}", ""],
        [name, "`boxoffice occurrences` big / small (target <= 3)", "",
         f"{m['cli'] / m['cli small']:.2f}", ""],
        [name, "the app's house painted, 10 shows", "", f"{m['app small']:.1f}", ""],
        [name, "the app's house painted, big season", "", f"{m['app']:.1f}", ""],
        [name, "the app's house big / small (target <= 3)", "",
         f"{m['app'] / m['app small']:.2f}", ""],
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--shows", type=int, default=1000)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--pg", help="a PostgreSQL URL (a schema of its own per database)")
    args = parser.parse_args()
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        backends = {"sqlite": {k: os.path.join(tmp, f"{k}.db") for k in ("long", "small", "big")}}
        schemas = {k: f"bo_season_{k}_{uuid.uuid4().hex[:8]}" for k in ("long", "small", "big")}
        if args.pg:
            backends["postgres"] = {k: pg_schema(args.pg, s) for k, s in schemas.items()}
        try:
            for name, urls in backends.items():
                asyncio.run(build_long(urls["long"], args.events))
                asyncio.run(build_season(urls["small"], 10, 200))
                asyncio.run(build_season(urls["big"], args.shows, 200))
                rows += asyncio.run(run_backend(name, urls, args.rounds, args.events, args.shows))
        finally:
            if args.pg:
                asyncio.run(drop_schemas(args.pg, list(schemas.values())))
    headers = ["backend", "row", "off (main) ms", "on ms", "on / off"]
    print(table(headers, rows))
    load = os.getloadavg()
    print(f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; medians of {args.rounds} rounds")
    print("JSON:", write_json("season_open", {"headers": headers, "rows": rows, "load": load}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
