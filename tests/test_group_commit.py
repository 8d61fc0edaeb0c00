"""Group commit and the fair write turn, on a real SQLite file.

Group commit: concurrent commands on one ledger are decided one after another
and committed together, so a burst costs far fewer transactions than commands,
and each command still gets its own answer. The lost-race scenarios (a retry
decided inside the transaction, never losing twice) run on every backend in
``test_store_contract.py``.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import time
from pathlib import Path

from support.wrapped_store import Appends

from store import open_store
from store.audit.check import check_stream
from store.booking import Ledger, Status
from store.eventstore.sqlite import SQLiteStore
from store.eventstore.writegate import FairTurn
from store.ledger.fold import stream_of


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
    assert sorted(o.seat or 0 for o in held) == list(range(1, 101))  # each its own seat
    assert appends.optimistic < 150 // 4, "the burst was not committed in batches"
    assert appends.conflicts == 0 and appends.decided == 0
    report = check_stream(events)
    assert report.ok and report.acquisitions == 100


async def _queued_at_the_gate(path: str, waiting: asyncio.Future[bool]) -> None:
    """Until the waiting writer holds the gate (it does while it waits for the turn)."""
    probe = os.open(path + ".gate", os.O_RDWR | os.O_CREAT)
    try:
        deadline = time.monotonic() + 10.0
        while True:
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(probe, fcntl.LOCK_UN)
            except BlockingIOError:
                return
            assert not waiting.done(), "the writer got the turn while it was held"
            assert time.monotonic() < deadline, "the writer never queued at the gate"
            await asyncio.sleep(0.001)
    finally:
        os.close(probe)


async def test_a_waiting_writer_gets_the_turn_before_the_one_that_just_released(
    tmp_path: Path,
) -> None:
    """The gate hands the write turn over: releasing and asking again is not enough to keep it."""
    path = str(tmp_path / "boxoffice.db.lock")
    first, second = FairTurn(path), FairTurn(path)  # two file descriptions, as two processes
    try:
        assert await first.acquire(1.0)
        waiter = asyncio.ensure_future(second.acquire(30.0))
        await _queued_at_the_gate(path, waiter)  # observed, not slept on
        first.release()
        assert not await first.acquire(0.2), "the writer that released took the turn back"
        assert await asyncio.wait_for(waiter, 30.0)
        second.release()
        assert await first.acquire(1.0)
        first.release()
    finally:
        first.close()
        second.close()


async def test_a_turn_taken_on_a_thread_waits_is_handed_over_and_gives_up_in_time(
    tmp_path: Path,
) -> None:
    """``take`` (the writer connection's thread) waits like ``acquire``: handed the turn
    when its holder lets go, False at its timeout, and at once when the turn closes."""
    path = str(tmp_path / "boxoffice.db.lock")
    holder, taker = FairTurn(path), FairTurn(path)
    try:
        assert await holder.acquire(1.0)
        assert not taker.take_now(), "the turn was free to take while it was held"
        started = time.monotonic()
        assert not await asyncio.to_thread(taker.take, 0.3), "took a turn that stayed held"
        assert time.monotonic() - started >= 0.3
        waiting = asyncio.ensure_future(asyncio.to_thread(taker.take, 30.0))
        await _queued_at_the_gate(path, waiting)
        holder.release()
        assert await asyncio.wait_for(waiting, 30.0), "the released turn was not handed over"
        assert not await holder.acquire(0.2), "both had the turn at once"
        taker.release()
        assert await holder.acquire(10.0)  # (its abandoned wait above is let go first)
        stuck = asyncio.ensure_future(asyncio.to_thread(taker.take, 60.0))
        await _queued_at_the_gate(path, stuck)
        started = time.monotonic()
        taker.close()  # a store closing: its thread stops waiting now, not in 60 s
        assert not await asyncio.wait_for(stuck, 10.0)
        assert time.monotonic() - started < 10.0
        holder.release()
    finally:
        holder.close()
        taker.close()
