"""A view's rows are rebuilt only where the roster changed: the same member at the same seat
comes back as the very same row object (a live screen diffs 10,000 rows after each commit),
and every row still says what the log says."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from store.booking import Ledger
from store.ledger.outcomes import SeatRecord

KEY = "gala"


def said(rows: tuple[SeatRecord, ...]) -> list[tuple[int | None, str, str, int]]:
    return [(r.seat, r.actor, r.state, r.seats) for r in rows]


async def test_unchanged_rows_are_the_same_objects_and_moved_ones_are_new(
    ledger: Ledger, clock: Any
) -> None:
    await ledger.create_occurrence(KEY, capacity=20)
    for actor in ("ada", "bob", "cy"):
        assert (await ledger.book(KEY, actor)).ok
    assert (await ledger.book(KEY, "smiths", seats=3)).ok
    assert (await ledger.hold(KEY, "eve", ttl=timedelta(minutes=10))).ok
    first = (await ledger.view(KEY)).rows
    again = (await ledger.view(KEY)).rows
    assert all(a is b for a, b in zip(first, again, strict=True)), "nothing changed"

    assert (await ledger.cancel(KEY, "bob")).ok  # cy, the Smiths and eve move up a seat
    moved = (await ledger.view(KEY)).rows
    assert said(moved) == [
        (1, "ada", "confirmed", 1),
        (2, "cy", "confirmed", 1),
        (3, "smiths", "confirmed", 3),
        (6, "eve", "held", 1),
    ]
    assert moved[0] is first[0], "ada did not move"

    assert (await ledger.confirm(KEY, "eve")).ok  # eve changes, nobody moves
    paid = (await ledger.view(KEY)).rows
    assert [a is b for a, b in zip(moved, paid, strict=True)] == [True, True, True, False]
    assert said(paid)[3] == (6, "eve", "confirmed", 1)
    assert (await ledger.seats(KEY)) == list(paid)


async def test_a_view_in_the_past_has_rows_of_its_own(ledger: Ledger) -> None:
    await ledger.create_occurrence(KEY, capacity=5)
    assert (await ledger.book(KEY, "ada")).ok
    assert (await ledger.book(KEY, "bob")).ok
    assert (await ledger.cancel(KEY, "ada")).ok
    now = (await ledger.view(KEY)).rows
    then = (await ledger.view_at(KEY, 3)).rows  # before ada cancelled
    assert said(then) == [(1, "ada", "confirmed", 1), (2, "bob", "confirmed", 1)]
    assert said(now) == [(1, "bob", "confirmed", 1)]
    assert said((await ledger.view(KEY)).rows) == said(now)
