"""The parent's side of a race: start the racer processes, listen to them, stop and reap them.

The children send ``RacerEvent`` batches up a pipe (``store.racers.pipes``); a
reader thread hands them to the event loop, where ``Race`` tallies them and
yields them to whoever watches, and at the end ``Race.summary`` verifies the
run from the stream alone (``store.audit.verify``). However a run ends (its
racers done, ``stop()``, an exception, a cancellation, a child gone silent: see
``store.racers.watchdog``) no process is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

from store.audit.verify import verify
from store.booking import Ledger, UnknownOccurrence
from store.eventstore.opening import open_store
from store.ledger.fold import stream_of
from store.racers.child import child_main
from store.racers.errors import RaceError
from store.racers.events import RacerEvent
from store.racers.pipes import send
from store.racers.plan import RacePlan
from store.racers.recording import Recorder
from store.racers.summary import RaceSummary
from store.racers.tally import Tally
from store.racers.watchdog import QUIET_S, STUCK_S, Watchdog


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
    stuck: bool = False  # silent past the watchdog's limit: killed at once when stopping
    exitcode: int | None = None


class Race:
    """One run: ``async with Race(plan) as race: async for batch in race.batches(): ...``.

    Leaving the ``async with`` (normally, by an exception or by cancellation)
    stops the run: every child is asked to stop, then terminated, then killed,
    and reaped before ``stop()`` returns.

    Args:
        plan: the run.
        start_timeout: seconds the processes have to open their stores.
        quiet_after: a racing child silent this long is reported (``warnings``,
            and ``on_warning`` is called with the line).
        stuck_after: a racing child silent this long ends the run with an error
            naming it (a stopped process would otherwise hang the run for ever).
        on_warning: hears each warning as it is made.
    """

    def __init__(
        self,
        plan: RacePlan,
        *,
        start_timeout: float = 120.0,
        quiet_after: float = QUIET_S,
        stuck_after: float = STUCK_S,
        on_warning: Callable[[str], object] | None = None,
    ) -> None:
        self.plan = plan
        self.tally = Tally.for_plan(plan)
        self.start_timeout = start_timeout
        self.start_seq = 0
        self.capacity = 0
        self.demo = False
        self.roster_before: list[str] = []
        self.phase = "not started"  # what a watcher shows while the processes come up
        self.stores = 0
        self.errors: list[str] = []
        self.warnings: list[str] = []
        self._watchdog = Watchdog(quiet_after, stuck_after)
        self._on_warning = on_warning
        self._looker: asyncio.Task[None] | None = None
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

    @property
    def ready(self) -> int:
        """Processes that have opened their stores and wait for the start signal."""
        return sum(1 for c in self._children if c.ready)

    async def start(self) -> None:
        """Read where the stream stands, start the processes, and fire once all are ready."""
        await self.launch()
        self.release()

    async def launch(self) -> None:
        """Read where the stream stands, start the processes and wait until all are ready.

        Separate from ``release`` so that two races (the side-by-side demo) can
        be released at the same instant.
        """
        plan = self.plan
        self.phase = "reading the occurrence"
        async with open_store(plan.store_url) as store:
            ledger = Ledger(store, operator=plan.operator)
            try:
                record = await ledger.occurrence(plan.occurrence)
            except UnknownOccurrence:
                raise RaceError(f"no occurrence {plan.occurrence!r}") from None
            self.start_seq = record.seq
            self.capacity = record.capacity
            self.demo = record.demo
            self.roster_before = await ledger.roster(plan.occurrence)
        if plan.algorithm == "seed" and not self.demo:
            raise RaceError(
                f"occurrence {plan.occurrence!r} is not a demo: the seed's algorithm oversells, "
                "so it races on demo occurrences only"
            )
        loop = asyncio.get_running_loop()
        context = multiprocessing.get_context("spawn")
        self._wake_r, self._wake_w = context.Pipe(duplex=False)
        self.phase = f"spawning {plan.workers} racer processes"
        with _stderr_for_spawn():
            self._spawn(context)
        self._reader = threading.Thread(
            target=_read_children, args=(self, loop), name="boxoffice-race-reader", daemon=True
        )
        self._reader.start()
        spawned = time.monotonic()
        for index in range(len(self._children)):
            self._watchdog.watch(index, spawned)  # a child stopped while it opens is named too
        self._looker = asyncio.ensure_future(self._look_every(self._watchdog.next_look()))
        await asyncio.wait_for(self._await_ready(), self.start_timeout)

    def release(self) -> None:
        """Let every racer go at once (all processes are ready)."""
        self.started_at = time.monotonic()
        self.phase = "racing"
        for child in self._children:
            send(child.control, "go")

    async def _look_every(self, seconds: float) -> None:
        """Ask for a look at who has gone silent, through the queue ``batches()`` reads."""
        while True:
            await asyncio.sleep(seconds)
            self._queue.put_nowait(("look", -1))

    def _spawn(self, context: Any) -> None:
        plan = self.plan
        for index, racers in enumerate(plan.placement()):
            events_r, events_w = context.Pipe(duplex=False)
            control_r, control_w = context.Pipe(duplex=False)
            process = context.Process(
                target=child_main,
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
        if kind == "look":
            self._look()
            return []
        child = self._children[index]
        self._watchdog.heard(index, time.monotonic())
        if kind == "events":
            batch: list[RacerEvent] = message[2]
            for event in batch:
                self.tally.apply(event)
            return batch
        if kind == "ready":
            child.ready = True
            self.stores += message[2]
            self.phase = f"{self.ready} of {self.plan.workers} processes ready"
        elif kind == "finished":
            child.finished = True
            self._watchdog.done(index)
        elif kind == "error":
            self.errors.append(f"racer process {index}: {message[2]}")
        elif kind == "eof":
            child.gone = True
            self._watchdog.done(index)
            if not child.finished and not self._closed:
                child.died = True
                self.errors.append(f"racer process {index} ended before its racers were done")
        return []

    def _look(self) -> None:
        """Say which racing child has gone silent; end the run once one is stuck."""
        if self._closed:
            return
        warnings, stuck = self._watchdog.look(time.monotonic(), self.pids)
        for warning in warnings:
            self.warnings.append(warning)
            if self._on_warning is not None:
                self._on_warning(warning)
        if stuck is not None and not self._children[stuck[0]].stuck:
            self._children[stuck[0]].stuck = True
            self.errors.append(stuck[1])  # batches() then stops every process

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
        if self._looker is not None:
            self._looker.cancel()
        if not all(c.gone for c in self._children):
            self.stopped = self.started_at is not None and not all(
                c.finished for c in self._children
            )
        self.ended_at = self.ended_at or time.monotonic()
        for child in self._children:
            send(child.control, "stop")
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
            if child.stuck:  # a stopped process reads no "stop" and takes no SIGTERM
                child.process.kill()
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
                send(self._wake_w, "wake")
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


async def run_race(
    plan: RacePlan,
    recorder: Recorder | None = None,
    *,
    on_warning: Callable[[str], object] | None = None,
    quiet_after: float = QUIET_S,
    stuck_after: float = STUCK_S,
) -> RaceSummary:
    """Run a whole race headless and verify it (written to ``recorder`` as it goes).

    ``on_warning`` hears the watchdog's warnings; the limits are ``Race``'s.
    """
    async with Race(
        plan, on_warning=on_warning, quiet_after=quiet_after, stuck_after=stuck_after
    ) as race:
        if recorder is not None:
            recorder.start(0, plan, race.started_at or 0.0, race.capacity)
        async for batch in race.batches():
            if recorder is not None:
                recorder.events(0, batch)
    summary = await race.summary()
    if recorder is not None:
        recorder.finish(0, summary)
    return summary
