"""The booking ledger: capacity-safe commands and reads over one stream per occurrence.

Every write is decided on a snapshot of the folded state and appended with
``append_many_expect`` at that snapshot's seq; if another writer moved the stream
first, the snapshot is refreshed and the decision taken again (jittered
exponential backoff, until a deadline). Within one process, commands on the same
occurrence queue in a lane and are decided one after another against the live
state, then committed together: one transaction and one fsync for a burst of
holds (group commit), while writers in other processes still race through the
database's optimistic check.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar, runtime_checkable

from store import validation as v
from store.base import EventStore
from store.errors import StoreBusy
from store.events import Conflict, Event, NewEvent
from store.fold import STREAM_PREFIX, OccurrenceState, SeatState, fold, stream_of
from store.outcomes import OccurrenceRecord, Outcome, SeatRecord, Status
from store.terminal import default_operator, event_meta
from store.validation import InvalidInput

__all__ = [
    "InvalidInput",
    "Ledger",
    "OccurrenceRecord",
    "Outcome",
    "SeatRecord",
    "Status",
    "UnknownOccurrence",
]

T = TypeVar("T")
Clock = Callable[[], datetime]
Decision = tuple[Any, list[tuple[str, dict[str, Any]]]]
Decide = Callable[[OccurrenceState, "datetime | None"], Decision]


@runtime_checkable
class DecidesInTransaction(Protocol):
    """A store that can run a decision inside its write transaction (SQLite does)."""

    async def append_decided(
        self,
        stream: str,
        after_seq: int,
        decide: Callable[[list[Event]], Sequence[NewEvent]],
        *,
        timeout: float | None = None,
    ) -> list[Event]: ...


class UnknownOccurrence(LookupError):
    """No occurrence has that key (nothing was written)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"no occurrence {key!r}")
        self.key = key


@dataclass(slots=True)
class _Pending:
    actor: str | None
    decide: Decide
    future: asyncio.Future[Any]
    deadline: float
    attempts: int = 0


@dataclass(slots=True)
class _Lane:
    """One occurrence's queue of commands and the lock that guards its state."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    pending: deque[_Pending] = field(default_factory=deque)
    drainer: asyncio.Task[None] | None = None


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
        self._states: dict[str, OccurrenceState] = {}
        self._lanes: dict[str, _Lane] = {}

    # -- time ------------------------------------------------------------------

    async def now(self) -> datetime:
        """The ledger's clock: injected, else the database server's, else UTC now."""
        if self._clock is not None:
            moment = self._clock()
        else:
            moment = await self.store.server_now() or datetime.now(UTC)
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)

    # -- state -----------------------------------------------------------------

    def _lane(self, key: str) -> _Lane:
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _Lane()
        return lane

    async def _catch_up(self, key: str) -> OccurrenceState:
        """Apply the events committed since this ledger last looked (caller holds the lane lock)."""
        state = self._states.get(key)
        if state is None:
            state = self._states[key] = OccurrenceState(stream_of(key))
        for event in await self.store.read(state.stream, after_seq=state.seq):
            state.apply(event)
        return state

    async def _read(self, key: str, view: Callable[[OccurrenceState, datetime | None], T]) -> T:
        lane = self._lane(key)
        async with lane.lock:
            state = await self._catch_up(key)
            if not state.created:
                raise UnknownOccurrence(key)
            return view(state, state.at(await self.now()))

    # -- the write path ----------------------------------------------------------

    async def _command(self, key: str, actor: str | None, decide: Decide) -> Any:
        lane = self._lane(key)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        lane.pending.append(_Pending(actor, decide, future, time.monotonic() + self.deadline))
        if lane.drainer is None:
            lane.drainer = asyncio.create_task(self._drain(key, lane))
        return await future

    async def _drain(self, key: str, lane: _Lane) -> None:
        try:
            while lane.pending:
                batch: list[_Pending] = []
                while lane.pending and len(batch) < self.max_batch:
                    pending = lane.pending.popleft()
                    if not pending.future.done():
                        batch.append(pending)
                await self._commit_batch(key, lane, batch)
        finally:
            lane.drainer = None

    async def _commit_batch(self, key: str, lane: _Lane, batch: list[_Pending]) -> None:
        round_ = 0
        while batch:
            written: list[Event] | Conflict | None
            try:
                async with lane.lock:
                    if round_ and isinstance(self.store, DecidesInTransaction):
                        decided, written = await self._decide_in_transaction(self.store, key, batch)
                    else:
                        decided, written = await self._decide_and_append(key, batch)
            except StoreBusy:
                # another process held the write lock all along: nothing was written,
                # so this is one more lost round, not a crash (SPEC §1, §3)
                written = None
            except BaseException as exc:
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                return
            if written is not None and not isinstance(written, Conflict):
                for pending, result in decided:
                    _settle(pending, result)
                return
            actual = written.actual if isinstance(written, Conflict) else None
            retry = []
            for pending in batch:
                if time.monotonic() >= pending.deadline:
                    _settle(pending, Outcome(Status.CONFLICT, actor=pending.actor, actual=actual))
                else:
                    retry.append(pending)
            batch = retry
            round_ += 1
            # full jitter: racing writers spread out instead of colliding again in step
            await asyncio.sleep(random.uniform(0, min(0.1, 0.002 * 2**round_)))

    async def _decide_and_append(
        self, key: str, batch: list[_Pending]
    ) -> tuple[list[tuple[_Pending, Any]], list[Event] | Conflict]:
        state = await self._catch_up(key)
        now = state.at(await self.now())
        base = state.seq
        state.begin()
        try:
            decided, new = self._decide_batch(state, batch, now)
            written: list[Event] | Conflict = (
                await self.store.append_many_expect(
                    state.stream,
                    base,
                    new,
                    timeout=min(p.deadline for p in batch) - time.monotonic(),
                )
                if new
                else []
            )
        except BaseException:
            state.rollback()
            raise
        if isinstance(written, Conflict):
            state.rollback()
        else:
            state.commit()
        return decided, written

    def _decide_batch(
        self, state: OccurrenceState, batch: list[_Pending], now: datetime | None
    ) -> tuple[list[tuple[_Pending, Any]], list[NewEvent]]:
        """Decide each command in turn, applying its events tentatively (caller began)."""
        meta = event_meta(self.operator, now) if now is not None else {}
        decided: list[tuple[_Pending, Any]] = []
        new: list[NewEvent] = []
        for pending in batch:
            pending.attempts += 1
            try:
                result, events = pending.decide(state, now)
            except Exception as exc:  # one command's failure is its own, not its batch's
                decided.append((pending, exc))
                continue
            for type_, data in events:
                state.apply(Event(state.stream, state.seq + 1, 0, type_, data, meta))
                new.append(NewEvent(type_, data, meta))
            decided.append((pending, result))
        return decided, new

    async def _decide_in_transaction(
        self, store: DecidesInTransaction, key: str, batch: list[_Pending]
    ) -> tuple[list[tuple[_Pending, Any]], list[Event]]:
        """A retry after a lost race, decided inside the append's own transaction.

        The events that beat this batch are read under the write lock and folded
        in, and the batch is decided on that state: it cannot lose again to a
        writer on this file. Without this, the process that just won decides its
        next batch on a state that is already current while every loser must
        read first, so one process kept winning nearly every round of a hot race.
        """
        state = self._states.get(key)
        if state is None:
            state = await self._catch_up(key)
        clock = await self.now()
        decided: list[tuple[_Pending, Any]] = []
        began = False

        def decide(tail: list[Event]) -> list[NewEvent]:
            # runs on the store's writer thread while this task holds the lane lock
            nonlocal decided, began
            if began:  # the transaction is being run again after a busy error
                state.rollback()
                began = False
            for event in tail:
                if event.seq > state.seq:
                    state.apply(event)
            state.begin()
            began = True
            decided, new = self._decide_batch(state, batch, state.at(clock))
            return new

        try:
            written = await store.append_decided(
                state.stream,
                state.seq,
                decide,
                timeout=min(p.deadline for p in batch) - time.monotonic(),
            )
        except asyncio.CancelledError:
            # the transaction may still be running on the writer thread and touching
            # this state: forget it, and the next command refolds from the log
            if self._states.get(key) is state:
                del self._states[key]
            raise
        except BaseException:
            if began:
                state.rollback()
            else:  # the write lock never came: still an attempt, as on the optimistic path
                for pending in batch:
                    pending.attempts += 1
            raise
        state.commit()
        return decided, written

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

        def decide(state: OccurrenceState, now: datetime | None) -> Decision:
            if state.created:
                return Outcome(Status.EXISTS, capacity=state.capacity), []
            data = {
                "title": title,
                "starts_at": starts,
                "capacity": capacity,
                "hold_ttl_s": ttl.total_seconds() if ttl is not None else None,
            }
            return Outcome(Status.CREATED, capacity=capacity), [("created", data)]

        return await self._command(key, None, decide)

    async def set_capacity(self, key: str, capacity: int) -> Outcome:
        key = v.occurrence_key(key)
        capacity = v.capacity(capacity)

        def decide(state: OccurrenceState, now: datetime | None) -> Decision:
            _require(state, key)
            return (
                Outcome(Status.CAPACITY_SET, capacity=capacity),
                [("capacity", {"capacity": capacity})],
            )

        return await self._command(key, None, decide)

    async def book(self, key: str, actor: str) -> Outcome:
        key, actor = v.occurrence_key(key), v.actor(actor)
        return await self._command(key, actor, _acquire(key, actor, "booking", None))

    async def hold(self, key: str, actor: str, ttl: timedelta | None = None) -> Outcome:
        key, actor = v.occurrence_key(key), v.actor(actor)
        ttl = v.ttl(ttl) if ttl is not None else None
        return await self._command(key, actor, _acquire(key, actor, "hold", ttl))

    async def confirm(self, key: str, actor: str) -> Outcome:
        key, actor = v.occurrence_key(key), v.actor(actor)

        def decide(state: OccurrenceState, now: datetime | None) -> Decision:
            _require(state, key)
            seat_state = state.state_at(actor, now)
            member = state.members.get(actor)
            if seat_state is SeatState.HELD:
                seat = state.seat_at(actor, now)
                return Outcome(Status.CONFIRMED, actor, seat=seat), [("confirm", {"actor": actor})]
            if seat_state is SeatState.CONFIRMED:
                return Outcome(Status.ALREADY_CONFIRMED, actor, seat=state.seat_at(actor, now)), []
            if seat_state is SeatState.LAPSED and member is not None:
                outcome = Outcome(Status.EXPIRED, actor, expires_at=member.expires_at)
                if member.state is SeatState.LAPSED and member.lapse_recorded:
                    return outcome, []
                return outcome, [("expire", {"actor": actor})]
            return Outcome(Status.NOT_HELD, actor), []

        return await self._command(key, actor, decide)

    async def release(self, key: str, actor: str) -> Outcome:
        key, actor = v.occurrence_key(key), v.actor(actor)

        def decide(state: OccurrenceState, now: datetime | None) -> Decision:
            _require(state, key)
            seat_state = state.state_at(actor, now)
            if seat_state is SeatState.HELD:
                return Outcome(Status.RELEASED, actor), [("release", {"actor": actor})]
            # a confirmed actor keeps its seat (it gives it up with cancel), and says so
            seat = state.seat_at(actor, now) if seat_state is SeatState.CONFIRMED else None
            return Outcome(Status.NOT_HELD, actor, seat=seat), []

        return await self._command(key, actor, decide)

    async def cancel(self, key: str, actor: str) -> Outcome:
        key, actor = v.occurrence_key(key), v.actor(actor)

        def decide(state: OccurrenceState, now: datetime | None) -> Decision:
            _require(state, key)
            if state.state_at(actor, now) in (SeatState.HELD, SeatState.CONFIRMED):
                return Outcome(Status.CANCELLED, actor), [("cancel", {"actor": actor})]
            return Outcome(Status.NOT_BOOKED, actor), []

        return await self._command(key, actor, decide)

    async def expire_holds(self, key: str) -> list[Outcome]:
        """Write one `expire` event per lapse not yet recorded, in join order."""
        key = v.occurrence_key(key)

        def decide(state: OccurrenceState, now: datetime | None) -> Decision:
            _require(state, key)
            lapses = state.unrecorded_lapses(now)
            outcomes = [Outcome(Status.EXPIRED, m.actor, expires_at=m.expires_at) for m in lapses]
            return outcomes, [("expire", {"actor": m.actor}) for m in lapses]

        return await self._command(key, None, decide)

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
        capacity, hold_ttl_s, now = await self._read(
            key, lambda s, now: (s.capacity, s.hold_ttl_s, now)
        )
        if actor in observed:
            return Outcome(Status.ALREADY, actor, seat=observed.index(actor) + 1)
        if len(observed) >= capacity:
            return Outcome(Status.FULL, actor, capacity=capacity)
        expires = _expiry(now, ttl, hold_ttl_s) if kind == "hold" else None
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
        return await self._read(key, lambda s, now: _record(key, s, now))

    async def occurrences(self) -> list[OccurrenceRecord]:
        records = []
        for stream in await self.store.streams(STREAM_PREFIX):
            key = stream[len(STREAM_PREFIX) :]
            try:
                records.append(await self.occurrence(key))
            except (UnknownOccurrence, InvalidInput):
                continue  # a stream that never got a `created` event, or a foreign name
        return records

    async def snapshot(self, key: str, view: Callable[[OccurrenceState, datetime | None], T]) -> T:
        """Run ``view(state, now)`` on the caught-up state, for readers beyond this API."""
        key = v.occurrence_key(key)
        return await self._read(key, view)

    async def matches_full_fold(self, key: str) -> bool:
        """Whether the incremental state equals a refold of the whole stream."""
        key = v.occurrence_key(key)
        lane = self._lane(key)
        async with lane.lock:
            state = await self._catch_up(key)
            full = fold(await self.store.read(state.stream), state.stream)
            return full.canonical() == state.canonical()


# -- decisions (pure functions of the state and the instant) ------------------------------


def _require(state: OccurrenceState, key: str) -> None:
    if not state.created:
        raise UnknownOccurrence(key)


def _expiry(
    now: datetime | None, ttl: timedelta | None, default_s: float | None
) -> datetime | None:
    if now is None:
        return None
    if ttl is not None:
        return now + ttl
    if default_s is not None:
        return now + timedelta(seconds=default_s)
    return None


def _acquire(key: str, actor: str, kind: str, ttl: timedelta | None) -> Decide:
    """A booking or hold: `already` if seated, `full` if no seat is free at ``now``."""

    def decide(state: OccurrenceState, now: datetime | None) -> Decision:
        _require(state, key)
        seat_state = state.state_at(actor, now)
        if seat_state in (SeatState.HELD, SeatState.CONFIRMED):
            member = state.members[actor]
            return Outcome(
                Status.ALREADY, actor, seat=state.seat_at(actor, now), expires_at=member.expires_at
            ), []
        occupied = state.occupied_at(now)
        if occupied >= state.capacity:
            return Outcome(Status.FULL, actor, capacity=state.capacity), []
        if kind == "booking":
            return Outcome(Status.BOOKED, actor, seat=occupied + 1), [("booking", {"actor": actor})]
        expires = _expiry(now, ttl, state.hold_ttl_s)
        data = {"actor": actor, "expires_at": expires.isoformat() if expires else None}
        return Outcome(Status.HELD, actor, seat=occupied + 1, expires_at=expires), [("hold", data)]

    return decide


def _settle(pending: _Pending, result: Any) -> None:
    if pending.future.done():
        return  # the caller gave up waiting; what was decided is committed regardless
    if isinstance(result, BaseException):
        pending.future.set_exception(result)
    elif isinstance(result, Outcome) and pending.attempts != 1:
        pending.future.set_result(replace(result, attempts=pending.attempts))
    elif isinstance(result, list) and pending.attempts != 1:
        pending.future.set_result([replace(o, attempts=pending.attempts) for o in result])
    else:
        pending.future.set_result(result)


def _seat_records(state: OccurrenceState, now: datetime | None) -> list[SeatRecord]:
    return [
        SeatRecord(i, m.actor, str(m.state), m.joined_at, m.expires_at, m.operator)
        for i, m in enumerate(state.roster_at(now), start=1)
    ]


def _record(key: str, state: OccurrenceState, now: datetime | None) -> OccurrenceRecord:
    lapsing = len(state.lapsing(now))
    held = state.held - lapsing
    occupied = held + state.confirmed
    return OccurrenceRecord(
        key=key,
        title=state.title,
        starts_at=state.starts_at,
        capacity=state.capacity,
        hold_ttl=timedelta(seconds=state.hold_ttl_s) if state.hold_ttl_s is not None else None,
        occupied=occupied,
        held=held,
        confirmed=state.confirmed,
        seats_left=max(0, state.capacity - occupied),
        seq=state.seq,
    )
