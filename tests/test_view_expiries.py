"""``OccurrenceView.expiries``: when each live hold lapses, so a screen can count the holds
lapsing soon over a whole house from its lines, without reading a single roster."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from store.booking import Ledger

KEY = "gala"


async def test_expiries_list_live_holds_soonest_first_and_drop_lapsed_and_confirmed(
    ledger: Ledger, clock: Any
) -> None:
    start = clock()
    await ledger.create_occurrence(KEY, capacity=10)
    await ledger.hold(KEY, "late", ttl=timedelta(minutes=30))
    await ledger.hold(KEY, "soon", ttl=timedelta(minutes=2))
    await ledger.hold(KEY, "paid", ttl=timedelta(minutes=5))
    await ledger.hold(KEY, "party", seats=3, ttl=timedelta(minutes=10))
    await ledger.book(KEY, "walk-in")
    await ledger.confirm(KEY, "paid")
    line = await ledger.view(KEY, rows=False)  # a house line: no rows, expiries all the same
    assert line.rows == ()
    assert line.expiries == (
        start + timedelta(minutes=2),
        start + timedelta(minutes=10),
        start + timedelta(minutes=30),
    )
    assert line.next_expiry == line.expiries[0]
    clock.advance(minutes=3)  # "soon" lapsed: no longer a live hold, whether or not recorded
    assert (await ledger.view(KEY, rows=False)).expiries == (
        start + timedelta(minutes=10),
        start + timedelta(minutes=30),
    )
    assert (await ledger.view(KEY)).expiries == (await ledger.view(KEY, rows=False)).expiries
