"""The fault harness: randomized multi-process races on a real file, optionally with ``kill -9``.

Shared by ``tests/test_faults.py`` (a fixed number of small runs in CI) and
``bench/soak.py`` (the same runs for as long as asked). It lives apart from the
test module so that a ``spawn``ed racer imports only this file and ``store/``.

One run: a fresh database file and one occurrence with a random capacity; a few
racer processes, each with a few clients (asyncio tasks, sharing one or two
ledgers), each client firing a random hold/book/confirm/release/cancel/expire
mix (and the odd capacity change) at it. Every command is recorded by
``store.audit.history.Recorder`` before it is sent and again when it is answered.
The parent steps a shared clock (a tick is one second of ledger time) so holds
really lapse mid-run, and in a kill run sends SIGKILL to one racer at a random
moment. Then the verdict, from the log and the replies only: ``check_stream``
(no oversell, no gap), ``audit_stream`` (every acknowledged write is in the log
exactly once, nothing in the log that nobody sent) and ``check_history``
(the replies are linearizable).

A run's seed fixes its plan (capacity, racers, commands, kill moment); the
interleaving is the scheduler's, so a replay repeats the workload, not the race.

The racing itself is ``store.racers.pool``'s (kept processes, each command's start
streamed here) running ``store.racers.script.FaultMix``; what stays here are the
oracles it is handed: ``FaultOpener`` (the recorded clients, the broken ledger, the
unfair fold) and the verdict.
"""

from __future__ import annotations

import asyncio
import contextlib
import mmap
import os
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from store import open_store
from store.audit.check import check_stream
from store.audit.history import Recorder, audit_stream, check_history, load
from store.booking import Ledger, Outcome, Status, UnknownOccurrence
from store.eventstore.errors import StoreError
from store.eventstore.sqlite import SQLiteStore
from store.ledger.fold import stream_of
from store.ledger.provenance import event_meta, terminal_id
from store.ledger.waiting import Waiter, WaitingList
from store.racers.errors import RaceError
from store.racers.pool import Started, SwarmPool
from store.racers.script import FaultMix, MixClient, MixCommand, fault_mix_client, mix_weights

EPOCH = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
TICK = timedelta(seconds=1)  # one step of the shared clock, in ledger time
KEY = "fault"


# -- the shared clock ----------------------------------------------------------------------


class Ticks:
    """An integer clock in an 8-byte file every process maps; the parent steps it.

    The ledger's clock is ``EPOCH + tick * TICK``, so a hold's ``expires_at`` and
    every decision instant are whole ticks, and the history checker can try a
    command at each tick of its window.
    """

    def __init__(self, path: str | os.PathLike[str], *, writable: bool = False) -> None:
        self.path = str(path)
        if writable and not os.path.exists(path):
            Path(path).write_bytes(bytes(8))
        self._file = open(path, "r+b" if writable else "rb")  # noqa: SIM115 (closed in close)
        access = mmap.ACCESS_WRITE if writable else mmap.ACCESS_READ
        self._map = mmap.mmap(self._file.fileno(), 8, access=access)
        # One aligned native word: a store or load is a single 8-byte move. (struct.pack_into
        # zeroes its target before writing, so a reader could see the clock at 0 mid-step.)
        self._word = memoryview(self._map).cast("q")

    def tick(self) -> int:
        return int(self._word[0])

    def set(self, value: int) -> None:
        self._word[0] = value

    def __call__(self) -> datetime:
        return EPOCH + self.tick() * TICK

    def close(self) -> None:
        self._word.release()
        self._map.close()
        self._file.close()


def to_ticks(moment: datetime | None) -> int | None:
    if moment is None:
        return None
    ticks, rest = divmod(moment - EPOCH, TICK)
    assert not rest, f"{moment} is not on the clock's grid"
    return ticks


# -- plans -----------------------------------------------------------------------------------

Command = MixCommand  # kind, actor, capacity or ttl ticks (or a party's size)


@dataclass(frozen=True)
class Plan:
    """Everything a seed decides about one run."""

    seed: int
    capacity: int
    hold_ttl: int | None  # the occurrence's default, in ticks
    tick_every: float  # seconds of real time between clock steps
    racers: list[list[list[Command]]]  # per process, per client, the commands
    ledgers: list[int]  # store connections per process (clients share them round-robin)
    kill: tuple[int, int, float] | None = None  # victim, after how many invokes, extra delay
    broken: bool = False  # racers use CheckThenAppendLedger
    offer_ttl: int | None = None  # the occurrence's offer length, in ticks (waiting-list runs)
    waitlist: bool = False  # clients also join and leave the waiting list
    unfair: bool = False  # racers' folds offer to the latest fitting waiter (must be caught)
    setup: list[Command] = field(default_factory=list)  # sent by the parent after `create`

    def describe(self) -> str:
        kill = f", kill racer {self.kill[0]} after {self.kill[1]} commands" if self.kill else ""
        kill += ", waiting list" if self.waitlist else ""
        kill += " (unfair first fit)" if self.unfair else ""
        clients = sum(len(p) for p in self.racers)
        commands = sum(len(c) for p in self.racers for c in p)
        return (
            f"seed {self.seed}: capacity {self.capacity}, {len(self.racers)} processes, "
            f"{clients} clients, {commands} commands{kill}"
        )


def plan_run(
    seed: int,
    *,
    kill: bool = False,
    broken: bool = False,
    waitlist: bool = False,
    unfair: bool = False,
) -> Plan:
    """A run's plan. ``waitlist``: a house mostly full, clients joining (parties of one or
    two) and leaving the list, holders cancelling and releasing, waiters confirming offers.
    ``unfair``: racers whose fold offers to the latest fitting waiter, on a plan where two
    waiters always fit when a seat frees, so the lie has to show (``unfair_plan``)."""
    if unfair:
        return unfair_plan(seed)
    rng = random.Random(seed)
    capacity = rng.choice([1, 2, 2, 3, 4] if waitlist else [0, 1, 1, 2, 2, 3, 4])
    actors = [f"a{i}" for i in range(capacity + rng.randint(2 if waitlist else 1, 3))]
    weights = mix_weights(waitlist=waitlist, capacity_changes=not broken)

    def client() -> list[Command]:
        return list(fault_mix_client(rng, actors, weights))

    processes = rng.randint(2, 3)
    racers = [[client() for _ in range(rng.randint(1, 2))] for _ in range(processes)]
    if broken:  # hold-heavy and tight, so a check-then-append has a house to oversell
        capacity = 1
        racers = [
            [[("hold", f"p{p}c{c}n{n}", None) for n in range(4)] for c in range(len(clients))]
            for p, clients in enumerate(racers)
        ]
    kill_at = None
    if kill:
        victim = rng.randrange(processes)
        sent = sum(len(c) for c in racers[victim])
        kill_at = (victim, rng.randint(1, sent), rng.uniform(0.0, 0.002))
    return Plan(
        seed=seed,
        capacity=capacity,
        hold_ttl=rng.choice([None, 2, 3]),
        tick_every=rng.uniform(0.002, 0.01),
        racers=racers,
        ledgers=[rng.randint(1, len(clients)) for clients in racers],
        kill=kill_at,
        broken=broken,
        offer_ttl=rng.choice([None, 1, 2]) if waitlist else None,
        waitlist=waitlist,
    )


def unfair_plan(seed: int) -> Plan:
    """One seat, taken by the setup's host. Process 0: two waiters join, the host cancels,
    the later waiter confirms, then the earlier. The other processes race walk-up holds
    and confirms of the same waiters. Only process 0's waiters ever join, so at the cancel
    the list is those two; a fair fold offers the seat to the earlier, so the later
    waiter's confirm after the cancel must answer not-held, and an unfair fold's cannot."""
    rng = random.Random(seed)
    processes = rng.randint(2, 3)
    confirms: list[Command] = [("confirm", "w0b", None), ("confirm", "w0a", None)]
    first: list[Command] = [("wait", "w0a", 1), ("wait", "w0b", 1), ("cancel", "host", None)]
    racers = [[[*first, *confirms]]]
    for p in range(1, processes):
        walk_up: Command = ("hold", f"x{p}", None)
        racers.append([[walk_up, *confirms, walk_up]])
    return Plan(
        seed=seed,
        capacity=1,
        hold_ttl=None,
        tick_every=rng.uniform(0.002, 0.01),
        racers=racers,
        ledgers=[1] * processes,
        waitlist=True,
        unfair=True,
        setup=[("book", "host", None)],
    )


# -- a deliberately broken ledger (the harness must catch it) --------------------------------


class CheckThenAppendLedger(Ledger):
    """Holds and books decided on one read and appended, unconditionally, in another transaction.

    This is the bug SPEC §3 exists to forbid: between the read that saw a free
    seat and the append, another process can take it. Only the harness-can-fail
    test uses it.
    """

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
        assert seats == 1 and note is None, "the broken ledger races single seats only"
        assert request_id is None, "the broken ledger has no request ids"
        return await self._check_then_append(key, actor, "hold", ttl)

    async def book(
        self,
        key: str,
        actor: str,
        *,
        seats: int = 1,
        note: str | None = None,
        request_id: str | None = None,
    ) -> Outcome:
        assert seats == 1 and note is None, "the broken ledger races single seats only"
        assert request_id is None, "the broken ledger has no request ids"
        return await self._check_then_append(key, actor, "booking", None)

    async def _check_then_append(
        self, key: str, actor: str, kind: str, ttl: timedelta | None
    ) -> Outcome:
        roster = await self.roster(key)  # transaction 1: the check
        record = await self.occurrence(key)
        now = await self.now()
        if actor in roster:
            return Outcome(Status.ALREADY, actor, seat=roster.index(actor) + 1)
        if len(roster) >= record.capacity:
            return Outcome(Status.FULL, actor, capacity=record.capacity)
        lifetime = ttl or record.hold_ttl
        expires = now + lifetime if kind == "hold" and lifetime else None
        data: dict[str, Any] = {"actor": actor}
        if kind == "hold":
            data["expires_at"] = expires.isoformat() if expires else None
        meta = event_meta(self.operator, now)
        await self.store.append(stream_of(key), kind, data, meta)  # transaction 2: the act
        status = Status.HELD if kind == "hold" else Status.BOOKED
        return Outcome(status, actor, seat=len(roster) + 1, expires_at=expires)


# -- one command, recorded -----------------------------------------------------------------


async def perform(
    ledger: Ledger, recorder: Recorder, ticks: Ticks, key: str, command: Command
) -> str:
    """Record the invoke, send the command, record the reply; the reply's word is returned.

    An exception leaves the command without a reply line (unknown) and
    propagates: the caller counts it as a crash.
    """
    kind, actor, arg = command
    ttl = arg if kind == "hold" else None
    value = arg if kind == "capacity" else None
    seats = arg if kind == "wait" else None
    op = recorder.invoke(key, kind, actor, clock=ticks.tick(), value=value, ttl=ttl, seats=seats)
    try:
        if kind == "expire":
            lapsed = await ledger.expire_holds(key)
            recorder.complete(
                op,
                "expired",
                clock=ticks.tick(),
                lapsed=[o.actor or "" for o in lapsed],
                attempts=max((o.attempts for o in lapsed), default=1),
            )
            return "expired"
        outcome = await _send(ledger, key, kind, actor or "", arg)
    except UnknownOccurrence:
        recorder.complete(op, "unknown-occurrence", clock=ticks.tick())
        return "unknown-occurrence"
    except StoreError:
        # A server that went away mid-command (a killed connection, a restart) is
        # a fault these runs inject on PostgreSQL: the client was told it failed,
        # so the command stays unknown in the history, as a killed racer's would.
        # On a SQLite file nothing ends a session: there it is a crash.
        if isinstance(ledger.store, SQLiteStore):
            raise
        return "(unknown)"
    recorder.complete(
        op,
        str(outcome.status),
        clock=ticks.tick(),
        seat=outcome.seat,
        expires_at=to_ticks(outcome.expires_at),
        attempts=outcome.attempts,
        position=outcome.position,
    )
    return str(outcome.status)


def _send(ledger: Ledger, key: str, kind: str, actor: str, arg: int | None) -> Awaitable[Outcome]:
    if kind == "hold":
        return ledger.hold(key, actor, arg * TICK if arg else None)
    if kind == "capacity":
        return ledger.set_capacity(key, arg or 0)
    if kind == "wait":
        return ledger.join_waitlist(key, actor, seats=arg or 1)
    commands: dict[str, Callable[[str, str], Awaitable[Outcome]]] = {
        "book": ledger.book,
        "confirm": ledger.confirm,
        "release": ledger.release,
        "cancel": ledger.cancel,
        "unwait": ledger.leave_waitlist,
    }
    return commands[kind](key, actor)


# -- the racers' clients (the engine runs them in its pooled processes) ---------------------


def _last_fit(self: WaitingList, free: int) -> Waiter | None:
    """A seeded fault for ``Plan.unfair``: the latest fitting waiter, not the earliest."""
    fitting = [w for w in self.in_order() if w.seats <= free]
    return self.leave(fitting[-1].actor) if fitting else None


class RecordedClient:
    """One client of a racer: a (maybe shared) ledger, and its own recorder of the history."""

    def __init__(self, ledger: Ledger, recorder: Recorder, ticks: Ticks, key: str) -> None:
        self.ledger, self.recorder, self.ticks, self.key = ledger, recorder, ticks, key

    async def warm(self) -> None:
        return None  # ``FaultOpener`` caught each ledger up once (clients share them)

    async def send(self, command: Command) -> str:
        return await perform(self.ledger, self.recorder, self.ticks, self.key, command)


@dataclass(frozen=True)
class FaultOpener:
    """One racer's share of a run (pickled to its pooled process with the run's script).

    ``ledgers`` store connections, shared round-robin by the clients; ``broken`` makes
    them ``CheckThenAppendLedger``s; ``unfair`` swaps in the last-fit fold for this
    run only (the process is reused).
    """

    clock: str
    history: str
    ledgers: int
    broken: bool = False
    unfair: bool = False

    @contextlib.asynccontextmanager
    async def __call__(
        self, url: str, key: str, clients: int
    ) -> AsyncIterator[Sequence[MixClient]]:
        fair = WaitingList.first_fit
        if self.unfair:
            WaitingList.first_fit = _last_fit  # type: ignore[method-assign]
        ticks = Ticks(self.clock)
        ledger_class = CheckThenAppendLedger if self.broken else Ledger
        try:
            async with contextlib.AsyncExitStack() as stack:
                ledgers = []
                for n in range(self.ledgers):
                    store = await stack.enter_async_context(open_store(url))
                    ledgers.append(ledger_class(store, clock=ticks, operator=f"racer{n}"))
                for ledger in ledgers:
                    await ledger.seats_left(key)  # caught up, like a terminal already open
                recorders = [
                    Recorder(self.history, terminal_id(), f"{terminal_id()}#{c}")
                    for c in range(clients)
                ]
                for recorder in recorders:
                    stack.callback(recorder.close)
                yield [
                    RecordedClient(ledgers[c % len(ledgers)], recorders[c], ticks, key)
                    for c in range(clients)
                ]
        finally:
            ticks.close()
            WaitingList.first_fit = fair  # type: ignore[method-assign]


# -- one run -----------------------------------------------------------------------------------


@dataclass
class RunResult:
    plan: Plan
    ops: int = 0
    unknown: int = 0
    killed: bool = False
    ticks: int = 0
    events: int = 0
    histories: int = 0
    oversold: int = 0
    lost: list[str] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    retried: int = 0  # commands that lost at least one race and tried again
    offers: int = 0  # offers the judge's refold derived from the log (SPEC §4.5)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        bad = self.lost or self.unexplained or self.violations or self.crashes
        return not self.oversold and not bad

    def failure(self) -> str:
        parts = [self.plan.describe()]
        parts += [f"oversold x{self.oversold}"] if self.oversold else []
        parts += [f"lost: {x}" for x in self.lost]
        parts += [f"unexplained: {x}" for x in self.unexplained]
        parts += [f"violation: {x}" for x in self.violations]
        parts += [f"crash: {x}" for x in self.crashes]
        kill = " --kill" if self.plan.kill else ""
        broken = " --broken" if self.plan.broken else ""
        broken += " --waitlist" if self.plan.waitlist and not self.plan.unfair else ""
        parts.append(
            f"replay: .venv/bin/python bench/soak.py --seed {self.plan.seed}{kill}{broken}"
        )
        return "\n".join(parts)


#: A fault the parent injects at the kill moment instead of SIGKILLing a racer:
#: called with no arguments, it ends the racers' server connections or restarts
#: their server (PostgreSQL runs, ``tests/test_pg_fault_suite.py``).
ServerFault = Callable[[], None]


def execute(
    pool: SwarmPool,
    plan: Plan,
    rundir: Path,
    *,
    db: str | None = None,
    fault: ServerFault | None = None,
) -> RunResult:
    """Run ``plan`` on a fresh database with ``pool``'s racers, then judge it.

    ``db`` names an empty database to use (a PostgreSQL URL with its own schema);
    by default a fresh SQLite file in ``rundir``. With ``fault``, the plan's kill
    moment calls it instead of killing the racer.
    """
    started = time.monotonic()
    rundir.mkdir(parents=True, exist_ok=True)
    history = str(rundir / "history.jsonl")
    db = db or str(rundir / "fault.db")
    ticks = Ticks(rundir / "clock", writable=True)
    result = RunResult(plan)
    try:
        asyncio.run(_create(db, history, ticks, plan))
        pool.ensure(len(plan.racers))
        _race(pool, plan, db, history, ticks, result, fault)
        result.ticks = ticks.tick()
    finally:
        ticks.close()
    asyncio.run(_judge(db, history, result))
    result.seconds = time.monotonic() - started
    return result


async def _create(db: str, history: str, ticks: Ticks, plan: Plan) -> None:
    recorder = Recorder(history, terminal_id(), "setup")
    try:
        async with open_store(db, create=True) as store:
            ledger = Ledger(store, clock=ticks, operator="setup")
            op = recorder.invoke(
                KEY,
                "create",
                clock=ticks.tick(),
                value=plan.capacity,
                ttl=plan.hold_ttl,
                offer_ttl=plan.offer_ttl,
            )
            ttl = plan.hold_ttl * TICK if plan.hold_ttl else None
            offer_ttl = plan.offer_ttl * TICK if plan.offer_ttl else None
            created = await ledger.create_occurrence(
                KEY, capacity=plan.capacity, hold_ttl=ttl, offer_ttl=offer_ttl
            )
            recorder.complete(op, str(created.status), clock=ticks.tick())
            for command in plan.setup:
                await perform(ledger, recorder, ticks, KEY, command)
    finally:
        recorder.close()


def _race(
    pool: SwarmPool,
    plan: Plan,
    db: str,
    history: str,
    ticks: Ticks,
    result: RunResult,
    fault: ServerFault | None = None,
) -> None:
    scripts = [FaultMix(tuple(tuple(c) for c in clients)) for clients in plan.racers]
    openers = [
        FaultOpener(ticks.path, history, plan.ledgers[n], plan.broken, plan.unfair)
        for n in range(len(plan.racers))
    ]

    def started(start: Started) -> None:
        if plan.kill and plan.kill[0] == start.process and start.number == plan.kill[1]:
            time.sleep(plan.kill[2])  # lands the kill at a random point of the command
            if fault is None:
                pool.kill(start.process)
            else:
                fault()
            result.killed = True

    def step() -> None:
        ticks.set(ticks.tick() + 1)

    try:
        run = pool.run(
            db, KEY, scripts, openers, on_start=started, tick_every=plan.tick_every, on_tick=step
        )
    except RaceError as exc:
        raise RuntimeError(f"{plan.describe()}: {exc}") from exc
    result.crashes += run.crashes


async def _judge(db: str, history: str, result: RunResult) -> None:
    ops = load([history])
    result.ops = len(ops)
    result.unknown = sum(op.outcome == "unknown" for op in ops)
    result.statuses = Counter(_reply_word(op) for op in ops if op.kind != "create")
    result.retried = sum(op.attempts > 1 for op in ops)
    async with open_store(db) as store:
        if isinstance(store, SQLiteStore):
            integrity = await store.integrity_check()
            if integrity != ["ok"]:
                result.violations.append(f"integrity_check: {integrity}")
        events = await store.read(stream_of(KEY))
        result.events = len(events)
        report = check_stream(events)
        result.oversold = report.oversold
        result.offers = len(report.offers)
        result.violations += [str(v) for v in report.violations if "oversold" not in v.problem]
        audit = audit_stream(ops, events)
        result.lost, result.unexplained = audit.lost, audit.unexplained
        verdicts = check_history(ops, clock_end=result.ticks)
        result.histories = len(verdicts)
        result.violations += [str(v) for v in verdicts if not v.ok]
        ledger = Ledger(store, clock=lambda: EPOCH + result.ticks * TICK, operator="judge")
        if not await ledger.matches_full_fold(KEY):
            result.violations.append("the incremental state differs from a full refold")


def _reply_word(op: Any) -> str:
    if op.complete is None:
        return "(unknown)"
    if op.kind == "expire":
        return "expire:lapses" if op.lapsed else "expire:none"
    return str(op.status)
