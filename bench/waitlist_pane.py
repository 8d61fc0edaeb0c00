"""The app's waiting-list pane on a long list, headless: does it keep up when the list is long?

A sold-out occurrence with N waiting parties. Measured, each beside a baseline
taken in the same run (on a shared machine only ratios mean much):

1. **open**: from pressing ``w`` to the pane painted with its lines. Baseline: the
   same on an occurrence with 10 waiting (what showing any pane costs: layout,
   styles, a frame); and, for scale, ``Ledger.waitlist`` read by a fresh ledger.
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
SHORT = "short-list"  # 10 waiting: the baseline for opening the pane
SHORT_LIST = 10
SIZE = (140, 40)
ROUNDS = 3


async def seed(db: str, waiters: int) -> None:
    async with open_store(db, create=True) as store:
        ledger = Ledger(store, operator="bench")
        await ledger.create_occurrence(KEY, capacity=10, title="Sold out")
        await asyncio.gather(*(ledger.book(KEY, f"seated {i}") for i in range(10)))
        for i in range(waiters):  # one at a time: places are join order
            await ledger.join_waitlist(KEY, f"waiter {i:05d}", seats=1 + i % 4)
        await ledger.create_occurrence(SHORT, capacity=1, title="Short list")
        await ledger.book(SHORT, "seated")
        for i in range(SHORT_LIST):
            await ledger.join_waitlist(SHORT, f"waiter {i}")


async def baseline_read(db: str) -> float:
    start = time.perf_counter()
    async with open_store(db) as store:
        found = await Ledger(store).waitlist(KEY)
    assert found
    return time.perf_counter() - start


async def run(db: str, waiters: int) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {"open": [], "short": [], "head": [], "tail": []}
    app = make_app(db, tick=None)
    async with app.run_test(size=SIZE) as pilot:
        main = app.main
        pane = main.waitlist
        await wait_until(pilot, lambda: len(main.house.lines) == 2)
        for _ in range(ROUNDS):
            for key, count, which in ((SHORT, SHORT_LIST, "short"), (KEY, waiters, "open")):
                main.house.move_cursor(row=main.house.get_row_index(key))
                await wait_until(
                    pilot,
                    lambda k=key, n=count: (
                        main.selected == k and (len(pane.shown_actors) == n and not pane.filling)
                    ),
                )
                await after_refresh(app)
                start = time.perf_counter()
                await pilot.press("w")  # show it
                await wait_until(pilot, lambda: pane.display)
                figures[which].append(await after_refresh(app) - start)
                await pilot.press("w")  # and hide it again
        await pilot.press("w")  # the long list on screen while parties leave it
        assert app.ledger is not None and main.selected == KEY
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
        [
            f"show the pane (w) on {waiters:,} waiting",
            ms(figures["open"]),
            f"{median(figures['open']) / median(figures['short']):.2f}x the short list",
        ],
        [f"baseline: show it on {SHORT_LIST} waiting", ms(figures["short"]), ""],
        ["for scale: Ledger.waitlist, fresh ledger", ms(read), ""],
        [
            "the head leaves (every place moves)",
            ms(figures["head"]),
            f"{median(figures['head']) / median(figures['tail']):.2f}x the tail",
        ],
        ["baseline: the tail leaves (no place moves)", ms(figures["tail"]), ""],
    ]
    print(table(["measurement", f"median of {ROUNDS}", "ratio"], rows))
    print(f"machine: {machine()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waiters", type=int, default=5000)
    asyncio.run(main(parser.parse_args().waiters))
