"""The write path: per-occurrence lanes, group commit and the retry after a lost race.

Within one process, commands on the same occurrence queue in a lane and are
decided one after another against the live folded state, then committed
together: one transaction and one fsync for a burst of holds (group commit).
Writers in other processes still race through the database's optimistic check:
every batch is appended with ``append_many_expect`` at the seq it was decided on,
and a lost race is decided again (jittered exponential backoff, until each
command's deadline).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

from store.eventstore.contract import EventStore
from store.eventstore.errors import StoreBusy, StoreError
from store.eventstore.events import Conflict, Event, NewEvent
from store.ledger import cached
from store.ledger.cold_rows import DamagedSnapshot
from store.ledger.decide import Decide, UnknownOccurrence
from store.ledger.fold import OccurrenceState, fold, stream_of
from store.ledger.outcomes import Outcome, Status
from store.ledger.provenance import event_meta
from store.ledger.requests import Request, request_meta
from store.ledger.summary import Summary, of_state

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Caller:
    """One ledger's side of a command or a read: its store, clocks, name and patience.

    The lanes may serve several ledgers at once (``store.ledger.shared``); what
    each does through them goes through its own store and clock.
    """

    store: EventStore
    now: Callable[[], Awaitable[datetime]]
    write_now: Callable[[], Awaitable[datetime]]
    operator: str
    deadline: float


@dataclass(slots=True)
class _Pending:
    caller: Caller
    actor: str | None
    decide: Decide
    future: asyncio.Future[Any]
    deadline: float
    attempts: int = 0
    request: Request | None = None


@dataclass(slots=True)
class _Lane:
    """One occurrence's queue of commands and the lock that guards its state."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    pending: deque[_Pending] = field(default_factory=deque)
    drainer: asyncio.Task[None] | None = None
    #: reads asked so far, and how many had been asked when the last completed
    #: catch-up of a read began reading: a read asked before that saw all it must
    asked: int = 0
    covered: int = 0
    #: the last look at the stream found nothing this process had not written: the
    #: next batch is decided on the state held, without a read (the append checks it)
    quiet: bool = False


class Lanes:
    """The folded state of every occurrence its ledgers have touched, and its write queues.

    Every read and command comes with its ``Caller``: the store it goes through, the
    clock it is read at (``now``) or decided and stamped at (``write_now``, which may
    refuse to write: ``store.ledger.clock_check``, failing the batch unwritten), the
    operator recorded on its events, and the seconds it keeps retrying before
    answering ``conflict``. A batch goes through its first command's store and clock.

    Args:
        max_batch: most commands committed in one transaction.
        database: the ``database_key`` of every store these lanes serve when they are
            shared (``store.ledger.shared``); a command through a store that no longer
            has it (closed) is refused, not written through another's.
    """

    def __init__(
        self, max_batch: int, snapshots: bool = True, *, database: Hashable | None = None
    ) -> None:
        self.max_batch = max_batch
        self.database = database
        self._states: dict[str, OccurrenceState] = {}
        #: whether cold starts load and leave snapshots, and the house reads and leaves
        #: summaries (off: every stream folds from seq 1, as before either cache)
        self.snapshots = snapshots
        self._snapshotted: set[str] | None = None  # streams with a snapshot (asked once)
        self._lanes: dict[str, _Lane] = {}

    def _lane(self, key: str) -> _Lane:
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = _Lane()
        return lane

    async def _catch_up(
        self, store: EventStore, key: str, head: int | None = None, *, current: bool = False
    ) -> OccurrenceState:
        """Apply the events committed since this ledger last looked (caller holds the lane lock).

        ``head``: the stream's last seq as the caller just read it; a state already
        there is not read again. ``current``: the state is known to be as new as the
        caller needs (a catch-up began since it asked), so nothing is read.

        The first look starts from the stream's snapshot where one is usable
        (``store.ledger.cached``); a look that folded ``SNAPSHOT_EVERY`` events or
        more leaves a new one for the next terminal, so the cost of a cold start
        is paid once per that many events, not by every terminal.
        """
        state = self._states.get(key)
        fresh = False
        if state is None:
            if self.snapshots:
                if self._snapshotted is None:
                    self._snapshotted = await cached.known(store)
                state, folded = await cached.load(store, stream_of(key), self._snapshotted)
                fresh = True  # that load read the stream to its end a moment ago
            else:
                state, folded = OccurrenceState(stream_of(key)), 0
            self._states[key] = state
        else:
            folded = 0
        fresh = fresh or current or (head is not None and state.seq >= head)
        events = [] if fresh else await store.read(state.stream, after_seq=state.seq)
        if not fresh:
            self._lane(key).quiet = not events
        for event in events:
            state.apply(event)
        folded += len(events)
        if self.snapshots and folded >= cached.SNAPSHOT_EVERY:
            await cached.save(store, state)
            if self._snapshotted is not None:
                self._snapshotted.add(state.stream)
        return state

    # -- reads -------------------------------------------------------------------------

    def _forget(self, key: str) -> None:
        """A lazily loaded snapshot row did not decode: fold this stream from its log.

        The state is dropped and the stream's snapshot no longer trusted by this
        ledger; the next catch-up folds from seq 1 and, on a long stream, leaves a
        sound snapshot in its place.
        """
        self._states.pop(key, None)
        self._lane(key).quiet = False
        if self._snapshotted is not None:
            self._snapshotted.discard(stream_of(key))

    async def read(
        self, caller: Caller, key: str, view: Callable[[OccurrenceState, datetime | None], T]
    ) -> T:
        """``view(state, now)`` on the caught-up state, under the lane lock.

        Views must copy what they return: the state goes on changing after the lock
        is released (``store.ledger.views`` builds frozen records).
        """
        lane = self._lane(key)
        ticket, lane.asked = lane.asked, lane.asked + 1
        async with lane.lock:
            try:
                # readers queued on the lock behind one catch-up share it: every event
                # committed before they asked was committed before it read
                current = lane.covered > ticket and key in self._states
                started = lane.asked
                state = await self._catch_up(caller.store, key, current=current)
                if not current:
                    lane.covered = max(lane.covered, started)
                now = await caller.now()
                if not state.created:
                    raise UnknownOccurrence(key)
                return at_instant(state, state.at(now), view)
            except DamagedSnapshot:
                self._forget(key)
            state = await self._catch_up(caller.store, key)
            if not state.created:
                raise UnknownOccurrence(key)
            return at_instant(state, state.at(await caller.now()), view)

    async def read_with_summary(
        self,
        caller: Caller,
        key: str,
        head: int,
        clock: datetime,
        view: Callable[[OccurrenceState, datetime | None], T],
    ) -> tuple[T | None, Summary]:
        """``view`` as ``read`` gives it at ``clock`` (None: no ``created``), and the summary
        of the committed state it was taken on, for the house (``store.ledger.house``).

        ``head`` is the stream's last seq from the house's one query: a state already
        at it costs no read.
        """
        lane = self._lane(key)
        async with lane.lock:
            for last_try in (False, True):
                try:
                    state = await self._catch_up(caller.store, key, head)
                    summary = of_state(state)  # the lock is held: no tentative decision
                    if not state.created:
                        return None, summary
                    return at_instant(state, state.at(clock), view), summary
                except DamagedSnapshot:
                    if last_try:
                        raise
                    self._forget(key)
        raise AssertionError("unreachable")

    async def matches_full_fold(self, caller: Caller, key: str) -> bool:
        lane = self._lane(key)
        async with lane.lock:
            try:
                state = await self._catch_up(caller.store, key)
                full = fold(await caller.store.read(state.stream), state.stream)
                return full.canonical() == state.canonical()
            except DamagedSnapshot:
                self._forget(key)
                return False  # the state this ledger held was not the log's fold

    # -- the write path ------------------------------------------------------------------

    async def command(
        self,
        caller: Caller,
        key: str,
        actor: str | None,
        decide: Decide,
        request: Request | None = None,
    ) -> Any:
        """Queue ``decide``; with a ``request``, a stream that holds its id replays instead."""
        if self.database is not None and caller.store.database_key() != self.database:
            raise StoreError(f"{caller.store.url}: the store is closed")
        lane = self._lane(key)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        deadline = time.monotonic() + caller.deadline
        lane.pending.append(_Pending(caller, actor, decide, future, deadline, request=request))
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
            busy: str | None = None
            try:
                async with lane.lock:
                    if round_:
                        decided, written = await self._decide_in_transaction(key, batch)
                    else:
                        decided, written = await self._decide_and_append(key, batch)
            except DamagedSnapshot:
                self._forget(key)  # decided again on a fold of the log: nothing was written
                continue
            except StoreBusy as exc:
                # another process held the write lock all along: nothing was written,
                # so this is one more lost round, not a crash (SPEC §1, §3); the answer
                # says who held it (issue 12 row 9)
                written, busy = None, exc.reason
            except BaseException as exc:
                # the error is the store's the batch went through (closed, full, a clock
                # refused): its own commands get it, the others go on through theirs
                used = batch[0].caller.store
                for pending in batch:
                    if not pending.future.done() and (
                        pending.caller.store is used or not isinstance(exc, Exception)
                    ):
                        pending.future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
                batch = [p for p in batch if p.caller.store is not used]
                continue
            if written is not None and not isinstance(written, Conflict):
                for pending, result in decided:
                    _settle(pending, result)
                return
            actual = written.actual if isinstance(written, Conflict) else None
            retry = []
            for pending in batch:
                if time.monotonic() >= pending.deadline:
                    reason = busy or (
                        "other writers changed the occurrence on every try for "
                        f"{pending.caller.deadline:g} s"
                    )
                    lost = Outcome(
                        Status.CONFLICT, actor=pending.actor, actual=actual, reason=reason
                    )
                    _settle(pending, lost)
                else:
                    retry.append(pending)
            batch = retry
            round_ += 1
            # full jitter: racing writers spread out instead of colliding again in step
            await asyncio.sleep(random.uniform(0, min(0.1, 0.002 * 2**round_)))

    async def _decide_and_append(
        self, key: str, batch: list[_Pending]
    ) -> tuple[list[tuple[_Pending, Any]], list[Event] | Conflict]:
        """Decide on the caught-up state and append at its seq.

        When the last look found no other writer (``_Lane.quiet``), the batch is
        decided on the state held, unread: the append at its seq is the look, and
        a stream that moved refuses it. A guess that missed, or that would answer
        without writing (a refusal must come from a look), is undone and decided
        again after a read, not counted as an attempt: a lone writer's hold costs
        one trip to the database, not two.
        """
        caller = batch[0].caller
        guess = self._lane(key).quiet
        state = await self._catch_up(caller.store, key, current=guess)
        now = state.at(await caller.write_now())
        base = state.seq
        state.begin()
        try:
            decided, new = self._decide_batch(state, batch, now)
            written: list[Event] | Conflict = []
            if new:
                written = await caller.store.append_many_expect(
                    state.stream,
                    base,
                    new,
                    timeout=min(p.deadline for p in batch) - time.monotonic(),
                )
        except BaseException:
            state.rollback()
            raise
        if isinstance(written, Conflict) or not new:
            state.rollback()  # nothing written: what was played out up to now is undone
            if guess:
                self._lane(key).quiet = False
                for pending in batch:
                    pending.attempts -= 1
                return await self._decide_and_append(key, batch)
        else:
            state.commit()
        return decided, written

    def _decide_batch(
        self, state: OccurrenceState, batch: list[_Pending], now: datetime | None
    ) -> tuple[list[tuple[_Pending, Any]], list[NewEvent]]:
        """Decide each command in turn, applying its events tentatively (caller began).

        A command whose request id the stream already holds (this batch's own
        events included) is answered from the log before any rule: SPEC §4.6.
        """
        metas: dict[str, dict[str, Any]] = {}
        state.advance(now)  # lapses and offers up to now, as the fold will see them at now
        decided: list[tuple[_Pending, Any]] = []
        new: list[NewEvent] = []
        for pending in batch:
            pending.attempts += 1
            request = pending.request
            try:
                replayed = state.requests.replay(request) if request is not None else None
                if replayed is not None:
                    decided.append((pending, replayed))
                    continue
                result, events = pending.decide(state, now)
            except DamagedSnapshot:
                raise  # the state's, not the command's: the batch is decided again
            except Exception as exc:  # one command's failure is its own, not its batch's
                decided.append((pending, exc))
                continue
            operator = pending.caller.operator
            meta = metas.get(operator)
            if meta is None:
                meta = metas[operator] = event_meta(operator, now) if now is not None else {}
            answers = result if isinstance(result, list) else [result] * len(events)
            for (type_, data), answer in zip(events, answers, strict=True):
                own: dict[str, Any] = meta
                if request is not None:
                    own = {**meta, "request": request_meta(request, answer)}
                state.apply_next(state.seq + 1, type_, data, own)
                new.append(NewEvent(type_, data, own))
            decided.append((pending, result))
        return decided, new

    async def _decide_in_transaction(
        self, key: str, batch: list[_Pending]
    ) -> tuple[list[tuple[_Pending, Any]], list[Event]]:
        """A retry after a lost race, decided inside the append's own transaction.

        The events that beat this batch are folded, and the batch is decided under
        the write lock on the stream as it stands: it cannot lose again to a writer
        on this file. Without this, the process that just won decides its
        next batch on a state that is already current while every loser must
        read first, so one process kept winning nearly every round of a hot race.
        """
        # What beat the last round is read and folded here, outside the write turn:
        # inside it, only what was committed since is folded before the batch is
        # decided. (Deciding here as well, to skip the decision inside when nothing
        # came since, saved nothing measurable: in a hot race something always has.)
        caller = batch[0].caller
        state = await self._catch_up(caller.store, key)
        clock = await caller.write_now()
        decided: list[tuple[_Pending, Any]] = []
        began = False

        def decide(tail: list[Event]) -> list[NewEvent]:
            # runs inside the store's write transaction while this task holds the lane lock
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
            written = await caller.store.append_decided(
                state.stream,
                state.seq,
                decide,
                timeout=min(p.deadline for p in batch) - time.monotonic(),
            )
        except asyncio.CancelledError:
            # the transaction may still be running (a backend finishes a transaction
            # it began) and touching this state: forget it, and the next command
            # refolds from the log
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
        if written:
            state.commit()
        else:
            state.rollback()
        return decided, written


def at_instant(
    state: OccurrenceState, now: datetime | None, view: Callable[[OccurrenceState, Any], T]
) -> T:
    """``view`` of the state as of ``now``: lapses and offers played out, then undone.

    A read's clock is not in the log, so what it plays out must not stay; the undo
    costs what was played out (bounded by the waiting list), never the history.
    """
    state.begin()
    try:
        state.advance(now)
        return view(state, now)
    finally:
        state.rollback()


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
