"""The booking ledger: capacity-safe commands and reads over one stream per occurrence.

Every write is decided on a snapshot of the folded state and appended with
``append_many_expect`` at that snapshot's seq (``store.ledger.lanes``: queues,
group commit, the retry after a lost race); the decisions themselves are pure
functions in ``store.ledger.decide``. Reads return frozen records and views
(``store.ledger.views``), never the live state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from store.eventstore.contract import EventStore
from store.eventstore.events import Conflict, Event
from store.ledger import decide as d
from store.ledger import rules as v
from store.ledger.decide import UnknownOccurrence
from store.ledger.fold import STREAM_PREFIX, OccurrenceState, SeatState, fold, stream_of
from store.ledger.lanes import Lanes
from store.ledger.outcomes import OccurrenceRecord, Outcome, SeatRecord, Status
from store.ledger.provenance import default_operator, event_meta
from store.ledger.rules import InvalidInput
from store.ledger.views import Changes, OccurrenceView, key_of, occurrence_view, record
from store.ledger.views import seat_records as _seat_records

__all__ = [
    "Changes",
    "InvalidInput",
    "Ledger",
    "OccurrenceRecord",
    "OccurrenceView",
    "Outcome",
    "SeatRecord",
    "Status",
    "UnknownOccurrence",
]

Clock = Callable[[], datetime]


class Ledger:
    """Booking commands and reads over an event store.

    Args:
        store: the event store (SQLite or PostgreSQL).
        clock: returns an aware ``datetime``; decides expiry and stamps
            ``recorded_at``. Default: the database server's clock where it has
            one (PostgreSQL), else UTC now.
        operator: recorded on every event (default: the login name).
        deadline: seconds a command keeps retrying conflicts before answering
            ``conflict``.
        max_batch: most commands committed in one transaction.
    """

    def __init__(
        self,
        store: EventStore,
        *,
        clock: Clock | None = None,
        operator: str | None = None,
        deadline: float = 5.0,
        max_batch: int = 256,
    ) -> None:
        self.store = store
        self.operator = v.text(operator, "operator") if operator is not None else default_operator()
        self.deadline = deadline
        self.max_batch = max_batch
        self._clock = clock
        self._lanes = Lanes(store, self.now, self.operator, deadline, max_batch)

    # -- time ------------------------------------------------------------------

    async def now(self) -> datetime:
        """The ledger's clock: injected, else the database server's, else UTC now."""
        if self._clock is not None:
            moment = self._clock()
        else:
            moment = await self.store.server_now() or datetime.now(UTC)
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)

    # -- commands ------------------------------------------------------------------

    async def create_occurrence(
        self,
        key: str,
        *,
        capacity: int,
        title: str | None = None,
        starts_at: datetime | str | None = None,
        hold_ttl: timedelta | None = None,
    ) -> Outcome:
        key = v.occurrence_key(key)
        capacity = v.capacity(capacity)
        title = v.text(title, "title") if title is not None else None
        starts = v.starts_at(starts_at)
        ttl = v.optional_ttl(hold_ttl)
        return await self._lanes.command(key, None, d.create(key, capacity, title, starts, ttl))

    async def set_capacity(self, key: str, capacity: int) -> Outcome:
        key = v.occurrence_key(key)
        capacity = v.capacity(capacity)
        return await self._lanes.command(key, None, d.set_capacity(key, capacity))

    async def book(self, key: str, actor: str) -> Outcome:
        key, actor = v.occurrence_key(key), v.actor(actor)
        return await self._lanes.command(key, actor, d.acquire(key, actor, "booking", None))

    async def hold(self, key: str, actor: str, ttl: timedelta | None = None) -> Outcome:
        key, actor = v.occurrence_key(key), v.actor(actor)
        ttl = v.ttl(ttl) if ttl is not None else None
        return await self._lanes.command(key, actor, d.acquire(key, actor, "hold", ttl))

    async def confirm(self, key: str, actor: str) -> Outcome:
        key, actor = v.occurrence_key(key), v.actor(actor)
        return await self._lanes.command(key, actor, d.confirm(key, actor))

    async def release(self, key: str, actor: str) -> Outcome:
        key, actor = v.occurrence_key(key), v.actor(actor)
        return await self._lanes.command(key, actor, d.release(key, actor))

    async def cancel(self, key: str, actor: str) -> Outcome:
        key, actor = v.occurrence_key(key), v.actor(actor)
        return await self._lanes.command(key, actor, d.cancel(key, actor))

    async def expire_holds(self, key: str) -> list[Outcome]:
        """Write one `expire` event per lapse not yet recorded, in join order."""
        key = v.occurrence_key(key)
        outcomes: list[Outcome] = await self._lanes.command(key, None, d.expire_holds(key))
        return outcomes

    # -- single attempts against a caller's snapshot (test and demo seams) ----------------

    async def book_with_observed(
        self, key: str, actor: str, observed_roster: Sequence[str], expected_seq: int
    ) -> Outcome:
        return await self._observed(key, actor, observed_roster, expected_seq, "booking", None)

    async def hold_with_observed(
        self,
        key: str,
        actor: str,
        observed_roster: Sequence[str],
        expected_seq: int,
        ttl: timedelta | None = None,
    ) -> Outcome:
        return await self._observed(key, actor, observed_roster, expected_seq, "hold", ttl)

    async def _observed(
        self,
        key: str,
        actor: str,
        observed_roster: Sequence[str],
        expected_seq: int,
        kind: str,
        ttl: timedelta | None,
    ) -> Outcome:
        key, actor = v.occurrence_key(key), v.actor(actor)
        ttl = v.ttl(ttl) if ttl is not None else None
        if type(expected_seq) is not int or expected_seq < 0:
            raise InvalidInput("expected_seq", "must be a whole number, 0 or more")
        observed = list(observed_roster)
        capacity, hold_ttl_s, now = await self._lanes.read(
            key, lambda s, now: (s.capacity, s.hold_ttl_s, now)
        )
        if actor in observed:
            return Outcome(Status.ALREADY, actor, seat=observed.index(actor) + 1)
        if len(observed) >= capacity:
            return Outcome(Status.FULL, actor, capacity=capacity)
        expires = d.expiry(now, ttl, hold_ttl_s) if kind == "hold" else None
        data: dict[str, Any] = {"actor": actor}
        if kind == "hold":
            data["expires_at"] = expires.isoformat() if expires else None
        meta = event_meta(self.operator, now) if now is not None else {}
        written = await self.store.append_expect(stream_of(key), expected_seq, kind, data, meta)
        if isinstance(written, Conflict):
            return Outcome(Status.CONFLICT, actor, actual=written.actual)
        status = Status.HELD if kind == "hold" else Status.BOOKED
        return Outcome(status, actor, seat=len(observed) + 1, expires_at=expires)

    # -- reads ---------------------------------------------------------------------------

    async def seat_state(self, key: str, actor: str) -> str:
        """``"held"``, ``"confirmed"`` or ``"none"`` (a lapsed hold is ``"none"``)."""
        key, actor = v.occurrence_key(key), v.actor(actor)

        def view(state: OccurrenceState, now: datetime | None) -> str:
            seat_state = state.state_at(actor, now)
            if seat_state in (SeatState.HELD, SeatState.CONFIRMED):
                return str(seat_state)
            return "none"

        return await self._lanes.read(key, view)

    async def roster(self, key: str) -> list[str]:
        key = v.occurrence_key(key)
        return await self._lanes.read(key, lambda s, now: [m.actor for m in s.roster_at(now)])

    async def seats(self, key: str) -> list[SeatRecord]:
        key = v.occurrence_key(key)
        return await self._lanes.read(key, _seat_records)

    async def seats_left(self, key: str) -> int:
        key = v.occurrence_key(key)
        return await self._lanes.read(key, lambda s, now: max(0, s.capacity - s.occupied_at(now)))

    async def occurrence(self, key: str) -> OccurrenceRecord:
        key = v.occurrence_key(key)
        return await self._lanes.read(key, lambda s, now: record(key, s, now))

    async def occurrences(self) -> list[OccurrenceRecord]:
        return [view.record for view in await self.views(rows=False)]

    # -- the read boundary: frozen views and the change feed --------------------------------

    async def view(self, key: str, *, rows: bool = True) -> OccurrenceView:
        """The occurrence now: its record, its rows (``rows=False`` skips them), next lapse."""
        key = v.occurrence_key(key)
        return await self._lanes.read(key, lambda s, now: occurrence_view(key, s, now, rows=rows))

    async def views(self, *, rows: bool = False) -> list[OccurrenceView]:
        """Every occurrence's view, by key (streams without ``created`` are left out)."""
        found = []
        for stream in await self.store.streams(STREAM_PREFIX):
            key = stream[len(STREAM_PREFIX) :]
            try:
                found.append(await self.view(key, rows=rows))
            except (UnknownOccurrence, InvalidInput):
                continue  # a stream that never got a `created` event, or a foreign name
        return found

    async def view_at(self, key: str, seq: int) -> OccurrenceView:
        """The occurrence as it stood right after event ``seq`` (time travel), at its own T."""
        key = v.occurrence_key(key)
        if type(seq) is not int or seq < 1:
            raise InvalidInput("seq", "must be a whole number, 1 or more")
        events = [e for e in await self.store.read(stream_of(key)) if e.seq <= seq]
        state = await asyncio.to_thread(fold, events, stream_of(key))  # a long log: off the loop
        if not state.created:
            raise UnknownOccurrence(key)
        return occurrence_view(key, state, state.at(None))

    async def events(self, key: str, after_seq: int = 0) -> list[Event]:
        """The occurrence's events after ``after_seq`` (the event log)."""
        key = v.occurrence_key(key)
        return await self.store.read(stream_of(key), after_seq=after_seq)

    async def head(self) -> int:
        """The store's highest committed position: where a change feed starts."""
        return await self.store.head_position()

    async def changes(self, after: int, *, timeout: float, limit: int = 1000) -> Changes:
        """Wait up to ``timeout`` s for commits past position ``after``; say which occurrences.

        A reader that feeds each answer's ``position`` back in never misses a
        commit (SPEC §1's tail); foreign streams move the position but name no key.
        """
        if not await self.store.wait_for_append(after, timeout):
            return Changes(after, frozenset())
        events = await self.store.read_all(after, limit)
        if not events:
            return Changes(after, frozenset())
        keys = {key for e in events if (key := key_of(e.stream)) is not None}
        return Changes(events[-1].position, frozenset(keys))

    async def matches_full_fold(self, key: str) -> bool:
        """Whether the incremental state equals a refold of the whole stream."""
        key = v.occurrence_key(key)
        return await self._lanes.matches_full_fold(key)
