"""The read boundary's derived offers (SPEC §4.5): what the app's event log shows between events.

No event holds an offer, so ``Ledger.offers`` reports the offers the fold made,
each with the seq it followed and its moment; a read that plays lapses out to
now must not leave its play-out behind, and a fresh fold must agree with the
incremental state.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from store import open_store
from store.booking import InvalidInput, Ledger
from store.ledger.fold import fold, stream_of

KEY = "gala"


async def test_offers_name_their_seq_moment_and_expiry_and_reads_leave_nothing(
    db_path: str, clock: Any
) -> None:
    async with open_store(db_path, create=True) as store:
        ledger = Ledger(store, clock=clock, operator="t")
        await ledger.create_occurrence(KEY, capacity=2, hold_ttl=timedelta(minutes=10))
        await ledger.book(KEY, "ada")
        await ledger.hold(KEY, "bob", timedelta(minutes=5))  # seq 3
        await ledger.join_waitlist(KEY, "cy")  # seq 4
        await ledger.join_waitlist(KEY, "dee")  # seq 5
        assert await ledger.offers(KEY) == []
        start = clock()
        await ledger.cancel(KEY, "ada")  # seq 6: cy is offered right after it
        [first] = await ledger.offers(KEY)
        assert (first.after_seq, first.actor, first.seats, first.ref) == (6, "cy", 1, 4)
        assert first.at == start and first.expires_at == start + timedelta(minutes=10)
        clock.advance(minutes=6)  # bob's hold lapsed at +5: dee is offered at that moment
        for _ in range(3):  # every read plays it out again, and undoes it
            offers = await ledger.offers(KEY)
            assert [(o.after_seq, o.actor, o.at) for o in offers] == [
                (6, "cy", start),
                (6, "dee", start + timedelta(minutes=5)),
            ]
        assert [o.actor for o in await ledger.offers(KEY, 7)] == []
        before = fold(await store.read(stream_of(KEY)), stream_of(KEY)).offers
        assert [o.actor for o in before] == ["cy"], "the log alone has not reached bob's lapse"
        await ledger.annotate(KEY, "cy", "paying")  # seq 7 settles the lapse for everyone
        live = await ledger.offers(KEY)
        refold = fold(await store.read(stream_of(KEY)), stream_of(KEY)).offers
        assert live == refold and [o.actor for o in live] == ["cy", "dee"]
        assert [o.actor for o in await ledger.offers(KEY, 6)] == ["cy", "dee"]
        assert await ledger.offers(KEY, 7) == []
        with pytest.raises(InvalidInput, match="after_seq"):
            await ledger.offers(KEY, -1)


async def test_the_view_carries_the_waiting_list_only_with_its_rows(
    db_path: str, clock: Any
) -> None:
    async with open_store(db_path, create=True) as store:
        ledger = Ledger(store, clock=clock, operator="t")
        await ledger.create_occurrence(KEY, capacity=1)
        await ledger.book(KEY, "ada")
        await ledger.join_waitlist(KEY, "bob", seats=2, note="call")
        view = await ledger.view(KEY)
        assert [(w.position, w.actor, w.seats, w.note) for w in view.waiters] == [
            (1, "bob", 2, "call")
        ]
        line = await ledger.view(KEY, rows=False)
        assert line.waiters == () and line.record.waiting == 1
