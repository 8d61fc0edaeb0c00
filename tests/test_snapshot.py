"""A snapshot loaded and the tail folded equals the full fold, exactly (issue 16, third bullet).

Histories are random logs, not only what the ledger writes: holds that lapse
unrecorded, offers to waiters at lapse instants, partial cancels, request ids,
a clock stepping back. Every cut point is snapshotted, decoded, and the rest of
the log folded on top; the result must equal the full fold in everything it
means and in what its views answer.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from store.eventstore.events import Event
from store.ledger.fold import OccurrenceState, fold
from store.ledger.snapshot import FORMAT, decode, encode

STREAM = "booking:gala"
EPOCH = datetime(2026, 5, 1, 19, 0, tzinfo=UTC)
_ACTORS = ["ann", "bob", "cy", "dee", "eve", "fay"]
_KINDS = [
    "hold",
    "hold",
    "booking",
    "confirm",
    "release",
    "cancel",
    "checkin",
    "note",
    "expire",
    "wait",
    "wait",
    "unwait",
    "capacity",
    "updated",
    "archived",
    "restored",
]


def history(seed: int, length: int) -> list[Event]:
    rng = random.Random(seed)
    events = [
        Event(
            STREAM,
            1,
            1,
            "created",
            {"title": "Gala", "capacity": rng.randint(1, 6), "hold_ttl_s": 300},
            {"recorded_at": EPOCH.isoformat(), "operator": "box"},
        )
    ]
    clock = EPOCH
    for seq in range(2, length + 2):
        clock += timedelta(seconds=rng.choice([0, 30, 120, 301, -200]))
        kind = rng.choice(_KINDS)
        actor = rng.choice(_ACTORS)
        data: dict[str, Any] = {"actor": actor}
        if kind in ("hold", "booking", "wait"):
            data["seats"] = rng.randint(1, 3)
        if kind == "hold":
            data["expires_at"] = (clock + timedelta(seconds=rng.choice([60, 300]))).isoformat()
        if kind == "cancel" and rng.random() < 0.4:
            data["seats"] = 1
        if kind == "note":
            data["note"] = rng.choice(["aisle", None, "late"])
        if kind == "capacity":
            data = {"capacity": rng.randint(0, 8)}
        if kind == "updated":
            data = {"title": rng.choice(["Gala", "Gala II"]), "offer_ttl_s": 120}
        if kind in ("archived", "restored"):
            data = {}
        meta: dict[str, Any] = {"recorded_at": clock.isoformat(), "operator": "box"}
        if rng.random() < 0.2:
            meta["request"] = {
                "id": f"r{rng.randint(0, 5)}",
                "command": kind,
                "actor": actor,
                "answer": {"status": "ok", "seat": 1},
            }
        events.append(Event(STREAM, seq, seq, kind, data, meta))
    return events


def views(state: OccurrenceState, now: datetime) -> tuple[Any, ...]:
    """What reads answer at an instant: roster, seats, next expiry, unrecorded lapses."""
    return (
        [(m.actor, m.seats) for m in state.roster_at(now)],
        [state.seat_at(a, now) for a in _ACTORS],
        state.next_expiry(now),
        state.occupied_at(now),
        [m.actor for m in state.unrecorded_lapses(now)],
    )


def resumed(events: list[Event], cut: int) -> OccurrenceState:
    prefix = fold(events[:cut], STREAM)
    state = decode(encode(prefix), STREAM)
    assert state is not None
    for event in events[cut:]:
        state.apply(event)
    return state


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32), st.integers(1, 80))
def test_a_snapshot_plus_its_tail_folds_to_the_full_fold(seed: int, length: int) -> None:
    events = history(seed, length)
    full = fold(events, STREAM)
    later = EPOCH + timedelta(hours=3)
    for cut in range(1, len(events) + 1):
        state = resumed(events, cut)
        assert state.canonical() == full.canonical(), cut
        assert state.offers == full.offers, cut
        assert state._next_join == full._next_join, cut
        for now in (full.high_water or EPOCH, later):
            assert views(state, now) == views(full, now), (cut, now)


def test_the_histories_reach_the_cases_a_snapshot_must_keep() -> None:
    """Offers, unrecorded lapses and waiters at a cut, or the property above proves little."""
    offered = lapsed = waiting = 0
    for seed in range(200):
        events = history(seed, 60)
        state = fold(events[:40], STREAM)
        offered += bool(state.offers)
        lapsed += any(not m.lapse_recorded for m in state.unrecorded_lapses(None))
        waiting += bool(state.waiting)
    assert offered > 20 and lapsed > 20 and waiting > 20, (offered, lapsed, waiting)


def test_a_snapshot_of_another_format_stream_or_damaged_is_not_used() -> None:
    state = fold(history(7, 40), STREAM)
    text = encode(state)
    assert decode(text, STREAM) is not None
    assert decode(text, "booking:other") is None
    assert decode(text.replace(f'"format":{FORMAT}', f'"format":{FORMAT + 1}'), STREAM) is None
    assert decode(text[: len(text) // 2], STREAM) is None
    assert decode("[]", STREAM) is None
    damaged = text.replace(f'"held":{state.held}', f'"held":{state.held + 1}')
    assert damaged != text and decode(damaged, STREAM) is None


def test_a_tentative_state_is_not_snapshotted() -> None:
    state = fold(history(3, 10), STREAM)
    state.begin()
    try:
        encode(state)
    except ValueError:
        pass
    else:
        raise AssertionError("a state inside begin() was encoded")
    finally:
        state.rollback()
