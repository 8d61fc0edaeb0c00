"""The waiting list (SPEC §4.5), sentence by sentence, on SQLite and PostgreSQL.

Offers are derived by the fold from the log and time alone: every test that
moves the clock reads the state back through a second ledger too, which folds
the same log from nothing, and every stream must equal its full refold.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from store import Event, EventStore
from store.audit.check import check_stream
from store.booking import Ledger, Status
from store.ledger.outcomes import SeatRecord
from store.ledger.waiting import Waiter, WaitingList

if TYPE_CHECKING:
    from support.clock import ManualClock

KEY = "sold-out"
MIN = timedelta(minutes=1)


async def log(ledger: Ledger) -> list[Event]:
    return await ledger.store.read("booking:" + KEY)


async def house(ledger: Ledger, capacity: int, **kwargs: Any) -> None:
    assert (await ledger.create_occurrence(KEY, capacity=capacity, **kwargs)).ok


def roster(rows: list[SeatRecord]) -> list[tuple[int | None, str, int, str, bool]]:
    return [(r.seat, r.actor, r.seats, r.state, r.offered) for r in rows]


async def waiting(ledger: Ledger) -> list[tuple[str, int]]:
    return [(w.actor, w.seats) for w in await ledger.waitlist(KEY)]


@pytest.fixture(autouse=True)
async def every_stream_refolds(ledger: Ledger) -> AsyncIterator[None]:
    yield
    for stream in await ledger.store.streams("booking:"):
        assert await ledger.matches_full_fold(stream.removeprefix("booking:")), stream


async def test_joining_a_full_house_waits_with_a_position(ledger: Ledger) -> None:
    await house(ledger, 2)
    await ledger.book(KEY, "ada", seats=2)
    first = await ledger.join_waitlist(KEY, "bob", seats=2, note="07700 900123")
    assert (first.status, first.position, first.seat) == (Status.WAITING, 1, None)
    second = await ledger.join_waitlist(KEY, "cy")
    assert (second.status, second.position) == (Status.WAITING, 2)
    assert [(e.type, e.data) for e in (await log(ledger))[-2:]] == [
        ("wait", {"actor": "bob", "seats": 2, "note": "07700 900123"}),
        ("wait", {"actor": "cy", "seats": 1}),
    ]
    records = await ledger.waitlist(KEY)
    assert [(w.position, w.actor, w.seats, w.ref, w.note) for w in records] == [
        (1, "bob", 2, 3, "07700 900123"),
        (2, "cy", 1, 4, None),
    ]
    assert records[0].joined_at is not None
    record = await ledger.occurrence(KEY)
    assert (record.waiting, record.waiting_seats, record.occupied) == (2, 3, 2)


async def test_already_for_a_seated_or_waiting_actor(ledger: Ledger) -> None:
    await house(ledger, 1)
    await ledger.book(KEY, "ada")
    await ledger.join_waitlist(KEY, "bob")
    before = len(await log(ledger))
    seated = await ledger.join_waitlist(KEY, "ada")
    assert (seated.status, seated.seat) == (Status.ALREADY, 1)
    again = await ledger.join_waitlist(KEY, "bob")
    assert (again.status, again.position) == (Status.ALREADY, 1)
    assert len(await log(ledger)) == before


async def test_joining_with_free_seats_is_offered_at_once(
    ledger: Ledger, clock: ManualClock
) -> None:
    await house(ledger, 5, hold_ttl=10 * MIN, offer_ttl=3 * MIN)
    await ledger.book(KEY, "ada", seats=2)
    offered = await ledger.join_waitlist(KEY, "bob", seats=3)
    assert (offered.status, offered.seat, offered.seats, offered.ref) == (Status.OFFERED, 3, 3, 3)
    assert offered.expires_at == clock.now + 3 * MIN
    assert roster(await ledger.seats(KEY)) == [
        (1, "ada", 2, "confirmed", False),
        (3, "bob", 3, "held", True),
    ]
    assert await ledger.seat_state(KEY, "bob") == "held"
    assert await waiting(ledger) == []


async def test_a_cancel_offers_the_seats_first_fit_in_join_order(
    ledger: Ledger, clock: ManualClock
) -> None:
    await house(ledger, 4, offer_ttl=5 * MIN)
    await ledger.book(KEY, "ada", seats=3)
    await ledger.book(KEY, "bob")
    await ledger.join_waitlist(KEY, "big", seats=4)  # fits only an empty house
    await ledger.join_waitlist(KEY, "two", seats=2)
    await ledger.join_waitlist(KEY, "one")
    await ledger.join_waitlist(KEY, "late", seats=1)
    clock.advance(minutes=1)
    await ledger.cancel(KEY, "ada")  # frees 3: "big" keeps its place, "two" then "one" fit
    assert roster(await ledger.seats(KEY)) == [
        (1, "bob", 1, "confirmed", False),
        (2, "two", 2, "held", True),
        (4, "one", 1, "held", True),
    ]
    assert {r.actor: r.expires_at for r in await ledger.seats(KEY)}["two"] == clock.now + 5 * MIN
    assert await waiting(ledger) == [("big", 4), ("late", 1)]
    refs = {r.actor: r.ref for r in await ledger.seats(KEY)}
    assert (refs["two"], refs["one"]) == (5, 6)  # the seq of their `wait` events


async def test_a_capacity_raise_offers_the_new_seats(ledger: Ledger) -> None:
    await house(ledger, 1)
    await ledger.book(KEY, "ada")
    await ledger.join_waitlist(KEY, "bob", seats=2)
    await ledger.join_waitlist(KEY, "cy")
    await ledger.set_capacity(KEY, 3)
    assert [(r.actor, r.offered) for r in await ledger.seats(KEY)] == [
        ("ada", False),
        ("bob", True),
    ]
    assert await waiting(ledger) == [("cy", 1)]


async def test_a_lapsed_hold_passes_to_the_waiter_from_the_moment_it_lapsed(
    ledger: Ledger, clock: ManualClock, store: EventStore
) -> None:
    await house(ledger, 1, hold_ttl=10 * MIN, offer_ttl=5 * MIN)
    start = clock.now
    await ledger.hold(KEY, "ada")  # lapses at start + 10
    await ledger.join_waitlist(KEY, "bob")
    await ledger.join_waitlist(KEY, "cy")
    clock.advance(minutes=12)  # ada lapsed at 10; bob was offered until 15
    rows = await ledger.seats(KEY)
    assert [(r.actor, r.offered, r.expires_at) for r in rows] == [("bob", True, start + 15 * MIN)]
    clock.advance(minutes=30)  # bob's offer lapsed at 15, cy's at 20: nobody is left
    assert await ledger.seats(KEY) == []
    assert await waiting(ledger) == []
    assert (await ledger.occurrence(KEY)).seats_left == 1
    # no event holds an offer: a ledger that folds the log from nothing agrees
    fresh = Ledger(store, clock=clock, operator="other")
    assert await fresh.seats(KEY) == []
    assert [o.actor for o in await ledger.expire_holds(KEY)] == ["ada", "bob", "cy"]


async def test_a_read_at_a_later_clock_plays_offers_out_without_keeping_them(
    ledger: Ledger, clock: ManualClock, store: EventStore
) -> None:
    await house(ledger, 1, hold_ttl=10 * MIN, offer_ttl=5 * MIN)
    await ledger.hold(KEY, "ada")
    await ledger.join_waitlist(KEY, "bob")
    late = Ledger(store, clock=lambda: clock.now + 12 * MIN, operator="late")
    assert [r.actor for r in await late.seats(KEY)] == ["bob"]
    # the late clock wrote nothing, so at the ledger's own time ada still holds
    assert [r.actor for r in await ledger.seats(KEY)] == ["ada"]
    assert await waiting(ledger) == [("bob", 1)]


async def test_holds_and_offers_due_together_lapse_together_then_one_walk(
    ledger: Ledger, clock: ManualClock
) -> None:
    await house(ledger, 2, hold_ttl=10 * MIN, offer_ttl=10 * MIN)
    await ledger.hold(KEY, "ada")  # lapses at 10
    await ledger.book(KEY, "bob")
    await ledger.join_waitlist(KEY, "pair", seats=2)
    await ledger.join_waitlist(KEY, "solo")
    clock.advance(minutes=10)  # ada lapses: one seat free; "pair" does not fit, "solo" does
    assert [(r.actor, r.offered) for r in await ledger.seats(KEY)] == [
        ("bob", False),
        ("solo", True),
    ]
    await ledger.cancel(KEY, "bob")  # frees one seat at 10; "pair" still does not fit
    assert await waiting(ledger) == [("pair", 2)]
    clock.advance(minutes=10)  # solo's offer lapses at 20: two free, "pair" is offered
    assert [(r.actor, r.seats, r.offered) for r in await ledger.seats(KEY)] == [("pair", 2, True)]


async def test_an_offer_is_a_hold_confirm_release_and_lapse(
    ledger: Ledger, clock: ManualClock
) -> None:
    await house(ledger, 1, offer_ttl=5 * MIN)
    await ledger.book(KEY, "ada")
    for name in ("bob", "cy", "dee"):
        await ledger.join_waitlist(KEY, name)
    await ledger.cancel(KEY, "ada")  # bob is offered
    declined = await ledger.release(KEY, "bob")  # declines: cy is offered
    assert declined.status is Status.RELEASED
    assert [(r.actor, r.offered) for r in await ledger.seats(KEY)] == [("cy", True)]
    confirmed = await ledger.confirm(KEY, "cy")
    assert (confirmed.status, confirmed.seat) == (Status.CONFIRMED, 1)
    assert [(r.actor, r.offered, r.state) for r in await ledger.seats(KEY)] == [
        ("cy", False, "confirmed")
    ]
    await ledger.cancel(KEY, "cy")  # dee is offered until +5
    clock.advance(minutes=5)
    late = await ledger.confirm(KEY, "dee")
    assert late.status is Status.EXPIRED


async def test_what_a_waiter_can_and_cannot_do(ledger: Ledger) -> None:
    await house(ledger, 2)
    await ledger.book(KEY, "ada", seats=2)
    await ledger.join_waitlist(KEY, "bob")
    await ledger.join_waitlist(KEY, "huge", seats=3)  # larger than the house: may wait
    assert (await ledger.cancel(KEY, "bob")).status is Status.NOT_BOOKED
    assert (await ledger.check_in(KEY, "bob")).status is Status.NOT_BOOKED
    noted = await ledger.annotate(KEY, "bob", "call after 6")
    assert (noted.status, noted.position) == (Status.NOTED, 1)
    assert [w.note for w in await ledger.waitlist(KEY)] == ["call after 6", None]
    assert (await ledger.book(KEY, "bob")).status is Status.FULL  # does not fit: stays waiting
    assert await waiting(ledger) == [("bob", 1), ("huge", 3)]
    await ledger.set_capacity(KEY, 3)  # bob is offered
    assert (await ledger.leave_waitlist(KEY, "bob")).status is Status.NOT_WAITING
    assert (await ledger.leave_waitlist(KEY, "huge")).status is Status.LEFT
    assert (await log(ledger))[-1].type == "unwait"
    assert (await ledger.leave_waitlist(KEY, "huge")).status is Status.NOT_WAITING
    await ledger.cancel(KEY, "ada")
    assert await waiting(ledger) == []


async def test_a_waiter_who_books_and_fits_leaves_the_list(ledger: Ledger) -> None:
    await house(ledger, 3)
    await ledger.book(KEY, "ada", seats=2)
    await ledger.join_waitlist(KEY, "big", seats=2)  # one seat free: does not fit
    await ledger.join_waitlist(KEY, "one")  # fits at once: offered
    assert [r.actor for r in await ledger.seats(KEY)] == ["ada", "one"]
    await ledger.cancel(KEY, "ada", seats=1)  # one seat free again: big does not fit
    booked = await ledger.book(KEY, "late-walk-up")  # takes a seat no waiter fits
    assert booked.status is Status.BOOKED
    await ledger.cancel(KEY, "late-walk-up")  # frees 1: still nobody fits
    await ledger.cancel(KEY, "one")  # frees 2: "big" is offered
    assert [(r.actor, r.offered) for r in await ledger.seats(KEY)] == [
        ("ada", False),
        ("big", True),
    ]
    assert await waiting(ledger) == []


async def test_a_walk_up_never_takes_seats_a_waiter_fits(
    ledger: Ledger, clock: ManualClock
) -> None:
    await house(ledger, 1, hold_ttl=5 * MIN)
    await ledger.hold(KEY, "ada")
    await ledger.join_waitlist(KEY, "bob")
    clock.advance(minutes=5)  # ada lapsed: the seat is bob's offer, not the walk-up's
    walk_up = await ledger.book(KEY, "walk-up")
    assert walk_up.status is Status.FULL
    assert [(r.actor, r.offered) for r in await ledger.seats(KEY)] == [("bob", True)]


async def test_a_clock_stepping_back_revives_no_waiter(ledger: Ledger, clock: ManualClock) -> None:
    await house(ledger, 1, hold_ttl=5 * MIN, offer_ttl=5 * MIN)
    await ledger.hold(KEY, "ada")
    await ledger.join_waitlist(KEY, "bob")
    clock.advance(minutes=6)
    await ledger.join_waitlist(KEY, "cy")  # written at +6: bob's offer is in the fold
    clock.advance(minutes=-6)
    assert [(r.actor, r.offered) for r in await ledger.seats(KEY)] == [("bob", True)]
    assert await waiting(ledger) == [("cy", 1)]


async def test_offers_never_lapse_without_ttls(ledger: Ledger, clock: ManualClock) -> None:
    await house(ledger, 1)
    await ledger.book(KEY, "ada")
    await ledger.join_waitlist(KEY, "bob")
    await ledger.cancel(KEY, "ada")
    clock.advance(days=400)
    rows = await ledger.seats(KEY)
    assert [(r.actor, r.offered, r.expires_at) for r in rows] == [("bob", True, None)]


async def test_find_lists_waiting_parties_after_seated_ones(ledger: Ledger) -> None:
    await house(ledger, 1)
    await ledger.book(KEY, "Ada")
    await ledger.join_waitlist(KEY, "Adam", seats=2)
    found = [(r.actor, r.state, r.seat, r.seats) for _, r in await ledger.find("ada")]
    assert found == [("Ada", "confirmed", 1, 1), ("Adam", "waiting", None, 2)]


async def test_an_observed_attempt_at_a_matching_seq_conflicts_when_a_lapse_took_the_seats(
    ledger: Ledger, clock: ManualClock
) -> None:
    """SPEC §4.1: time alone takes seats, so a snapshot at the right seq is not enough."""
    await house(ledger, 2, offer_ttl=10 * MIN)
    await ledger.hold(KEY, "ada", seats=2, ttl=5 * MIN)
    await ledger.join_waitlist(KEY, "bob", seats=2)
    seq = len(await log(ledger))
    clock.advance(minutes=5)  # ada lapses; bob is offered both seats, and nothing is written
    assert len(await log(ledger)) == seq
    for attempt in (ledger.book_with_observed, ledger.hold_with_observed):
        lost = await attempt(KEY, "cy", [], seq)
        assert (lost.status, lost.actual, lost.seat) == (Status.CONFLICT, seq, None)
    assert len(await log(ledger)) == seq
    assert roster(await ledger.seats(KEY)) == [(1, "bob", 2, "held", True)]


async def test_the_refold_check_verifies_the_house_right_after_every_offer(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Offers are derived, not written: the check sees them through the fold it refolds with.

    A fold seeded with a fault (first fit that ignores the free seats) offers a pair
    one free seat; no acquisition follows, so only the check after the offer sees it.
    """
    await house(ledger, 2)
    await ledger.book(KEY, "ada")
    await ledger.join_waitlist(KEY, "bob", seats=2)
    events = await log(ledger)
    assert check_stream(events).ok

    def any_fit(self: WaitingList, free: int) -> Waiter | None:
        first = next(iter(self.in_order()), None)
        return self.leave(first.actor) if first is not None else None

    monkeypatch.setattr(WaitingList, "first_fit", any_fit)
    report = check_stream(events)
    assert [(v.seq, v.problem) for v in report.violations] == [
        (3, "oversold: occupied 3 > capacity 2 after an offer to 'bob'")
    ]
    assert report.max_occupied == 3
