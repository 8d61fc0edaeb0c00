"""Parties, refs, notes, find and check-in (SPEC §4.1-§4.3), row by row.

Through the ``ledger`` fixture (manual clock, operator "tester"), on SQLite and
PostgreSQL. After each test every stream's incremental state equals its refold.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest

from store import Event, EventStore
from store.audit.check import check_stream
from store.booking import InvalidInput, Ledger, Status
from store.ledger.outcomes import SeatRecord

if TYPE_CHECKING:
    from support.clock import ManualClock

KEY = "smiths-night"
STREAM = "booking:" + KEY
MIN = timedelta(minutes=1)


async def log(ledger: Ledger, key: str = KEY) -> list[Event]:
    return await ledger.store.read("booking:" + key)


async def created(ledger: Ledger, capacity: int = 10, **kwargs: Any) -> Ledger:
    outcome = await ledger.create_occurrence(KEY, capacity=capacity, **kwargs)
    assert outcome.status is Status.CREATED
    return ledger


def blocks(records: list[SeatRecord]) -> list[tuple[int | None, str, int]]:
    return [(r.seat, r.actor, r.seats) for r in records]


@pytest.fixture(autouse=True)
async def every_stream_refolds(ledger: Ledger) -> AsyncIterator[None]:
    yield
    for stream in await ledger.store.streams("booking:"):
        assert await ledger.matches_full_fold(stream.removeprefix("booking:")), stream


# -- §4.1 parties ------------------------------------------------------------------------------


async def test_a_party_books_a_block_and_its_seat_is_the_first_of_it(ledger: Ledger) -> None:
    await created(ledger)
    smiths = await ledger.book(KEY, "Smiths", seats=4)
    assert (smiths.status, smiths.seat, smiths.seats, smiths.ref) == (Status.BOOKED, 1, 4, 2)
    jones = await ledger.hold(KEY, "Jones", seats=3)
    assert (jones.status, jones.seat, jones.seats, jones.ref) == (Status.HELD, 5, 3, 3)
    ada = await ledger.book(KEY, "ada")
    assert (ada.seat, ada.seats) == (8, 1)
    assert blocks(await ledger.seats(KEY)) == [(1, "Smiths", 4), (5, "Jones", 3), (8, "ada", 1)]
    record = await ledger.occurrence(KEY)
    assert (record.occupied, record.held, record.confirmed, record.seats_left) == (8, 3, 5, 2)


async def test_a_party_of_one_writes_exactly_the_old_shape(ledger: Ledger) -> None:
    await created(ledger, hold_ttl=5 * MIN)
    await ledger.book(KEY, "ada")
    await ledger.hold(KEY, "bob")
    await ledger.book(KEY, "cy", seats=2, note="paid by card")
    await ledger.hold(KEY, "dee", note="   ")  # an empty note is no note
    data = [e.data for e in await log(ledger)][1:]
    assert data[0] == {"actor": "ada"}
    assert set(data[1]) == {"actor", "expires_at"}
    assert data[2] == {"actor": "cy", "seats": 2, "note": "paid by card"}
    assert set(data[3]) == {"actor", "expires_at"}


async def test_full_counts_seats_and_says_what_is_left(ledger: Ledger) -> None:
    await created(ledger, capacity=5)
    await ledger.book(KEY, "Smiths", seats=4)
    before = len(await log(ledger))
    too_big = await ledger.hold(KEY, "Jones", seats=2)
    assert (too_big.status, too_big.capacity, too_big.seats_left) == (Status.FULL, 5, 1)
    assert too_big.seat is None and too_big.ref is None
    assert (await ledger.book(KEY, "Jones", seats=2)).status is Status.FULL
    assert len(await log(ledger)) == before
    fits = await ledger.book(KEY, "ada")
    assert (fits.status, fits.seat) == (Status.BOOKED, 5)
    assert (await ledger.book(KEY, "bob")).seats_left == 0


async def test_already_answers_with_the_partys_block(ledger: Ledger) -> None:
    await created(ledger)
    await ledger.book(KEY, "ada")
    await ledger.hold(KEY, "Smiths", seats=3, ttl=5 * MIN)
    again = await ledger.book(KEY, "Smiths", seats=1)
    assert (again.status, again.seat, again.seats, again.ref) == (Status.ALREADY, 2, 3, 3)
    assert again.expires_at is not None


async def test_seat_numbers_close_up_by_whole_blocks(ledger: Ledger) -> None:
    await created(ledger)
    await ledger.book(KEY, "Smiths", seats=4)
    await ledger.book(KEY, "Jones", seats=2)
    await ledger.book(KEY, "ada")
    await ledger.cancel(KEY, "Smiths")
    assert blocks(await ledger.seats(KEY)) == [(1, "Jones", 2), (3, "ada", 1)]


async def test_confirm_release_and_a_lapse_act_on_the_whole_party(
    ledger: Ledger, clock: ManualClock
) -> None:
    await created(ledger, capacity=6, hold_ttl=5 * MIN)
    await ledger.hold(KEY, "Smiths", seats=3)
    await ledger.hold(KEY, "Jones", seats=2)
    await ledger.hold(KEY, "Lee", seats=1)
    confirmed = await ledger.confirm(KEY, "Smiths")
    assert (confirmed.status, confirmed.seat, confirmed.seats) == (Status.CONFIRMED, 1, 3)
    assert (await ledger.release(KEY, "Jones")).status is Status.RELEASED
    record = await ledger.occurrence(KEY)
    assert (record.occupied, record.held, record.confirmed) == (4, 1, 3)
    clock.advance(minutes=5)
    record = await ledger.occurrence(KEY)
    assert (record.occupied, record.held, record.confirmed, record.seats_left) == (3, 0, 3, 3)
    expired = await ledger.expire_holds(KEY)
    assert [o.actor for o in expired] == ["Lee"]
    assert (await ledger.book(KEY, "Kim", seats=3)).status is Status.BOOKED


async def test_cancel_frees_the_party_or_shrinks_it_in_place(ledger: Ledger) -> None:
    await created(ledger)
    await ledger.book(KEY, "Smiths", seats=4)
    await ledger.hold(KEY, "Jones", seats=3)
    shrunk = await ledger.cancel(KEY, "Smiths", seats=1)
    assert (shrunk.status, shrunk.seat, shrunk.seats, shrunk.ref) == (Status.CANCELLED, 1, 3, 2)
    assert (await log(ledger))[-1].data == {"actor": "Smiths", "seats": 1}
    assert blocks(await ledger.seats(KEY)) == [(1, "Smiths", 3), (4, "Jones", 3)]
    held = await ledger.cancel(KEY, "Jones", seats=2)
    assert (held.seat, held.seats) == (4, 1)
    assert (await ledger.occurrence(KEY)).held == 1
    whole = await ledger.cancel(KEY, "Smiths", seats=3)  # seats >= its size: the whole party
    assert (whole.status, whole.seat, whole.seats) == (Status.CANCELLED, None, None)
    assert (await log(ledger))[-1].data == {"actor": "Smiths"}
    assert (await ledger.cancel(KEY, "Jones", seats=50)).status is Status.CANCELLED
    assert await ledger.roster(KEY) == []
    assert (await ledger.cancel(KEY, "Jones", seats=1)).status is Status.NOT_BOOKED


async def test_observed_attempts_judge_full_by_seats(ledger: Ledger) -> None:
    await created(ledger, capacity=5)
    first = await ledger.book_with_observed(KEY, "Smiths", [], 1, seats=4)
    assert (first.status, first.seat, first.seats, first.ref) == (Status.BOOKED, 1, 4, 2)
    observed = await ledger.seats(KEY)
    full = await ledger.hold_with_observed(KEY, "Jones", observed, 2, seats=2)
    assert (full.status, full.seats_left) == (Status.FULL, 1)
    # names count one seat each, as in SPEC §2: this snapshot claims only one seat taken
    # ... but the state at the append has one seat left, so a pair is refused (SPEC §4.1)
    no_room = await ledger.hold_with_observed(KEY, "Jones", ["Smiths"], 2, seats=2)
    assert (no_room.status, no_room.actual) == (Status.CONFLICT, 2)
    by_name = await ledger.hold_with_observed(KEY, "Jones", ["Smiths"], 2)
    assert (by_name.status, by_name.seat) == (Status.HELD, 5)  # its seat on the real roster
    already = await ledger.book_with_observed(KEY, "Smiths", observed, 3)
    assert (already.status, already.seat, already.seats) == (Status.ALREADY, 1, 4)
    stale = await ledger.book_with_observed(KEY, "ada", observed, 2)
    assert (stale.status, stale.actual) == (Status.CONFLICT, 3)


async def test_an_old_log_without_seats_folds_as_before(ledger: Ledger, store: EventStore) -> None:
    meta = {"operator": "old", "recorded_at": "2026-12-01T19:00:00+00:00"}
    await store.append(STREAM, "created", {"title": None, "capacity": 9, "hold_ttl_s": None}, meta)
    await store.append(STREAM, "booking", {"actor": "ada"}, meta)
    await store.append(STREAM, "hold", {"actor": "bob", "expires_at": None}, meta)
    # malformed party sizes from a foreign writer are one seat, never a crash
    for bad in ("4", 0, -2, True, 2.5, None):
        await store.append(STREAM, "booking", {"actor": f"x{bad!r}", "seats": bad}, meta)
    rows = await ledger.seats(KEY)
    assert [(r.seat, r.seats, r.ref, r.note, r.checked_in_at) for r in rows[:2]] == [
        (1, 1, 2, None, None),
        (2, 1, 3, None, None),
    ]
    assert [(r.seat, r.seats) for r in rows[2:]] == [(3, 1), (4, 1), (5, 1), (6, 1), (7, 1), (8, 1)]
    record = await ledger.occurrence(KEY)
    assert (record.occupied, record.held, record.confirmed, record.checked_in) == (8, 1, 7, 0)


@pytest.mark.parametrize("bad", [None, True, 1.0, "2", 0, -1, 101])
async def test_seats_must_be_a_whole_number_from_1_to_100(ledger: Ledger, bad: Any) -> None:
    await created(ledger)
    head = await ledger.store.head_position()
    for call in (
        ledger.book(KEY, "ada", seats=bad),
        ledger.hold(KEY, "ada", seats=bad),
        ledger.book_with_observed(KEY, "ada", [], 1, seats=bad),
    ):
        with pytest.raises(InvalidInput, match=r"^seats: "):
            await call
    if bad is not None:
        with pytest.raises(InvalidInput, match=r"^seats: "):
            await ledger.cancel(KEY, "ada", seats=bad)
    with pytest.raises(InvalidInput, match=r"^seats: "):
        await ledger.book("no-such-show", "ada", seats=bad)  # before the lookup
    assert await ledger.store.head_position() == head


async def test_a_party_of_100_is_accepted(ledger: Ledger) -> None:
    await created(ledger, capacity=100)
    assert (await ledger.book(KEY, "school", seats=100)).seats == 100


@pytest.mark.parametrize("bad", ["x" * 501, "call\x1b[2J", "a\u202eb", "line\u2028two", 5])
async def test_a_note_is_text_without_hidden_characters(ledger: Ledger, bad: Any) -> None:
    await created(ledger)
    await ledger.book(KEY, "ada")
    head = await ledger.store.head_position()
    for call in (
        ledger.book(KEY, "bob", note=bad),
        ledger.hold(KEY, "bob", note=bad),
        ledger.annotate(KEY, "ada", bad),
    ):
        with pytest.raises(InvalidInput, match=r"^note: "):
            await call
    assert await ledger.store.head_position() == head


# -- §4.2 refs and notes ---------------------------------------------------------------------


async def test_a_ref_is_the_joining_seq_and_never_renumbers(ledger: Ledger) -> None:
    await created(ledger)
    await ledger.book(KEY, "ada")  # seq 2
    await ledger.hold(KEY, "bob", seats=2)  # seq 3
    bob = await ledger.confirm(KEY, "bob")  # seq 4
    assert (bob.seat, bob.ref) == (2, 3)
    await ledger.cancel(KEY, "ada")  # seq 5
    rows = await ledger.seats(KEY)
    assert [(r.actor, r.seat, r.ref) for r in rows] == [("bob", 1, 3)]
    await ledger.book(KEY, "ada")  # rejoins by seq 6
    assert [(r.actor, r.ref) for r in await ledger.seats(KEY)] == [("bob", 3), ("ada", 6)]
    again = await ledger.book(KEY, "ada")
    assert (again.status, again.ref) == (Status.ALREADY, 6)


async def test_a_ref_is_set_whenever_a_seat_is(ledger: Ledger, clock: ManualClock) -> None:
    await created(ledger, capacity=2, hold_ttl=5 * MIN)
    answers = [
        await ledger.hold(KEY, "ada"),
        await ledger.book(KEY, "bob"),
        await ledger.confirm(KEY, "ada"),
        await ledger.release(KEY, "ada"),  # not-held for a confirmed party, which keeps it
        await ledger.book(KEY, "cy"),  # full
        await ledger.check_in(KEY, "bob"),
        await ledger.annotate(KEY, "bob", "aisle"),
        await ledger.cancel(KEY, "nobody"),
    ]
    for outcome in answers:
        assert (outcome.seat is None) == (outcome.ref is None), outcome
        assert (outcome.seat is None) == (outcome.seats is None), outcome
    assert [o.ref for o in answers] == [2, 3, 2, 2, None, 3, 3, None]


async def test_annotate_replaces_the_note_of_a_seated_party(
    ledger: Ledger, clock: ManualClock
) -> None:
    await created(ledger, hold_ttl=5 * MIN)
    await ledger.book(KEY, "ada", note="07700 900123")
    await ledger.hold(KEY, "bob")
    noted = await ledger.annotate(KEY, "ada", "  paid: ref 99 ")
    assert (noted.status, noted.seat, noted.ref) == (Status.NOTED, 1, 2)
    assert (await log(ledger))[-1].type == "note"
    assert (await log(ledger))[-1].data == {"actor": "ada", "note": "paid: ref 99"}
    assert (await ledger.annotate(KEY, "bob", "will pay at the door")).status is Status.NOTED
    notes = {r.actor: r.note for r in await ledger.seats(KEY)}
    assert notes == {"ada": "paid: ref 99", "bob": "will pay at the door"}
    assert (await ledger.annotate(KEY, "ada", "")).status is Status.NOTED  # clears it
    assert (await ledger.seats(KEY))[0].note is None
    before = len(await log(ledger))
    assert (await ledger.annotate(KEY, "stranger", "x")).status is Status.NOT_BOOKED
    clock.advance(minutes=5)
    assert (await ledger.annotate(KEY, "bob", "x")).status is Status.NOT_BOOKED  # lapsed
    assert len(await log(ledger)) == before


async def test_find_by_name_piece_and_by_ref(ledger: Ledger) -> None:
    await ledger.create_occurrence("late", capacity=5, starts_at="2026-12-03T19:30:00+00:00")
    await ledger.create_occurrence("soon", capacity=5, starts_at="2026-12-02T14:00:00+01:00")
    await ledger.create_occurrence("a-undated", capacity=5)
    await ledger.create_occurrence("b-undated", capacity=5)
    await ledger.book("b-undated", "Ada Lovelace")
    await ledger.book("a-undated", "ADA")
    await ledger.book("late", "bob")
    await ledger.book("late", "Ada", seats=2)
    await ledger.book("soon", "Zoë & Ada")
    found = await ledger.find("ada")
    assert [(k, r.actor, r.seat, r.seats) for k, r in found] == [
        ("soon", "Zoë & Ada", 1, 1),
        ("late", "Ada", 2, 2),
        ("a-undated", "ADA", 1, 1),
        ("b-undated", "Ada Lovelace", 1, 1),
    ]
    assert [(k, r.actor) for k, r in await ledger.find("zoe\u0308")] == [("soon", "Zoë & Ada")]
    assert [(k, r.actor, r.ref) for k, r in await ledger.find("#3")] == [("late", "Ada", 3)]
    assert [(k, r.actor) for k, r in await ledger.find("3")] == [("late", "Ada")]
    assert [(k, r.actor) for k, r in await ledger.find("#2")] == [
        ("soon", "Zoë & Ada"),
        ("late", "bob"),
        ("a-undated", "ADA"),
        ("b-undated", "Ada Lovelace"),
    ]
    assert await ledger.find("nobody") == []


async def test_find_sees_every_writer_and_leaves_out_who_left(
    ledger: Ledger, store: EventStore, clock: ManualClock
) -> None:
    await created(ledger, hold_ttl=5 * MIN)
    await ledger.hold(KEY, "Ada")
    assert [r.actor for _, r in await ledger.find("ada")] == ["Ada"]
    other = Ledger(store, clock=clock, operator="box 2")
    await other.book(KEY, "Adam")
    await other.cancel(KEY, "Ada")
    assert [r.actor for _, r in await ledger.find("ada")] == ["Adam"]
    await ledger.hold(KEY, "Adalind")
    clock.advance(minutes=5)  # Adalind's hold lapses: no longer seated
    assert [r.actor for _, r in await ledger.find("ada")] == ["Adam"]
    with pytest.raises(InvalidInput, match=r"^text: "):
        await ledger.find("  ")


# -- §4.3 check-in at the door ------------------------------------------------------------------


async def test_check_in_a_confirmed_party_once(ledger: Ledger, clock: ManualClock) -> None:
    await created(ledger)
    await ledger.book(KEY, "ada")
    await ledger.book(KEY, "Smiths", seats=4)
    clock.advance(minutes=90)
    door = await ledger.check_in(KEY, "Smiths")
    assert (door.status, door.seat, door.seats, door.ref) == (Status.CHECKED_IN, 2, 4, 3)
    last = (await log(ledger))[-1]
    assert (last.type, last.data) == ("checkin", {"actor": "Smiths"})
    rows = {r.actor: r for r in await ledger.seats(KEY)}
    assert rows["Smiths"].checked_in_at == clock.now
    assert rows["Smiths"].state == "confirmed"
    assert rows["ada"].checked_in_at is None
    record = await ledger.occurrence(KEY)
    assert (record.checked_in, record.confirmed, record.occupied) == (4, 5, 5)
    before = len(await log(ledger))
    again = await ledger.check_in(KEY, "Smiths")
    assert (again.status, again.seat, again.ref) == (Status.ALREADY_CHECKED_IN, 2, 3)
    assert len(await log(ledger)) == before


async def test_check_in_refuses_held_and_absent_parties(ledger: Ledger, clock: ManualClock) -> None:
    await created(ledger, hold_ttl=5 * MIN)
    await ledger.hold(KEY, "ada", seats=2)
    await ledger.hold(KEY, "bob")
    held = await ledger.check_in(KEY, "ada")
    assert (held.status, held.seat, held.seats) == (Status.NOT_CONFIRMED, 1, 2)
    clock.advance(minutes=5)
    assert (await ledger.check_in(KEY, "bob")).status is Status.NOT_BOOKED  # lapsed
    assert (await ledger.check_in(KEY, "nobody")).status is Status.NOT_BOOKED
    assert "checkin" not in [e.type for e in await log(ledger)]


async def test_a_checked_in_party_may_cancel(ledger: Ledger) -> None:
    await created(ledger)
    await ledger.book(KEY, "Smiths", seats=4)
    await ledger.check_in(KEY, "Smiths")
    assert (await ledger.cancel(KEY, "Smiths", seats=1)).seats == 3
    assert (await ledger.occurrence(KEY)).checked_in == 3
    assert (await ledger.cancel(KEY, "Smiths")).status is Status.CANCELLED
    record = await ledger.occurrence(KEY)
    assert (record.checked_in, record.occupied) == (0, 0)
    await ledger.book(KEY, "Smiths", seats=2)  # joins again, not checked in
    assert (await ledger.seats(KEY))[0].checked_in_at is None


async def test_find_leaves_out_archived_occurrences_unless_asked(ledger: Ledger) -> None:
    await created(ledger)
    await ledger.book(KEY, "Ada")
    await ledger.archive(KEY)
    assert await ledger.find("ada") == []
    assert [(k, r.actor) for k, r in await ledger.find("ada", include_archived=True)] == [
        (KEY, "Ada")
    ]
    await ledger.restore(KEY)
    assert [r.actor for _, r in await ledger.find("ada")] == ["Ada"]


async def test_the_refold_check_counts_seats(ledger: Ledger, store: EventStore) -> None:
    await created(ledger, capacity=4)
    await ledger.book(KEY, "Smiths", seats=3)
    assert check_stream(await log(ledger)).ok
    # a writer that bypassed the ledger seats a party of 2 in the one seat left
    meta = {"operator": "rogue", "recorded_at": "2026-12-01T19:00:00+00:00"}
    await store.append(STREAM, "booking", {"actor": "Jones", "seats": 2}, meta)
    report = check_stream(await log(ledger))
    assert [str(v) for v in report.violations] == [
        f"{STREAM} seq 3: oversold: occupied 5 > capacity 4 after booking by 'Jones'"
    ]
