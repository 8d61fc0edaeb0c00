"""The app's waiting-list pane on a long list, headless: does it keep up when the list is long?

A sold-out occurrence with N waiting parties. Measured, each beside a baseline
taken in the same run (on a shared machine only ratios mean much):

1. **open**: from pressing ``w`` to every line in the pane and the screen painted.
   Baseline: ``Ledger.waitlist`` read by a fresh ledger (the data the pane cannot
   avoid reading).
2. **the head leaves**: the first party leaves the list (every place behind it
   moves up by one), from the command returning to the pane without it, painted.
   Baseline: the same for the last party (one line goes, no place moves).

Places are read when a row is drawn (like the roster's seats), so the head
leaving should cost about what the tail leaving costs, not N cell rewrites.

Run: ``.venv/bin/python bench/waitlist_pane.py [--waiters N]``.
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

from bench.common import machine, median, table
from bench.tui_bench import after_refresh, make_app, wait_until
from store import open_store
from store.booking import Ledger

KEY = "sold-out"
SIZE = (140, 40)
ROUNDS = 3


async def seed(db: str, waiters: int) -> None:
    async with open_store(db, create=True) as store:
        ledger = Ledger(store, operator="bench")
        await ledger.create_occurrence(KEY, capacity=10, title="Sold out")
        await asyncio.gather(*(ledger.book(KEY, f"seated {i}") for i in range(10)))
        for start in range(0, waiters, 500):  # in order: places are join order
            for i in range(start, min(waiters, start + 500)):
                await ledger.join_waitlist(KEY, f"waiter {i:05d}", seats=1 + i % 4)


async def baseline_read(db: str) -> float:
    start = time.perf_counter()
    async with open_store(db) as store:
        found = await Ledger(store).waitlist(KEY)
    assert found
    return time.perf_counter() - start


async def run(db: str, waiters: int) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {"open": [], "head": [], "tail": []}
    app = make_app(db, tick=None)
    async with app.run_test(size=SIZE) as pilot:
        main = app.main
        await wait_until(pilot, lambda: main.selected == KEY and main.roster.total == 10)
        pane = main.waitlist
        start = time.perf_counter()
        await pilot.press("w")
        await wait_until(pilot, lambda: len(pane.shown_actors) == waiters)
        figures["open"].append(await after_refresh(app) - start)
        assert app.ledger is not None
        for _ in range(ROUNDS):
            for which, pick in (("head", 0), ("tail", -1)):
                actor = pane.shown_actors[pick]
                count = len(pane.shown_actors)
                await app.ledger.leave_waitlist(KEY, actor)
                start = time.perf_counter()
                await wait_until(pilot, lambda n=count: len(pane.shown_actors) == n - 1)
                figures[which].append(await after_refresh(app) - start)
    return figures


async def main(waiters: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "bench.db")
        await seed(db, waiters)
        read = [await baseline_read(db) for _ in range(ROUNDS)]
        figures = await run(db, waiters)
    ms = lambda xs: f"{median(xs) * 1000:.1f} ms"  # noqa: E731
    rows: list[list[Any]] = [
        [f"open the pane on {waiters:,} waiting", ms(figures["open"]), "—"],
        ["baseline: Ledger.waitlist, fresh ledger", ms(read), ""],
        [
            "the head leaves (every place moves)",
            ms(figures["head"]),
            f"{median(figures['head']) / median(figures['tail']):.2f}x the tail",
        ],
        ["baseline: the tail leaves (no place moves)", ms(figures["tail"]), ""],
    ]
    print(table(["measurement", f"median of {ROUNDS}", "ratio"], rows))
    print(f"open / baseline read: {median(figures['open']) / median(read):.2f}")
    print(f"machine: {machine()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waiters", type=int, default=5000)
    asyncio.run(main(parser.parse_args().waiters))
