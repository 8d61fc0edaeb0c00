"""The house read from per-stream summaries equals the house folded from the log (issue 16).

The summary is a cache of each stream's line in the house. Whatever it holds,
the house must say what a fold of the log says: at the summary's seq for any
read instant (holds lapse by the reader's clock, not the writer's), after
events written past it by a writer that leaves no summary, and when the text is
missing, of an older format, damaged, past the log or wrong (then ``check``
names it).
"""

from __future__ import annotations

import json
import random
import sqlite3
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.clock import ManualClock
from test_snapshot import EPOCH, STREAM, history

from store import EventStore, StoreBusy, open_store
from store.audit.check import summary_problem
from store.booking import Ledger
from store.eventstore.events import Event, NewEvent
from store.ledger.fold import OccurrenceState, fold, stream_of
from store.ledger.lanes import at_instant
from store.ledger.summary import FORMAT, decode, encode, house_line, of_state
from store.ledger.views import OccurrenceView, occurrence_view

KEY = "gala"
_READS = (
    timedelta(hours=-1),
    timedelta(0),
    timedelta(seconds=61),
    timedelta(minutes=5, seconds=1),
    timedelta(hours=3),
)


def folded_line(key: str, state: OccurrenceState, clock: Any) -> OccurrenceView:
    """The house line as the ledger builds it from the folded state (the reference)."""
    return at_instant(
        state, state.at(clock), lambda s, now: occurrence_view(key, s, now, rows=False)
    )


def _due_while_waiting(state: OccurrenceState, clock: Any) -> bool:
    now = state.at(clock)
    return bool(state.waiting) and bool(state.lapsing(now))


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32), st.integers(1, 80))
def test_a_summary_answers_what_the_fold_answers_at_every_cut_and_instant(
    seed: int, length: int
) -> None:
    events = history(seed, length)
    for cut in range(1, len(events) + 1):
        state = fold(events[:cut], STREAM)
        summary = decode(encode(of_state(state)), STREAM)
        assert summary == of_state(state), cut
        base = state.high_water or EPOCH
        for offset in _READS:
            clock = base + offset
            line = house_line(KEY, summary, clock)
            if not state.created:
                assert line is None
            elif line is None:  # only the fold can walk the waiting list at a lapse
                assert _due_while_waiting(state, clock), (cut, offset)
            else:
                assert line == folded_line(KEY, state, clock), (cut, offset)


def test_the_histories_reach_lapses_at_read_time_and_the_waiting_list_fallback() -> None:
    """Reads that lapse holds the summary must derive, and the fallback, or the above is thin."""
    derived = fallback = 0
    for seed in range(200):
        state = fold(history(seed, 50), STREAM)
        summary = of_state(state)
        for offset in _READS[2:]:
            line = house_line(KEY, summary, (state.high_water or EPOCH) + offset)
            fallback += line is None and state.created
            derived += line is not None and line.record.held < summary.held
    assert derived > 20 and fallback > 20, (derived, fallback)


def test_a_summary_of_another_format_stream_or_damaged_is_not_used() -> None:
    state = fold(history(11, 40), STREAM)
    text = encode(of_state(state))
    assert decode(text, STREAM) is not None
    assert decode(text, "booking:other") is None
    assert decode(text.replace(f'"format":{FORMAT}', f'"format":{FORMAT + 1}'), STREAM) is None
    assert decode(text[: len(text) // 2], STREAM) is None
    assert decode(f'{{"format":{FORMAT}}}', STREAM) is None
    body = json.loads(text)
    body["held"] = -1
    assert decode(json.dumps(body), STREAM) is None


# -- in a real database, on both backends -------------------------------------------------


async def _season(store: EventStore, clock: ManualClock, seed: int, shows: int) -> list[str]:
    """Several occurrences driven through the ledger at random: holds that lapse, parties,
    a waiting list, cancels, archives."""
    rng = random.Random(seed)
    ledger = Ledger(store, clock=clock, operator="box")
    keys = [f"show-{n}" for n in range(shows)]
    for key in keys:
        await ledger.create_occurrence(
            key, capacity=rng.randint(2, 6), title=key.upper(), hold_ttl=timedelta(minutes=5)
        )
    for _ in range(20 * shows):
        key, actor = rng.choice(keys), rng.choice(["ann", "bob", "cy", "dee", "eve", "fay"])
        kind = rng.choice(["hold", "hold", "book", "wait", "cancel", "confirm", "checkin"])
        if kind == "hold":
            ttl = timedelta(seconds=rng.choice([60, 300]))
            await ledger.hold(key, actor, ttl, seats=rng.randint(1, 2))
        elif kind == "book":
            await ledger.book(key, actor, seats=rng.randint(1, 2))
        elif kind == "wait":
            await ledger.join_waitlist(key, actor, seats=rng.randint(1, 2))
        elif kind == "cancel":
            await ledger.cancel(key, actor)
        elif kind == "confirm":
            await ledger.confirm(key, actor)
        else:
            await ledger.check_in(key, actor)
        clock.advance(seconds=rng.choice([0, 20, 45]))
    await ledger.archive(keys[-1])
    return keys


async def _folded_house(store: EventStore, clock: ManualClock) -> list[OccurrenceView]:
    """The house as it was read before summaries: every stream folded from seq 1."""
    ledger = Ledger(store, clock=clock, operator="old")
    ledger._lanes.snapshots = False  # the caches' switch (bench/season_open.py's "off")
    return await ledger.views()


def _counting_reads(store: EventStore, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    seen: list[str] = []
    read = store.read

    async def counted(stream: str, after_seq: int = 0) -> list[Event]:
        seen.append(stream)
        return await read(stream, after_seq)

    monkeypatch.setattr(store, "read", counted)
    return seen


async def test_the_house_from_summaries_equals_the_folded_house_and_reads_no_stream(
    store: EventStore, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    for seed in range(3):
        keys = await _season(store, clock, seed, 4)
        clock.advance(seconds=30)
        first = await Ledger(store, clock=clock, operator="t1").views()  # leaves summaries
        assert first == await _folded_house(store, clock)
        for key in keys:
            found = await store.load_summary(stream_of(key))
            events = await store.read(stream_of(key))
            assert found is not None and found[0] == events[-1].seq
            assert summary_problem(found, events, stream_of(key)) is None
        for later in (0, 61, 301, 3600):  # holds lapse by the reader's clock alone
            clock.advance(seconds=later)
            want = await _folded_house(store, clock)
            seen = _counting_reads(store, monkeypatch)
            got = await Ledger(store, clock=clock, operator="t2").views()
            monkeypatch.undo()
            assert got == want, (seed, later)
            # a stream is read only where a lapse now due offers seats to waiters
            for stream in set(seen):
                found = await store.load_summary(stream)
                summary = decode(found[1], stream) if found is not None else None
                assert summary is not None and summary.waiting, stream
                assert any(when <= clock() for when, _ in summary.holds), stream
        await store.append_many(f"booking:x{seed}", None, [NewEvent("created", {"capacity": 1})])


async def test_events_after_the_summary_are_shown_and_the_summary_rewritten(
    store: EventStore, clock: ManualClock
) -> None:
    keys = await _season(store, clock, 7, 2)
    await Ledger(store, clock=clock, operator="t1").views()
    stream = stream_of(keys[0])
    before = await store.load_summary(stream)
    assert before is not None
    # a writer that leaves no summary (an older boxoffice, a script on the store)
    meta = {"recorded_at": clock().isoformat(), "operator": "script"}
    await store.append_many(
        stream,
        None,
        [NewEvent("capacity", {"capacity": 50}), NewEvent("booking", {"actor": "zed"}, meta)],
    )
    want = await _folded_house(store, clock)
    got = await Ledger(store, clock=clock, operator="t2").views()
    assert got == want
    line = next(v for v in got if v.record.key == keys[0])
    assert line.record.capacity == 50 and line.seq == before[0] + 2
    after = await store.load_summary(stream)
    assert after is not None and after[0] == before[0] + 2
    assert summary_problem(after, await store.read(stream), stream) is None


@pytest.mark.parametrize("damage", ["missing", "older format", "damaged", "past the log"])
async def test_a_missing_old_damaged_or_overreaching_summary_is_rebuilt(
    store: EventStore, clock: ManualClock, damage: str
) -> None:
    keys = await _season(store, clock, 3, 2)
    if damage != "missing":
        await Ledger(store, clock=clock, operator="t1").views()
    stream = stream_of(keys[0])
    events = await store.read(stream)
    good = encode(of_state(fold(events, stream)))
    seq = events[-1].seq
    if damage == "missing":
        assert await store.load_summary(stream) is None
    elif damage == "older format":
        older = good.replace(f'"format":{FORMAT}', '"format":0')
        await store.save_summaries([(stream, seq, older)])
    elif damage == "damaged":
        await store.save_summaries([(stream, seq, good[: len(good) // 2])])
        assert "does not decode" in str(
            summary_problem(await store.load_summary(stream), events, stream)
        )
    else:
        body = json.loads(good)
        body["seq"] = seq + 5
        await store.save_summaries([(stream, seq + 5, json.dumps(body))])
        assert "does not hold" in str(
            summary_problem(await store.load_summary(stream), events, stream)
        )
    want = await _folded_house(store, clock)
    assert await Ledger(store, clock=clock, operator="t2").views() == want
    assert await store.load_summary(stream) == (seq, good)


async def test_check_names_a_summary_that_decodes_but_differs_from_the_log(
    store: EventStore, clock: ManualClock
) -> None:
    keys = await _season(store, clock, 5, 1)
    stream = stream_of(keys[0])
    events = await store.read(stream)
    body = json.loads(encode(of_state(fold(events, stream))))
    body["confirmed"] += 1
    body["held"] += 1
    await store.save_summaries([(stream, events[-1].seq, json.dumps(body))])
    problem = summary_problem(await store.load_summary(stream), events, stream)
    assert problem is not None and "differs from the log's fold" in problem


async def test_summaries_that_cannot_be_written_cost_the_house_nothing(
    store: EventStore,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await _season(store, clock, 2, 2)

    async def busy(rows: Any, *, timeout: float | None = None) -> None:
        raise StoreBusy("the database was locked by another terminal", "locked")

    monkeypatch.setattr(store, "save_summaries", busy)
    assert await Ledger(store, clock=clock, operator="t").views() == await _folded_house(
        store, clock
    )
    assert "house summaries not written" in caplog.text


async def test_a_whole_house_of_summaries_is_written_and_listed_in_one_call_each(
    store: EventStore,
) -> None:
    """More summaries than one statement takes (``SUMMARIES_PER_STATEMENT``), and a
    stream without one, come back by name with each stream's last seq."""
    streams = [f"booking:s{n:04d}" for n in range(1_200)]
    for stream in streams[:3]:
        await store.append_many(stream, None, [NewEvent("created", {"capacity": 1})] * 2)
    await store.append_many("booking:bare", None, [NewEvent("created", {"capacity": 1})])
    await store.save_summaries([(s, 2, f"text {s}") for s in streams])
    listed = await store.stream_summaries("booking:")
    assert listed == [("booking:bare", 1, None, None)] + [
        (s, 2, 2, f"text {s}") for s in streams[:3]
    ]
    assert await store.load_summary(streams[-1]) == (2, f"text {streams[-1]}")


async def test_an_existing_database_gets_the_summaries_table_when_opened(
    store_url: str,
) -> None:
    async with open_store(store_url, create=True) as opened:
        await opened.append("booking:gala", "created", {"capacity": 1})
    if store_url.startswith("postgres"):
        schema = store_url.rsplit("schema=", 1)[1]
        conn = await asyncpg.connect(store_url.split("?", 1)[0])
        try:
            await conn.execute(f'DROP TABLE "{schema}".boxoffice_summaries')
        finally:
            await conn.close()
    else:
        with sqlite3.connect(store_url) as conn:
            conn.execute("DROP TABLE boxoffice_summaries")
    async with open_store(store_url) as opened:
        views = await Ledger(opened, operator="t").views()
        assert [v.record.capacity for v in views] == [1]
        assert await opened.load_summary("booking:gala") is not None
