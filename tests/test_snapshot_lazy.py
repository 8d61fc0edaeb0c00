"""A snapshot decoded lazily folds to the full fold, and a cold start decodes what it touches.

The first hold on a stream of 100,000 parties must not decode 100,000 parties
(issue 16: < 50 ms). So a large snapshot's parties and request ids stay lines
until a command or a read touches one; the state must still mean exactly what
the full fold means, a snapshot written from such a state must be sound, and a
row that turns out damaged must cost a fold from the log, never a wrong answer.
"""

from __future__ import annotations

from datetime import timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st
from support.clock import ManualClock
from test_snapshot import EPOCH, STREAM, history, views

from store import EventStore
from store.audit.check import snapshot_problem
from store.booking import Ledger
from store.eventstore.events import Event, NewEvent
from store.ledger.cold_rows import LazyDict
from store.ledger.fold import fold, stream_of
from store.ledger.snapshot import LAZY_FROM, decode, encode
from store.ledger.views import occurrence_view


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32), st.integers(1, 80))
def test_a_lazy_snapshot_plus_its_tail_folds_to_the_full_fold(seed: int, length: int) -> None:
    events = history(seed, length)
    full = fold(events, STREAM)
    later = EPOCH + timedelta(hours=3)
    for cut in range(1, len(events) + 1):
        state = decode(encode(fold(events[:cut], STREAM)), STREAM, lazy=True)
        assert state is not None and isinstance(state.members, LazyDict)
        for event in events[cut:]:
            state.apply(event)
        # written again while still lazy: untouched lines kept, touched ones re-encoded
        again = decode(encode(state), STREAM, lazy=False)
        assert again is not None and again.canonical() == full.canonical(), cut
        for now in (full.high_water or EPOCH, later):  # the house line warms nothing
            line = occurrence_view("gala", state, now, rows=False)
            assert line == occurrence_view("gala", full, now, rows=False), (cut, now)
        for now in (full.high_water or EPOCH, later):
            assert views(state, now) == views(full, now), (cut, now)
        assert state.canonical() == full.canonical(), cut
        assert state.offers == full.offers and state._next_join == full._next_join, cut


def _bookings(n: int) -> list[Event]:
    meta = {"recorded_at": EPOCH.isoformat(), "operator": "box"}
    created = Event(STREAM, 1, 1, "created", {"title": "Gala", "capacity": 2 * n}, meta)
    return [created] + [
        Event(STREAM, i + 2, i + 2, "booking", {"actor": f"p{i}"}, meta) for i in range(n)
    ]


def test_a_hold_on_a_lazy_state_decodes_only_the_parties_it_touches() -> None:
    events = _bookings(LAZY_FROM + 500)
    text = encode(fold(events, STREAM))
    state = decode(text, STREAM)
    assert state is not None and isinstance(state.members, LazyDict)
    meta = {"recorded_at": (EPOCH + timedelta(minutes=1)).isoformat(), "operator": "t"}
    hold = {"actor": "walkup", "expires_at": (EPOCH + timedelta(minutes=9)).isoformat()}
    state.apply(Event(STREAM, len(events) + 1, 0, "hold", hold, meta))
    state.apply(Event(STREAM, len(events) + 2, 0, "cancel", {"actor": "p7"}, meta))
    assert dict.__len__(state.members) <= 2  # walkup and p7, of 2,501 parties
    assert state.seat_at("walkup", None) == len(events) - 1  # p7, before it, left
    full = fold([*events, *_tail(len(events), hold, meta)], STREAM)
    assert state.canonical() == full.canonical()


def _tail(last: int, hold: dict[str, str], meta: dict[str, str]) -> list[Event]:
    return [
        Event(STREAM, last + 1, 0, "hold", hold, meta),
        Event(STREAM, last + 2, 0, "cancel", {"actor": "p7"}, meta),
    ]


async def test_a_damaged_row_of_a_lazy_snapshot_costs_a_fold_never_a_wrong_answer(
    store: EventStore, clock: ManualClock
) -> None:
    key, stream = "gala", stream_of("gala")
    await Ledger(store, clock=clock, operator="seed").create_occurrence(key, capacity=10_000)
    meta = {"recorded_at": clock().isoformat(), "operator": "seed"}
    batch = [NewEvent("booking", {"actor": f"p{i}"}, meta) for i in range(LAZY_FROM + 100)]
    await store.append_many(stream, None, batch)
    assert (await Ledger(store, clock=clock, operator="t1").hold(key, "first")).status == "held"
    saved = await store.load_snapshot(stream)
    assert saved is not None
    row = '"p7"\t["c",'
    assert row in saved[1]
    damaged = saved[1].replace(row, '"p7"\t["x",')  # same length: the blocks still add up
    await store.save_snapshot(stream, saved[0], damaged)
    events = await store.read(stream)
    assert "does not decode" in str(snapshot_problem((saved[0], damaged), events, stream))
    ledger = Ledger(store, clock=clock, operator="t2")
    again = await ledger.book(key, "p7")
    assert again.status == "already" and again.seat == 8
    assert (await ledger.hold(key, "second")).status == "held"
    assert await ledger.matches_full_fold(key)
    rebuilt = await store.load_snapshot(stream)
    assert rebuilt is not None and rebuilt[1] != damaged
    assert snapshot_problem(rebuilt, await store.read(stream), stream) is None


def test_rows_keep_any_offset_and_operator_through_a_lazy_rewrite() -> None:
    """Times not in UTC keep their offset, operators their names (the rows spell both
    compactly), and a rewrite of a lazy state keeps the untouched rows' spelling."""
    plus2 = timezone(timedelta(hours=2))
    events = _bookings(LAZY_FROM + 10)
    events[5] = Event(
        STREAM,
        6,
        6,
        "hold",
        {"actor": "p4", "expires_at": "2026-05-01T23:00:00+02:00"},
        {"recorded_at": "2026-05-01T21:00:00.5+02:00", "operator": "Ines"},
    )
    events[6] = Event(STREAM, 7, 7, "booking", {"actor": "p5"}, {"recorded_at": None})
    state = decode(encode(fold(events[:-3], STREAM)), STREAM)
    assert state is not None and isinstance(state.members, LazyDict)
    late = {"recorded_at": (EPOCH + timedelta(minutes=3)).isoformat(), "operator": "Zoë"}
    for event in events[-3:]:
        events[event.seq - 1] = Event(event.stream, event.seq, 0, event.type, event.data, late)
        state.apply(events[event.seq - 1])
    full = fold(events, STREAM)
    again = decode(encode(state), STREAM, lazy=False)  # kept lines + rewritten ones
    assert again is not None and again.canonical() == full.canonical()
    p4 = again.members["p4"]
    assert p4.joined_at is not None and p4.joined_at.utcoffset() == plus2.utcoffset(None)
    assert p4.operator == "Ines" and again.members["p5"].operator is None
    last = events[-1].data["actor"]
    assert again.members[last].operator == "Zoë" and again.members["p0"].operator == "box"
