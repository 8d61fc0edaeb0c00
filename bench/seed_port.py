"""The seed's booking algorithm (``../shared/seed/booking.sx``), ported for comparison.

Faithful where it matters for cost and correctness: every command folds the
whole stream (``ev-fold-states`` over ``persist/read``), reads the last seq in a
separate call (``persist/last-seq``), appends with ``append_expect`` and, on a
conflict, tries again at once, without backoff and without limit
(``ev-acquire!``). Capacity is an argument, as in the seed. The seed's
association list becomes an insertion-ordered dict with the same semantics (set
keeps an actor's place, delete then set joins at the end); that only makes the
seed faster than the original, never slower.

The fold is ``store.racers.seed.fold_states``, the one the racers'
``--algorithm seed`` uses. It runs on boxoffice's own ``SQLiteStore`` (same file format, WAL,
``synchronous``, ``BEGIN IMMEDIATE``), so the comparison is of algorithms.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from store.eventstore.contract import EventStore
from store.eventstore.events import Conflict
from store.racers.seed import fold_states


def booking_stream(key: str) -> str:
    return "booking:" + key


__all__ = ["SeedBooking", "SeedResult", "booking_stream", "fold_states"]


@dataclass(frozen=True, slots=True)
class SeedResult:
    status: str  # booked, held, already, full, conflict
    actor: str
    seat: int | None = None
    actual: int | None = None
    attempts: int = 1


class SeedBooking:
    """``ev/book!``, ``ev/hold!`` and the seed's reads over an event store."""

    def __init__(self, store: EventStore, meta: dict[str, Any] | None = None) -> None:
        self.store = store
        self.meta = meta or {}

    async def booked_actors(self, key: str) -> list[str]:
        """``ev-booked-actors``: read and fold the whole stream."""
        return list(fold_states(await self.store.read(booking_stream(key))))

    async def acquire_with_observed(
        self,
        key: str,
        capacity: int,
        actor: str,
        observed: list[str],
        expected: int,
        kind: str,
        ok_status: str,
    ) -> SeedResult:
        """``ev-acquire-with-observed``: one attempt against a snapshot."""
        if actor in observed:
            return SeedResult("already", actor, seat=observed.index(actor) + 1)
        if len(observed) >= capacity:
            return SeedResult("full", actor)
        written = await self.store.append_expect(
            booking_stream(key), expected, kind, {"actor": actor}, self.meta
        )
        if isinstance(written, Conflict):
            return SeedResult("conflict", actor, actual=written.actual)
        return SeedResult(ok_status, actor, seat=len(observed) + 1)

    async def acquire(
        self, key: str, capacity: int, actor: str, kind: str, ok_status: str
    ) -> SeedResult:
        """``ev-acquire!``: observe, attempt, and on conflict start again, forever."""
        attempts = 0
        while True:
            attempts += 1
            observed = await self.booked_actors(key)
            expected = await self.store.last_seq(booking_stream(key))
            result = await self.acquire_with_observed(
                key, capacity, actor, observed, expected, kind, ok_status
            )
            if result.status != "conflict":
                return SeedResult(result.status, actor, result.seat, None, attempts)

    async def book(self, key: str, capacity: int, actor: str) -> SeedResult:
        return await self.acquire(key, capacity, actor, "booking", "booked")

    async def hold(self, key: str, capacity: int, actor: str) -> SeedResult:
        return await self.acquire(key, capacity, actor, "hold", "held")

    async def roster(self, key: str) -> list[str]:
        return await self.booked_actors(key)
