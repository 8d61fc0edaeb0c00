"""Racers that run in child processes, for the race and kill tests.

They live apart from the test modules so that a ``spawn``ed child imports only
this file and ``store/``, never pytest or a test file. The kill test runs this
file as a script (``python tests/workers.py kill-racers ...``) so that its
reports travel over a plain pipe that outlives the process it kills.

Every racer gets its own store connection and its own ``Ledger``, so racers in
one process really race through the database's optimistic check instead of
queueing in one ledger's lane.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sqlite3
import sys
import zlib
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier, Event
from typing import Any, NamedTuple

from store import open_store
from store.booking import Ledger, Outcome, Status
from store.eventstore.writegate import FairTurn

#: Far beyond any honest race here, so a `conflict` answer is a failure, not noise.
RACER_DEADLINE = 60.0
#: How long a child waits for the others at a barrier before the run is declared broken.
BARRIER_TIMEOUT = 60.0
#: How long the parent waits for a child's report, and then for it to exit.
JOIN_TIMEOUT = 120.0

SPAWN = multiprocessing.get_context("spawn")


class Reply(NamedTuple):
    """One command's answer as a child reports it to the parent (picklable)."""

    actor: str
    status: str
    attempts: int
    seat: int | None
    round: int = 0


def _reply(outcome: Outcome, actor: str, round_: int = 0) -> Reply:
    return Reply(actor, str(outcome.status), outcome.attempts, outcome.seat, round_)


async def _open_ledgers(stack: AsyncExitStack, url: str, count: int, operator: str) -> list[Ledger]:
    ledgers = []
    for _ in range(count):
        store = await stack.enter_async_context(open_store(url))
        ledgers.append(Ledger(store, operator=operator, deadline=RACER_DEADLINE))
    return ledgers


# -- the multi-process hold race ------------------------------------------------------------


def hold_race_process(
    url: str, key: str, prefix: str, racers: int, barrier: Barrier, results: Queue
) -> None:
    """Open ``racers`` connections, wait for every process, then all hold at once."""
    try:
        replies = asyncio.run(_hold_race(url, key, prefix, racers, barrier))
    except BaseException as exc:
        barrier.abort()  # the other processes fail fast instead of waiting out the timeout
        results.put((prefix, f"{type(exc).__name__}: {exc}"))
        raise
    results.put((prefix, replies))


async def _hold_race(url: str, key: str, prefix: str, racers: int, barrier: Barrier) -> list[Reply]:
    async with AsyncExitStack() as stack:
        ledgers = await _open_ledgers(stack, url, racers, prefix)
        go = asyncio.Event()

        async def racer(ledger: Ledger, actor: str) -> Reply:
            await go.wait()
            return _reply(await ledger.hold(key, actor), actor)

        tasks = [
            asyncio.create_task(racer(ledger, f"{prefix}-{i}")) for i, ledger in enumerate(ledgers)
        ]
        await asyncio.sleep(0)  # every racer is parked on `go` before the barrier opens
        barrier.wait(BARRIER_TIMEOUT)
        go.set()
        return list(await asyncio.gather(*tasks))


async def run_hold_race(url: str, key: str, racers: int, processes: int) -> list[Reply]:
    """Every reply of ``processes`` spawned children racing ``racers`` holds each on ``key``."""
    barrier = SPAWN.Barrier(processes)
    collected = await run_processes(
        [(hold_race_process, (url, key, f"p{n}", racers, barrier)) for n in range(processes)]
    )
    return [reply for payload in collected.values() for reply in payload]


# -- the multi-process party race ------------------------------------------------------------


def party_size(actor: str) -> int:
    """A racer's party size, 1-4, fixed by its name so the parent can recompute it."""
    return 1 + zlib.crc32(actor.encode()) % 4


def party_race_process(
    url: str, key: str, prefix: str, racers: int, barrier: Barrier, results: Queue
) -> None:
    """Like ``hold_race_process``, but each racer holds for a party of ``party_size`` seats."""
    try:
        replies = asyncio.run(_party_race(url, key, prefix, racers, barrier))
    except BaseException as exc:
        barrier.abort()
        results.put((prefix, f"{type(exc).__name__}: {exc}"))
        raise
    results.put((prefix, replies))


async def _party_race(
    url: str, key: str, prefix: str, racers: int, barrier: Barrier
) -> list[Reply]:
    async with AsyncExitStack() as stack:
        ledgers = await _open_ledgers(stack, url, racers, prefix)
        go = asyncio.Event()

        async def racer(ledger: Ledger, actor: str) -> Reply:
            await go.wait()
            return _reply(await ledger.hold(key, actor, seats=party_size(actor)), actor)

        tasks = [
            asyncio.create_task(racer(ledger, f"{prefix}-{i}")) for i, ledger in enumerate(ledgers)
        ]
        await asyncio.sleep(0)
        barrier.wait(BARRIER_TIMEOUT)
        go.set()
        return list(await asyncio.gather(*tasks))


async def run_party_race(url: str, key: str, racers: int, processes: int) -> list[Reply]:
    barrier = SPAWN.Barrier(processes)
    collected = await run_processes(
        [(party_race_process, (url, key, f"p{n}", racers, barrier)) for n in range(processes)]
    )
    return [reply for payload in collected.values() for reply in payload]


# -- the parent's side ----------------------------------------------------------------------


async def run_processes(targets: Sequence[tuple[Any, tuple[Any, ...]]]) -> dict[str, Any]:
    """Start spawned children, collect what each put on the queue, and reap them all.

    Each target is called with its args plus the shared result queue, and must put
    one ``(name, payload)`` on it: a string payload reports the child's failure.
    """
    results = SPAWN.Queue()
    procs = [SPAWN.Process(target=fn, args=(*args, results)) for fn, args in targets]
    for proc in procs:
        proc.start()
    collected: dict[str, Any] = {}
    try:
        for _ in procs:
            name, payload = await asyncio.to_thread(results.get, True, JOIN_TIMEOUT)
            collected[name] = payload
        for proc in procs:
            await asyncio.to_thread(proc.join, JOIN_TIMEOUT)
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.kill()
                proc.join()
    failures = {name: p for name, p in collected.items() if isinstance(p, str)}
    assert not failures, f"child processes failed: {failures}"
    exit_codes = [proc.exitcode for proc in procs]
    assert exit_codes == [0] * len(procs), f"child exit codes: {exit_codes}"
    return collected


# -- confirm racing release -----------------------------------------------------------------


def confirm_release_process(
    url: str,
    key: str,
    actors: list[str],
    confirms_on_even: bool,
    barrier: Barrier,
    results: Queue,
) -> None:
    """One side of the confirm-vs-release race: one command per round, rounds gated by a barrier.

    The two sides swap roles every round, so neither process is always the
    confirmer (a fixed role would let a systematically faster process hide a bug
    on the other path).
    """
    side = "even" if confirms_on_even else "odd"
    try:
        replies = asyncio.run(_confirm_release(url, key, actors, confirms_on_even, barrier))
    except BaseException as exc:
        barrier.abort()
        results.put((side, f"{type(exc).__name__}: {exc}"))
        raise
    results.put((side, replies))


async def _confirm_release(
    url: str, key: str, actors: list[str], confirms_on_even: bool, barrier: Barrier
) -> list[Reply]:
    async with open_store(url) as store:
        ledger = Ledger(store, operator="confirm-release", deadline=RACER_DEADLINE)
        await ledger.seats_left(key)  # catch up before the first round, like a warm terminal
        replies = []
        for round_, actor in enumerate(actors):
            confirming = (round_ % 2 == 0) == confirms_on_even
            command: Callable[[str, str], Awaitable[Outcome]] = (
                ledger.confirm if confirming else ledger.release
            )
            # Blocking the loop here is deliberate: nothing else runs in this process,
            # and both sides leave the barrier within microseconds of each other.
            barrier.wait(BARRIER_TIMEOUT)
            replies.append(_reply(await command(key, actor), actor, round_))
        return replies


# -- a writer stopped in the middle of its transaction ------------------------------------------


def stuck_writer_process(db: str, take_turn: bool, ready: Event, release: Event) -> None:
    """Hold SQLite's write lock (and, like a boxoffice writer, its write turn) until released.

    This is the lock state of a writer stopped mid-transaction (SIGSTOP, a hung
    disk, a debugger), or of another SQLite tool writing to the file; the turn is
    taken exactly as ``SQLiteStore.append_many`` takes it.
    """
    turn = FairTurn(db + ".lock") if take_turn else None
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        if turn is not None:
            assert asyncio.run(turn.acquire(BARRIER_TIMEOUT))
        conn.execute("BEGIN IMMEDIATE")
        ready.set()
        release.wait(BARRIER_TIMEOUT)
        conn.execute("ROLLBACK")
    finally:
        if turn is not None:
            turn.close()
        conn.close()


# -- the kill -9 victim (run as a script) -----------------------------------------------------


async def kill_racers(url: str, key: str, prefix: str, ledgers: int, per_ledger: int) -> None:
    """Race holds (and confirm every other one), reporting each answer once it is returned.

    ``ledgers`` connections race each other through the database; the
    ``per_ledger`` racers on one ledger share its lane (group commit), so both
    write paths are in flight when the parent's SIGKILL lands. A line is written
    and flushed only after the ledger has answered: the parent holds the store to
    every line it has read.
    """
    async with AsyncExitStack() as stack:
        opened = await _open_ledgers(stack, url, ledgers, prefix)

        def report(word: str, actor: str) -> None:
            sys.stdout.write(f"{word} {actor}\n")
            sys.stdout.flush()

        async def racer(ledger: Ledger, actor: str, confirm: bool) -> None:
            outcome = await ledger.hold(key, actor)
            report(str(outcome.status), actor)
            if outcome.status is Status.HELD and confirm:
                confirmed = await ledger.confirm(key, actor)
                report(str(confirmed.status), actor)

        # Connections are open: say so, and start only when the parent says go, so the
        # victim and its rival process race from the same moment.
        report("ready", prefix)
        if sys.stdin.readline().strip() != "go":
            return
        await asyncio.gather(
            *(
                racer(ledger, f"{prefix}-{n}-{i}", i % 2 == 1)
                for n, ledger in enumerate(opened)
                for i in range(per_ledger)
            )
        )
    report("done", prefix)


def main(argv: list[str]) -> int:
    if len(argv) != 6 or argv[0] != "kill-racers":
        sys.stderr.write("usage: workers.py kill-racers URL KEY PREFIX LEDGERS PER_LEDGER\n")
        return 2
    _, url, key, prefix, ledgers, per_ledger = argv
    asyncio.run(kill_racers(url, key, prefix, int(ledgers), int(per_ledger)))
    # Stay alive until the parent kills us (or closes stdin), so every kill hits a live process.
    sys.stdin.read()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
