"""Every status of SPEC §2, through the ``ledger`` fixture (manual clock, operator "tester").

Time moves only when a test moves the clock. After each mutating test the
incremental state must equal a refold of the whole stream.
"""

from __future__ import annotations

import asyncio
import socket
import unicodedata
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from support.wrapped_store import ForwardingStore

from store import Event, EventStore
from store.booking import InvalidInput, Ledger, Outcome, Status, UnknownOccurrence
from store.ledger.rules import occurrence_key as valid_key

if TYPE_CHECKING:
    from support.clock import ManualClock

KEY = "hamlet-2026-12-01"
STREAM = "booking:" + KEY
MIN = timedelta(minutes=1)


async def log(ledger: Ledger, key: str = KEY) -> list[Event]:
    return await ledger.store.read("booking:" + key)


async def types(ledger: Ledger, key: str = KEY) -> list[str]:
    return [e.type for e in await log(ledger, key)]


async def created(ledger: Ledger, capacity: int = 3, **kwargs: Any) -> Ledger:
    outcome = await ledger.create_occurrence(KEY, capacity=capacity, **kwargs)
    assert outcome.status is Status.CREATED
    return ledger


async def consistent(ledger: Ledger, key: str = KEY) -> None:
    assert await ledger.matches_full_fold(key)


@pytest.fixture(autouse=True)
async def every_stream_refolds(ledger: Ledger) -> AsyncIterator[None]:
    """After every test, whatever it wrote: incremental state == a refold of the stream."""
    yield
    for stream in await ledger.store.streams("booking:"):
        key = stream.removeprefix("booking:")
        try:
            valid_key(key)
        except InvalidInput:
            continue  # a foreign stream name a test wrote on purpose
        assert await ledger.matches_full_fold(key), key


# -- create_occurrence ---------------------------------------------------------------------


async def test_created_then_exists_keeps_the_first_capacity(ledger: Ledger) -> None:
    first = await ledger.create_occurrence(
        KEY,
        capacity=40,
        title="Hamlet",
        starts_at="2026-12-01T19:30:00+00:00",
        hold_ttl=timedelta(minutes=15),
    )
    assert (first.status, first.capacity, first.attempts) == (Status.CREATED, 40, 1)
    assert str(first.status) == "created"
    again = await ledger.create_occurrence(KEY, capacity=5, title="Other")
    assert (again.status, again.capacity) == (Status.EXISTS, 40)
    assert str(again.status) == "exists"
    (event,) = await log(ledger)
    assert event.type == "created"
    assert event.data == {
        "title": "Hamlet",
        "starts_at": "2026-12-01T19:30:00+00:00",
        "capacity": 40,
        "hold_ttl_s": 900,
    }
    record = await ledger.occurrence(KEY)
    assert (record.title, record.capacity, record.hold_ttl) == ("Hamlet", 40, timedelta(minutes=15))
    await consistent(ledger)


async def test_created_without_optional_fields(ledger: Ledger) -> None:
    await created(ledger, capacity=0)
    (event,) = await log(ledger)
    assert event.data == {"title": None, "starts_at": None, "capacity": 0, "hold_ttl_s": None}
    record = await ledger.occurrence(KEY)
    assert (record.title, record.starts_at, record.hold_ttl, record.seats_left) == (
        None,
        None,
        None,
        0,
    )
    assert (await ledger.book(KEY, "ada")).status is Status.FULL


async def test_starts_at_datetime_is_stored_as_iso(ledger: Ledger) -> None:
    starts = datetime.fromisoformat("2026-12-24T20:00:00+01:00")
    await created(ledger, starts_at=starts)
    assert (await log(ledger))[0].data["starts_at"] == starts.isoformat()
    assert (await ledger.occurrence(KEY)).starts_at == starts.isoformat()


# -- set_capacity --------------------------------------------------------------------------


async def test_capacity_set_raises_and_lowers(ledger: Ledger) -> None:
    await created(ledger, capacity=1)
    assert (await ledger.book(KEY, "ada")).status is Status.BOOKED
    assert (await ledger.book(KEY, "bob")).status is Status.FULL
    raised = await ledger.set_capacity(KEY, 2)
    assert (raised.status, raised.capacity) == (Status.CAPACITY_SET, 2)
    assert str(raised.status) == "capacity-set"
    assert (await ledger.book(KEY, "bob")).seat == 2
    assert (await log(ledger))[-2].data == {"capacity": 2}
    await consistent(ledger)


async def test_lowering_capacity_below_occupied_keeps_every_seat(ledger: Ledger) -> None:
    await created(ledger, capacity=3)
    await ledger.book(KEY, "ada")
    await ledger.hold(KEY, "bob")
    await ledger.book(KEY, "cy")
    lowered = await ledger.set_capacity(KEY, 1)
    assert (lowered.status, lowered.capacity) == (Status.CAPACITY_SET, 1)
    assert await ledger.roster(KEY) == ["ada", "bob", "cy"]
    assert await ledger.seats_left(KEY) == 0
    assert await ledger.seat_state(KEY, "bob") == "held"
    full = await ledger.hold(KEY, "dee")
    assert (full.status, full.capacity, full.seat) == (Status.FULL, 1, None)
    assert (await ledger.book(KEY, "dee")).status is Status.FULL
    # freeing one seat still leaves the house over the new capacity
    assert (await ledger.cancel(KEY, "ada")).status is Status.CANCELLED
    assert (await ledger.book(KEY, "dee")).status is Status.FULL
    # the held seat can still be confirmed: it is kept, not a new one
    confirmed = await ledger.confirm(KEY, "bob")
    assert (confirmed.status, confirmed.seat) == (Status.CONFIRMED, 1)
    await ledger.cancel(KEY, "cy")
    assert (await ledger.book(KEY, "dee")).status is Status.FULL  # bob occupies the 1 seat
    await ledger.cancel(KEY, "bob")
    assert (await ledger.book(KEY, "dee")).status is Status.BOOKED
    occ = await ledger.occurrence(KEY)
    assert (occ.capacity, occ.occupied, occ.seats_left) == (1, 1, 0)
    await consistent(ledger)


async def test_capacity_zero_stops_everything(ledger: Ledger) -> None:
    await created(ledger, capacity=2)
    await ledger.set_capacity(KEY, 0)
    assert (await ledger.hold(KEY, "ada")).status is Status.FULL
    assert await ledger.seats_left(KEY) == 0
    assert await types(ledger) == ["created", "capacity"]


# -- book ----------------------------------------------------------------------------------


async def test_booked_already_full(ledger: Ledger) -> None:
    await created(ledger, capacity=2)
    ada = await ledger.book(KEY, "ada")
    assert (ada.status, ada.actor, ada.seat, ada.attempts) == (Status.BOOKED, "ada", 1, 1)
    assert str(ada.status) == "booked"
    bob = await ledger.book(KEY, "bob")
    assert (bob.status, bob.seat) == (Status.BOOKED, 2)
    again = await ledger.book(KEY, "ada")
    assert (again.status, again.seat) == (Status.ALREADY, 1)
    full = await ledger.book(KEY, "cy")
    assert (full.status, full.actor, full.capacity, full.seat) == (Status.FULL, "cy", 2, None)
    assert str(full.status) == "full"
    assert [(e.type, e.data) for e in await log(ledger)][1:] == [
        ("booking", {"actor": "ada"}),
        ("booking", {"actor": "bob"}),
    ]
    assert await ledger.seat_state(KEY, "ada") == "confirmed"
    assert await ledger.seat_state(KEY, "cy") == "none"
    await consistent(ledger)


async def test_book_of_a_held_actor_is_already_and_stays_held(ledger: Ledger) -> None:
    await created(ledger, capacity=2)
    await ledger.hold(KEY, "ada", ttl=10 * MIN)
    again = await ledger.book(KEY, "ada")
    assert (again.status, again.seat) == (Status.ALREADY, 1)
    assert await ledger.seat_state(KEY, "ada") == "held"
    assert await types(ledger) == ["created", "hold"]


async def test_full_house_refuses_even_when_full_of_holds(ledger: Ledger) -> None:
    await created(ledger, capacity=1)
    await ledger.hold(KEY, "ada", ttl=10 * MIN)
    assert (await ledger.book(KEY, "bob")).status is Status.FULL
    assert (await ledger.hold(KEY, "bob")).status is Status.FULL


# -- hold ----------------------------------------------------------------------------------


async def test_held_with_explicit_ttl(ledger: Ledger, clock: ManualClock) -> None:
    await created(ledger, capacity=2, hold_ttl=timedelta(minutes=15))
    held = await ledger.hold(KEY, "ada", ttl=5 * MIN)
    assert (held.status, held.seat, held.expires_at) == (Status.HELD, 1, clock.now + 5 * MIN)
    assert str(held.status) == "held"
    event = (await log(ledger))[-1]
    assert event.type == "hold"
    assert event.data == {"actor": "ada", "expires_at": (clock.now + 5 * MIN).isoformat()}
    await consistent(ledger)


async def test_held_uses_the_occurrence_hold_ttl(ledger: Ledger, clock: ManualClock) -> None:
    await created(ledger, capacity=2, hold_ttl=timedelta(minutes=15))
    clock.advance(minutes=3)
    held = await ledger.hold(KEY, "ada")
    assert held.expires_at == clock.now + timedelta(minutes=15)
    assert (await ledger.seats(KEY))[0].expires_at == held.expires_at


async def test_hold_without_any_ttl_never_lapses(ledger: Ledger, clock: ManualClock) -> None:
    await created(ledger, capacity=1)
    held = await ledger.hold(KEY, "ada")
    assert (held.status, held.seat, held.expires_at) == (Status.HELD, 1, None)
    assert (await log(ledger))[-1].data == {"actor": "ada", "expires_at": None}
    clock.advance(days=3650)
    assert await ledger.seat_state(KEY, "ada") == "held"
    assert await ledger.expire_holds(KEY) == []
    assert (await ledger.book(KEY, "bob")).status is Status.FULL
    assert (await ledger.confirm(KEY, "ada")).status is Status.CONFIRMED
    await consistent(ledger)


async def test_hold_already_and_full(ledger: Ledger, clock: ManualClock) -> None:
    await created(ledger, capacity=2)
    first = await ledger.hold(KEY, "ada", ttl=10 * MIN)
    await ledger.book(KEY, "bob")
    clock.advance(minutes=1)
    again = await ledger.hold(KEY, "ada", ttl=30 * MIN)
    assert (again.status, again.seat) == (Status.ALREADY, 1)
    assert str(again.status) == "already"
    # an `already` does not extend the hold
    assert (await ledger.seats(KEY))[0].expires_at == first.expires_at
    booked_again = await ledger.hold(KEY, "bob")
    assert (booked_again.status, booked_again.seat) == (Status.ALREADY, 2)
    assert await ledger.seat_state(KEY, "bob") == "confirmed"
    full = await ledger.hold(KEY, "cy", ttl=MIN)
    assert (full.status, full.capacity, full.expires_at) == (Status.FULL, 2, None)
    assert await types(ledger) == ["created", "hold", "booking"]
    await consistent(ledger)


# -- confirm -------------------------------------------------------------------------------


async def test_confirmed_keeps_its_place(ledger: Ledger) -> None:
    await created(ledger, capacity=3)
    await ledger.hold(KEY, "ada", ttl=10 * MIN)
    await ledger.book(KEY, "bob")
    await ledger.hold(KEY, "cy", ttl=10 * MIN)
    confirmed = await ledger.confirm(KEY, "ada")
    assert (confirmed.status, confirmed.actor, confirmed.seat) == (Status.CONFIRMED, "ada", 1)
    assert str(confirmed.status) == "confirmed"
    assert await ledger.roster(KEY) == ["ada", "bob", "cy"]
    assert await ledger.seat_state(KEY, "ada") == "confirmed"
    assert (await log(ledger))[-1].data == {"actor": "ada"}
    again = await ledger.confirm(KEY, "ada")
    assert (again.status, again.seat) == (Status.ALREADY_CONFIRMED, 1)
    assert str(again.status) == "already-confirmed"
    booked = await ledger.confirm(KEY, "bob")
    assert (booked.status, booked.seat) == (Status.ALREADY_CONFIRMED, 2)
    assert await types(ledger) == ["created", "hold", "booking", "hold", "confirm"]
    await consistent(ledger)


async def test_a_confirmed_hold_no_longer_lapses(ledger: Ledger, clock: ManualClock) -> None:
    await created(ledger, capacity=1)
    await ledger.hold(KEY, "ada", ttl=5 * MIN)
    await ledger.confirm(KEY, "ada")
    clock.advance(hours=1)
    assert await ledger.seat_state(KEY, "ada") == "confirmed"
    assert await ledger.expire_holds(KEY) == []
    assert (await ledger.book(KEY, "bob")).status is Status.FULL
    await consistent(ledger)


async def test_confirm_not_held(ledger: Ledger) -> None:
    await created(ledger, capacity=3)
    never = await ledger.confirm(KEY, "ada")
    assert (never.status, never.seat) == (Status.NOT_HELD, None)
    assert str(never.status) == "not-held"
    await ledger.hold(KEY, "bob")
    await ledger.release(KEY, "bob")
    assert (await ledger.confirm(KEY, "bob")).status is Status.NOT_HELD
    await ledger.hold(KEY, "cy")
    await ledger.cancel(KEY, "cy")
    assert (await ledger.confirm(KEY, "cy")).status is Status.NOT_HELD
    assert await types(ledger) == ["created", "hold", "release", "hold", "cancel"]
    await consistent(ledger)


async def test_late_confirm_is_expired_and_writes_one_expire(
    ledger: Ledger, clock: ManualClock
) -> None:
    await created(ledger, capacity=1)
    held = await ledger.hold(KEY, "ada", ttl=10 * MIN)
    clock.advance(minutes=11)
    late = await ledger.confirm(KEY, "ada")
    assert (late.status, late.actor, late.seat) == (Status.EXPIRED, "ada", None)
    assert late.expires_at == held.expires_at
    assert str(late.status) == "expired"
    assert await ledger.seat_state(KEY, "ada") == "none"
    assert await types(ledger) == ["created", "hold", "expire"]
    assert (await log(ledger))[-1].data == {"actor": "ada"}
    clock.advance(minutes=1)
    second = await ledger.confirm(KEY, "ada")
    assert second.status is Status.EXPIRED
    assert await types(ledger) == ["created", "hold", "expire"]
    # the lapse is recorded, so expire_holds has nothing more to write
    assert await ledger.expire_holds(KEY) == []
    # and the seat is free for someone else
    assert (await ledger.book(KEY, "bob")).status is Status.BOOKED
    await consistent(ledger)


async def test_late_confirm_after_the_seat_was_resold(ledger: Ledger, clock: ManualClock) -> None:
    await created(ledger, capacity=1)
    await ledger.hold(KEY, "ada", ttl=10 * MIN)
    clock.advance(minutes=10)
    assert (await ledger.book(KEY, "bob")).status is Status.BOOKED  # folds ada's lapse
    late = await ledger.confirm(KEY, "ada")
    assert late.status is Status.EXPIRED
    assert await ledger.roster(KEY) == ["bob"]
    assert await types(ledger) == ["created", "hold", "booking", "expire"]
    assert (await ledger.confirm(KEY, "ada")).status is Status.EXPIRED
    assert await types(ledger) == ["created", "hold", "booking", "expire"]
    await consistent(ledger)


# -- release -------------------------------------------------------------------------------


async def test_released_frees_the_seat(ledger: Ledger) -> None:
    await created(ledger, capacity=1)
    await ledger.hold(KEY, "ada", ttl=10 * MIN)
    released = await ledger.release(KEY, "ada")
    assert (released.status, released.actor, released.seat) == (Status.RELEASED, "ada", None)
    assert str(released.status) == "released"
    assert (await log(ledger))[-1].type == "release"
    assert await ledger.seat_state(KEY, "ada") == "none"
    assert (await ledger.book(KEY, "bob")).status is Status.BOOKED
    await consistent(ledger)


async def test_release_not_held_for_stranger_confirmed_and_lapsed(
    ledger: Ledger, clock: ManualClock
) -> None:
    await created(ledger, capacity=3)
    assert (await ledger.release(KEY, "nobody")).status is Status.NOT_HELD
    await ledger.book(KEY, "bob")
    confirmed = await ledger.release(KEY, "bob")
    assert confirmed.status is Status.NOT_HELD
    assert await ledger.seat_state(KEY, "bob") == "confirmed"  # gives a seat up with cancel
    await ledger.hold(KEY, "cy", ttl=5 * MIN)
    clock.advance(minutes=5)
    assert (await ledger.release(KEY, "cy")).status is Status.NOT_HELD
    assert await types(ledger) == ["created", "booking", "hold"]
    await consistent(ledger)


async def test_release_of_a_confirmed_actor_reports_the_seat_it_keeps(ledger: Ledger) -> None:
    """SPEC: ``seat`` is set whenever the actor holds a seat after the command."""
    await created(ledger, capacity=3)
    await ledger.book(KEY, "ada")
    await ledger.book(KEY, "bob")
    outcome = await ledger.release(KEY, "bob")
    assert (outcome.status, outcome.seat) == (Status.NOT_HELD, 2)


# -- cancel --------------------------------------------------------------------------------


async def test_cancelled_for_held_and_confirmed(ledger: Ledger) -> None:
    await created(ledger, capacity=2)
    await ledger.hold(KEY, "ada", ttl=10 * MIN)
    await ledger.book(KEY, "bob")
    held = await ledger.cancel(KEY, "ada")
    assert (held.status, held.actor, held.seat) == (Status.CANCELLED, "ada", None)
    assert str(held.status) == "cancelled"
    confirmed = await ledger.cancel(KEY, "bob")
    assert confirmed.status is Status.CANCELLED
    assert await ledger.roster(KEY) == []
    assert await ledger.seats_left(KEY) == 2
    assert await types(ledger) == ["created", "hold", "booking", "cancel", "cancel"]
    await consistent(ledger)


async def test_cancel_not_booked_for_stranger_cancelled_and_lapsed(
    ledger: Ledger, clock: ManualClock
) -> None:
    await created(ledger, capacity=2)
    stranger = await ledger.cancel(KEY, "nobody")
    assert (stranger.status, stranger.seat) == (Status.NOT_BOOKED, None)
    assert str(stranger.status) == "not-booked"
    await ledger.book(KEY, "ada")
    await ledger.cancel(KEY, "ada")
    assert (await ledger.cancel(KEY, "ada")).status is Status.NOT_BOOKED
    await ledger.hold(KEY, "bob", ttl=MIN)
    clock.advance(minutes=2)
    assert (await ledger.cancel(KEY, "bob")).status is Status.NOT_BOOKED
    assert await types(ledger) == ["created", "booking", "cancel", "hold"]
    await consistent(ledger)


# -- expire_holds --------------------------------------------------------------------------


async def test_expire_holds_one_outcome_per_lapse_in_join_order(
    ledger: Ledger, clock: ManualClock
) -> None:
    await created(ledger, capacity=6)
    start = clock.now
    await ledger.hold(KEY, "ada", ttl=10 * MIN)
    await ledger.book(KEY, "bob")
    await ledger.hold(KEY, "cy", ttl=5 * MIN)
    await ledger.hold(KEY, "dee", ttl=60 * MIN)
    await ledger.hold(KEY, "eve")  # never lapses
    await ledger.hold(KEY, "fay", ttl=10 * MIN)
    assert await ledger.expire_holds(KEY) == []
    clock.advance(minutes=10)
    outcomes = await ledger.expire_holds(KEY)
    assert [(o.status, o.actor) for o in outcomes] == [
        (Status.EXPIRED, "ada"),
        (Status.EXPIRED, "cy"),
        (Status.EXPIRED, "fay"),
    ]
    assert [o.expires_at for o in outcomes] == [start + 10 * MIN, start + 5 * MIN, start + 10 * MIN]
    assert all(o.attempts >= 1 and o.seat is None for o in outcomes)
    expires = [e for e in await log(ledger) if e.type == "expire"]
    assert [e.data["actor"] for e in expires] == ["ada", "cy", "fay"]
    assert await ledger.roster(KEY) == ["bob", "dee", "eve"]
    # recorded once
    assert await ledger.expire_holds(KEY) == []
    clock.advance(minutes=50)
    assert [o.actor for o in await ledger.expire_holds(KEY)] == ["dee"]
    assert [e.data["actor"] for e in await log(ledger) if e.type == "expire"] == [
        "ada",
        "cy",
        "fay",
        "dee",
    ]
    await consistent(ledger)


async def test_expire_holds_records_lapses_the_fold_already_saw(
    ledger: Ledger, clock: ManualClock
) -> None:
    """A lapse folded by a later event is still unrecorded until an `expire` is written."""
    await created(ledger, capacity=3)
    await ledger.hold(KEY, "ada", ttl=5 * MIN)
    await ledger.hold(KEY, "bob", ttl=20 * MIN)
    clock.advance(minutes=6)
    await ledger.book(KEY, "cy")  # the fold lapses ada before this booking
    clock.advance(minutes=15)  # bob lapses only in the view
    assert [o.actor for o in await ledger.expire_holds(KEY)] == ["ada", "bob"]
    assert await ledger.expire_holds(KEY) == []
    assert await ledger.roster(KEY) == ["cy"]
    await consistent(ledger)


async def test_expire_holds_skips_lapses_recorded_by_a_late_confirm(
    ledger: Ledger, clock: ManualClock
) -> None:
    await created(ledger, capacity=3)
    await ledger.hold(KEY, "ada", ttl=5 * MIN)
    await ledger.hold(KEY, "bob", ttl=5 * MIN)
    clock.advance(minutes=5)
    assert (await ledger.confirm(KEY, "bob")).status is Status.EXPIRED
    assert [o.actor for o in await ledger.expire_holds(KEY)] == ["ada"]
    assert [e.data["actor"] for e in await log(ledger) if e.type == "expire"] == ["bob", "ada"]
    await consistent(ledger)


# -- the _with_observed seams --------------------------------------------------------------


async def test_book_with_observed_success_and_already(ledger: Ledger) -> None:
    await created(ledger, capacity=3)
    await ledger.book(KEY, "ada")
    seq = await ledger.store.last_seq(STREAM)
    booked = await ledger.book_with_observed(KEY, "bob", ["ada"], seq)
    assert (booked.status, booked.actor, booked.seat, booked.attempts) == (
        Status.BOOKED,
        "bob",
        2,
        1,
    )
    assert (await log(ledger))[-1].data == {"actor": "bob"}
    # `already` is decided on the caller's roster, and writes nothing
    already = await ledger.book_with_observed(KEY, "ada", ["ada", "bob"], seq + 1)
    assert (already.status, already.seat) == (Status.ALREADY, 1)
    stale_already = await ledger.book_with_observed(KEY, "bob", ["ada", "bob"], 0)
    assert (stale_already.status, stale_already.seat) == (Status.ALREADY, 2)
    assert await ledger.store.last_seq(STREAM) == seq + 1
    assert await ledger.roster(KEY) == ["ada", "bob"]
    await consistent(ledger)


async def test_observed_full_is_judged_on_current_capacity(ledger: Ledger) -> None:
    await created(ledger, capacity=3)
    await ledger.book(KEY, "ada")
    observed, seq = ["ada"], await ledger.store.last_seq(STREAM)
    await ledger.set_capacity(KEY, 1)
    for attempt in (ledger.book_with_observed, ledger.hold_with_observed):
        full = await attempt(KEY, "bob", observed, seq)
        assert (full.status, full.capacity) == (Status.FULL, 1)
    # a snapshot fuller than the house is full too, whatever the real roster
    await ledger.set_capacity(KEY, 2)
    full = await ledger.book_with_observed(KEY, "bob", ["x", "y"], seq + 2)
    assert (full.status, full.capacity) == (Status.FULL, 2)
    assert await types(ledger) == ["created", "booking", "capacity", "capacity"]
    await consistent(ledger)


async def test_observed_conflict_carries_the_actual_seq_and_writes_nothing(
    ledger: Ledger,
) -> None:
    await created(ledger, capacity=5)
    observed, seq = await ledger.roster(KEY), await ledger.store.last_seq(STREAM)
    await ledger.book(KEY, "ada")
    await ledger.book(KEY, "bob")
    for attempt in (ledger.book_with_observed, ledger.hold_with_observed):
        lost = await attempt(KEY, "cy", observed, seq)
        assert (lost.status, lost.actor, lost.actual, lost.seat) == (
            Status.CONFLICT,
            "cy",
            seq + 2,
            None,
        )
        assert str(lost.status) == "conflict"
        assert lost.attempts == 1  # never retried
    assert await ledger.store.last_seq(STREAM) == seq + 2
    assert await ledger.seat_state(KEY, "cy") == "none"
    await consistent(ledger)


async def test_hold_with_observed_success_sets_expiry(ledger: Ledger, clock: ManualClock) -> None:
    await created(ledger, capacity=3, hold_ttl=timedelta(minutes=15))
    seq = await ledger.store.last_seq(STREAM)
    default = await ledger.hold_with_observed(KEY, "ada", [], seq)
    assert (default.status, default.seat, default.expires_at) == (
        Status.HELD,
        1,
        clock.now + timedelta(minutes=15),
    )
    explicit = await ledger.hold_with_observed(KEY, "bob", ["ada"], seq + 1, ttl=2 * MIN)
    assert (explicit.status, explicit.seat, explicit.expires_at) == (
        Status.HELD,
        2,
        clock.now + 2 * MIN,
    )
    events = await log(ledger)
    assert events[-1].data == {"actor": "bob", "expires_at": (clock.now + 2 * MIN).isoformat()}
    assert events[-1].meta["operator"] == "tester"
    assert await ledger.roster(KEY) == ["ada", "bob"]
    clock.advance(minutes=2)
    assert await ledger.roster(KEY) == ["ada"]
    await consistent(ledger)


# -- time in the fold ----------------------------------------------------------------------


async def test_a_hold_lapses_at_exactly_expires_at(ledger: Ledger, clock: ManualClock) -> None:
    await created(ledger, capacity=1)
    await ledger.hold(KEY, "ada", ttl=10 * MIN)
    clock.advance(minutes=10, microseconds=-1)
    assert await ledger.seat_state(KEY, "ada") == "held"
    assert await ledger.seats_left(KEY) == 0
    clock.advance(microseconds=1)
    assert await ledger.seat_state(KEY, "ada") == "none"
    assert await ledger.roster(KEY) == []
    assert await ledger.seats_left(KEY) == 1
    assert (await ledger.confirm(KEY, "ada")).status is Status.EXPIRED
    await consistent(ledger)


async def test_clock_stepping_back_never_revives_a_hold(ledger: Ledger, clock: ManualClock) -> None:
    await created(ledger, capacity=2)
    await ledger.hold(KEY, "ada", ttl=10 * MIN)
    clock.advance(minutes=15)
    await ledger.book(KEY, "bob")  # written at T = +15 min: ada's hold lapsed in the log
    clock.advance(minutes=-14)  # the clock steps back to +1 min
    assert await ledger.seat_state(KEY, "ada") == "none"
    assert await ledger.roster(KEY) == ["bob"]
    assert (await ledger.confirm(KEY, "ada")).status is Status.EXPIRED
    assert (await ledger.release(KEY, "ada")).status is Status.NOT_HELD
    assert (await ledger.cancel(KEY, "ada")).status is Status.NOT_BOOKED
    # commands decide at the high-water mark, and stamp it
    held = await ledger.hold(KEY, "cy", ttl=5 * MIN)
    high_water = clock.now + 14 * MIN
    assert held.expires_at == high_water + 5 * MIN
    assert (await log(ledger))[-1].meta["recorded_at"] == high_water.isoformat()
    await consistent(ledger)


async def test_recorded_at_never_goes_backwards(ledger: Ledger, clock: ManualClock) -> None:
    await created(ledger, capacity=5)
    for step, actor in zip((5, -3, 7, -10, 1), "abcde", strict=True):
        clock.advance(minutes=step)
        await ledger.book(KEY, actor)
    stamps = [datetime.fromisoformat(e.meta["recorded_at"]) for e in await log(ledger)]
    assert stamps == sorted(stamps)
    await consistent(ledger)


async def test_a_read_at_a_later_clock_does_not_lapse_for_an_earlier_one(
    ledger: Ledger, clock: ManualClock
) -> None:
    """A read's clock is not in the log: only written events move the high-water mark."""
    await created(ledger, capacity=1)
    await ledger.hold(KEY, "ada", ttl=10 * MIN)
    clock.advance(minutes=20)
    assert await ledger.seat_state(KEY, "ada") == "none"
    clock.advance(minutes=-19)
    assert await ledger.seat_state(KEY, "ada") == "held"
    await consistent(ledger)


# -- seat numbers --------------------------------------------------------------------------


async def test_seat_numbers_close_up_when_an_earlier_seat_is_freed(ledger: Ledger) -> None:
    await created(ledger, capacity=5)
    for actor in ["ada", "bob", "cy", "dee"]:
        await ledger.hold(KEY, actor)
    await ledger.release(KEY, "bob")
    assert await ledger.roster(KEY) == ["ada", "cy", "dee"]
    assert [(s.seat, s.actor) for s in await ledger.seats(KEY)] == [
        (1, "ada"),
        (2, "cy"),
        (3, "dee"),
    ]
    assert (await ledger.confirm(KEY, "dee")).seat == 3
    await ledger.cancel(KEY, "ada")
    assert (await ledger.hold(KEY, "cy")).seat == 1  # already, at its closed-up place
    assert (await ledger.book(KEY, "dee")).seat == 2
    assert (await ledger.book(KEY, "eve")).seat == 3
    await consistent(ledger)


async def test_seat_numbers_close_up_when_an_earlier_hold_lapses(
    ledger: Ledger, clock: ManualClock
) -> None:
    await created(ledger, capacity=3)
    await ledger.hold(KEY, "ada", ttl=5 * MIN)
    await ledger.book(KEY, "bob")
    await ledger.hold(KEY, "cy", ttl=30 * MIN)
    clock.advance(minutes=5)
    assert [(s.seat, s.actor) for s in await ledger.seats(KEY)] == [(1, "bob"), (2, "cy")]
    assert (await ledger.confirm(KEY, "cy")).seat == 2
    await consistent(ledger)


async def test_rejoining_after_a_lapse_joins_at_the_end(ledger: Ledger, clock: ManualClock) -> None:
    await created(ledger, capacity=3)
    await ledger.hold(KEY, "ada", ttl=5 * MIN)
    await ledger.book(KEY, "bob")
    clock.advance(minutes=6)
    again = await ledger.hold(KEY, "ada", ttl=5 * MIN)
    assert (again.status, again.seat) == (Status.HELD, 2)
    assert await ledger.roster(KEY) == ["bob", "ada"]
    assert (await ledger.confirm(KEY, "ada")).status is Status.CONFIRMED  # the new hold
    assert (await ledger.seats(KEY))[1].joined_at == clock.now
    await consistent(ledger)


async def test_rejoining_after_a_recorded_lapse_joins_at_the_end(
    ledger: Ledger, clock: ManualClock
) -> None:
    await created(ledger, capacity=3)
    await ledger.hold(KEY, "ada", ttl=5 * MIN)
    await ledger.book(KEY, "bob")
    clock.advance(minutes=6)
    await ledger.expire_holds(KEY)
    assert (await ledger.book(KEY, "ada")).seat == 2
    assert await ledger.roster(KEY) == ["bob", "ada"]
    assert await ledger.seat_state(KEY, "ada") == "confirmed"
    await consistent(ledger)


async def test_rejoining_after_a_cancel_joins_at_the_end(ledger: Ledger) -> None:
    await created(ledger, capacity=3)
    await ledger.book(KEY, "ada")
    await ledger.book(KEY, "bob")
    await ledger.book(KEY, "cy")
    await ledger.cancel(KEY, "ada")
    back = await ledger.hold(KEY, "ada")
    assert (back.status, back.seat) == (Status.HELD, 3)
    assert await ledger.roster(KEY) == ["bob", "cy", "ada"]
    await consistent(ledger)


# -- one actor, many spellings -------------------------------------------------------------


async def test_nfc_and_nfd_spellings_are_one_actor(ledger: Ledger) -> None:
    nfc = "Jos\u00e9 Mu\u00f1oz"
    nfd = unicodedata.normalize("NFD", nfc)
    assert nfc != nfd
    await created(ledger, capacity=3)
    first = await ledger.book(KEY, nfd)
    assert (first.status, first.actor) == (Status.BOOKED, nfc)
    assert (await ledger.book(KEY, nfc)).status is Status.ALREADY
    assert (await ledger.hold(KEY, f"  {nfd}\u3000")).status is Status.ALREADY
    assert await ledger.seat_state(KEY, nfd) == "confirmed"
    assert await ledger.roster(KEY) == [nfc]
    assert (await log(ledger))[-1].data == {"actor": nfc}
    assert (await ledger.cancel(KEY, nfd)).status is Status.CANCELLED
    assert await ledger.roster(KEY) == []
    await consistent(ledger)


async def test_names_are_kept_verbatim(ledger: Ledger) -> None:
    names = [
        "https://example.com/?a=1&b=[2]",
        'O\'Brien "the" <Great> {x} (y) [z]',
        "[bold red]not markup[/]",
        "王小明",
        "Ωμέγα",
        "שלום",
        "🎭 party of 4",
    ]
    await created(ledger, capacity=len(names))
    for name in names:
        assert (await ledger.book(KEY, name)).actor == name
    assert await ledger.roster(KEY) == names
    assert [e.data["actor"] for e in (await log(ledger))[1:]] == names


# -- reads ---------------------------------------------------------------------------------


async def test_seats_records(ledger: Ledger, clock: ManualClock, store: EventStore) -> None:
    await created(ledger, capacity=4)
    t0 = clock.now
    await ledger.hold(KEY, "ada", ttl=10 * MIN)
    clock.advance(minutes=1)
    await ledger.book(KEY, "bob")
    clock.advance(minutes=1)
    other = Ledger(store, clock=clock, operator="box 2")
    await other.hold(KEY, "cy")
    await ledger.hold(KEY, "dee", ttl=5 * MIN)
    await ledger.confirm(KEY, "dee")
    records = await ledger.seats(KEY)
    assert [(r.seat, r.actor, r.state, r.joined_at, r.expires_at, r.operator) for r in records] == [
        (1, "ada", "held", t0, t0 + 10 * MIN, "tester"),
        (2, "bob", "confirmed", t0 + MIN, None, "tester"),
        (3, "cy", "held", t0 + 2 * MIN, None, "box 2"),
        (4, "dee", "confirmed", t0 + 2 * MIN, None, "tester"),
    ]
    assert await other.seats(KEY) == records
    await consistent(ledger)
    await consistent(other)


async def test_occurrence_record_counts_and_lapses(ledger: Ledger, clock: ManualClock) -> None:
    await created(
        ledger, capacity=5, title="Hamlet", starts_at="2026-12-01T19:30:00+00:00", hold_ttl=5 * MIN
    )
    await ledger.hold(KEY, "ada")
    await ledger.hold(KEY, "bob", ttl=30 * MIN)
    await ledger.book(KEY, "cy")
    record = await ledger.occurrence(KEY)
    assert (record.key, record.title, record.starts_at) == (
        KEY,
        "Hamlet",
        "2026-12-01T19:30:00+00:00",
    )
    assert (record.capacity, record.hold_ttl) == (5, 5 * MIN)
    assert (record.occupied, record.held, record.confirmed, record.seats_left) == (3, 2, 1, 2)
    clock.advance(minutes=5)
    record = await ledger.occurrence(KEY)
    assert (record.occupied, record.held, record.confirmed, record.seats_left) == (2, 1, 1, 3)
    assert await ledger.seats_left(KEY) == 3


async def test_occurrences_lists_each_occurrence_by_key(ledger: Ledger, store: EventStore) -> None:
    assert await ledger.occurrences() == []
    await ledger.create_occurrence("b-show", capacity=2, title="B")
    await ledger.create_occurrence("a-show", capacity=3, title="A")
    await ledger.book("a-show", "ada")
    # streams that are not occurrences are skipped
    await store.append("booking:no-created-event", "booking", {"actor": "x"})
    await store.append("booking:not a key!", "created", {"capacity": 1})
    await store.append("audit", "created", {"capacity": 1})
    listed = await ledger.occurrences()
    assert [(r.key, r.title, r.capacity, r.occupied, r.seats_left) for r in listed] == [
        ("a-show", "A", 3, 1, 2),
        ("b-show", "B", 2, 0, 2),
    ]


async def test_unknown_occurrence_for_reads_and_commands(ledger: Ledger, store: EventStore) -> None:
    await ledger.create_occurrence("other", capacity=1)
    head = await store.head_position()
    calls = [
        ledger.seat_state(KEY, "ada"),
        ledger.roster(KEY),
        ledger.seats(KEY),
        ledger.seats_left(KEY),
        ledger.occurrence(KEY),
        ledger.set_capacity(KEY, 3),
        ledger.book(KEY, "ada"),
        ledger.hold(KEY, "ada"),
        ledger.hold(KEY, "ada", ttl=MIN),
        ledger.confirm(KEY, "ada"),
        ledger.release(KEY, "ada"),
        ledger.cancel(KEY, "ada"),
        ledger.expire_holds(KEY),
        ledger.book_with_observed(KEY, "ada", [], 0),
        ledger.hold_with_observed(KEY, "ada", [], 0),
    ]
    for call in calls:
        with pytest.raises(UnknownOccurrence, match=KEY) as caught:
            await call
        assert isinstance(caught.value, LookupError)
    assert await store.read_all(head) == []
    assert await store.last_seq(STREAM) == 0


async def test_a_stream_without_created_is_not_an_occurrence(
    ledger: Ledger, store: EventStore
) -> None:
    await store.append(STREAM, "booking", {"actor": "ghost"})
    with pytest.raises(UnknownOccurrence):
        await ledger.roster(KEY)
    with pytest.raises(UnknownOccurrence):
        await ledger.book(KEY, "ada")
    assert await store.last_seq(STREAM) == 1


# -- outcomes and meta ---------------------------------------------------------------------


async def test_every_event_carries_operator_terminal_and_recorded_at(
    ledger: Ledger, clock: ManualClock
) -> None:
    await created(ledger, capacity=3)
    await ledger.hold(KEY, "ada", ttl=MIN)
    clock.advance(minutes=1)
    await ledger.book(KEY, "bob")
    await ledger.confirm(KEY, "ada")  # expired: writes an `expire`
    await ledger.set_capacity(KEY, 4)
    await ledger.cancel(KEY, "bob")
    events = await log(ledger)
    assert [e.type for e in events] == [
        "created",
        "hold",
        "booking",
        "expire",
        "capacity",
        "cancel",
    ]
    for event in events:
        assert set(event.meta) >= {"operator", "terminal", "recorded_at"}
        assert event.meta["operator"] == "tester"
        host, pid = event.meta["terminal"].rsplit(":", 1)
        assert host == (socket.gethostname() or "localhost")
        assert int(pid) > 0
        assert datetime.fromisoformat(event.meta["recorded_at"]).tzinfo is not None
    stamps = [datetime.fromisoformat(e.meta["recorded_at"]) for e in events]
    assert stamps[:2] == [clock.now - MIN] * 2
    assert stamps[2:] == [clock.now] * 4


async def test_operator_defaults_to_a_name(store: EventStore, clock: ManualClock) -> None:
    ledger = Ledger(store, clock=clock)
    await ledger.create_occurrence(KEY, capacity=1)
    operator = (await log(ledger))[0].meta["operator"]
    assert isinstance(operator, str) and operator.strip()


async def test_naive_clock_is_read_as_utc(store: EventStore) -> None:
    naive = datetime(2026, 12, 1, 19, 0)
    ledger = Ledger(store, clock=lambda: naive, operator="tester")
    await ledger.create_occurrence(KEY, capacity=1)
    held = await ledger.hold(KEY, "ada", ttl=MIN)
    assert held.expires_at is not None and held.expires_at.utcoffset() == timedelta(0)


async def test_attempts_are_at_least_one(ledger: Ledger, clock: ManualClock) -> None:
    await created(ledger, capacity=1)
    outcomes: list[Outcome] = [
        await ledger.hold(KEY, "ada", ttl=MIN),
        await ledger.hold(KEY, "ada"),
        await ledger.book(KEY, "bob"),
        await ledger.confirm(KEY, "bob"),
        await ledger.release(KEY, "bob"),
        await ledger.cancel(KEY, "bob"),
        await ledger.set_capacity(KEY, 1),
        await ledger.create_occurrence(KEY, capacity=1),
    ]
    clock.advance(minutes=1)
    outcomes += await ledger.expire_holds(KEY)
    assert len(outcomes) == 9
    assert all(o.attempts == 1 for o in outcomes)


class _InterposingStore(ForwardingStore):
    """Delegates to a real store, but lets another writer in just before the next append.

    Deterministically reproduces what a racing process does, so the retry path can be
    checked for re-deciding on fresh state (not for its timing: the race suite does that).
    """

    def __init__(
        self,
        inner: EventStore,
        intruder: list[tuple[str, str, dict[str, Any], dict[str, Any]]],
    ) -> None:
        super().__init__(inner)
        self.intruder = intruder

    async def before_append(self) -> None:
        if self.intruder:
            await self.inner.append(*self.intruder.pop(0))


async def test_a_conflict_is_retried_on_fresh_state(
    ledger: Ledger, store: EventStore, clock: ManualClock
) -> None:
    await created(ledger, capacity=1)
    meta = {"operator": "rival", "terminal": "elsewhere:1", "recorded_at": clock.now.isoformat()}
    intruder = [(STREAM, "booking", {"actor": "rival"}, meta)]
    racing = Ledger(_InterposingStore(store, intruder), clock=clock, operator="tester")
    outcome = await racing.book(KEY, "ada")
    # the first attempt lost to the rival; the second re-decided and found the house full
    assert (outcome.status, outcome.attempts, outcome.capacity) == (Status.FULL, 2, 1)
    assert await ledger.roster(KEY) == ["rival"]
    assert await types(ledger) == ["created", "booking"]
    await consistent(ledger)
    assert await racing.matches_full_fold(KEY)


async def test_a_conflict_retry_that_succeeds_counts_its_attempts(
    ledger: Ledger, store: EventStore, clock: ManualClock
) -> None:
    await created(ledger, capacity=3)
    meta = {"operator": "rival", "terminal": "elsewhere:1", "recorded_at": clock.now.isoformat()}
    intruder = [
        (STREAM, "booking", {"actor": "rival1"}, meta),
        (STREAM, "booking", {"actor": "rival2"}, meta),
    ]
    racing = Ledger(_InterposingStore(store, intruder), clock=clock, operator="tester")
    outcome = await racing.hold(KEY, "ada")
    assert (outcome.status, outcome.seat, outcome.attempts) == (Status.HELD, 3, 3)
    assert await ledger.roster(KEY) == ["rival1", "rival2", "ada"]
    await consistent(ledger)


async def test_concurrent_commands_in_one_ledger_never_oversell(ledger: Ledger) -> None:
    await created(ledger, capacity=5)
    actors = [f"fan {i}" for i in range(20)]
    outcomes = await asyncio.gather(*(ledger.hold(KEY, a) for a in actors))
    winners = [o for o in outcomes if o.status is Status.HELD]
    assert len(winners) == 5
    assert sorted(o.seat or 0 for o in winners) == [1, 2, 3, 4, 5]
    assert all(o.status is Status.FULL for o in outcomes if o not in winners)
    assert await ledger.roster(KEY) == [o.actor for o in sorted(winners, key=lambda o: o.seat or 0)]
    assert await types(ledger) == ["created"] + ["hold"] * 5
    await consistent(ledger)


async def test_bad_input_is_refused_before_the_occurrence_is_looked_up(ledger: Ledger) -> None:
    with pytest.raises(InvalidInput):
        await ledger.book("no-such-show", "ada\x1b[31m")
