"""The systems under comparison, behind one small async interface.

Each system is opened inside the process that uses it (the hot race spawns
processes), acquires one seat per call and reports ``(status, attempts)``. The
checks that follow a run open the database afresh and trust only what is stored.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bench import es_occurrence
from bench.seed_port import SeedBooking, booking_stream
from store import Conflict, NewEvent, open_store
from store.audit.check import check_stream
from store.booking import Ledger
from store.eventstore.contract import EventStore
from store.ledger.provenance import event_meta

#: name -> human label, in table order
SYSTEMS = {
    "boxoffice": "boxoffice",
    "boxoffice-unfair": "boxoffice, fair lock off",
    "seed": "seed algorithm (port)",
    "es-plain": "eventsourcing",
    "es-snapshots": f"eventsourcing + snapshots/{es_occurrence.SNAPSHOT_INTERVAL}",
    "es-cache": "eventsourcing + aggregate cache",
}


@dataclass(slots=True)
class TxnCounter:
    """Counts the store's transactions (and lost races) by wrapping ``append_many``."""

    txns: int = 0
    conflicts: int = 0
    events: int = 0
    decided: int = 0  # retries decided inside the write transaction (never conflict)

    def wrap(self, store: EventStore) -> None:
        inner = store.append_many

        async def append_many(
            stream: str, expected: int | None, events: Any, **options: Any
        ) -> Any:
            written = await inner(stream, expected, events, **options)
            self.txns += 1
            if isinstance(written, Conflict):
                self.conflicts += 1
            else:
                self.events += len(written)
            return written

        store.append_many = append_many  # type: ignore[method-assign]
        decided = getattr(store, "append_decided", None)
        if decided is not None:

            async def append_decided(*args: Any, **options: Any) -> Any:
                written = await decided(*args, **options)
                self.txns += 1
                self.decided += 1
                self.events += len(written)
                return written

            store.append_decided = append_decided  # type: ignore[attr-defined]


class Client:
    """One process's (or one burst's) handle on a system."""

    name: str

    async def acquire(self, actor: str, kind: str) -> tuple[str, int]:
        raise NotImplementedError

    async def warm(self) -> None:
        """Load what a long-running terminal would already have loaded."""

    async def close(self) -> None:
        raise NotImplementedError

    def counters(self) -> dict[str, int]:
        return {}


class BoxofficeClient(Client):
    def __init__(self, path: str, key: str, *, fair_lock: bool = True) -> None:
        self.path, self.key, self.fair_lock = path, key, fair_lock
        self.counter = TxnCounter()

    async def open(self) -> BoxofficeClient:
        self._cm = open_store(self.path, fair_lock=self.fair_lock)
        self.store = await self._cm.__aenter__()
        self.counter.wrap(self.store)
        self.ledger = Ledger(self.store, operator="bench")
        return self

    async def warm(self) -> None:
        await self.ledger.seats_left(self.key)

    async def acquire(self, actor: str, kind: str) -> tuple[str, int]:
        if kind == "hold":
            outcome = await self.ledger.hold(self.key, actor)
        else:
            outcome = await self.ledger.book(self.key, actor)
        return str(outcome.status), outcome.attempts

    async def close(self) -> None:
        await self._cm.__aexit__(None, None, None)

    def counters(self) -> dict[str, int]:
        return {
            "txns": self.counter.txns,
            "txn_conflicts": self.counter.conflicts,
            "decided_in_txn": self.counter.decided,
        }


class SeedClient(Client):
    def __init__(self, path: str, key: str, capacity: int) -> None:
        self.path, self.key, self.capacity = path, key, capacity
        self.counter = TxnCounter()

    async def open(self) -> SeedClient:
        self._cm = open_store(self.path)
        self.store = await self._cm.__aenter__()
        self.counter.wrap(self.store)
        self.seed = SeedBooking(self.store)
        return self

    async def acquire(self, actor: str, kind: str) -> tuple[str, int]:
        if kind == "hold":
            result = await self.seed.hold(self.key, self.capacity, actor)
        else:
            result = await self.seed.book(self.key, self.capacity, actor)
        return result.status, result.attempts

    async def close(self) -> None:
        await self._cm.__aexit__(None, None, None)

    def counters(self) -> dict[str, int]:
        return {"txns": self.counter.txns, "txn_conflicts": self.counter.conflicts}


class EventsourcingClient(Client):
    """The library is synchronous: concurrent racers are threads, as its users would run it."""

    def __init__(self, path: str, key: str, variant: str, threads: int) -> None:
        self.path, self.key, self.variant, self.threads = path, key, variant, threads

    async def open(self) -> EventsourcingClient:
        self.app = es_occurrence.open_app(self.path, self.variant)
        self.pool = ThreadPoolExecutor(self.threads) if self.threads > 1 else None
        return self

    async def warm(self) -> None:
        if self.variant == "cache":
            self.app.repository.get(es_occurrence.Occurrence.create_id(self.key))

    async def acquire(self, actor: str, kind: str) -> tuple[str, int]:
        if self.pool is None:  # one writer: no thread hop to pay for
            return self.app.acquire(self.key, actor, kind)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, self.app.acquire, self.key, actor, kind)

    async def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()
        self.app.close()


async def open_client(
    system: str, path: str, key: str, capacity: int, *, concurrency: int = 1
) -> Client:
    if system == "boxoffice":
        return await BoxofficeClient(path, key).open()
    if system == "boxoffice-unfair":
        return await BoxofficeClient(path, key, fair_lock=False).open()
    if system == "seed":
        return await SeedClient(path, key, capacity).open()
    if system.startswith("es-"):
        return await EventsourcingClient(path, key, system[3:], concurrency).open()
    raise ValueError(f"unknown system {system!r}")


# -- setup and verification, from the parent process -------------------------------------


async def create(system: str, path: str, key: str, capacity: int) -> None:
    """A new database holding one occurrence of ``capacity`` seats."""
    if system.startswith("es-"):
        app = es_occurrence.open_app(path, system[3:])
        try:
            app.create_occurrence(key, capacity)
        finally:
            app.close()
        return
    async with open_store(path, create=True) as store:
        if system == "seed":
            # The seed keeps capacity outside the stream; this `created` event is
            # ignored by its fold and lets the checker judge every acquisition.
            await store.append(booking_stream(key), "created", {"capacity": capacity})
        else:
            await Ledger(store, operator="bench").create_occurrence(key, capacity=capacity)


async def bulk_book(system: str, path: str, key: str, actors: list[str], batch: int = 2000) -> None:
    """Append bookings in big transactions: a long stream in seconds, not minutes."""
    if system.startswith("es-"):
        app = es_occurrence.open_app(path, system[3:])
        try:
            for i in range(0, len(actors), batch):
                app.bulk_book(key, actors[i : i + batch])
        finally:
            app.close()
        return
    meta = event_meta("bench", datetime.now(UTC)) if system != "seed" else {}
    async with open_store(path) as store:
        for i in range(0, len(actors), batch):
            chunk = [NewEvent("booking", {"actor": a}, meta) for a in actors[i : i + batch]]
            await store.append_many(booking_stream(key), None, chunk)


async def verify(system: str, path: str, key: str) -> dict[str, Any]:
    """Recount the stored log: acquisitions, capacity, oversold, actors seated twice."""
    if system.startswith("es-"):
        return await asyncio.to_thread(es_occurrence.count_acquisitions, path, key)
    async with open_store(path) as store:
        events = await store.read(booking_stream(key))
    report = check_stream(events)
    actors = [e.data.get("actor") for e in events if e.type in ("booking", "hold")]
    return {
        "events": report.events,
        "acquisitions": report.acquisitions,
        "capacity": report.capacity,
        "oversold": report.oversold,
        "duplicates": len(actors) - len(set(actors)),
        "violations": [str(v) for v in report.violations[:5]],
    }
