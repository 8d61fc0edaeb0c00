"""Simulated racers: many would-be audience members rushing one occurrence at once.

Why this exists: to show an audience, and give QA a load to aim, that capacity
holds when writers in different OS processes race on one database. Racers are
asyncio tasks spread over P processes started with ``spawn``; each racer has its
own ``Ledger`` (its own folded state and its own decisions) on its own store
connection, unless the process would run out of file descriptors, in which case
racers in that process share stores round-robin (``RaceSummary.stores`` says how
many there were). On PostgreSQL the stores of one process share one connection
pool (``store.postgres``), so there the racers of a process share its connections.

A racer drives ``Ledger.hold_with_observed`` itself instead of calling
``Ledger.hold``, so that every attempt and every conflict is visible as it
happens: it reads the roster and the stream's last seq, decides against that
snapshot, and appends at that seq; when another writer got there first it gets a
``conflict`` (expected vs actual seq), backs off with full jitter and reads again.
With churn, a racer that got a hold then confirms or releases it through the
ledger's own retrying commands (their retries are counted from
``Outcome.attempts``, not shown one by one). A racer told ``full`` is done, even
if a seat frees later under churn: "full" was true of the snapshot it decided on.

The child processes send ``RacerEvent`` batches to the parent over a pipe; the
parent (``Race``) tallies them, yields them to whoever watches, and at the end
verifies the run from the stream alone (``verify``). Nothing here imports a user
interface.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import random
import secrets
import signal
import sys
import threading
import time
import traceback
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from multiprocessing.connection import Connection, wait
from typing import Any

from store.booking import Ledger, OccurrenceRecord, Status, UnknownOccurrence
from store.check import StreamReport, check_stream
from store.errors import StoreBusy
from store.events import Event
from store.fold import OccurrenceState, SeatState, stream_of
from store.opening import open_store
from store.validation import InvalidInput
from store.validation import occurrence_key as _valid_key
from store.validation import text as _valid_text

__all__ = [
    "CapacityMismatch",
    "Invariant",
    "Kind",
    "Race",
    "RaceError",
    "RacePlan",
    "RaceSummary",
    "RacerEvent",
    "RacerRecord",
    "Tally",
    "Verdict",
    "new_seed",
    "prepare_occurrence",
    "run_race",
    "verify",
]

MAX_RACERS = 10_000
MAX_PROCESSES = 64
#: Backoff after the n-th conflict in a row: uniform(0, min(cap, base * 2**n)) seconds.
BACKOFF_BASE = 0.002
BACKOFF_CAP = 0.05
#: With churn, a winner waits up to this long before confirming or releasing.
CHURN_THINK = 0.05
_FLUSH_EVERY = 0.02
_FLUSH_SIZE = 256
_FDS_PER_STORE = 8  # two SQLite connections (db, wal, shm each) and the write-turn lock file


class RaceError(Exception):
    """The race could not be set up or run; the message is one line for a person."""


class CapacityMismatch(RaceError):
    """The occurrence exists with another capacity than the one asked for."""


class Kind(StrEnum):
    """What a racer just did or learned."""

    ATTEMPT = "attempt"
    CONFLICT = "conflict"
    RETRY = "retry"
    HELD = "held"
    FULL = "full"
    ALREADY = "already"
    GAVE_UP = "gave-up"
    CONFIRMED = "confirmed"
    RELEASED = "released"
    ERROR = "error"


#: Kinds that end a racer's try for a seat.
DECIDED = frozenset({Kind.HELD, Kind.FULL, Kind.ALREADY, Kind.GAVE_UP, Kind.ERROR})


@dataclass(frozen=True, slots=True)
class RacerEvent:
    """One step of one racer, reported as it happens.

    ``at`` is ``time.monotonic()`` in the racer's process; on Linux (and macOS)
    that clock is system-wide, so instants from different processes compare.
    """

    kind: Kind
    racer: int
    actor: str
    process: int
    at: float
    attempt: int = 0
    expected: int | None = None  # the seq the racer's snapshot had
    actual: int | None = None  # the stream's seq when the append was refused
    seq: int | None = None  # the seq of the event a success wrote
    seat: int | None = None
    delay: float | None = None  # the backoff before the next attempt
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class RacePlan:
    """Everything that decides a run; the seed fixes actors, placement, order and churn."""

    store_url: str
    occurrence: str
    racers: int
    processes: int
    seed: int
    churn: bool = False
    operator: str = "racer"
    deadline: float = 60.0  # a racer still conflicting after this long gives up

    def __post_init__(self) -> None:
        _valid_key(self.occurrence, "occurrence")
        _valid_text(self.operator, "operator")
        for name, value, top in (
            ("racers", self.racers, MAX_RACERS),
            ("processes", self.processes, MAX_PROCESSES),
        ):
            if type(value) is not int or not 1 <= value <= top:
                raise InvalidInput(name, f"must be a whole number from 1 to {top:,}, not {value!r}")
        if type(self.seed) is not int or self.seed < 0:
            raise InvalidInput("seed", f"must be a whole number, 0 or more (got {self.seed!r})")
        if not self.deadline > 0:
            raise InvalidInput("deadline", "must be a positive number of seconds")

    @property
    def workers(self) -> int:
        """Processes actually started: never more than there are racers."""
        return min(self.processes, self.racers)

    def actor(self, racer: int) -> str:
        """The racer's name: the same seed names the same actors, another seed others."""
        return f"racer-{self.seed:x}-{racer:04d}"

    def placement(self) -> list[list[int]]:
        """Racer numbers per process, in launch order (a seeded shuffle, dealt round-robin)."""
        order = list(range(self.racers))
        random.Random(f"{self.seed}:order").shuffle(order)
        return [order[p :: self.workers] for p in range(self.workers)]

    def churn_choice(self, racer: int) -> str | None:
        """``"confirm"`` or ``"release"`` for a winner under churn, else None."""
        if not self.churn:
            return None
        return random.Random(f"{self.seed}:churn:{racer}").choice(("confirm", "release"))


def new_seed() -> int:
    return secrets.randbits(32)


# -- the parent's view of each racer ---------------------------------------------------------


@dataclass(slots=True)
class RacerRecord:
    """One racer as the parent has heard of it so far."""

    racer: int
    actor: str
    process: int
    state: str = "waiting"  # waiting, retrying, then a Kind of DECIDED, confirmed or released
    attempts: int = 0
    conflicts: int = 0
    retries: int = 0
    seat: int | None = None
    seq: int | None = None  # the seq of its hold
    churn: str | None = None  # "confirmed", "released" or the ledger's other answer
    churn_attempts: int = 0
    detail: str | None = None

    @property
    def decided(self) -> bool:
        return self.state not in ("waiting", "retrying")


@dataclass(slots=True)
class Tally:
    """Running counts of a race, updated event by event (what a live view shows)."""

    racers: list[RacerRecord]
    attempts: int = 0
    conflicts: int = 0
    retries: int = 0
    held: int = 0
    full: int = 0
    already: int = 0
    gave_up: int = 0
    errors: int = 0
    confirmed: int = 0
    released: int = 0
    churn_retries: int = 0
    busy: int = 0  # retries because the database stayed locked past its busy timeout
    last_hold_at: float | None = None  # RacerEvent.at of the latest hold

    @classmethod
    def for_plan(cls, plan: RacePlan) -> Tally:
        records = [RacerRecord(i, plan.actor(i), -1) for i in range(plan.racers)]
        for process, racers in enumerate(plan.placement()):
            for i in racers:
                records[i].process = process
        return cls(records)

    @property
    def decided(self) -> int:
        return self.held + self.full + self.already + self.gave_up + self.errors

    @property
    def max_retries(self) -> int:
        return max((r.retries for r in self.racers), default=0)

    def apply(self, event: RacerEvent) -> RacerRecord:
        record = self.racers[event.racer]
        kind = event.kind
        if kind is Kind.ATTEMPT:
            self.attempts += 1
            record.attempts = event.attempt
        elif kind is Kind.CONFLICT:
            self.conflicts += 1
            record.conflicts += 1
        elif kind is Kind.RETRY:
            self.retries += 1
            record.retries += 1
            record.state = "retrying"
            if event.detail is not None and event.detail.startswith("busy"):
                self.busy += 1
        elif kind in (Kind.CONFIRMED, Kind.RELEASED) or (
            kind is Kind.ERROR and record.state == str(Kind.HELD)
        ):
            record.churn = event.detail or str(kind)
            record.churn_attempts = event.attempt
            self.churn_retries += max(0, event.attempt - 1)
            if kind is Kind.CONFIRMED:
                self.confirmed += 1
                record.state = str(kind)
            elif kind is Kind.RELEASED:
                self.released += 1
                record.state = str(kind)
                record.seat = None
            else:
                self.errors += 1
                record.detail = event.detail
        else:
            record.state = str(kind)
            record.seat = event.seat
            record.seq = event.seq
            record.detail = event.detail
            if kind is Kind.HELD:
                self.held += 1
                self.last_hold_at = max(event.at, self.last_hold_at or event.at)
            elif kind is Kind.FULL:
                self.full += 1
            elif kind is Kind.ALREADY:
                self.already += 1
            elif kind is Kind.GAVE_UP:
                self.gave_up += 1
            else:
                self.errors += 1
        return record


# -- verification from the stream ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Invariant:
    name: str
    ok: bool
    detail: str
    first_seq: int | None = None  # the first offending event, where one is to blame


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the stream says about a run."""

    capacity: int
    occupied: int
    oversold: int
    invariants: list[Invariant]
    report: StreamReport

    @property
    def ok(self) -> bool:
        return all(i.ok for i in self.invariants)

    @property
    def first_seq(self) -> int | None:
        seqs = [i.first_seq for i in self.invariants if not i.ok and i.first_seq is not None]
        return min(seqs) if seqs else None

    def line(self) -> str:
        """``capacity 40 · occupied 40 · oversold 0 ✓``, or the failure and its first seq."""
        head = f"capacity {self.capacity} · occupied {self.occupied} · oversold {self.oversold}"
        if self.ok:
            return head + " ✓"
        failed = next(i for i in self.invariants if not i.ok)
        where = f" at seq {self.first_seq}" if self.first_seq is not None else ""
        return f"{head} ✗ {failed.name}{where}: {failed.detail}"


def verify(
    events: Sequence[Event],
    racers: Sequence[RacerRecord],
    *,
    start_seq: int,
    roster_before: Sequence[str] = (),
    settled: bool = True,
) -> Verdict:
    """Check a run against its stream alone (a writer that bypassed the ledger is caught).

    - never oversold: refolding, occupied <= capacity after every acquisition
      (``store.check.check_stream``), and no seq gaps;
    - each winner exactly once: a racer told ``held`` has exactly one hold in the
      run, a racer told ``full`` or ``gave-up`` has none, and no hold in the run
      is by anyone but a racer;
    - every success has its event: the seq a racer was told holds its hold, and
      a confirm or release it was told of is in the log after it;
    - the final roster agrees with what each racer was told.

    ``settled=False`` is for a run that was stopped or lost a process: a racer
    stopped mid-command may have had its command committed without hearing so
    (the contract covers replies given), so a winner whose confirm or release
    was cut short may be found held, confirmed or gone.
    """
    report = check_stream(events)
    state = report.state or OccurrenceState("")
    invariants = [
        _never_oversold(report),
        _winners_once(events, racers, start_seq, roster_before),
        _successes_logged(events, racers),
        _roster_agrees(state, racers, settled),
    ]
    return Verdict(report.capacity, report.occupied, report.oversold, invariants, report)


def _never_oversold(report: StreamReport) -> Invariant:
    name = "never oversold"
    if report.ok:
        return Invariant(
            name,
            True,
            f"{report.acquisitions} acquisitions, at most {report.max_occupied} "
            f"of {report.capacity} seats occupied",
        )
    first = report.violations[0]
    return Invariant(name, False, first.problem, first.seq)


def _winners_once(
    events: Sequence[Event],
    racers: Sequence[RacerRecord],
    start_seq: int,
    roster_before: Sequence[str],
) -> Invariant:
    name = "each winner exactly once"
    acquisitions: dict[str, list[int]] = {}
    for event in events:
        if event.seq > start_seq and event.type in ("hold", "booking"):
            actor = event.data.get("actor")
            acquisitions.setdefault(str(actor), []).append(event.seq)
    by_actor = {r.actor: r for r in racers}
    before = set(roster_before)
    problems: list[tuple[int, str]] = []
    for actor, seqs in acquisitions.items():
        if actor not in by_actor:
            problems.append((seqs[0], f"a hold by {actor!r}, who is not a racer"))
    for record in racers:
        seqs = acquisitions.get(record.actor, [])
        told_won = record.state in ("held", "confirmed", "released")
        told_lost = record.state in ("full", "gave-up")
        if told_won and len(seqs) != 1:
            where = seqs[1] if len(seqs) > 1 else (record.seq or 0)
            problems.append((where, f"{record.actor!r} won but has {len(seqs)} holds"))
        elif told_lost and seqs:
            problems.append((seqs[0], f"{record.actor!r} was told {record.state} but holds"))
        elif record.state == "already" and (seqs or record.actor not in before):
            problems.append(
                (seqs[0] if seqs else 0, f"{record.actor!r} was told already but was not seated")
            )
        elif record.state in ("waiting", "retrying", "error") and len(seqs) > 1:
            problems.append((seqs[1], f"{record.actor!r} has {len(seqs)} holds"))
    winners = sum(1 for r in racers if r.state in ("held", "confirmed", "released"))
    return _invariant(name, problems, f"{winners} winners, one hold each")


def _successes_logged(events: Sequence[Event], racers: Sequence[RacerRecord]) -> Invariant:
    name = "every success has its event"
    by_seq = {e.seq: e for e in events}
    problems: list[tuple[int, str]] = []
    checked = 0
    for record in racers:
        if record.state not in ("held", "confirmed", "released"):
            continue
        checked += 1
        event = by_seq.get(record.seq or 0)
        if event is None or event.type != "hold" or event.data.get("actor") != record.actor:
            found = f"{event.type} by {event.data.get('actor')!r}" if event else "nothing"
            problems.append(
                (record.seq or 0, f"{record.actor!r} was told seq {record.seq}; log has {found}")
            )
            continue
        if record.state in ("confirmed", "released"):
            kind = "confirm" if record.state == "confirmed" else "release"
            later = [
                e.seq
                for e in events
                if e.seq > event.seq and e.type == kind and e.data.get("actor") == record.actor
            ]
            if len(later) != 1:
                problems.append(
                    (event.seq, f"{record.actor!r} was told {record.state}; {len(later)} {kind}s")
                )
    return _invariant(name, problems, f"{checked} holds found where their racers were told")


def _roster_agrees(
    state: OccurrenceState, racers: Sequence[RacerRecord], settled: bool
) -> Invariant:
    name = "final roster agrees"
    problems: list[tuple[int, str]] = []
    held: set[SeatState | None] = {SeatState.HELD, SeatState.LAPSED}
    if not settled:
        held |= {SeatState.CONFIRMED, None}  # a confirm or release cut short by the stop
    expected: dict[str, set[SeatState | None]] = {
        "held": held,
        "confirmed": {SeatState.CONFIRMED},
        "released": {None},
        "full": {None},
        "gave-up": {None},
    }
    for record in racers:
        wanted = expected.get(record.state)
        if wanted is None:
            continue
        member = state.members.get(record.actor)
        found = member.state if member is not None else None
        if found not in wanted:
            problems.append((record.seq or 0, f"{record.actor!r} was told {record.state}; {found}"))
    return _invariant(name, problems, f"{state.held} held, {state.confirmed} confirmed at the end")


def _invariant(name: str, problems: list[tuple[int, str]], fine: str) -> Invariant:
    if not problems:
        return Invariant(name, True, fine)
    problems.sort()
    seq, detail = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return Invariant(name, False, detail + more, seq or None)


# -- the summary -------------------------------------------------------------------------------


@dataclass(slots=True)
class RaceSummary:
    """A finished (or stopped) run: its plan, its counts and what the stream says."""

    plan: RacePlan
    tally: Tally
    verdict: Verdict
    elapsed: float
    start_seq: int
    stores: int
    stopped: bool = False
    errors: list[str] = field(default_factory=list)
    started_at: float | None = None  # time.monotonic() of the start signal

    @property
    def ok(self) -> bool:
        return self.verdict.ok and not self.errors

    @property
    def holds_per_s(self) -> float:
        """Holds over the whole run, the stragglers who then found it full included."""
        return self.tally.held / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def last_hold_s(self) -> float | None:
        """Seconds from the start signal to the last hold (the sell-out, when it sold out)."""
        if self.tally.last_hold_at is None or self.started_at is None:
            return None
        return max(0.0, self.tally.last_hold_at - self.started_at)

    def to_json(self) -> dict[str, Any]:
        t = self.tally
        return {
            "occurrence": self.plan.occurrence,
            "seed": self.plan.seed,
            "racer_count": self.plan.racers,
            "processes": self.plan.workers,
            "stores": self.stores,
            "churn": self.plan.churn,
            "elapsed_s": round(self.elapsed, 3),
            "stopped": self.stopped,
            "errors": self.errors,
            "totals": {
                "attempts": t.attempts,
                "conflicts": t.conflicts,
                "retries": t.retries,
                "max_retries": t.max_retries,
                "held": t.held,
                "full": t.full,
                "already": t.already,
                "gave_up": t.gave_up,
                "errors": t.errors,
                "confirmed": t.confirmed,
                "released": t.released,
                "churn_retries": t.churn_retries,
                "busy_retries": t.busy,
                "holds_per_s": round(self.holds_per_s, 1),
                "last_hold_s": None if self.last_hold_s is None else round(self.last_hold_s, 3),
            },
            "invariants": {
                "ok": self.verdict.ok,
                "line": self.verdict.line(),
                "capacity": self.verdict.capacity,
                "occupied": self.verdict.occupied,
                "oversold": self.verdict.oversold,
                "first_offending_seq": self.verdict.first_seq,
                "checks": [asdict(i) for i in self.verdict.invariants],
            },
            "racers": [
                {
                    "racer": r.racer,
                    "actor": r.actor,
                    "process": r.process,
                    "outcome": r.state,
                    "attempts": r.attempts,
                    "conflicts": r.conflicts,
                    "retries": r.retries,
                    "seat": r.seat,
                    "seq": r.seq,
                    "churn": r.churn,
                    "churn_attempts": r.churn_attempts,
                    "detail": r.detail,
                }
                for r in t.racers
            ],
        }


# -- setting up ----------------------------------------------------------------------------------


async def prepare_occurrence(
    store_url: str, key: str, capacity: int | None, *, operator: str = "racer"
) -> OccurrenceRecord:
    """The occurrence to race on; with ``capacity``, created when missing.

    An existing occurrence with another capacity is an error, not silently
    changed: a race must not rewrite a real show's capacity.
    """
    key = _valid_key(key, "occurrence")
    async with open_store(store_url) as store:
        ledger = Ledger(store, operator=operator)
        if capacity is not None:
            outcome = await ledger.create_occurrence(key, capacity=capacity, title="Racer demo")
            if outcome.status is Status.EXISTS and outcome.capacity != capacity:
                raise CapacityMismatch(
                    f"occurrence {key!r} exists with capacity {outcome.capacity}, not {capacity}; "
                    "drop --capacity to race on it as it is, or pick a new occurrence key"
                )
        try:
            return await ledger.occurrence(key)
        except UnknownOccurrence:
            raise RaceError(
                f"no occurrence {key!r}; give --capacity C to create it for the race"
            ) from None


# -- the parent: starting, watching, stopping ------------------------------------------------------


@dataclass(slots=True)
class _Child:
    process: multiprocessing.process.BaseProcess
    events: Connection
    control: Connection
    pid: int
    ready: bool = False
    finished: bool = False
    gone: bool = False  # its pipe is closed: nothing more will come from it
    died: bool = False  # it went without saying it had finished
    exitcode: int | None = None


class Race:
    """One run: ``async with Race(plan) as race: async for batch in race.batches(): ...``.

    Leaving the ``async with`` (normally, by an exception or by cancellation)
    stops the run: every child is asked to stop, then terminated, then killed,
    and reaped before ``stop()`` returns.
    """

    def __init__(self, plan: RacePlan, *, start_timeout: float = 120.0) -> None:
        self.plan = plan
        self.tally = Tally.for_plan(plan)
        self.start_timeout = start_timeout
        self.start_seq = 0
        self.roster_before: list[str] = []
        self.stores = 0
        self.errors: list[str] = []
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.stopped = False
        self._children: list[_Child] = []
        self._queue: asyncio.Queue[tuple[Any, ...]] = asyncio.Queue()
        self._reader: threading.Thread | None = None
        self._wake_r: Connection | None = None
        self._wake_w: Connection | None = None
        self._closed = False
        self._closed_seen = False

    @property
    def pids(self) -> list[int]:
        """The racer processes' ids (kept after they are reaped, to check they are gone)."""
        return [c.pid for c in self._children]

    @property
    def elapsed(self) -> float:
        if self.started_at is None:
            return 0.0
        return (self.ended_at or time.monotonic()) - self.started_at

    async def __aenter__(self) -> Race:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Read where the stream stands, start the processes, and fire once all are ready."""
        plan = self.plan
        async with open_store(plan.store_url) as store:
            ledger = Ledger(store, operator=plan.operator)
            try:
                record = await ledger.occurrence(plan.occurrence)
            except UnknownOccurrence:
                raise RaceError(f"no occurrence {plan.occurrence!r}") from None
            self.start_seq = record.seq
            self.roster_before = await ledger.roster(plan.occurrence)
        loop = asyncio.get_running_loop()
        context = multiprocessing.get_context("spawn")
        self._wake_r, self._wake_w = context.Pipe(duplex=False)
        with _stderr_for_spawn():
            self._spawn(context)
        self._reader = threading.Thread(
            target=_read_children, args=(self, loop), name="boxoffice-race-reader", daemon=True
        )
        self._reader.start()
        await asyncio.wait_for(self._await_ready(), self.start_timeout)
        self.started_at = time.monotonic()
        for child in self._children:
            _send(child.control, "go")

    def _spawn(self, context: Any) -> None:
        plan = self.plan
        for index, racers in enumerate(plan.placement()):
            events_r, events_w = context.Pipe(duplex=False)
            control_r, control_w = context.Pipe(duplex=False)
            process = context.Process(
                target=_child_main,
                args=(plan, index, racers, events_w, control_r),
                name=f"boxoffice-racers-{index}",
                daemon=True,  # multiprocessing's last resort at interpreter exit
            )
            try:
                process.start()
            except BaseException:
                for conn in (events_r, events_w, control_r, control_w):
                    conn.close()
                raise
            self._children.append(_Child(process, events_r, control_w, process.pid or 0))
            events_w.close()  # our copies: the child's exit must read as EOF here
            control_r.close()

    async def _await_ready(self) -> None:
        while not all(c.ready for c in self._children):
            message = await self._queue.get()
            self._handle(message)
            if self.errors:
                raise RaceError(self.errors[0])

    def _handle(self, message: tuple[Any, ...]) -> list[RacerEvent]:
        kind, index = message[0], message[1]
        if kind == "closed":
            return []
        child = self._children[index]
        if kind == "events":
            batch: list[RacerEvent] = message[2]
            for event in batch:
                self.tally.apply(event)
            return batch
        if kind == "ready":
            child.ready = True
            self.stores += message[2]
        elif kind == "finished":
            child.finished = True
        elif kind == "error":
            self.errors.append(f"racer process {index}: {message[2]}")
        elif kind == "eof":
            child.gone = True
            if not child.finished and not self._closed:
                child.died = True
                self.errors.append(f"racer process {index} ended before its racers were done")
        return []

    async def batches(self) -> AsyncIterator[list[RacerEvent]]:
        """Event batches as the children send them, until every racer is done.

        A child that dies or reports an error ends the run: the others are stopped.
        """
        if self.started_at is None:
            raise RaceError("the race has not started")
        while not self._closed_seen and not all(c.gone for c in self._children):
            message = await self._queue.get()
            self._closed_seen = message[0] == "closed"
            batch = self._handle(message)
            if batch:
                yield batch
            if self.errors and not self._closed:
                await self.stop()
        self.ended_at = self.ended_at or time.monotonic()

    async def events(self) -> AsyncIterator[RacerEvent]:
        """Event by event, for callers that do not care about batching."""
        async for batch in self.batches():
            for event in batch:
                yield event

    async def summary(self) -> RaceSummary:
        """Verify the run from the stream (call once the batches have ended, or after stop)."""
        self.ended_at = self.ended_at or time.monotonic()
        async with open_store(self.plan.store_url) as store:
            events = await store.read(stream_of(self.plan.occurrence))
        verdict = verify(
            events,
            self.tally.racers,
            start_seq=self.start_seq,
            roster_before=self.roster_before,
            settled=not self.stopped and not self.errors,
        )
        return RaceSummary(
            self.plan,
            self.tally,
            verdict,
            self.elapsed,
            self.start_seq,
            self.stores,
            self.stopped,
            list(self.errors),
            self.started_at,
        )

    async def stop(self, grace: float = 3.0) -> None:
        """Stop every child and reap it; safe to call twice, and under cancellation."""
        if self._closed:
            return
        self._closed = True
        if not all(c.gone for c in self._children):
            self.stopped = self.started_at is not None and not all(
                c.finished for c in self._children
            )
        self.ended_at = self.ended_at or time.monotonic()
        for child in self._children:
            _send(child.control, "stop")
        reap = asyncio.ensure_future(asyncio.to_thread(self._reap, grace))
        # Shielded: a second cancellation must not leave children behind; the
        # reaping thread finishes on its own either way.
        await asyncio.shield(reap)
        for index, child in enumerate(self._children):
            child.gone = True
            if child.died:
                self.errors.append(f"racer process {index} exit code {child.exitcode}")
        self._queue.put_nowait(("closed", -1))  # ends a batches() loop waiting elsewhere

    def _reap(self, grace: float) -> None:
        """Runs on a worker thread: join, then terminate, then kill, whatever is left."""
        deadline = time.monotonic() + grace
        for child in self._children:
            child.process.join(max(0.0, deadline - time.monotonic()))
        for child in self._children:
            if child.process.is_alive():
                child.process.terminate()
                child.process.join(1.0)
            if child.process.is_alive():
                child.process.kill()
                child.process.join()
            child.exitcode = child.process.exitcode
        # Every child is gone, so the reader drains their last batches, sees EOF
        # on each pipe and returns; the wake-up is only a safeguard.
        if self._reader is not None:
            self._reader.join(2.0)
            if self._reader.is_alive() and self._wake_w is not None:
                _send(self._wake_w, "wake")
                self._reader.join()
        for child in self._children:
            child.control.close()
            child.events.close()
            with contextlib.suppress(ValueError):
                child.process.close()
        for conn in (self._wake_r, self._wake_w):
            if conn is not None:
                conn.close()


@contextlib.contextmanager
def _stderr_for_spawn() -> Iterator[None]:
    """Let multiprocessing start its resource tracker under a host that replaced stderr.

    The tracker is handed ``sys.stderr.fileno()``; a terminal UI that captures
    ``sys.stderr`` with an object answering -1 makes every spawn fail with
    "bad value(s) in fds_to_keep". For the length of the (synchronous) spawn,
    such a stderr is swapped for None, which the tracker skips; printing to the
    real terminal under a full-screen UI would garble it.
    """
    saved = sys.stderr
    try:
        usable = saved is not None and saved.fileno() >= 0
    except (AttributeError, OSError, ValueError):
        usable = True  # multiprocessing catches these itself
    if not usable:
        sys.stderr = None  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stderr = saved


def _send(conn: Connection, message: object) -> None:
    with contextlib.suppress(OSError, ValueError):
        conn.send(message)


def _read_children(race: Race, loop: asyncio.AbstractEventLoop) -> None:
    """Forward every child's messages to the event loop; runs on its own thread."""
    live = {c.events: i for i, c in enumerate(race._children)}
    wake = race._wake_r
    assert wake is not None

    def post(message: tuple[Any, ...]) -> bool:
        try:
            loop.call_soon_threadsafe(race._queue.put_nowait, message)
        except RuntimeError:  # the loop is closed: nobody is listening any more
            return False
        return True

    while live:
        for conn in wait([*live, wake]):
            if conn is wake:
                return
            assert isinstance(conn, Connection)
            try:
                message = conn.recv()
            except (EOFError, OSError):
                message = ("eof", live.pop(conn))
            if not post(message):
                return


async def run_race(plan: RacePlan) -> RaceSummary:
    """Run a whole race headless and verify it."""
    async with Race(plan) as race:
        async for _ in race.batches():
            pass
    return await race.summary()


# -- the child process -----------------------------------------------------------------------------


def _child_main(
    plan: RacePlan, index: int, racers: list[int], events: Connection, control: Connection
) -> None:
    """Entry point of a racer process (spawned, so it imports nothing of the parent's UI)."""
    # The parent decides when to stop: Ctrl-C in a terminal reaches the whole
    # process group, and a child must not die mid-run with a traceback on the screen.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    try:
        asyncio.run(_child(plan, index, racers, events, control))
    except BaseException:
        _send(events, ("error", index, traceback.format_exc(limit=3).strip().splitlines()[-1]))
    finally:
        events.close()


def _connection_budget(wanted: int) -> int:
    """How many stores this process can open, raising its descriptor limit where allowed."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY or hard > soft:
            target = hard if hard != resource.RLIM_INFINITY else max(soft, 65536)
            with contextlib.suppress(ValueError, OSError):
                resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
                soft = target
    except ImportError:  # not a POSIX system
        return min(wanted, 64)
    return max(1, min(wanted, (soft - 64) // _FDS_PER_STORE))


class _Outbox:
    """Batches events to the parent: one pipe write per 20 ms or 256 events."""

    def __init__(self, conn: Connection, index: int) -> None:
        self.conn = conn
        self.index = index
        self.buffer: list[RacerEvent] = []

    def emit(self, event: RacerEvent) -> None:
        self.buffer.append(event)
        if len(self.buffer) >= _FLUSH_SIZE:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            batch, self.buffer = self.buffer, []
            self.conn.send(("events", self.index, batch))

    async def run(self) -> None:
        while True:
            await asyncio.sleep(_FLUSH_EVERY)
            self.flush()


async def _child(
    plan: RacePlan, index: int, racers: list[int], events: Connection, control: Connection
) -> None:
    loop = asyncio.get_running_loop()
    go = asyncio.Event()
    stopping = asyncio.Event()

    def listen() -> None:
        try:
            while True:
                message = control.recv()
                if message == "go":
                    loop.call_soon_threadsafe(go.set)
                elif message == "stop":
                    break
        except (EOFError, OSError):
            pass  # the parent is gone: stop too
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(stopping.set)

    threading.Thread(target=listen, name="racer-control", daemon=True).start()
    outbox = _Outbox(events, index)
    async with contextlib.AsyncExitStack() as stack:
        count = _connection_budget(len(racers))
        stores = []
        for _ in range(count):
            if stopping.is_set():
                return
            stores.append(await stack.enter_async_context(open_store(plan.store_url)))
        events.send(("ready", index, count))
        started = asyncio.ensure_future(go.wait())
        stop_wait = asyncio.ensure_future(stopping.wait())
        await asyncio.wait([started, stop_wait], return_when=asyncio.FIRST_COMPLETED)
        if stopping.is_set():
            started.cancel()
            return
        flusher = asyncio.ensure_future(outbox.run())
        # churn commands retry inside the ledger; give them the racers' own patience
        ledger_options: dict[str, Any] = {"operator": plan.operator, "deadline": plan.deadline}
        tasks = [
            asyncio.ensure_future(
                _racer(plan, Ledger(stores[n % count], **ledger_options), i, index, outbox)
            )
            for n, i in enumerate(racers)
        ]
        everyone: asyncio.Future[Any] = asyncio.ensure_future(asyncio.gather(*tasks))
        await asyncio.wait([everyone, stop_wait], return_when=asyncio.FIRST_COMPLETED)
        if everyone.done() and not everyone.cancelled():
            everyone.exception()  # retrieved here; each racer's own end is gathered below
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        flusher.cancel()
        stop_wait.cancel()
        outbox.flush()
        events.send(("finished", index, stopping.is_set()))


def _roster_and_seq(state: OccurrenceState, now: datetime | None) -> tuple[list[str], int]:
    return [m.actor for m in state.roster_at(now)], state.seq


async def _racer(plan: RacePlan, ledger: Ledger, racer: int, process: int, out: _Outbox) -> None:
    actor = plan.actor(racer)
    key = plan.occurrence
    jitter = random.Random(f"{plan.seed}:backoff:{racer}")

    def emit(kind: Kind, **fields: Any) -> None:
        out.emit(RacerEvent(kind, racer, actor, process, time.monotonic(), **fields))

    attempt = 0
    give_up = time.monotonic() + plan.deadline
    try:
        while True:
            busy: StoreBusy | None = None
            try:
                observed, seq = await ledger.snapshot(key, _roster_and_seq)
                attempt += 1
                emit(Kind.ATTEMPT, attempt=attempt, expected=seq)
                outcome = await ledger.hold_with_observed(key, actor, observed, seq)
            except StoreBusy as exc:
                # The write never began (SQLite refuses BEGIN IMMEDIATE, so nothing
                # was written): an attempt that did not happen, retried like a conflict.
                busy = exc
            if busy is not None or outcome.status is Status.CONFLICT:
                if busy is None:
                    emit(Kind.CONFLICT, attempt=attempt, expected=seq, actual=outcome.actual)
                if time.monotonic() >= give_up:
                    emit(Kind.GAVE_UP, attempt=attempt, detail=f"still losing after {attempt}")
                    return
                delay = jitter.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** min(attempt, 20)))
                why = f"busy: {busy}" if busy is not None else None
                emit(Kind.RETRY, attempt=attempt, delay=delay, detail=why)
                await asyncio.sleep(delay)
                continue
            if outcome.status is Status.HELD:
                emit(Kind.HELD, attempt=attempt, expected=seq, seq=seq + 1, seat=outcome.seat)
                break
            if outcome.status is Status.FULL:
                full = f"capacity {outcome.capacity}"
                emit(Kind.FULL, attempt=attempt, expected=seq, detail=full)
            else:
                emit(Kind.ALREADY, attempt=attempt, expected=seq, seat=outcome.seat)
            return
    except Exception as exc:
        emit(Kind.ERROR, attempt=attempt, detail=f"{type(exc).__name__}: {exc}")
        return
    choice = plan.churn_choice(racer)
    if choice is None:
        return
    try:
        await asyncio.sleep(jitter.uniform(0, CHURN_THINK))
        if choice == "confirm":
            outcome = await ledger.confirm(key, actor)
        else:
            outcome = await ledger.release(key, actor)
    except Exception as exc:
        emit(Kind.ERROR, attempt=1, detail=f"{choice}: {type(exc).__name__}: {exc}")
        return
    if outcome.status is Status.CONFIRMED:
        emit(Kind.CONFIRMED, attempt=outcome.attempts)
    elif outcome.status is Status.RELEASED:
        emit(Kind.RELEASED, attempt=outcome.attempts)
    else:
        emit(Kind.ERROR, attempt=outcome.attempts, detail=f"{choice} answered {outcome.status}")
