"""``kill -9`` in the middle of a racing run, repeated on one database file.

Two child processes (``tests/support/workers.py kill-racers``), the victim and its
rival, race holds and confirms on one occurrence over several connections each,
and write a line for each answer only after the ledger returned it. The parent
waits for a random number of the victim's success lines (not for time), sends
it SIGKILL, lets the rival run to the end, then opens the file cold and checks
SPEC §1/§3: it opens, ``PRAGMA integrity_check`` is ok, every success reported
before death is in the stream exactly once, the rival was not wedged by the
dead writer and its answers match the stream, nothing is oversold, and a fresh
ledger can keep booking. The rounds share one file, so damage from one kill would surface in
every later round. The seed of the kill moments is printed; set
``BOXOFFICE_KILL_SEED`` to replay it.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import queue
import random
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import IO

import pytest
from support import workers

from store import open_store
from store.audit.check import check_stream
from store.booking import Ledger, Status
from store.eventstore.sqlite import SQLiteStore
from store.ledger.fold import stream_of

KILLS = int(os.environ.get("BOXOFFICE_KILL_ROUNDS", 20))  # more for a soak
LEDGERS = 4  # connections racing each other in the victim
PER_LEDGER = 8  # racers sharing each connection's lane (group commit)
RACERS = LEDGERS * PER_LEDGER
LINE_TIMEOUT = 60.0
SUCCESSES = ("held", "confirmed")


@dataclass
class Reports:
    """What a racer process said, read off its stdout pipe."""

    prefix: str
    lines: list[tuple[str, str]] = field(default_factory=list)
    ready: bool = False
    done: bool = False

    def actors(self, word: str) -> list[str]:
        return [actor for said, actor in self.lines if said == word]

    @property
    def successes(self) -> int:
        return sum(1 for said, _ in self.lines if said in SUCCESSES)

    def parse(self, line: str) -> None:
        word, _, actor = line.strip().partition(" ")
        if word == "ready":
            self.ready = True
        elif word == "done":
            self.done = True
        else:
            self.lines.append((word, actor))


@dataclass
class Figures:
    kills: int = 0
    mid_run: int = 0  # kills that landed before the victim's racers had all been answered
    reported: int = 0  # successes the victims reported before dying
    unreported_commits: int = 0  # durable writes the victim died before acknowledging
    rival_successes: int = 0  # successes of the process racing the victim, which lived on


def _pump(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)  # EOF: every process holding the pipe's write end is gone


class RacerProcess:
    """``workers.py kill-racers`` in a child process, its stdout read line by line."""

    def __init__(self, db: str, key: str, prefix: str, stderr_path: Path) -> None:
        self.stderr_path = stderr_path
        cmd = [sys.executable, workers.__file__, "kill-racers", db, key, prefix]
        with open(stderr_path, "w") as stderr:
            self.proc = subprocess.Popen(
                [*cmd, str(LEDGERS), str(PER_LEDGER)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
            )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin, self.stdout = self.proc.stdin, self.proc.stdout
        self.reports = Reports(prefix)
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._pump = threading.Thread(target=_pump, args=(self.stdout, self._lines), daemon=True)
        self._pump.start()

    def wait_until(self, condition: Callable[[Reports], bool]) -> None:
        """Read reports until ``condition`` holds; the child must stay alive meanwhile."""
        while not condition(self.reports):
            try:
                line = self._lines.get(timeout=LINE_TIMEOUT)
            except queue.Empty:
                pytest.fail(f"racer silent for {LINE_TIMEOUT:g} s: {self._stderr()}")
            if line is None:
                pytest.fail(f"racer exited by itself ({self.proc.wait()}): {self._stderr()}")
            self.reports.parse(line)

    def go(self) -> None:
        self.stdin.write("go\n")
        self.stdin.flush()

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        assert self.proc.wait(timeout=LINE_TIMEOUT) == -signal.SIGKILL
        self._drain()

    def finish(self) -> None:
        """Let a child that reported `done` exit on its own (stdin closed)."""
        self.stdin.close()
        assert self.proc.wait(timeout=LINE_TIMEOUT) == 0, self._stderr()
        self._drain()

    def _drain(self) -> None:
        # Lines flushed before the child died are still in the pipe: they count too.
        while (line := self._lines.get(timeout=LINE_TIMEOUT)) is not None:
            self.reports.parse(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if not self.stdin.closed:
            self.stdin.close()
        self._pump.join(timeout=LINE_TIMEOUT)
        self.stdout.close()

    def _stderr(self) -> str:
        return self.stderr_path.read_text()[-2000:]


async def _create(db: str, key: str, capacity: int, *, create: bool = True) -> None:
    async with open_store(db, create=create) as store:
        created = await Ledger(store, operator="setup").create_occurrence(key, capacity=capacity)
        assert created.status is Status.CREATED


async def _verify_after_kill(
    db: str,
    key: str,
    capacity: int,
    victim: Reports,
    rival: Reports,
    figures: Figures,
    context: str,
) -> None:
    async with open_store(db) as store:
        if isinstance(store, SQLiteStore):  # the file itself survived the kill
            assert await store.integrity_check() == ["ok"], context
        events = await store.read(stream_of(key))
        report = check_stream(events)
        assert report.ok, (context, [str(v) for v in report.violations])

        holds = Counter(e.data["actor"] for e in events if e.type == "hold")
        confirms = Counter(e.data["actor"] for e in events if e.type == "confirm")
        assert all(n == 1 for n in holds.values()), (context, holds)
        assert all(n == 1 for n in confirms.values()), (context, confirms)
        assert set(confirms) <= set(holds), context
        # The rival ran to the end with more racers than seats, and answered `full` only
        # once the house was: exactly `capacity` holds, whoever died on the way.
        assert len(holds) == capacity, (context, len(holds))

        assert set(victim.actors("held")) <= set(holds), (context, "a reported hold was lost")
        assert set(victim.actors("confirmed")) <= set(confirms), (context, "a confirm was lost")
        # The rival lived: every racer answered once, and its answers are exactly its events.
        answered = [a for said, a in rival.lines if said in ("held", "full")]
        assert len(answered) == len(set(answered)) == RACERS, (context, rival.lines)
        assert all(a.startswith((f"{victim.prefix}-", f"{rival.prefix}-")) for a in holds)
        victims = {a for a in holds if a.startswith(f"{victim.prefix}-")}
        assert set(rival.actors("held")) == set(holds) - victims, context
        assert set(rival.actors("confirmed")) == set(confirms) - victims, context

        victim_commits = len(victims) + sum(1 for a in confirms if a in victims)
        figures.kills += 1
        figures.mid_run += not victim.done
        figures.reported += victim.successes
        figures.unreported_commits += victim_commits - victim.successes
        figures.rival_successes += rival.successes

        # A fresh ledger can keep booking: the dead writer left no lock and no torn state.
        ledger = Ledger(store, operator="after-kill")
        assert await ledger.matches_full_fold(key), context
        assert await ledger.seats_left(key) == 0, context
        grown = await ledger.set_capacity(key, capacity + 1)
        assert grown.status is Status.CAPACITY_SET, context
        held = await ledger.hold(key, "after-kill")
        assert (held.status, held.seat) == (Status.HELD, capacity + 1), context
        assert check_stream(await store.read(stream_of(key))).ok, context


def _reached(successes: int, reports: Reports) -> bool:
    return reports.successes >= successes or reports.done


@pytest.mark.slow
def test_kill_9_mid_race_loses_nothing_acknowledged(store_url: str, tmp_path: Path) -> None:
    """On both backends: SQLite's file, and PostgreSQL's server losing a client mid-transaction."""
    db_path = store_url
    seed = int(os.environ.get("BOXOFFICE_KILL_SEED", random.randrange(2**32)))
    print(f"kill -9 seed {seed} (replay: BOXOFFICE_KILL_SEED={seed})")
    rng = random.Random(seed)
    figures = Figures()
    # PostgreSQL rounds cost more (a server connection per racer); half as many
    rounds = max(4, KILLS // 2) if "://" in store_url else KILLS
    for round_ in range(rounds):
        key = f"kill-{round_}"
        capacity = rng.randint(RACERS // 3, RACERS - 4)  # below the racers: some must lose
        # The victim wins about half the seats (and confirms half of those) against its
        # rival, so a kill after up to half the capacity of successes lands mid-run.
        kill_after = rng.randint(1, capacity // 2)
        context = f"seed {seed}, round {round_}, capacity {capacity}, kill after {kill_after}"
        asyncio.run(_create(db_path, key, capacity, create=round_ == 0))
        victim = RacerProcess(db_path, key, f"v{round_}", tmp_path / f"victim-{round_}.err")
        rival = RacerProcess(db_path, key, f"r{round_}", tmp_path / f"rival-{round_}.err")
        try:
            for racer in (victim, rival):
                racer.wait_until(lambda r: r.ready)
            victim.go()
            rival.go()
            victim.wait_until(partial(_reached, kill_after))
            victim.kill()
            rival.wait_until(lambda r: r.done)
            rival.finish()
        finally:
            victim.close()
            rival.close()
        asyncio.run(
            _verify_after_kill(
                db_path, key, capacity, victim.reports, rival.reports, figures, context
            )
        )
    # Guard against a vacuous run: kills must land while the victim's racers were writing.
    assert figures.mid_run >= rounds // 4, figures
    print(f"kill -9: {figures}")


# -- a writer stopped in the middle of its transaction -----------------------------------------

SPAWN = multiprocessing.get_context("spawn")
STUCK_DEADLINE = 0.5
#: How long past its deadline a command may take before the test calls it hung.
HANG_SLACK = 3.0


@pytest.mark.slow
@pytest.mark.parametrize("take_turn", [False, True], ids=["sqlite-lock", "write-turn-and-lock"])
async def test_a_stopped_writer_makes_commands_answer_conflict_by_the_deadline(
    db_path: str, take_turn: bool
) -> None:
    """SPEC §1/§3: a busy database is waited out only until the deadline, then `conflict`.

    Another process holds the write lock and never lets go (until the test ends).
    A command must neither raise (a lock "never reaches a caller as a crash") nor
    hang: it answers `conflict` when its deadline passes, having written nothing.
    """
    await _create(db_path, "stuck", 5)
    ready, release = SPAWN.Event(), SPAWN.Event()
    holder = SPAWN.Process(
        target=workers.stuck_writer_process, args=(db_path, take_turn, ready, release)
    )
    holder.start()
    try:
        assert await asyncio.to_thread(ready.wait, LINE_TIMEOUT)
        async with open_store(db_path, busy_timeout=STUCK_DEADLINE * 2) as store:
            ledger = Ledger(store, operator="blocked", deadline=STUCK_DEADLINE)
            try:
                answer = await asyncio.wait_for(
                    ledger.hold("stuck", "ada"), STUCK_DEADLINE + HANG_SLACK
                )
            finally:
                # Let go before the store closes: its connection may be parked behind the lock.
                release.set()
                await asyncio.to_thread(holder.join, LINE_TIMEOUT)
            assert answer.status is Status.CONFLICT
            assert [e.type for e in await store.read(stream_of("stuck"))] == ["created"]
    finally:
        release.set()
        if holder.is_alive():
            holder.kill()
        holder.join()
