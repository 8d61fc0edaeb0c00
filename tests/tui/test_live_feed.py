"""The headless live feed, without the app: requests merge, commits are followed, outages heal."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any

from support.pilot import SHOW, seed_house

from store import open_store
from store.booking import Ledger
from tui.live import LiveFeed, Reading, ReadRequest

DEADLINE = 10.0


class Collected:
    def __init__(self) -> None:
        self.readings: list[Reading] = []
        self.health: list[tuple[bool, str]] = []
        self.changed = asyncio.Event()

    def read(self, reading: Reading) -> None:
        self.readings.append(reading)
        self.changed.set()

    def heard(self, live: bool, why: str) -> None:
        self.health.append((live, why))
        self.changed.set()

    async def until(self, condition: Callable[[], object], what: str) -> None:
        deadline = time.monotonic() + DEADLINE
        while not condition():
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {what}")
            self.changed.clear()
            with suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), left)


@asynccontextmanager
async def running(feed: LiveFeed) -> AsyncIterator[None]:
    task = asyncio.create_task(feed.run())
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task


@asynccontextmanager
async def two_shows(tmp_path: Path, clock: Any) -> AsyncIterator[Ledger]:
    """The seeded house and one more show, ``other``, on a ledger of their own."""
    db = str(tmp_path / "feed.db")
    await seed_house(db, clock)
    async with open_store(db) as store:
        ledger = Ledger(store, clock=clock, operator="feed")
        await ledger.create_occurrence("other", capacity=2)
        yield ledger


async def test_requests_made_before_a_read_merge_into_one(tmp_path: Path, clock: Any) -> None:
    seen = Collected()
    async with two_shows(tmp_path, clock) as ledger:
        feed = LiveFeed(ledger, seen.read, position=await ledger.head())
        feed.request(ReadRequest(lines=frozenset({SHOW})))
        feed.request(ReadRequest(lines=frozenset({"other", "no-such-show"})))
        feed.request(ReadRequest(rosters=frozenset({SHOW})))
        async with running(feed):
            await seen.until(lambda: seen.readings, "a reading")
            await asyncio.sleep(0)  # let the reader loop once more if it were going to
        assert len(seen.readings) == 1, "three requests, one read"
        (reading,) = seen.readings
        assert [v.record.key for v in reading.lines] == ["other", SHOW]
        assert [v.record.key for v in reading.rosters] == [SHOW]
        assert [r.actor for r in reading.rosters[0].rows] == ["ada", "bob", "cy"]


async def test_a_followed_rosters_line_is_read_with_it_once(tmp_path: Path, clock: Any) -> None:
    seen = Collected()
    async with two_shows(tmp_path, clock) as ledger:
        reads: list[tuple[str, bool]] = []
        view = ledger.view

        async def counted(key: str, *, rows: bool = True) -> Any:
            reads.append((key, rows))
            return await view(key, rows=rows)

        ledger.view = counted  # type: ignore[method-assign]
        feed = LiveFeed(ledger, seen.read, position=await ledger.head())
        feed.request(ReadRequest(lines=frozenset({SHOW, "other"}), rosters=frozenset({SHOW})))
        async with running(feed):
            await seen.until(lambda: seen.readings, "a reading")
        (reading,) = seen.readings
        assert sorted(reads) == [("other", False), (SHOW, True)], "one read of the followed show"
        assert [v.record.key for v in reading.lines] == ["other", SHOW]
        assert reading.lines[1] is reading.rosters[0], "its line is the roster's own read"


async def test_a_commit_is_read_with_the_followed_roster_and_log(
    tmp_path: Path, clock: Any
) -> None:
    db = str(tmp_path / "feed.db")
    await seed_house(db, clock)
    seen = Collected()
    async with open_store(db) as store, open_store(db) as elsewhere:
        ledger = Ledger(store, clock=clock, operator="feed")
        feed = LiveFeed(ledger, seen.read, position=await ledger.head())
        feed.follow(rosters=[SHOW], logs=[SHOW])
        async with running(feed):
            await seen.until(lambda: seen.readings, "the first reading")
            first = seen.readings[0]
            assert first.logs and first.logs[0].reset and len(first.logs[0].events) == 4
            other = Ledger(elsewhere, clock=clock, operator="other-terminal")
            assert (await other.book(SHOW, "zed")).ok
            await seen.until(
                lambda: any(
                    "zed" in [r.actor for v in x.rosters for r in v.rows] for x in seen.readings
                ),
                "zed's row",
            )
        last = seen.readings[-1]
        assert [v.record.occupied for v in last.lines] == [4]
        assert [len(s.events) for s in last.logs] == [1], "only the new event"
        assert not last.logs[0].reset
        assert feed.position == await ledger.head()


async def test_a_failing_read_is_retried_and_health_is_reported(tmp_path: Path, clock: Any) -> None:
    db = str(tmp_path / "feed.db")
    await seed_house(db, clock)
    seen = Collected()
    async with open_store(db) as store:
        ledger = Ledger(store, clock=clock, operator="feed")
        broken = {"on": True}
        real_view = ledger.view

        async def view(key: str, *, rows: bool = True) -> Any:
            if broken["on"]:
                raise OSError("disk unplugged\nsecond line")
            return await real_view(key, rows=rows)

        ledger.view = view  # type: ignore[method-assign]
        feed = LiveFeed(
            ledger, seen.read, on_health=seen.heard, position=await ledger.head(), retry=0.01
        )
        feed.request(ReadRequest(lines=frozenset({SHOW})))
        async with running(feed):
            await seen.until(lambda: seen.health, "the outage")
            assert seen.health[0] == (False, "disk unplugged")
            assert seen.readings == []
            broken["on"] = False
            await seen.until(lambda: seen.readings, "the retried read")
            await seen.until(lambda: (True, "") in seen.health, "back to live")
        assert [v.record.key for v in seen.readings[0].lines] == [SHOW]
