"""What runs in a spawned racer process: its stores, its racers, its outbox to the parent.

``child_main`` is the ``spawn`` target: multiprocessing pickles it by module path,
so it stays a module-level function here (``store.racers.child.child_main``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
import time
import traceback
from multiprocessing.connection import Connection
from typing import Any

from store.booking import Ledger
from store.eventstore.opening import open_store
from store.racers.events import RacerEvent
from store.racers.pipes import send
from store.racers.plan import RacePlan
from store.racers.racer import run_racer
from store.racers.watchdog import HEARTBEAT_S

_FLUSH_EVERY = 0.02
_FLUSH_SIZE = 256
_FDS_PER_STORE = 8  # two SQLite connections (db, wal, shm each) and the write-turn lock file


def child_main(
    plan: RacePlan, index: int, racers: list[int], events: Connection, control: Connection
) -> None:
    """Entry point of a racer process (spawned, so it imports nothing of the parent's UI).

    Whatever goes wrong is sent to the parent as one line: the child's own
    stdout and stderr go nowhere, as they share the parent's terminal.
    """
    # The parent decides when to stop: Ctrl-C in a terminal reaches the whole
    # process group, and a child must not die mid-run with a traceback on the screen.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    try:
        asyncio.run(_run(plan, index, racers, events, control))
    except BaseException:
        send(events, ("error", index, traceback.format_exc(limit=3).strip().splitlines()[-1]))
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
    """Batches events to the parent: one pipe write per 20 ms or 256 events.

    With nothing to send for ``HEARTBEAT_S`` it says it is alive instead, so the
    parent's watchdog (``store.racers.watchdog``) can tell a child waiting on a
    busy database from one that is stopped.
    """

    def __init__(self, conn: Connection, index: int) -> None:
        self.conn = conn
        self.index = index
        self.buffer: list[RacerEvent] = []
        self.sent_at = time.monotonic()

    def emit(self, event: RacerEvent) -> None:
        self.buffer.append(event)
        if len(self.buffer) >= _FLUSH_SIZE:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            batch, self.buffer = self.buffer, []
            self.conn.send(("events", self.index, batch))
            self.sent_at = time.monotonic()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(_FLUSH_EVERY)
            self.flush()
            if time.monotonic() - self.sent_at >= HEARTBEAT_S:
                self.conn.send(("alive", self.index))
                self.sent_at = time.monotonic()


async def _run(
    plan: RacePlan, index: int, racers: list[int], events: Connection, control: Connection
) -> None:
    """Open the stores, say ready, wait for go, race; a stop at any point ends it early.

    All racers start on one signal from the parent, so the processes race each
    other rather than whichever started first.
    """
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
    # from the start: opening hundreds of stores takes a while, and a child stopped
    # meanwhile must be told from one that is still opening them
    flusher = asyncio.ensure_future(outbox.run())
    async with contextlib.AsyncExitStack() as stack:
        # As processes, the racers share one ledger (its group commit batches them).
        count = 1 if plan.shape == "processes" else _connection_budget(len(racers))
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
        # churn commands retry inside the ledger; give them the racers' own patience
        ledger_options: dict[str, Any] = {"operator": plan.operator, "deadline": plan.deadline}
        shared = Ledger(stores[0], **ledger_options)

        def ledger_for(n: int) -> Ledger:
            if plan.shape == "processes":
                return shared
            return Ledger(stores[n % count], **ledger_options)

        tasks = [
            asyncio.ensure_future(run_racer(plan, ledger_for(n), i, index, outbox.emit))
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
