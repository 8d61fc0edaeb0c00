"""The snapshot cache in a real database, on both backends (issue 16, third bullet).

A new terminal starts from the stream's snapshot and folds the tail; what it
holds must equal the full fold, whatever was appended after the snapshot; a
damaged row is ignored and rebuilt, a wrong one is caught by ``check``; an
existing database opened by this boxoffice gets the table.
"""

from __future__ import annotations

import json
import sqlite3

import asyncpg
import pytest
from support.clock import ManualClock
from test_snapshot import history

from store import EventStore, StoreBusy, open_store
from store.audit.check import snapshot_problem
from store.booking import Ledger
from store.eventstore.events import Event, NewEvent
from store.ledger import cached
from store.ledger.cached import SNAPSHOT_EVERY
from store.ledger.fold import fold, stream_of
from store.ledger.snapshot import FORMAT, decode, encode

KEY = "gala"
STREAM = stream_of(KEY)


async def _season(store: EventStore, clock: ManualClock, bookings: int) -> None:
    """An occurrence with ``bookings`` parties, written as the ledger writes them."""
    ledger = Ledger(store, clock=clock, operator="seed")
    await ledger.create_occurrence(KEY, capacity=bookings + 10, title="Gala")
    meta = {"recorded_at": clock().isoformat(), "operator": "seed"}
    batch = [NewEvent("booking", {"actor": f"p{i}"}, meta) for i in range(bookings)]
    await store.append_many(STREAM, None, batch)


def _with_head(text: str, **fields: object) -> str:
    """A snapshot with fields of its JSON head (its first line) changed, the rest as it was."""
    head, _, rest = text.partition("\n")
    body = json.loads(head)
    body.update(fields)
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False) + "\n" + rest


async def test_a_cold_start_leaves_a_snapshot_and_the_next_one_folds_only_the_tail(
    store: EventStore, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _season(store, clock, SNAPSHOT_EVERY + 5)
    assert await store.load_snapshot(STREAM) is None
    first = Ledger(store, clock=clock, operator="t1")
    assert (await first.hold(KEY, "walkup")).status == "held"
    saved = await store.load_snapshot(STREAM)
    assert saved is not None and saved[0] == SNAPSHOT_EVERY + 6  # created + bookings
    # events after the snapshot are never hidden: another terminal writes more
    await first.hold(KEY, "late")
    await first.cancel(KEY, "p3")
    read, seen = store.read, []

    async def counted(stream: str, after_seq: int = 0) -> list[Event]:
        events = await read(stream, after_seq)
        seen.append(len(events))
        return events

    monkeypatch.setattr(store, "read", counted)
    second = Ledger(store, clock=clock, operator="t2")
    assert await second.seat_state(KEY, "late") == "held"
    assert sum(seen) == 4  # the snapshot's own event, then walkup, late, cancel
    monkeypatch.undo()
    assert await second.seat_state(KEY, "p3") == "none"
    assert await second.matches_full_fold(KEY)
    full = fold(await store.read(STREAM), STREAM)
    assert (await second.seats_left(KEY)) == full.capacity - full.held - full.confirmed


async def test_an_older_snapshot_never_replaces_a_newer_one(store: EventStore) -> None:
    await store.save_snapshot(STREAM, 5, "five")
    await store.save_snapshot(STREAM, 3, "three")
    assert await store.load_snapshot(STREAM) == (5, "five")
    await store.save_snapshot(STREAM, 5, "rebuilt")
    assert await store.load_snapshot(STREAM) == (5, "rebuilt")


async def test_a_damaged_snapshot_is_ignored_rebuilt_and_reported_by_check(
    store: EventStore, clock: ManualClock
) -> None:
    await _season(store, clock, 20)
    seq = await store.last_seq(STREAM)
    await store.save_snapshot(STREAM, seq, f'{{"format":{FORMAT},"stream":"booking:gala","seq":')
    events = await store.read(STREAM)
    assert snapshot_problem(await store.load_snapshot(STREAM), events, STREAM) is not None
    ledger = Ledger(store, clock=clock, operator="t")
    assert await ledger.seat_state(KEY, "p7") == "confirmed"
    assert await ledger.matches_full_fold(KEY)
    rebuilt = await store.load_snapshot(STREAM)
    assert rebuilt is not None and decode(rebuilt[1], STREAM) is not None
    assert snapshot_problem(rebuilt, events, STREAM) is None


async def test_check_catches_a_snapshot_that_decodes_but_differs_from_the_log(
    store: EventStore, clock: ManualClock
) -> None:
    await _season(store, clock, 20)
    events = await store.read(STREAM)
    state = fold(events, STREAM)
    wrong = _with_head(encode(state), title="Not the Gala")
    await store.save_snapshot(STREAM, state.seq, wrong)
    problem = snapshot_problem(await store.load_snapshot(STREAM), events, STREAM)
    assert problem is not None and "differs" in problem
    await store.save_snapshot(STREAM, state.seq, encode(state))
    assert snapshot_problem(await store.load_snapshot(STREAM), events, STREAM) is None


async def test_a_snapshot_past_the_log_is_not_trusted(
    store: EventStore, clock: ManualClock
) -> None:
    await _season(store, clock, 3)
    state = fold(await store.read(STREAM), STREAM)
    await store.save_snapshot(STREAM, state.seq + 50, _with_head(encode(state), seq=state.seq + 50))
    ledger = Ledger(store, clock=clock, operator="t")
    assert (await ledger.hold(KEY, "walkup")).ref == state.seq + 1
    assert await ledger.matches_full_fold(KEY)


async def test_an_existing_database_gets_the_table_when_opened(store_url: str) -> None:
    async with open_store(store_url, create=True) as store:
        await store.append(STREAM, "created", {"capacity": 1})
    if store_url.startswith("postgres"):
        schema = store_url.rsplit("schema=", 1)[1]
        conn = await asyncpg.connect(store_url.split("?", 1)[0])
        try:
            await conn.execute(f'DROP TABLE "{schema}".boxoffice_snapshots')
        finally:
            await conn.close()
    else:
        with sqlite3.connect(store_url) as conn:
            conn.execute("DROP TABLE boxoffice_snapshots")
    async with open_store(store_url) as store:
        await store.save_snapshot(STREAM, 1, "x")
        assert await store.load_snapshot(STREAM) == (1, "x")
        assert [e.seq for e in await store.read(STREAM)] == [1]


async def test_a_snapshot_that_cannot_be_written_costs_the_command_nothing(
    store: EventStore,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await _season(store, clock, SNAPSHOT_EVERY)

    async def busy(stream: str, seq: int, state: str, *, timeout: float | None = None) -> None:
        raise StoreBusy("the database was locked by another terminal", "locked")

    monkeypatch.setattr(store, "save_snapshot", busy)
    ledger = Ledger(store, clock=clock, operator="t")
    assert (await ledger.hold(KEY, "walkup")).status == "held"
    assert "snapshot at seq" in caplog.text and "not written" in caplog.text
    monkeypatch.undo()
    assert await store.load_snapshot(STREAM) is None


async def test_random_histories_resume_from_a_stored_snapshot_to_the_full_fold(
    store: EventStore,
) -> None:
    """The pure property (tests/test_snapshot.py) through the database's own text column."""
    for seed in range(4):
        stream = f"booking:random-{seed}"
        events = history(seed, 60)
        await store.append_many(stream, None, [NewEvent(e.type, e.data, e.meta) for e in events])
        stored = await store.read(stream)
        full = fold(stored, stream)
        for cut in range(1, len(stored) + 1, 7):
            await store.save_snapshot(stream, cut, encode(fold(stored[:cut], stream)))
            state, folded = await cached.load(store, stream, {stream})
            assert folded == len(stored) - cut
            assert state.canonical() == full.canonical() and state.offers == full.offers, cut


async def test_a_house_of_short_streams_asks_for_no_snapshot_per_stream(
    store: EventStore, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The house folds many short streams: one listing query, not one lookup each."""
    await _season(store, clock, SNAPSHOT_EVERY)  # leaves a snapshot once a ledger folds it
    await Ledger(store, clock=clock, operator="t").seats_left(KEY)
    for n in range(3):
        await Ledger(store, clock=clock, operator="t").create_occurrence(f"short-{n}", capacity=2)
    asked: list[str] = []
    load = store.load_snapshot

    async def counted(stream: str) -> tuple[int, str] | None:
        asked.append(stream)
        return await load(stream)

    monkeypatch.setattr(store, "load_snapshot", counted)
    views = await Ledger(store, clock=clock, operator="t").views()
    assert len(views) == 4 and asked == [STREAM]
