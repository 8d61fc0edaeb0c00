"""One multi-process engine for scripted races: spawn, start together, collect, reap.

Each process runs one ``Script`` (``store.racers.script``) on clients from an
``Opener``; all processes wait at one barrier once their clients are open, and
each sends its replies (or one line saying why it failed) back on a queue. The
same ``perform`` runs in-process for a one-process burst, so a benchmark's
single-process row and its multi-process row share the racing loop.

This is the scripted sibling of ``store.racers.engine``, which streams events
for a watched, verified demo race; this one returns every reply at the end.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.synchronize import Barrier
from typing import Any

from store.racers.clients import ledger_opener
from store.racers.errors import RaceError
from store.racers.script import (
    Alternate,
    Client,
    Gate,
    HoldInTurn,
    HoldOnce,
    HoldThenConfirm,
    Opener,
    Reply,
    Script,
    racers_of,
)

#: How long a child waits for the others at a barrier before the run is declared broken.
BARRIER_TIMEOUT = 60.0
#: How long the parent waits for a child's report (past a script's budget), and for its exit.
JOIN_TIMEOUT = 120.0

SPAWN = multiprocessing.get_context("spawn")


@dataclass(slots=True)
class SwarmResult:
    """Every process's replies (in process order) and their clients' summed counters."""

    per_process: list[list[Reply]]
    counters: dict[str, int] = field(default_factory=dict)

    @property
    def replies(self) -> list[Reply]:
        return [reply for replies in self.per_process for reply in replies]


async def perform(
    script: Script,
    clients: Sequence[Client],
    process: int = 0,
    barrier: Gate | None = None,
    on_reply: Callable[[Reply], object] | None = None,
) -> list[Reply]:
    """Run ``script`` on open ``clients``; with a ``barrier``, start with the other processes.

    ``on_reply`` hears each reply as it is returned (``HoldThenConfirm`` only).
    """
    if isinstance(script, HoldOnce):
        return await _hold_once(script, clients, process, barrier)
    if isinstance(script, HoldInTurn):
        return await _hold_in_turn(script, clients, process, barrier)
    if isinstance(script, HoldThenConfirm):
        return await _hold_then_confirm(script, clients, process, barrier, on_reply)
    return await _alternate(script, clients[0], process, barrier)


async def _hold_then_confirm(
    script: HoldThenConfirm,
    clients: Sequence[Client],
    process: int,
    barrier: Gate | None,
    on_reply: Callable[[Reply], object] | None,
) -> list[Reply]:
    replies: list[Reply] = []

    def heard(reply: Reply) -> Reply:
        replies.append(reply)
        if on_reply is not None:
            on_reply(reply)
        return reply

    async def racer(client: Client, actor: str, confirm: bool) -> None:
        status, attempts, seat = await client.hold(actor, 1)
        heard(Reply(actor, status, attempts, seat, process=process))
        if status == "held" and confirm:
            status, attempts, seat = await client.confirm(actor)
            heard(Reply(actor, status, attempts, seat, round=1, process=process))

    if barrier is not None:
        barrier.wait(BARRIER_TIMEOUT)
    await asyncio.gather(
        *(
            racer(client, actor, confirm)
            for client, actor, confirm in zip(clients, script.actors, script.confirms, strict=True)
        )
    )
    return replies


async def _hold_once(
    script: HoldOnce, clients: Sequence[Client], process: int, barrier: Gate | None
) -> list[Reply]:
    go = asyncio.Event()
    seats = script.seats or (1,) * len(script.actors)

    async def racer(client: Client, actor: str, size: int) -> Reply:
        await go.wait()
        status, attempts, seat = await client.hold(actor, size)
        return Reply(actor, status, attempts, seat, process=process)

    tasks = [
        asyncio.create_task(racer(client, actor, size))
        for client, actor, size in zip(clients, script.actors, seats, strict=True)
    ]
    await asyncio.sleep(0)  # every racer is parked on `go` before the barrier opens
    if barrier is not None:
        barrier.wait(BARRIER_TIMEOUT)
    go.set()
    return list(await asyncio.gather(*tasks))


async def _hold_in_turn(
    script: HoldInTurn, clients: Sequence[Client], process: int, barrier: Gate | None
) -> list[Reply]:
    for client in {id(c): c for c in clients}.values():
        await client.warm()
    if barrier is not None:
        await asyncio.to_thread(barrier.wait, BARRIER_TIMEOUT)
    stop_at = time.monotonic() + script.budget
    replies: list[Reply] = []

    async def racer(client: Client, actors: Sequence[str]) -> None:
        for actor in actors:
            if time.monotonic() >= stop_at:
                return
            t0 = time.monotonic()
            seat = None
            try:
                status, attempts, seat = await client.hold(actor, 1)
            except Exception as exc:
                if not script.errors_as_replies:
                    raise
                status, attempts = f"error: {type(exc).__name__}: {exc}", 1
            replies.append(Reply(actor, status, attempts, seat, 0, t0, time.monotonic(), process))
            if script.stop_on_full and status == "full":
                return

    await asyncio.gather(
        *(racer(client, actors) for client, actors in zip(clients, script.lists, strict=True))
    )
    return replies


async def _alternate(
    script: Alternate, client: Client, process: int, barrier: Gate | None
) -> list[Reply]:
    await client.warm()  # catch up before the first round, like a warm terminal
    replies = []
    for round_, actor in enumerate(script.actors):
        confirming = (round_ % 2 == 0) == script.confirms_on_even
        command = client.confirm if confirming else client.release
        # Blocking the loop here is deliberate: nothing else runs in this process,
        # and both sides leave the barrier within microseconds of each other.
        if barrier is not None:
            barrier.wait(BARRIER_TIMEOUT)
        status, attempts, seat = await command(actor)
        replies.append(Reply(actor, status, attempts, seat, round_, process=process))
    return replies


def counters_of(clients: Sequence[Client]) -> dict[str, int]:
    """Counters summed once per distinct client object."""
    total: dict[str, int] = {}
    for client in {id(c): c for c in clients}.values():
        for name, value in client.counters().items():
            total[name] = total.get(name, 0) + value
    return total


async def _child(
    url: str, key: str, script: Script, opener: Opener, process: int, barrier: Barrier
) -> tuple[list[Reply], dict[str, int]]:
    async with opener(url, key, racers_of(script)) as clients:
        replies = await perform(script, clients, process, barrier)
        return replies, counters_of(clients)


def swarm_child(
    url: str, key: str, script: Script, opener: Opener, process: int, barrier: Barrier, out: Any
) -> None:
    """Entry point of one spawned racer process (module-level: ``spawn`` pickles it by name)."""
    try:
        replies, counters = asyncio.run(_child(url, key, script, opener, process, barrier))
    except BaseException as exc:
        barrier.abort()  # the other processes fail fast instead of waiting out the timeout
        out.put((process, [], {}, f"{type(exc).__name__}: {exc}"))
        raise
    out.put((process, replies, counters, None))


def run_swarm(
    url: str,
    key: str,
    scripts: Sequence[Script],
    *,
    opener: Opener | None = None,
    operator: str = "racer",
    timeout: float = JOIN_TIMEOUT,
) -> SwarmResult:
    """Run one spawned process per script, all started together; blocks until all are reaped.

    Raises ``RaceError`` naming every process that failed or exited non-zero.
    """
    opener = opener if opener is not None else ledger_opener(operator)
    barrier = SPAWN.Barrier(len(scripts))
    out = SPAWN.Queue()
    procs = [
        SPAWN.Process(target=swarm_child, args=(url, key, script, opener, n, barrier, out))
        for n, script in enumerate(scripts)
    ]
    for proc in procs:
        proc.start()
    per_process: list[list[Reply]] = [[] for _ in scripts]
    counters: dict[str, int] = {}
    failures = []
    try:
        for _ in procs:
            process, replies, counted, failure = out.get(True, timeout)
            per_process[process] = replies
            for name, value in counted.items():
                counters[name] = counters.get(name, 0) + value
            if failure:
                failures.append(f"process {process}: {failure}")
        for proc in procs:
            proc.join(JOIN_TIMEOUT)
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.kill()
                proc.join()
    exit_codes = [proc.exitcode for proc in procs]
    if failures or exit_codes != [0] * len(procs):
        raise RaceError(f"racer processes failed: {failures}, exit codes {exit_codes}")
    return SwarmResult(per_process, counters)


async def run_swarm_async(
    url: str, key: str, scripts: Sequence[Script], **options: Any
) -> SwarmResult:
    """``run_swarm`` off the event loop's thread, for async callers."""
    return await asyncio.to_thread(lambda: run_swarm(url, key, scripts, **options))
