"""The roster rows a read keeps between reads (``store.ledger.seated``) are what a full
build from the members says, after every event, at every read instant, across lapses
played out and undone by reads and across batches rolled back by a lost append.

The kept rows are a cache of the fold: a read rebuilds only from the first place a
touched actor sits. If the fold forgot to note an actor (or an undo), a row would
go on saying what it said before; this refolds the same histories both ways.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from store.eventstore.events import Event
from store.ledger import seated
from store.ledger.fold import OccurrenceState
from store.ledger.lanes import at_instant
from store.ledger.seated import seat_records, seat_records_afresh

STREAM = "booking:gala"
EPOCH = datetime(2026, 5, 1, 19, 0, tzinfo=UTC)
ACTORS = [f"p{n:02d}" for n in range(40)]
KINDS = ["hold"] * 4 + ["booking"] * 3 + ["confirm", "release", "cancel", "checkin", "note"]
READS = (timedelta(0), timedelta(seconds=61), timedelta(minutes=5, seconds=1))


def event(seq: int, kind: str, data: dict[str, Any], clock: datetime) -> Event:
    return Event(STREAM, seq, seq, kind, data, {"recorded_at": clock.isoformat()})


def history(seed: int, length: int) -> list[Event]:
    """A busy night on a 60-seat show: parties join, pay, leave in part, lapse."""
    rng = random.Random(seed)
    events = [event(1, "created", {"title": "Gala", "capacity": 60}, EPOCH)]
    clock = EPOCH
    for seq in range(2, length + 2):
        clock += timedelta(seconds=rng.choice([0, 5, 30, 90]))
        kind = rng.choice(KINDS)
        data: dict[str, Any] = {"actor": rng.choice(ACTORS)}
        if kind in ("hold", "booking"):
            data["seats"] = rng.randint(1, 3)
        if kind == "hold":
            data["expires_at"] = (clock + timedelta(seconds=rng.choice([60, 300]))).isoformat()
        if kind == "cancel" and rng.random() < 0.4:
            data["seats"] = 1  # a partial cancel: the party keeps its place, smaller
        if kind == "note":
            data["note"] = rng.choice(["aisle", "late"])
        events.append(event(seq, kind, data, clock))
    return events


def read_both(state: OccurrenceState, now: datetime) -> tuple[list[Any], list[Any]]:
    """The kept rows and a full build, at the same instant, lapses played out then undone."""
    return at_instant(
        state, state.at(now), lambda s, at: (seat_records(s, at), seat_records_afresh(s, at))
    )


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32), st.integers(20, 160))
def test_kept_rows_equal_a_full_build_after_every_event_and_read(seed: int, length: int) -> None:
    rng = random.Random(seed)
    events = history(seed, length)
    state = OccurrenceState(STREAM)
    for n, each in enumerate(events):
        if rng.random() < 0.15:  # a batch decided, then lost its append: undone
            state.begin()
            for later in events[n : n + rng.randint(1, 3)]:
                state.apply(later)
            state.rollback()
        state.apply(each)
        base = state.high_water or EPOCH
        for offset in rng.sample(READS, rng.randint(1, len(READS))):
            kept, afresh = read_both(state, base + offset)
            assert kept == afresh, (n, offset)
        assert seat_records(state, None) == seat_records_afresh(state, None), n


def test_the_histories_take_the_kept_path_and_reuse_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison above is not of two full builds: most reads update the kept rows,
    and a read after a change reuses the rows before it as the same objects."""
    updates = []
    update = seated._update

    def counted(*args: Any) -> Any:
        updates.append(args)
        return update(*args)

    monkeypatch.setattr(seated, "_update", counted)
    state = OccurrenceState(STREAM)
    reused = 0
    for each in history(7, 300):
        before = seat_records(state, state.high_water)
        state.apply(each)
        after = seat_records(state, state.high_water)
        assert after == seat_records_afresh(state, state.high_water)
        reused += sum(a is b for a, b in zip(before, after, strict=False))
    assert len(updates) > 400, len(updates)  # of 600 reads
    assert reused > 3000, reused


def test_a_snapshot_load_replacing_the_members_is_built_afresh() -> None:
    events = history(3, 60)
    state = OccurrenceState(STREAM)
    for each in events:
        state.apply(each)
    seat_records(state, None)
    other = OccurrenceState(STREAM)
    for each in events[:30]:
        other.apply(each)
    state.members = other.members  # as a snapshot load does, without a single _set
    assert seat_records(state, None) == seat_records_afresh(state, None)


def test_a_fold_nobody_reads_rows_of_stops_naming_actors_and_is_built_afresh() -> None:
    state = OccurrenceState(STREAM)
    state.apply(event(1, "created", {"capacity": 10_000}, EPOCH))
    seat_records(state, None)
    for seq in range(2, 5002):
        state.apply(event(seq, "booking", {"actor": f"walk-in {seq}"}, EPOCH))
    assert state.touched is None  # 5,000 names would be kept for nothing
    rows = seat_records(state, None)
    assert rows == seat_records_afresh(state, None) and len(rows) == 5000
    assert state.touched == set()
