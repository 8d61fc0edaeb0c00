"""Ledgers of one process on one database share a fold and a lane (issue 16).

Independent clients in one process (a store and a ledger each) queue their
commands on an occurrence together and commit them together, so none of them
loses a race to another in the same process, while each command still goes
through its own store and records its own operator; a store that is closed or
that fails takes only its own commands down. Across processes the races stay
real (``test_racers``, ``test_races``: their verdicts refold the stream), and
ledgers made with ``share=False`` race each other as separate terminals would
(``test_races.test_confirm_races_release_on_two_connections``).
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

from support.wrapped_store import ForwardingStore

from store import Event, EventStore, StoreError, open_store
from store.booking import Ledger
from store.eventstore.errors import StoreFull
from store.ledger.fold import stream_of

KEY = "shared-night"
CLIENTS = 8


async def _create(url: str, capacity: int) -> None:
    async with open_store(url, create=True) as store:
        await Ledger(store, operator="setup").create_occurrence(KEY, capacity=capacity)


async def test_clients_on_one_database_never_lose_a_race_to_each_other(store_url: str) -> None:
    await _create(store_url, capacity=20)
    async with AsyncExitStack() as stack:
        stores = [await stack.enter_async_context(open_store(store_url)) for _ in range(CLIENTS)]
        ledgers = [Ledger(s, operator=f"desk-{n}") for n, s in enumerate(stores)]
        actors = [f"guest-{i}" for i in range(32)]
        outcomes = await asyncio.gather(
            *(ledgers[i % CLIENTS].hold(KEY, actor) for i, actor in enumerate(actors))
        )
        events = await stores[0].read(stream_of(KEY))
    statuses = [str(o.status) for o in outcomes]
    assert statuses.count("held") == 20 and statuses.count("full") == 12
    # one lane for the eight stores: each hold decided once, on the state as it stood
    assert [o.attempts for o in outcomes] == [1] * len(actors)
    holds = [e for e in events if e.type == "hold"]
    assert len(holds) == 20
    for event in holds:  # each hold went in under the operator of the ledger that asked
        sender = actors.index(event.data["actor"]) % CLIENTS
        assert event.meta["operator"] == f"desk-{sender}"


async def test_a_closed_store_is_refused_while_the_others_go_on(store_url: str) -> None:
    await _create(store_url, capacity=5)
    async with open_store(store_url) as live, open_store(store_url) as closed:
        gone, staying = Ledger(closed, operator="gone"), Ledger(live, operator="staying")
        await gone.seats_left(KEY)
        await closed.close()  # closed again on the way out: a second close does nothing
        # the open store's command first: a batch of both would go through its store
        held, refused = await asyncio.gather(
            staying.hold(KEY, "bob"), gone.hold(KEY, "ada"), return_exceptions=True
        )
        assert isinstance(refused, StoreError) and "closed" in str(refused)
        assert not isinstance(held, BaseException) and str(held.status) == "held"
        events = await live.read(stream_of(KEY))
    assert [e.data.get("actor") for e in events if e.type == "hold"] == ["bob"]


class _FullDisk(ForwardingStore):
    """A real store on the same database whose appends are refused as out of space."""

    def database_key(self) -> object:
        return self.inner.database_key()

    async def before_append(self) -> None:
        raise StoreFull("disk full (this store only)")


async def test_a_failing_store_fails_only_its_own_commands(store_url: str) -> None:
    await _create(store_url, capacity=5)
    async with open_store(store_url) as inner, open_store(store_url) as good_store:
        failing: EventStore = _FullDisk(inner)
        bad, good = Ledger(failing, operator="bad"), Ledger(good_store, operator="good")
        # queued in this order, so the batch is tried through the failing store first
        results = await asyncio.gather(
            bad.hold(KEY, "ada"), good.hold(KEY, "bob"), return_exceptions=True
        )
        events = await good_store.read(stream_of(KEY))
    assert isinstance(results[0], StoreFull)
    assert not isinstance(results[1], BaseException) and str(results[1].status) == "held"
    holds = [e for e in events if e.type == "hold"]
    assert [(e.data["actor"], e.meta["operator"]) for e in holds] == [("bob", "good")]


class _CountingReads(ForwardingStore):
    """A real store on the same database that counts the stream reads made through it."""

    def __init__(self, inner: EventStore) -> None:
        super().__init__(inner)
        self.reads = 0

    def database_key(self) -> object:
        return self.inner.database_key()

    async def read(self, stream: str, after_seq: int = 0) -> list[Event]:
        self.reads += 1
        return await self.inner.read(stream, after_seq)


async def test_readers_queued_behind_one_catch_up_share_it(store_url: str) -> None:
    """Fifty clients asking at once cost two reads of the stream, and none reads stale."""
    await _create(store_url, capacity=60)
    async with open_store(store_url) as inner, open_store(store_url) as elsewhere:
        counting = _CountingReads(inner)
        readers = [Ledger(counting, operator=f"desk-{n}") for n in range(50)]
        writer = Ledger(elsewhere, operator="another-terminal", share=False)
        assert await readers[0].seats_left(KEY) == 60
        await writer.hold(KEY, "ada")  # committed before any of the fifty asks
        counting.reads = 0
        left = await asyncio.gather(*(r.seats_left(KEY) for r in readers))
        # the first reads; the second asked while it was reading, so reads again;
        # the other 48 asked before that second read began, and share it
        assert counting.reads == 2
        assert left == [59] * 50
        await writer.hold(KEY, "bob")
        assert await readers[7].seats_left(KEY) == 58  # a later ask reads again
        assert counting.reads == 3
