"""Group commit and the retry decided inside the transaction, on a real SQLite file.

Group commit: concurrent commands on one ledger are decided one after another
and committed together, so a burst costs far fewer transactions than commands,
and each command still gets its own answer.

A lost race: the first attempt is optimistic (decided on a snapshot, appended
at its seq); the retry is decided inside the append's own transaction on the
events that beat it, so it cannot lose again to a writer on the same file.
Rival writes are injected at the exact moment that matters (just before the
append) by a real second store on the same file: no mocks, no sleeps.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import workers

from store import open_store
from store.audit.check import check_stream
from store.booking import Ledger, Status
from store.eventstore.events import Conflict, NewEvent
from store.eventstore.sqlite import SQLiteStore
from store.eventstore.writegate import FairTurn
from store.ledger.fold import stream_of

if TYPE_CHECKING:
    from conftest import ManualClock


class Appends:
    """Counts one store's transactions, and can run a rival's write just before each."""

    def __init__(self, store: SQLiteStore) -> None:
        self.optimistic = 0
        self.conflicts = 0
        self.decided = 0
        self.before: list[Callable[[], Awaitable[None]]] = []
        inner_many, inner_decided = store.append_many, store.append_decided

        async def append_many(*args: Any, **options: Any) -> Any:
            await self._rival()
            written = await inner_many(*args, **options)
            self.optimistic += 1
            self.conflicts += isinstance(written, Conflict)
            return written

        async def append_decided(*args: Any, **options: Any) -> Any:
            await self._rival()
            self.decided += 1
            return await inner_decided(*args, **options)

        store.append_many = append_many  # type: ignore[method-assign]
        store.append_decided = append_decided  # type: ignore[method-assign]

    async def _rival(self) -> None:
        if self.before:
            await self.before.pop(0)()


@pytest.fixture
async def two_stores(db_path: str) -> AsyncIterator[tuple[SQLiteStore, SQLiteStore]]:
    async with open_store(db_path, create=True) as ours, open_store(db_path) as theirs:
        assert isinstance(ours, SQLiteStore) and isinstance(theirs, SQLiteStore)
        yield ours, theirs


async def test_a_burst_of_holds_shares_transactions(db_path: str) -> None:
    async with open_store(db_path, create=True) as store:
        assert isinstance(store, SQLiteStore)
        ledger = Ledger(store, operator="burst")
        await ledger.create_occurrence("gala", capacity=100)
        appends = Appends(store)
        outcomes = await asyncio.gather(*(ledger.hold("gala", f"fan-{i}") for i in range(150)))
        events = await store.read(stream_of("gala"))

    held = [o for o in outcomes if o.status is Status.HELD]
    assert len(held) == 100
    assert {o.status for o in outcomes} == {Status.HELD, Status.FULL}
    assert sorted(o.seat for o in held) == list(range(1, 101))  # each its own seat
    assert appends.optimistic < 150 // 4, "the burst was not committed in batches"
    assert appends.conflicts == 0 and appends.decided == 0
    report = check_stream(events)
    assert report.ok and report.acquisitions == 100


async def test_a_lost_race_is_retried_inside_the_transaction(
    two_stores: tuple[SQLiteStore, SQLiteStore],
) -> None:
    ours, theirs = two_stores
    ledger, rival = Ledger(ours, operator="us"), Ledger(theirs, operator="them")
    await ledger.create_occurrence("last-seat", capacity=1)
    appends = Appends(ours)

    async def rival_takes_the_seat() -> None:
        assert (await rival.hold("last-seat", "rival")).status is Status.HELD

    appends.before.append(rival_takes_the_seat)  # lands after our decision, before our append
    outcome = await ledger.hold("last-seat", "ada")

    # the first attempt decided on a seat that was gone and lost; the retry saw the
    # rival's hold under the write lock and answered `full` without writing
    assert (outcome.status, outcome.attempts) == (Status.FULL, 2)
    assert (appends.optimistic, appends.conflicts, appends.decided) == (1, 1, 1)
    events = await ours.read(stream_of("last-seat"))
    assert [e.data.get("actor") for e in events if e.type == "hold"] == ["rival"]
    assert check_stream(events).ok
    assert await ledger.matches_full_fold("last-seat")
    assert await ledger.roster("last-seat") == ["rival"]


async def test_a_retry_cannot_lose_again(two_stores: tuple[SQLiteStore, SQLiteStore]) -> None:
    ours, theirs = two_stores
    ledger, rival = Ledger(ours, operator="us"), Ledger(theirs, operator="them")
    await ledger.create_occurrence("gala", capacity=10)
    appends = Appends(ours)
    taken = iter(range(100))

    async def rival_holds() -> None:
        assert (await rival.hold("gala", f"rival-{next(taken)}")).status is Status.HELD

    # a rival write lands before our first append and again before our retry
    appends.before.extend([rival_holds, rival_holds])
    batch = await asyncio.gather(*(ledger.hold("gala", f"fan-{i}") for i in range(5)))

    assert [o.status for o in batch] == [Status.HELD] * 5
    assert {o.attempts for o in batch} == {2}
    assert (appends.conflicts, appends.decided) == (1, 1)
    # seats follow commit order: two rivals first, then the batch in call order
    assert [o.seat for o in batch] == [3, 4, 5, 6, 7]
    assert await ledger.roster("gala") == ["rival-0", "rival-1"] + [f"fan-{i}" for i in range(5)]
    assert await ledger.matches_full_fold("gala")


async def test_the_retry_decides_at_the_time_of_the_events_that_beat_it(
    two_stores: tuple[SQLiteStore, SQLiteStore], clock: ManualClock
) -> None:
    """A rival's late write moves time on: the retry sees the lapsed hold and takes seat 1."""
    ours, theirs = two_stores
    ledger = Ledger(ours, clock=clock, operator="us")
    rival = Ledger(theirs, clock=clock, operator="them")
    await ledger.create_occurrence("matinee", capacity=2)
    assert (await rival.hold("matinee", "early", ttl=timedelta(minutes=5))).status is Status.HELD
    appends = Appends(ours)

    async def rival_confirms_too_late() -> None:
        clock.advance(minutes=10)
        outcome = await rival.confirm("matinee", "early")
        assert outcome.status is Status.EXPIRED  # an `expire` event: the stream moved

    appends.before.append(rival_confirms_too_late)
    outcome = await ledger.hold("matinee", "late", ttl=timedelta(minutes=5))

    # first attempt: seat 2 behind the live hold; the retry: seat 1, expiring 5 min
    # after the rival's later instant, not after our first attempt's
    assert (outcome.status, outcome.seat, outcome.attempts) == (Status.HELD, 1, 2)
    assert outcome.expires_at == clock.now + timedelta(minutes=5)
    assert (appends.conflicts, appends.decided) == (1, 1)
    assert await ledger.roster("matinee") == ["late"]
    assert await ledger.matches_full_fold("matinee")
    assert check_stream(await ours.read(stream_of("matinee"))).ok


@pytest.mark.slow
async def test_no_command_loses_twice_across_processes(db_path: str) -> None:
    """4 spawned processes x 12 racers, each racer its own store and ledger, 20 seats."""
    async with open_store(db_path, create=True) as store:
        await Ledger(store, operator="setup").create_occurrence("hot", capacity=20)
    processes, racers = 4, 12
    replies = await workers.run_hold_race(db_path, "hot", racers, processes)
    async with open_store(db_path) as store:
        events = await store.read(stream_of("hot"))

    assert sum(r.status == "held" for r in replies) == 20
    assert {r.status for r in replies} == {"held", "full"}
    assert sum(r.attempts for r in replies) > len(replies), "no racer ever lost a race"
    assert max(r.attempts for r in replies) == 2, "a retry lost again"
    report = check_stream(events)
    assert report.ok and report.acquisitions == 20


async def test_a_batch_reports_the_positions_it_was_stored_at(
    two_stores: tuple[SQLiteStore, SQLiteStore],
) -> None:
    """One transaction inserts the whole batch; the positions it returns are the stored ones."""
    ours, theirs = two_stores
    await theirs.append("booking:other", "hold", {"actor": "x"})
    meta = {"operator": "us", "terminal": "t", "recorded_at": "2026-12-01T19:00:00+00:00"}
    batch = [NewEvent("hold", {"actor": f"fan-{i}"}, meta) for i in range(5)]
    written = await ours.append_many("booking:gala", 0, batch)
    await theirs.append("booking:other", "hold", {"actor": "y"})
    written += await ours.append_many("booking:gala", 5, batch[:2])

    stored = await ours.read("booking:gala")
    assert isinstance(written, list)
    assert [(e.seq, e.position, e.data, e.meta) for e in written] == [
        (e.seq, e.position, e.data, e.meta) for e in stored
    ]
    positions = [e.position for e in stored]
    assert positions == sorted(positions) and len(set(positions)) == 7


async def test_a_waiting_writer_gets_the_turn_before_the_one_that_just_released(
    tmp_path: Path,
) -> None:
    """The gate hands the write turn over: releasing and asking again is not enough to keep it."""
    path = str(tmp_path / "boxoffice.db.lock")
    first, second = FairTurn(path), FairTurn(path)  # two file descriptions, as two processes
    probe = os.open(path + ".gate", os.O_RDWR | os.O_CREAT)
    try:
        assert await first.acquire(1.0)
        waiter = asyncio.ensure_future(second.acquire(30.0))
        # the second writer is waiting once it holds the gate (observed, not slept on)
        deadline = time.monotonic() + 10.0
        while True:
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(probe, fcntl.LOCK_UN)
            except BlockingIOError:
                break
            assert not waiter.done(), "the second writer got the turn while it was held"
            assert time.monotonic() < deadline, "the second writer never queued at the gate"
            await asyncio.sleep(0)  # let the waiter's request reach its thread
        first.release()
        assert not await first.acquire(0.2), "the writer that released took the turn back"
        assert await asyncio.wait_for(waiter, 30.0)
        second.release()
        assert await first.acquire(1.0)
        first.release()
    finally:
        os.close(probe)
        first.close()
        second.close()
