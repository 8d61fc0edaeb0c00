"""The script seam: what each racer process does, as a small typed, picklable description.

Tests and benchmarks describe a race with these and hand them to
``store.racers.swarm``, so spawning, the start barrier, per-racer stores and the
reply pipe exist once. A script names only actors and counts: how a racer
reaches the store is the ``Opener``'s business (a ``Ledger`` per racer unless the
caller brings its own clients, as the cross-system benchmark does).
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Reply:
    """One command's answer as a racer reports it (picklable, so it crosses the pipe).

    ``started`` and ``ended`` are ``time.monotonic()``, comparable across processes
    on one machine; scripts that do not time their commands leave them at 0.
    """

    actor: str
    status: str
    attempts: int
    seat: int | None = None
    round: int = 0
    started: float = 0.0
    ended: float = 0.0
    process: int = 0


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


def racers_of(script: Script) -> int:
    """How many clients a process running ``script`` needs."""
    if isinstance(script, HoldOnce):
        return len(script.actors)
    if isinstance(script, HoldInTurn):
        return len(script.lists)
    if isinstance(script, HoldThenConfirm):
        return len(script.actors)
    return 1
