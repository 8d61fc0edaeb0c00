"""A lone writer decides on the state it holds; the append at its seq is the look.

When a ledger's last look at a stream found nothing it had not written itself, its
next batch is decided without reading first (``store.ledger.lanes``): one trip to
the database per hold, not two. These tests hold that guess to the rules it must
keep on a real SQLite file with two separate terminals (``share=False``): a guess
another terminal beat is decided again on the log, a refusal is never answered
from a guess, and neither counts as a lost race in the answer.
"""

from __future__ import annotations

import contextlib
import gc
import weakref
from collections.abc import AsyncIterator
from typing import Any

from support.wrapped_store import Appends

from store import EventStore, open_store
from store.audit.check import check_stream
from store.booking import Ledger, Status
from store.ledger.fold import stream_of


class Reads:
    """Counts one store's reads of a stream's events."""

    def __init__(self, store: EventStore) -> None:
        self.count = 0
        inner = store.read

        async def read(*args: Any, **options: Any) -> Any:
            self.count += 1
            return await inner(*args, **options)

        store.read = read  # type: ignore[method-assign]


async def test_a_lone_writers_holds_read_nothing_after_a_quiet_look(db_path: str) -> None:
    async with open_store(db_path, create=True) as store:
        ledger = Ledger(store, operator="ada", share=False)
        await ledger.create_occurrence("gala", capacity=50)
        await ledger.hold("gala", "first")  # its look finds only this ledger's own events
        reads, appends = Reads(store), Appends(store)
        outcomes = [await ledger.hold("gala", f"fan-{i}") for i in range(20)]
        looks = reads.count
        events = await store.read(stream_of("gala"))

    assert [o.status for o in outcomes] == [Status.HELD] * 20
    assert [o.attempts for o in outcomes] == [1] * 20
    assert looks == 0, "a lone writer read the stream before each hold"
    assert appends.optimistic == 20 and appends.conflicts == 0
    report = check_stream(events)
    assert report.ok and report.acquisitions == 21


@contextlib.asynccontextmanager
async def two_terminals(path: str, capacity: int) -> AsyncIterator[tuple[Ledger, Ledger]]:
    """Ours, with "a1" and "a2" held and its next hold guessed (its last look was quiet),
    and another terminal's ledger on the same file."""
    async with open_store(path, create=True) as mine, open_store(path) as theirs:
        ours = Ledger(mine, operator="ada", share=False)
        await ours.create_occurrence("gala", capacity=capacity)
        await ours.hold("gala", "a1")
        await ours.hold("gala", "a2")
        yield ours, Ledger(theirs, operator="bob", share=False)


async def test_a_guess_another_terminal_beat_is_decided_again_on_the_log(db_path: str) -> None:
    async with two_terminals(db_path, capacity=3) as (ours, other):
        assert (await other.hold("gala", "b1")).status is Status.HELD  # the last seat
        appends = Appends(ours.store)
        late = await ours.hold("gala", "a3")
        events = await ours.store.read(stream_of("gala"))

    assert appends.conflicts == 1, "the hold was not guessed (or the guess was not checked)"
    assert late.status is Status.FULL  # decided again on the log, which the rival filled
    assert late.attempts == 1  # a missed guess is not a lost race
    report = check_stream(events)
    assert report.ok and report.acquisitions == 3


async def test_a_refusal_is_never_answered_from_a_guess(db_path: str) -> None:
    async with two_terminals(db_path, capacity=2) as (ours, other):
        # full, as what ours holds says, until the other terminal frees a seat
        assert (await other.release("gala", "a1")).status is Status.RELEASED
        reads = Reads(ours.store)
        late = await ours.hold("gala", "a3")

    assert reads.count == 1  # the refusal the guess gave was checked by a look
    assert late.status is Status.HELD and late.attempts == 1


async def test_a_closed_store_and_its_dropped_ledger_are_freed_at_once(db_path: str) -> None:
    """No reference cycle keeps a finished ledger's folded state for the cyclic GC.

    A server that opens a store per request drops one a request: with a cycle (the
    store's turn reaching back to the store, a ledger's clocks to the ledger) each
    held its whole fold (a member per party) until a gen-2 collection.
    """
    gc.collect()
    gc.disable()
    try:
        async with open_store(db_path, create=True) as store:
            ledger = Ledger(store, operator="ada")
            await ledger.create_occurrence("gala", capacity=50)
            for i in range(10):
                await ledger.hold("gala", f"fan-{i}")
            gone = weakref.ref(ledger), weakref.ref(store)
            del ledger
        del store
        assert [ref() is None for ref in gone] == [True, True]
    finally:
        gc.enable()
