"""The app's benchmark (issue 4), headless: open a big house, follow another process, idle.

Three measurements, each beside a baseline taken in the same run (on a shared
machine only ratios mean much):

1. **open**: from starting the app to the first full render of a sold-out
   10,000-seat occurrence (every row in the table, the screen painted).
   Baseline: a fresh ``Ledger`` reading the same roster (the data the app
   cannot avoid reading). Target < 1 s.
2. **live latency**: another process cancels and books seats on that
   occurrence (cancels at random places, so later seats renumber); from each
   commit returning in the writer to the row changed in the app's table and
   the screen refreshed, once the whole roster is in the table (before 2026-12-07 the
   writer started while a 10,000-seat roster was still being added, and that filling
   counted as commits' CPU). Baseline: a bare tail (``wait_for_append`` +
   ``read_all``) in this process seeing the same commits. Target p95 < 250 ms.
   The app's CPU per commit is timed from the writer being open to its last
   commit on screen, less the CPU of the same stretch with nothing written
   (the bare tail's polls, the app's timers); the gross figure is printed beside it.
3. **idle CPU**: the app open on the busy house (held seats counting down on
   screen, nothing written) for a while; CPU time of this process over wall
   time. Baseline: the bare tail alone for the same time. Target < 5 % of a core.

Run: ``.venv/bin/python bench/tui_bench.py [--quick]``; a table is printed and
a JSON copy goes to ``bench/results/``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import machine, median, percentile, table, write_json
from store import EventStore, open_store
from store.booking import Ledger

BIG = "big-night"
SEATS = 10_000
HOLD_EVERY = 10  # every 10th seat of the big night is a hold (so countdowns tick on screen)
SIZE = (160, 50)


# -- the house ---------------------------------------------------------------------


async def seed(db: str, seats: int) -> None:
    """A sold-out big night plus a few smaller occurrences with live holds."""
    async with open_store(db, create=True) as store:
        ledger = Ledger(store, operator="bench")
        now = await ledger.now()
        await ledger.create_occurrence(
            BIG, capacity=seats, title="Big Night", starts_at=now + timedelta(hours=2)
        )
        for start in range(0, seats, 2000):
            await asyncio.gather(
                *(
                    ledger.hold(BIG, f"guest-{i:05d}", ttl=timedelta(minutes=50))
                    if i % HOLD_EVERY == 0
                    else ledger.book(BIG, f"guest-{i:05d}")
                    for i in range(start, min(seats, start + 2000))
                )
            )
        for n in range(5):
            key = f"matinee-{n}"
            await ledger.create_occurrence(
                key, capacity=400, title=f"Matinee {n}", starts_at=now + timedelta(days=n + 1)
            )
            await asyncio.gather(
                *(
                    ledger.hold(key, f"m{n}-{i}", ttl=timedelta(minutes=30 + i % 20))
                    if i % 3
                    else ledger.book(key, f"m{n}-{i}")
                    for i in range(300)
                )
            )
        assert (await ledger.occurrence(BIG)).seats_left == 0


def make_app(db: str, **options: Any) -> Any:
    from tui.app import BoxOfficeApp

    return BoxOfficeApp(db, operator="bench", **options)


async def wait_until(pilot: Any, condition: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the app did not get there")
        await pilot.pause(0.002)


def whole_roster_in(app: Any) -> bool:
    """The big night's roster is wholly in the table."""
    roster = app.main.roster
    return bool(roster.row_count >= SEATS * 0.9)


async def after_refresh(app: Any) -> float:
    """When the screen has been painted after what was just applied."""
    done: asyncio.Future[float] = asyncio.get_running_loop().create_future()

    def mark() -> None:
        if not done.done():
            done.set_result(time.perf_counter())

    app.call_after_refresh(mark)
    return await done


# -- 1. open ---------------------------------------------------------------------------


async def baseline_read(db: str) -> float:
    start = time.perf_counter()
    async with open_store(db) as store:
        seats = await Ledger(store).seats(BIG)
    assert len(seats) >= SEATS * 0.9
    return time.perf_counter() - start


async def open_once(db: str, seats: int) -> dict[str, float]:
    """Start the app; time its first frame with roster rows, and the whole roster in."""
    app = make_app(db, tick=None)
    first_frame: list[float] = []
    start = time.perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        roster = app.main.roster
        drawn = roster.render_lines

        def spy(crop: Any) -> Any:  # the compositor drawing the roster: a frame is going out
            lines = drawn(crop)
            if roster.row_count and not first_frame:
                first_frame.append(time.perf_counter())
            return lines

        roster.render_lines = spy  # type: ignore[method-assign]
        await wait_until(pilot, lambda: roster.row_count == seats)
        rows = time.perf_counter()
        painted = await after_refresh(app)
        assert app.main.selected == BIG
    return {"first_frame": first_frame[0] - start, "rows": rows - start, "painted": painted - start}


# -- 2. live latency -------------------------------------------------------------------


def writer(db: str, count: int, seed_: int, key: str = BIG) -> None:
    """(In another process.) Cancel and book on ``key``; print each commit's time."""

    async def run() -> None:
        rng = random.Random(seed_)
        async with open_store(db) as store:
            ledger = Ledger(store, operator="other-terminal")
            roster = await ledger.roster(key)
            # the app's CPU is timed from here: the writer's start-up is not the app's
            print(json.dumps({"ready": time.time()}), flush=True)
            for n in range(count):
                await asyncio.sleep(rng.uniform(0.15, 0.3))  # pacing: one commit at a time
                if n % 2 == 0:
                    actor = roster.pop(rng.randrange(len(roster)))
                    outcome = await ledger.cancel(key, actor)
                    change = "gone"
                else:
                    actor = f"walk-in-{n:04d}"
                    outcome = await ledger.book(key, actor)
                    change = "there"
                committed = time.time()
                assert outcome.ok, outcome
                print(json.dumps({"actor": actor, "change": change, "at": committed}), flush=True)

    asyncio.run(run())


async def bare_tail(store: EventStore, seen: dict[int, float], stop: asyncio.Event) -> None:
    position = await store.head_position()
    while not stop.is_set():
        if await store.wait_for_append(position, 0.5):
            for event in await store.read_all(position):
                position = event.position
                seen[position] = time.time()


async def latency(db: str, count: int, key: str = BIG) -> dict[str, Any]:
    app = make_app(db, tick=None)
    applied: list[tuple[float, set[str]]] = []
    async with app.run_test(size=SIZE) as pilot:
        # the whole roster in the table first: rows still being added are not a commit's cost
        await wait_until(pilot, lambda: whole_roster_in(app))
        if key != BIG:
            app.main.house.move_cursor(row=app.main.house.get_row_index(key))
            await wait_until(
                pilot, lambda: app.main.selected == key and app.main.roster.row_count > 0
            )
        await pilot.pause()
        roster = app.main.roster

        def changed() -> None:  # the roster's public seam: a change is in the table
            shown = set(roster.shown_actors)

            def painted() -> None:
                applied.append((time.time(), shown))

            app.call_after_refresh(painted)

        roster.after_apply = changed
        assert app.store is not None
        stop = asyncio.Event()
        seen: dict[int, float] = {}
        head = await app.store.head_position()
        tail = asyncio.create_task(bare_tail(app.store, seen, stop))
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--writer",
            db,
            str(count),
            key,
            stdout=asyncio.subprocess.PIPE,
        )
        assert process.stdout is not None
        await process.stdout.readline()  # the writer is open
        cpu, wall = time.process_time(), time.perf_counter()
        out, _ = await process.communicate()
        assert process.returncode == 0
        commits = [json.loads(line) for line in out.decode().splitlines()]
        last = commits[-1]
        await wait_until(
            pilot,
            lambda: any(
                (last["actor"] in shown) == (last["change"] == "there") for _, shown in applied
            ),
        )
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        # the same app and tail with nothing written, as long: what the window cost anyway
        quiet = time.process_time()
        await asyncio.sleep(wall)  # measuring idleness itself: nothing to wait for
        quiet = time.process_time() - quiet
        stop.set()
        await tail
    app_ms, bare_ms = [], []
    for n, commit in enumerate(commits):
        want_there = commit["change"] == "there"
        when = next(
            t
            for t, shown in applied
            if t >= commit["at"] and (commit["actor"] in shown) == want_there
        )
        app_ms.append((when - commit["at"]) * 1000)
        bare_ms.append((seen[head + n + 1] - commit["at"]) * 1000)
    # this process's CPU per commit: reading, diffing and drawing (load-independent-ish),
    # less what the same stretch cost with nothing written (ticks, the bare tail's polls)
    return {
        "app": app_ms,
        "bare": bare_ms,
        "cpu_per_commit_ms": (cpu - quiet) * 1000 / len(commits),
        "cpu_gross_per_commit_ms": cpu * 1000 / len(commits),
        "quiet_cpu_ms": quiet * 1000,
    }


# -- 3. idle CPU --------------------------------------------------------------------------


async def idle(db: str, seconds: float) -> dict[str, float]:
    app = make_app(db)  # the real 1 s countdown tick
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: whole_roster_in(app))
        await pilot.pause()
        wall, cpu = time.perf_counter(), time.process_time()
        await asyncio.sleep(seconds)  # measuring idleness itself: nothing to wait for
        app_share = (time.process_time() - cpu) / (time.perf_counter() - wall)
    async with open_store(db) as store:
        stop = asyncio.Event()
        wall, cpu = time.perf_counter(), time.process_time()
        tail = asyncio.create_task(bare_tail(store, {}, stop))
        await asyncio.sleep(seconds)
        stop.set()
        await tail
        bare_share = (time.process_time() - cpu) / (time.perf_counter() - wall)
    return {"app": app_share * 100, "bare": bare_share * 100}


# -- the run -----------------------------------------------------------------------------------


async def main(quick: bool) -> None:
    global SEATS
    if quick:
        SEATS = 2000
    runs, commits, idle_s = (2, 12, 3.0) if quick else (3, 40, 10.0)
    with tempfile.TemporaryDirectory() as folder:
        db = str(Path(folder) / "bench.db")
        t0 = time.perf_counter()
        await seed(db, SEATS)
        print(f"seeded {SEATS} seats + 5 x 300 in {time.perf_counter() - t0:.1f} s", flush=True)
        base = [await baseline_read(db) for _ in range(runs)]
        opens = [await open_once(db, SEATS) for _ in range(runs)]
        lat = await latency(db, commits)
        small = await latency(db, commits, "matinee-0")
        cpu = await idle(db, idle_s)
    open_s = median([o["first_frame"] for o in opens])
    all_s = median([o["painted"] for o in opens])
    rows = [
        (
            f"open {SEATS:,}-seat sold-out occurrence: first full frame (median of {runs})",
            f"{open_s * 1000:.0f} ms",
            f"ledger read alone {median(base) * 1000:.0f} ms",
            f"{open_s / median(base):.1f}x",
            "< 1000 ms",
        ),
        (
            f"  all {SEATS:,} rows in the table and painted",
            f"{all_s * 1000:.0f} ms",
            "",
            f"{all_s / median(base):.1f}x",
            "",
        ),
        (
            f"commit in another process -> row updated and painted, p50 ({len(lat['app'])})",
            f"{percentile(lat['app'], 50):.0f} ms",
            f"bare tail {percentile(lat['bare'], 50):.0f} ms",
            f"{percentile(lat['app'], 50) / max(percentile(lat['bare'], 50), 1):.1f}x",
            "",
        ),
        (
            "  p95",
            f"{percentile(lat['app'], 95):.0f} ms",
            f"bare tail {percentile(lat['bare'], 95):.0f} ms",
            f"{percentile(lat['app'], 95) / max(percentile(lat['bare'], 95), 1):.1f}x",
            "< 250 ms",
        ),
        ("  max", f"{max(lat['app']):.0f} ms", f"bare tail {max(lat['bare']):.0f} ms", "", ""),
        (
            "  CPU time of the app per commit (read + diff + draw)",
            f"{lat['cpu_per_commit_ms']:.0f} ms",
            f"with the quiet stretch {lat['cpu_gross_per_commit_ms']:.0f} ms",
            "",
            "",
        ),
        (
            "same on a 300-seat roster, p50 / p95",
            f"{percentile(small['app'], 50):.0f} / {percentile(small['app'], 95):.0f} ms",
            f"bare tail {percentile(small['bare'], 50):.0f} / "
            f"{percentile(small['bare'], 95):.0f} ms",
            f"{percentile(small['app'], 95) / max(percentile(small['bare'], 95), 1):.1f}x (p95)",
            "< 250 ms",
        ),
        (
            "  CPU time of the app per commit",
            f"{small['cpu_per_commit_ms']:.0f} ms",
            f"with the quiet stretch {small['cpu_gross_per_commit_ms']:.0f} ms",
            "",
            "",
        ),
        (
            f"idle CPU, app open on the busy house ({idle_s:.0f} s)",
            f"{cpu['app']:.1f} % of a core",
            f"bare tail {cpu['bare']:.1f} %",
            "",
            "< 5 %",
        ),
    ]
    print(table(["measure", "app", "baseline (same run)", "ratio", "target"], rows))
    load = os.getloadavg()[0]
    print(f"(load average {load:.1f} on {os.cpu_count()} cores at the end of the run)")
    path = write_json(
        "tui",
        {
            "machine": machine(),
            "seats": SEATS,
            "open": opens,
            "baseline_read_s": base,
            "latency_ms": lat,
            "latency_small_ms": small,
            "idle_cpu_percent": cpu,
        },
    )
    print(f"(raw figures: {path})")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--writer":
        writer(sys.argv[2], int(sys.argv[3]), 7, sys.argv[4])
        sys.exit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2,000 seats, fewer samples")
    asyncio.run(main(parser.parse_args().quick))
