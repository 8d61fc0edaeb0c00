"""Racers that run in child processes, for the race and kill tests.

They live apart from the test modules so that a ``spawn``ed child imports only
this file and ``store/``, never pytest or a test file. The kill test runs this
file as a script (``python tests/workers.py kill-racers ...``) so that its
reports travel over a plain pipe that outlives the process it kills.

The races themselves are scripts (``store.racers.script``) run by the one
multi-process engine, ``store.racers.swarm``: every racer gets its own store
connection and its own ``Ledger``. The hold, party and kill races make those
ledgers fold alone (``share=False``), as separate terminals do, so every racer
races through the database's optimistic check; by default the ledgers of one
process share its fold and lane (``store.ledger.shared``: its own tests).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import sqlite3
import sys
import zlib
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from multiprocessing.synchronize import Event

from store.eventstore.writegate import FairTurn
from store.racers.clients import RACER_DEADLINE, ledger_opener
from store.racers.script import (
    Alternate,
    Client,
    HoldOnce,
    HoldThenConfirm,
    MixClient,
    MixCommand,
    Reply,
)
from store.racers.swarm import BARRIER_TIMEOUT, perform, run_swarm_async

__all__ = ["BARRIER_TIMEOUT", "RACER_DEADLINE", "Reply"]

SPAWN = multiprocessing.get_context("spawn")


def _hold_scripts(racers: int, processes: int, sized: bool) -> list[HoldOnce]:
    """Process ``n`` races ``racers`` actors ``pn-0``, ``pn-1``, ... (party sizes if ``sized``)."""
    scripts = []
    for n in range(processes):
        actors = tuple(f"p{n}-{i}" for i in range(racers))
        seats = tuple(party_size(a) for a in actors) if sized else ()
        scripts.append(HoldOnce(actors, seats))
    return scripts


# -- the multi-process hold race ------------------------------------------------------------


async def run_hold_race(url: str, key: str, racers: int, processes: int) -> list[Reply]:
    """Every reply of ``processes`` spawned children racing ``racers`` holds each on ``key``.

    Each racer has its own store and a ledger that folds alone (``share=False``), so
    every racer races through the database; all are parked until every process is ready.
    """
    scripts = _hold_scripts(racers, processes, sized=False)
    opener = ledger_opener("hold-race", share=False)
    return (await run_swarm_async(url, key, scripts, opener=opener)).replies


# -- the multi-process party race ------------------------------------------------------------


def party_size(actor: str) -> int:
    """A racer's party size, 1-4, fixed by its name so the parent can recompute it."""
    return 1 + zlib.crc32(actor.encode()) % 4


async def run_party_race(url: str, key: str, racers: int, processes: int) -> list[Reply]:
    """Like ``run_hold_race``, but each racer holds for a party of ``party_size`` seats."""
    scripts = _hold_scripts(racers, processes, sized=True)
    opener = ledger_opener("party-race", share=False)
    return (await run_swarm_async(url, key, scripts, opener=opener)).replies


# -- confirm racing release -----------------------------------------------------------------


async def run_confirm_release(url: str, key: str, actors: list[str]) -> dict[str, list[Reply]]:
    """Two processes, one command per round each, rounds gated by a barrier; roles swap.

    Returns each side's replies by name: ``even`` confirms on even rounds, ``odd`` on odd ones.
    """
    scripts = [Alternate(tuple(actors), True), Alternate(tuple(actors), False)]
    result = await run_swarm_async(url, key, scripts, operator="confirm-release")
    even, odd = result.per_process
    return {"even": even, "odd": odd}


# -- a child that fails while the others wait at the barrier ---------------------------------


class FailsForTwo:
    """An ``Opener`` that fails a process of two racers and opens ledgers for the others.

    Picklable and here (not in a test module) so a spawned child imports no pytest.
    """

    def __init__(self, operator: str) -> None:
        self.opener = ledger_opener(operator)

    def __call__(
        self, url: str, key: str, racers: int
    ) -> AbstractAsyncContextManager[Sequence[Client]]:
        if racers == 2:
            raise RuntimeError("this process was told to fail")
        return self.opener(url, key, racers)


# -- fault-mix clients that touch no store (the pooled engine's own tests) --------------------


class _Echo:
    """Answers a command with its kind; ``hang`` never answers and ``raise`` raises."""

    async def warm(self) -> None:
        return None

    async def send(self, command: MixCommand) -> str:
        if command[0] == "hang":
            await asyncio.Event().wait()
        if command[0] == "raise":
            raise OSError("disk gone")
        return command[0]


class EchoMix:
    """A ``MixOpener`` of ``_Echo`` clients, or (``fails``) one whose opening fails."""

    def __init__(self, fails: bool = False) -> None:
        self.fails = fails

    @asynccontextmanager
    async def __call__(
        self, url: str, key: str, clients: int
    ) -> AsyncIterator[Sequence[MixClient]]:
        if self.fails:
            raise RuntimeError("this process was told to fail")
        yield [_Echo() for _ in range(clients)]


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


class _NoGo(Exception):
    """The parent closed stdin (or said something else) instead of ``go``."""


class _ParentSaysGo:
    """The start gate of the kill victim: say ``ready``, then wait for the parent's ``go``."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def wait(self, timeout: float | None = None) -> object:
        _report("ready", self.prefix)
        if sys.stdin.readline().strip() != "go":
            raise _NoGo
        return None


def _report(word: str, actor: str) -> None:
    sys.stdout.write(f"{word} {actor}\n")
    sys.stdout.flush()


async def kill_racers(url: str, key: str, prefix: str, ledgers: int, per_ledger: int) -> None:
    """Race holds (and confirm every other one), reporting each answer once it is returned.

    ``ledgers`` connections race each other through the database (their ledgers
    fold alone: ``share=False``); the
    ``per_ledger`` racers on one ledger share its lane (group commit), so both
    write paths are in flight when the parent's SIGKILL lands. A line is written
    and flushed only after the ledger has answered: the parent holds the store to
    every line it has read. Connections are open before ``ready`` is said, and the
    racers start only when the parent says ``go``, so the victim and its rival
    process race from the same moment.
    """
    script = HoldThenConfirm(
        tuple(f"{prefix}-{n}-{i}" for n in range(ledgers) for i in range(per_ledger)),
        tuple(i % 2 == 1 for _ in range(ledgers) for i in range(per_ledger)),
    )
    opener = ledger_opener(prefix, per_ledger, share=False)
    async with opener(url, key, len(script.actors)) as clients:
        try:
            await perform(
                script,
                clients,
                barrier=_ParentSaysGo(prefix),
                on_reply=lambda reply: _report(reply.status, reply.actor),
            )
        except _NoGo:
            return
    _report("done", prefix)


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
