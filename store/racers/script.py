"""The script seam: what each racer process does, as a small typed, picklable description.

Tests and benchmarks describe a race with these and hand them to
``store.racers.swarm``, so spawning, the start barrier, per-racer stores and the
reply pipe exist once. A script names only actors and counts: how a racer
reaches the store is the ``Opener``'s business (a ``Ledger`` per racer unless the
caller brings its own clients, as the cross-system benchmark does).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Reply:
    """One command's answer as a racer reports it (picklable, so it crosses the pipe).

    ``started`` and ``ended`` are ``time.monotonic()``, comparable across processes
    on one machine; scripts that do not time their commands leave them at 0.
    ``error`` is the traceback of a command that raised where the script counts that
    as a crash of its client (``FaultMix``); its status is then ``crash``.
    """

    actor: str
    status: str
    attempts: int
    seat: int | None = None
    round: int = 0
    started: float = 0.0
    ended: float = 0.0
    process: int = 0
    error: str | None = None


@dataclass(frozen=True, slots=True)
class HoldOnce:
    """One racer per actor, all parked until every process is ready, then one hold each.

    ``seats`` is each actor's party size (empty: one seat each). Nothing is read
    before the start, so every racer decides on its first read, as a cold client.
    """

    actors: tuple[str, ...]
    seats: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class HoldInTurn:
    """Each racer holds its own actors one after another until ``budget`` seconds are spent.

    Every racer first folds the stream (a warm client), then the processes start
    together. ``stop_on_full`` ends a racer at its first ``full``; ``errors_as_replies``
    counts a command that raised as a reply (``error: ...``) and races on, where
    otherwise it fails the process.
    """

    lists: tuple[tuple[str, ...], ...]
    budget: float
    stop_on_full: bool = False
    errors_as_replies: bool = False


@dataclass(frozen=True, slots=True)
class Alternate:
    """One racer, one command per actor, every round gated by the barrier across processes.

    It confirms on even rounds when ``confirms_on_even`` and releases otherwise,
    so two processes with opposite flags race confirm against release on each
    actor and swap roles every round (a fixed role would let a systematically
    faster process hide a bug on the other path).
    """

    actors: tuple[str, ...]
    confirms_on_even: bool


@dataclass(frozen=True, slots=True)
class HoldThenConfirm:
    """One racer per actor: hold once, and confirm the hold if won and ``confirms[i]``.

    Racers start together once the gate opens; with ``on_reply`` each answer is
    reported the moment it is returned, which is what a kill test holds the store to.
    """

    actors: tuple[str, ...]
    confirms: tuple[bool, ...]


Script = HoldOnce | HoldInTurn | Alternate | HoldThenConfirm

#: One command of a fault mix: its kind, its actor (none for ``expire`` and ``capacity``),
#: and its number (a hold's ttl in clock ticks, a party's size, a new capacity).
MixCommand = tuple[str, str | None, int | None]


@dataclass(frozen=True, slots=True)
class FaultMix:
    """Each client sends its own commands in order; the process's clients run concurrently.

    The mix is the fault harness's: random holds, books, confirms, releases, cancels,
    expiries, the odd capacity change and, on a waiting-list run, joins and leaves
    (``fault_mix_client`` draws one client's share). Clients warm up first, wait at
    the gate together, and the start of every command is reported as it happens,
    so a parent can kill the process or its server after the N-th one.
    """

    clients: tuple[tuple[MixCommand, ...], ...]


def mix_weights(*, waitlist: bool, capacity_changes: bool) -> dict[str, int]:
    """How often each kind of command is drawn (a waiting-list run: a fuller house churning)."""
    weights = {"hold": 30, "book": 10, "confirm": 20, "release": 10, "cancel": 10, "expire": 8}
    if waitlist:
        weights |= {"hold": 20, "book": 8, "wait": 25, "unwait": 4, "cancel": 14, "expire": 5}
    if capacity_changes:
        weights["capacity"] = 2
    return weights


def fault_mix_client(
    rng: random.Random, actors: Sequence[str], weights: dict[str, int]
) -> tuple[MixCommand, ...]:
    """One client's three to seven commands; it tends to follow up the actors it seated.

    The draws are a pure function of ``rng``'s state, so a run's seed replays its mix.
    """
    kinds, odds = list(weights), list(weights.values())
    commands: list[MixCommand] = []
    mine: list[str] = []
    for _ in range(rng.randint(3, 7)):
        kind = rng.choices(kinds, odds)[0]
        if kind == "capacity":
            commands.append((kind, None, rng.randint(0, 4)))
        elif kind == "expire":
            commands.append((kind, None, None))
        elif kind == "wait":
            actor = rng.choice(actors)
            mine.append(actor)
            commands.append((kind, actor, rng.choice([1, 1, 1, 2])))
        elif kind in ("hold", "book"):
            actor = rng.choice(actors)
            mine.append(actor)
            commands.append(
                (kind, actor, rng.choice([None, 1, 1, 2, 3]) if kind == "hold" else None)
            )
        else:
            actor = rng.choice(mine) if mine and rng.random() < 0.7 else rng.choice(actors)
            commands.append((kind, actor, None))
    return tuple(commands)


class Gate(Protocol):
    """Where a process waits for the others (a ``multiprocessing`` barrier, or a parent's word)."""

    def wait(self, timeout: float | None = None) -> object: ...


class Client(Protocol):
    """One racer's way to the store; ``(status, attempts, seat)`` per command."""

    async def warm(self) -> None: ...

    async def hold(self, actor: str, seats: int) -> tuple[str, int, int | None]: ...

    async def confirm(self, actor: str) -> tuple[str, int, int | None]: ...

    async def release(self, actor: str) -> tuple[str, int, int | None]: ...

    def counters(self) -> dict[str, int]: ...


class Opener(Protocol):
    """Opens ``racers`` clients on ``key`` at ``url`` (a module-level function: it is pickled).

    Clients may be shared (one object several times): counters are summed once per object.
    """

    def __call__(
        self, url: str, key: str, racers: int
    ) -> AbstractAsyncContextManager[Sequence[Client]]: ...


class MixClient(Protocol):
    """One fault-mix client's way to the store: it sends a command and names the reply.

    What it records about the command (a history for a checker) is its own business;
    an exception is a crash of this client, and the engine reports it as one.
    """

    async def warm(self) -> None: ...

    async def send(self, command: MixCommand) -> str: ...


class MixOpener(Protocol):
    """Opens ``clients`` fault-mix clients on ``key`` at ``url`` (picklable: it is sent to a
    pooled process with each run, so it may carry that run's files and switches)."""

    def __call__(
        self, url: str, key: str, clients: int
    ) -> AbstractAsyncContextManager[Sequence[MixClient]]: ...


def racers_of(script: Script) -> int:
    """How many clients a process running ``script`` needs."""
    if isinstance(script, HoldOnce):
        return len(script.actors)
    if isinstance(script, HoldInTurn):
        return len(script.lists)
    if isinstance(script, HoldThenConfirm):
        return len(script.actors)
    return 1
