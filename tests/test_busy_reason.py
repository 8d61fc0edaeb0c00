"""Issue 12 row 9: a writer that loses the write turn says who holds it and for how long.

A read-only local user running ``flock -s box.db.lock sleep 15`` made every writer
answer ``conflict`` after 5 s with no word of why. Now the store's ``StoreBusy``
carries a reason naming the holder's pid (from ``/proc/locks``), the ledger's
``conflict`` outcome carries it as ``Outcome.reason``, and the command line and
the app print it. The holders here are real processes (``flock(1)``, a Python
child in ``BEGIN IMMEDIATE``) on a real database file; each says "ready" before
the test goes on, so nothing waits on a sleep.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from store import open_store
from store.booking import Ledger
from store.eventstore.lock_holders import lock_holders, seconds, who
from store.ledger.outcomes import Outcome, Status
from tui.cli.main import main
from tui.widgets.answers import answer

KEY = "k"

_IMMEDIATE = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("ready", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def house(db_path: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("BOXOFFICE_DB", db_path)
    monkeypatch.setenv("BOXOFFICE_OPERATOR", "tester")

    async def go() -> None:
        async with open_store(db_path, create=True) as store:
            ledger = Ledger(store, operator="setup")
            await ledger.create_occurrence(KEY, capacity=3)
            await ledger.book(KEY, "ada")  # the sidecar lock files exist now

    asyncio.run(go())
    return db_path


def _holder(argv: list[str]) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        yield proc
    finally:
        _release(proc)


def _release(proc: subprocess.Popen[str]) -> None:
    """Close the holder's stdin: its ``cat``/``read`` ends, and the lock with it."""
    if proc.stdin is not None and not proc.stdin.closed:
        proc.stdin.close()
    proc.wait(timeout=30)


@pytest.fixture
def flock_holder(house: str) -> Iterator[subprocess.Popen[str]]:
    """``flock -s DB.lock``, as the issue's read-only user ran it."""
    if shutil.which("flock") is None:
        pytest.skip("flock(1) is not installed")
    # -o: the command does not inherit the lock, so it ends when flock(1) does
    yield from _holder(["flock", "-o", "-s", house + ".lock", "-c", "echo ready; exec cat"])


@pytest.fixture
def sqlite_holder(house: str) -> Iterator[subprocess.Popen[str]]:
    """Another program in the middle of a write transaction (no boxoffice write turn)."""
    yield from _holder([sys.executable, "-c", _IMMEDIATE, house])


def test_the_command_line_says_who_holds_the_write_turn(
    house: str, flock_holder: subprocess.Popen[str], capsys: pytest.CaptureFixture[str]
) -> None:
    holders = lock_holders(house + ".lock")
    assert holders, "the kernel lists no holder of the turn"
    assert main(["book", KEY, "bo", "--json"]) == 1
    reply = json.loads(capsys.readouterr().out)
    assert reply["status"] == "conflict"
    assert holders == [flock_holder.pid]
    assert (
        reply["reason"]
        == f"another process (pid {flock_holder.pid}) has held the write turn for 5 s"
    )
    _release(flock_holder)
    assert main(["book", KEY, "bo"]) == 0  # the turn is free: the same command succeeds
    assert capsys.readouterr().out.startswith("booked k: bo")


async def test_the_ledger_conflict_names_a_sqlite_lock_holder(
    house: str, sqlite_holder: subprocess.Popen[str]
) -> None:
    async with open_store(house, busy_timeout=0.5) as store:
        ledger = Ledger(store, operator="t", deadline=0.5)
        late = await asyncio.wait_for(ledger.book(KEY, "bo"), 30)
    assert late.status is Status.CONFLICT
    assert late.reason == (
        f"the database was locked by another process (pid {sqlite_holder.pid}) for over 0.5 s"
    )


def test_the_text_answer_carries_the_reason(
    house: str, sqlite_holder: subprocess.Popen[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["hold", KEY, "bo"]) == 1
    out = capsys.readouterr().out
    assert out == (
        f"conflict k: bo, the database was locked by another process "
        f"(pid {sqlite_holder.pid}) for over 5 s\n"
    )


def test_the_app_answer_shows_the_reason_literally() -> None:
    said = answer(Outcome(Status.CONFLICT, "ada", reason="[red]x[/] held it\x1b[2J"))
    assert said == "Busy: [red]x[/] held it\\u{001B}[2J; nothing written, try again"
    assert answer(Outcome(Status.CONFLICT, "ada")).startswith("Busy: other writers")


def test_how_holders_and_waits_read() -> None:
    assert who([]) == "another process"
    assert who([7]) == "another process (pid 7)"
    assert who([7, 9]) == "other processes (pids 7, 9)"
    assert [seconds(s) for s in (5.0, 4.99873, 0.3, 12.04)] == ["5", "5", "0.3", "12"]
    assert lock_holders("/nonexistent/file") == []
