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
from datetime import UTC, datetime, timedelta, tzinfo
from enum import Enum
from functools import partial
from typing import Any, Final, Literal, TypeVar

from store.eventstore.contract import EventStore
from store.eventstore.events import Event
from store.ledger import decide as d
from store.ledger import party_input as p
from store.ledger import rules as v
from store.ledger.catalog import Catalog, Needle
from store.ledger.clock_check import checked_now
from store.ledger.decide import UnknownOccurrence
from store.ledger.fold import STREAM_PREFIX, OccurrenceState, SeatState, fold, stream_of
from store.ledger.house import house_lines
from store.ledger.lanes import Caller, at_instant
from store.ledger.observed import observed_attempt
from store.ledger.outcomes import OccurrenceRecord, Outcome, SeatRecord, Status, WaiterRecord
from store.ledger.provenance import default_operator
from store.ledger.requests import Request, request_of
from store.ledger.rules import InvalidInput
from store.ledger.shared import lanes_for
from store.ledger.venue import venue_zone
from store.ledger.views import (
    Changes,
    DerivedOffer,
    OccurrenceView,
    key_of,
    occurrence_view,
    offers_since,
    record,
    waiter_records,
)
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
T = TypeVar("T")


class _Unset(Enum):
    """Marks a field ``update_occurrence`` was not given (None means: clear it)."""

    UNSET = 0


UNSET: Final = _Unset.UNSET
Unset = Literal[_Unset.UNSET]


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
        zone: the venue's configured time zone, where a start time without one
            is taken to be; ``$BOXOFFICE_TZ`` overrides it, and with neither it
            is the machine's own (SPEC §4.4).
        clock_check: refuse a write whose clock runs more than 5 minutes ahead of
            the database's sense of now (``store.ledger.clock_check``: the server's
            clock, or the machine's as the kernel keeps it). Default: on, unless a
            ``clock`` is injected (a chosen time is the caller's to keep).
        share: fold and queue with the process's other ledgers on the same database
            (``store.ledger.shared``); False folds on its own, as a separate terminal
            process would. A ledger with an injected ``clock`` never shares.
    """

    def __init__(
        self,
        store: EventStore,
        *,
        clock: Clock | None = None,
        operator: str | None = None,
        deadline: float = 5.0,
        max_batch: int = 256,
        zone: tzinfo | None = None,
        clock_check: bool | None = None,
        share: bool = True,
    ) -> None:
        self.store = store
        self.zone = venue_zone(zone)
        self.operator = v.text(operator, "operator") if operator is not None else default_operator()
        self.deadline = deadline
        self.max_batch = max_batch
        self._clock = clock
        self.clock_check = clock is None if clock_check is None else bool(clock_check)
        # the caller's clocks close over the store and the clock, not the ledger: a ledger
        # dropped is then freed at once, its folded state with it, not at a GC's leisure
        now = partial(_now_of, store, clock)
        write_now = partial(checked_now, store, clock) if self.clock_check else now
        self._caller = Caller(store, now, write_now, self.operator, deadline)
        self._lanes = lanes_for(
            store, max_batch, checked=self.clock_check, share=share and clock is None
        )
        self._catalog = Catalog(store)

    # -- time ------------------------------------------------------------------

    async def now(self) -> datetime:
        """The ledger's clock: injected, else the database server's, else UTC now."""
        return await _now_of(self.store, self._clock)

    # -- commands ------------------------------------------------------------------

    async def _command(
        self, key: str, actor: str | None, decide: d.Decide, request: Request | None = None
    ) -> Any:
        return await self._lanes.command(self._caller, key, actor, decide, request)

    async def _read(self, key: str, view: Callable[[OccurrenceState, datetime | None], T]) -> T:
        return await self._lanes.read(self._caller, key, view)

    async def create_occurrence(
        self,
        key: str,
        *,
        capacity: int,
        title: str | None = None,
        starts_at: datetime | str | None = None,
        hold_ttl: timedelta | None = None,
        demo: bool = False,
        offer_ttl: timedelta | None = None,
        request_id: str | None = None,
    ) -> Outcome:
        """``demo=True`` marks an occurrence made for a demonstration (racers, demo house).

        ``offer_ttl`` is how long a waiting-list offer lasts (None: the hold ttl).
        """
        key = v.occurrence_key(key)
        capacity = v.capacity(capacity)
        title = v.text(title, "title") if title is not None else None
        starts = v.starts_at(starts_at, self.zone)
        ttl = v.optional_ttl(hold_ttl)
        demo = v.flag(demo, "demo")
        offer = v.optional_ttl(offer_ttl, "offer_ttl")
        decide = d.create(key, capacity, title, starts, ttl, demo=demo, offer_ttl=offer)
        request = request_of(request_id, "create_occurrence", None)
        return await self._command(key, None, decide, request)

    async def set_capacity(
        self, key: str, capacity: int, *, request_id: str | None = None
    ) -> Outcome:
        key = v.occurrence_key(key)
        capacity = v.capacity(capacity)
        request = request_of(request_id, "set_capacity", None)
        return await self._command(key, None, d.set_capacity(key, capacity), request)

    async def update_occurrence(
        self,
        key: str,
        *,
        title: str | Unset | None = UNSET,
        starts_at: datetime | str | Unset | None = UNSET,
        hold_ttl: timedelta | Unset | None = UNSET,
        offer_ttl: timedelta | Unset | None = UNSET,
        request_id: str | None = None,
    ) -> Outcome:
        """Change only the fields given (None clears one); ``updated``."""
        key = v.occurrence_key(key)
        fields: dict[str, Any] = {}
        if title is not UNSET:
            fields["title"] = v.text(title, "title") if title is not None else None
        if starts_at is not UNSET:
            fields["starts_at"] = v.starts_at(starts_at, self.zone)
        if hold_ttl is not UNSET:
            fields["hold_ttl_s"] = v.optional_ttl_s(hold_ttl, "hold_ttl")
        if offer_ttl is not UNSET:
            fields["offer_ttl_s"] = v.optional_ttl_s(offer_ttl, "offer_ttl")
        if not fields:
            raise InvalidInput(
                "update", "give at least one of title, starts_at, hold_ttl, offer_ttl"
            )
        request = request_of(request_id, "update_occurrence", None)
        return await self._command(key, None, d.update(key, fields), request)

    async def archive(self, key: str, *, request_id: str | None = None) -> Outcome:
        """Take an occurrence off the lists and stop new bookings; ``archived``."""
        key = v.occurrence_key(key)
        request = request_of(request_id, "archive", None)
        return await self._command(key, None, d.archive(key), request)

    async def restore(self, key: str, *, request_id: str | None = None) -> Outcome:
        """Bring an archived occurrence back; ``restored``."""
        key = v.occurrence_key(key)
        request = request_of(request_id, "restore", None)
        return await self._command(key, None, d.restore(key), request)

    async def book(
        self,
        key: str,
        actor: str,
        *,
        seats: int = 1,
        note: str | None = None,
        request_id: str | None = None,
    ) -> Outcome:
        """Confirmed seats for a party of ``seats`` (1-100), with an optional ``note``."""
        key, actor = v.occurrence_key(key), v.actor(actor)
        seats, note = p.party_size(seats), p.optional_note(note)
        decide = d.acquire(key, actor, "booking", None, seats, note)
        request = request_of(request_id, "book", actor)
        return await self._command(key, actor, decide, request)

    async def hold(
        self,
        key: str,
        actor: str,
        ttl: timedelta | None = None,
        *,
        seats: int = 1,
        note: str | None = None,
        request_id: str | None = None,
    ) -> Outcome:
        """Held seats for a party, lapsing after ``ttl`` (else the occurrence's hold ttl)."""
        key, actor = v.occurrence_key(key), v.actor(actor)
        ttl = v.ttl(ttl) if ttl is not None else None
        seats, note = p.party_size(seats), p.optional_note(note)
        decide = d.acquire(key, actor, "hold", ttl, seats, note)
        request = request_of(request_id, "hold", actor)
        return await self._command(key, actor, decide, request)

    async def confirm(self, key: str, actor: str, *, request_id: str | None = None) -> Outcome:
        key, actor = v.occurrence_key(key), v.actor(actor)
        request = request_of(request_id, "confirm", actor)
        return await self._command(key, actor, d.confirm(key, actor), request)

    async def release(self, key: str, actor: str, *, request_id: str | None = None) -> Outcome:
        key, actor = v.occurrence_key(key), v.actor(actor)
        request = request_of(request_id, "release", actor)
        return await self._command(key, actor, d.release(key, actor), request)

    async def cancel(
        self, key: str, actor: str, *, seats: int | None = None, request_id: str | None = None
    ) -> Outcome:
        """The whole party leaves; with ``seats`` fewer than its size, it shrinks in place."""
        key, actor = v.occurrence_key(key), v.actor(actor)
        seats = p.optional_party_size(seats)
        request = request_of(request_id, "cancel", actor)
        return await self._command(key, actor, d.cancel(key, actor, seats), request)

    async def check_in(self, key: str, actor: str, *, request_id: str | None = None) -> Outcome:
        """At the door: `checked-in` once for a confirmed party (SPEC §4.3)."""
        key, actor = v.occurrence_key(key), v.actor(actor)
        request = request_of(request_id, "check_in", actor)
        return await self._command(key, actor, d.check_in(key, actor), request)

    async def join_waitlist(
        self,
        key: str,
        actor: str,
        *,
        seats: int = 1,
        note: str | None = None,
        request_id: str | None = None,
    ) -> Outcome:
        """Join the waiting list (`waiting`, +position), or `offered` if seats are free now."""
        key, actor = v.occurrence_key(key), v.actor(actor)
        seats, note = p.party_size(seats), p.optional_note(note)
        decide = d.join_waitlist(key, actor, seats, note)
        request = request_of(request_id, "join_waitlist", actor)
        return await self._command(key, actor, decide, request)

    async def leave_waitlist(
        self, key: str, actor: str, *, request_id: str | None = None
    ) -> Outcome:
        """Leave the waiting list (`left`); an offered party declines with ``release``."""
        key, actor = v.occurrence_key(key), v.actor(actor)
        request = request_of(request_id, "leave_waitlist", actor)
        return await self._command(key, actor, d.leave_waitlist(key, actor), request)

    async def waitlist(self, key: str) -> list[WaiterRecord]:
        """The waiting parties in list order, as of now (offers due by now already made)."""
        key = v.occurrence_key(key)
        return await self._read(key, lambda s, now: waiter_records(s))

    async def annotate(
        self, key: str, actor: str, note: str, *, request_id: str | None = None
    ) -> Outcome:
        """Replace the note kept with a seated party (`noted`); an empty note clears it."""
        key, actor, note = v.occurrence_key(key), v.actor(actor), p.note(note)
        request = request_of(request_id, "annotate", actor)
        return await self._command(key, actor, d.annotate(key, actor, note), request)

    async def expire_holds(self, key: str, *, request_id: str | None = None) -> list[Outcome]:
        """Write one `expire` event per lapse not yet recorded, in join order.

        With ``request_id``, a retry replays the list its first run wrote (an empty
        run wrote nothing, so it decides again).
        """
        key = v.occurrence_key(key)
        request = request_of(request_id, "expire_holds", None)
        outcomes: list[Outcome] = await self._command(key, None, d.expire_holds(key), request)
        return outcomes

    # -- single attempts against a caller's snapshot (test and demo seams) ----------------

    async def book_with_observed(
        self,
        key: str,
        actor: str,
        observed_roster: Sequence[str | SeatRecord],
        expected_seq: int,
        *,
        seats: int = 1,
    ) -> Outcome:
        """One booking judged on the caller's roster and seq (``store.ledger.observed``)."""
        key, actor, decide = observed_attempt(
            key, actor, observed_roster, expected_seq, "booking", None, seats
        )
        outcome: Outcome = await self._command(key, actor, decide)
        return outcome

    async def hold_with_observed(
        self,
        key: str,
        actor: str,
        observed_roster: Sequence[str | SeatRecord],
        expected_seq: int,
        ttl: timedelta | None = None,
        *,
        seats: int = 1,
    ) -> Outcome:
        """One hold judged on the caller's roster and seq (``store.ledger.observed``)."""
        key, actor, decide = observed_attempt(
            key, actor, observed_roster, expected_seq, "hold", ttl, seats
        )
        outcome: Outcome = await self._command(key, actor, decide)
        return outcome

    # -- reads ---------------------------------------------------------------------------

    async def seat_state(self, key: str, actor: str) -> str:
        """``"held"``, ``"confirmed"`` or ``"none"`` (a lapsed hold is ``"none"``)."""
        key, actor = v.occurrence_key(key), v.actor(actor)

        def view(state: OccurrenceState, now: datetime | None) -> str:
            seat_state = state.state_at(actor, now)
            if seat_state in (SeatState.HELD, SeatState.CONFIRMED):
                return str(seat_state)
            return "none"

        return await self._read(key, view)

    async def roster(self, key: str) -> list[str]:
        key = v.occurrence_key(key)
        return await self._read(key, lambda s, now: [m.actor for m in s.roster_at(now)])

    async def seats(self, key: str) -> list[SeatRecord]:
        key = v.occurrence_key(key)
        return await self._read(key, _seat_records)

    async def seats_left(self, key: str) -> int:
        key = v.occurrence_key(key)
        return await self._read(key, lambda s, now: max(0, s.capacity - s.occupied_at(now)))

    async def occurrence(self, key: str) -> OccurrenceRecord:
        key = v.occurrence_key(key)
        return await self._read(key, lambda s, now: record(key, s, now))

    async def occurrences(self, *, include_archived: bool = False) -> list[OccurrenceRecord]:
        """Every occurrence by key; archived ones only with ``include_archived=True``."""
        records = [view.record for view in await self.views(rows=False)]
        return [r for r in records if include_archived or not r.archived]

    async def find(
        self, text: str, *, include_archived: bool = False
    ) -> list[tuple[str, SeatRecord]]:
        """Every seated party whose actor contains ``text`` or whose ref is ``text`` (SPEC §4.2).

        Soonest occurrence first (undated ones last), each occurrence's parties in roster
        order. It folds only the streams the store says mention the text
        (``store.ledger.catalog``), never the whole season.
        """
        needle = Needle(v.text(text, "text"))
        candidates = await self._catalog.candidates(needle, include_archived=include_archived)
        clock = await self.now()
        found: list[tuple[str, SeatRecord]] = []
        for key, state in candidates:
            found.extend((key, row) for row in at_instant(state, state.at(clock), needle.rows))
        return found

    # -- the read boundary: frozen views and the change feed --------------------------------

    async def view(self, key: str, *, rows: bool = True) -> OccurrenceView:
        """The occurrence now: its record, its rows (``rows=False`` skips them), next lapse."""
        key = v.occurrence_key(key)
        return await self._read(key, lambda s, now: occurrence_view(key, s, now, rows=rows))

    async def views(self, *, rows: bool = False) -> list[OccurrenceView]:
        """Every occurrence's view, by key (streams without ``created`` are left out).

        Archived ones are included; without rows, summaries answer (``store.ledger.house``).
        """
        if not rows and self._lanes.snapshots:
            return await house_lines(self._lanes, self._caller, await self.now())
        found = []
        for stream in await self.store.streams(STREAM_PREFIX):
            try:  # a stream that never got a `created` event, or a foreign name, is left out
                found.append(await self.view(stream[len(STREAM_PREFIX) :], rows=rows))
            except (UnknownOccurrence, InvalidInput):
                continue
        return found

    async def offers(self, key: str, after_seq: int = 0) -> list[DerivedOffer]:
        """Offers the fold derived after event ``after_seq`` or later, up to now (SPEC §4.5).

        No event holds an offer, so the event log learns of them here; an offer at the
        last seq may be this read's own play-out to now (read again from there).
        """
        key = v.occurrence_key(key)
        if type(after_seq) is not int or after_seq < 0:
            raise InvalidInput("after_seq", "must be a whole number, 0 or more")
        return await self._read(key, lambda s, now: offers_since(s, after_seq))

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
        return await self._lanes.matches_full_fold(self._caller, key)


async def _now_of(store: EventStore, clock: Clock | None) -> datetime:
    if clock is not None:
        return _aware(clock())
    return _aware(await store.server_now() or datetime.now(UTC))


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
