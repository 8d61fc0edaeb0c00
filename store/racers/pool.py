"""Pooled racer processes: kept across runs, every command's start streamed to the parent.

A fault harness runs hundreds of short races, and a spawn costs more than a run,
so ``SwarmPool`` spawns its processes once and sends each run a ``FaultMix`` and
an opener. The parent hears each command's start as it happens (``Started``),
which is what lets it SIGKILL a racer (``kill``) or fault its server after the
N-th one, and it is woken at a steady beat (``tick_every``) to step a shared
clock. A killed process is replaced as the run ends (by a spare spawned at the
previous replacement, already booted), so the next run finds the pool whole.

On each process's pipe, down: a job ``(url, key, script, opener, process)``,
then ``"go"``, or ``None`` to exit; up: ``("ready", None)`` at the gate,
``("start", client)`` per command, and ``("done", replies)`` or
``("failed", traceback)``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

from store.racers.errors import RaceError
from store.racers.mix import perform_mix
from store.racers.script import FaultMix, MixOpener, Reply
from store.racers.swarm import SPAWN

#: Nothing in one run should take this long; a run that does is reported, not waited for.
STALL = 60.0


@dataclass(frozen=True, slots=True)
class Started:
    """Process ``process``'s client ``client`` is about to send; ``number`` counts from 1
    over that process's commands in this run."""

    process: int
    client: int
    number: int


@dataclass(slots=True)
class PoolRun:
    """One run's replies per process, the processes killed, and the processes that failed."""

    per_process: list[list[Reply]]
    killed: set[int] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)

    @property
    def replies(self) -> list[Reply]:
        return [reply for replies in self.per_process for reply in replies]

    @property
    def crashes(self) -> list[str]:
        """Every client that raised (its traceback) and every process that failed."""
        return [r.error for r in self.replies if r.error is not None] + self.failures


class _ParentsWord:
    """The gate of a pooled process: it says it is ready and waits for the parent's "go"."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def wait(self, timeout: float | None = None) -> object:
        self.conn.send(("ready", None))
        if not self.conn.poll(timeout):
            raise RaceError(f"no word to go within {timeout} s")
        word = self.conn.recv()
        if word != "go":
            raise RaceError(f"expected the word to go, got {word!r}")
        return word


async def _pooled(conn: Connection, job: tuple[str, str, FaultMix, MixOpener, int]) -> list[Reply]:
    url, key, script, opener, process = job
    async with opener(url, key, len(script.clients)) as clients:
        return await perform_mix(
            script, clients, process, _ParentsWord(conn), lambda n: conn.send(("start", n))
        )


def pool_child(conn: Connection) -> None:
    """Entry point of one pooled process: one job per run, until ``None`` or SIGKILL."""
    while (job := conn.recv()) is not None:
        try:
            replies = asyncio.run(_pooled(conn, job))
        except BaseException:
            conn.send(("failed", traceback.format_exc()))
            continue
        conn.send(("done", replies))


class SwarmPool:
    """Spawned racer processes kept across runs of ``FaultMix`` scripts."""

    def __init__(self) -> None:
        self._procs: list[BaseProcess] = []
        self._conns: list[Connection] = []
        self._killed: set[int] = set()  # this run's, by ``kill``
        self._gone: set[int] = set()  # this run's processes to replace: killed or died
        self._spare: tuple[BaseProcess, Connection] | None = None  # spawned after a first kill

    @staticmethod
    def _spawn() -> tuple[BaseProcess, Connection]:
        parent, child = SPAWN.Pipe()
        proc = SPAWN.Process(target=pool_child, args=(child,), daemon=True)
        proc.start()
        child.close()
        return proc, parent

    def ensure(self, count: int) -> None:
        """At least ``count`` processes, spawned now so they boot while the caller sets up."""
        while len(self._procs) < count:
            proc, conn = self._spawn()
            self._procs.append(proc)
            self._conns.append(conn)

    def kill(self, process: int) -> None:
        """SIGKILL ``process`` mid-run (from ``on_start``); it is replaced as the run ends."""
        pid = self._procs[process].pid
        assert pid is not None, "a pooled process is started when it is spawned"
        os.kill(pid, signal.SIGKILL)
        self._killed.add(process)
        self._gone.add(process)

    def run(
        self,
        url: str,
        key: str,
        scripts: Sequence[FaultMix],
        openers: Sequence[MixOpener],
        *,
        on_start: Callable[[Started], object] | None = None,
        tick_every: float | None = None,
        on_tick: Callable[[], object] | None = None,
        stall: float = STALL,
    ) -> PoolRun:
        """Run ``scripts[n]`` on ``openers[n]``'s clients in process ``n``, all started together.

        Raises ``RaceError`` if a process never reaches the gate or the run outlasts
        ``stall``; the pool's processes are then killed (the next run spawns afresh).
        """
        self.ensure(len(scripts))
        self._killed, self._gone = set(), set()
        try:
            return self._run(url, key, scripts, openers, on_start, tick_every, on_tick, stall)
        except BaseException:
            self.close(wait=0)
            raise
        finally:
            for n in sorted(self._gone):
                self._replace(n, stall)

    def _run(
        self,
        url: str,
        key: str,
        scripts: Sequence[FaultMix],
        openers: Sequence[MixOpener],
        on_start: Callable[[Started], object] | None,
        tick_every: float | None,
        on_tick: Callable[[], object] | None,
        stall: float,
    ) -> PoolRun:
        conns = self._conns[: len(scripts)]
        jobs = zip(conns, scripts, openers, strict=True)
        for n, (conn, script, opener) in enumerate(jobs):
            conn.send((url, key, script, opener, n))
        for n, conn in enumerate(conns):
            if not conn.poll(stall):
                raise RaceError(f"racer {n} never became ready")
            kind, payload = conn.recv()
            if kind != "ready":
                error = RaceError(f"racer {n} failed to start: {payload.strip().splitlines()[-1]}")
                error.add_note(payload)  # the whole traceback, for whoever debugs it
                raise error
        for conn in conns:
            conn.send("go")
        result = PoolRun([[] for _ in scripts], self._killed)  # kill() adds to it as it goes
        running = dict(enumerate(conns))
        started = dict.fromkeys(running, 0)
        next_tick = time.monotonic() + (tick_every or stall)
        deadline = time.monotonic() + stall
        while running:
            if time.monotonic() > deadline:
                raise RaceError(f"racers stalled for {stall:g} s")
            for ready in wait(list(running.values()), max(0.0, next_tick - time.monotonic())):
                n = next(i for i, c in running.items() if c is ready)
                try:
                    kind, payload = running[n].recv()
                except EOFError:
                    del running[n]
                    if n not in self._killed:
                        result.failures.append(f"racer {n} died (exit {self._procs[n].exitcode})")
                        self._gone.add(n)
                    continue
                if kind == "start":
                    started[n] += 1
                    if on_start is not None:
                        on_start(Started(n, payload, started[n]))
                elif kind == "done":
                    result.per_process[n] = payload
                    del running[n]
                else:
                    result.failures.append(f"racer {n}: {payload}")
                    del running[n]
            if tick_every is not None and time.monotonic() >= next_tick:
                if on_tick is not None:
                    on_tick()
                next_tick = time.monotonic() + tick_every
        return result

    def _replace(self, process: int, stall: float) -> None:
        """The spare takes the dead process's place, and a new spare starts booting.

        A spawn boots for longer than a short run lasts, so a replacement spawned
        only now would hold up the next run; the spare has had a run to boot.
        """
        if process >= len(self._procs):  # the pool was closed after a failed run
            return
        self._procs[process].join(stall)
        self._conns[process].close()
        self._procs[process], self._conns[process] = self._spare or self._spawn()
        self._spare = self._spawn()

    def close(self, wait: float = 5.0) -> None:
        """Ask every process to exit; one still alive after ``wait`` seconds is killed."""
        if self._spare is not None:
            self._procs.append(self._spare[0])
            self._conns.append(self._spare[1])
            self._spare = None
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.send(None)
        for proc in self._procs:
            proc.join(wait)
            if proc.is_alive():
                proc.kill()
                proc.join()
        for conn in self._conns:
            conn.close()
        self._procs, self._conns = [], []
