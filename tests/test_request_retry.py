"""Issue 12 row 19: a client killed after its ``book`` committed retries it safely.

The client is the real console script in a real process. Its stdout is a pipe the
test filled to the brim beforehand, so after the commit the client blocks writing
its answer: the kill lands after the event is in the database and before any
answer left the process, exactly the moment a script cannot know its write
succeeded. The retry with the same ``--request-id`` must then say ``booked``
(replayed), exit 0, and the stream must hold one booking.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from store import EventStore
from store.booking import Ledger

KEY = "hamlet"
WAIT_S = 30.0


def _script() -> str:
    beside = Path(sys.executable).parent / "boxoffice"
    found = str(beside) if beside.exists() else shutil.which("boxoffice")
    if not found:
        pytest.skip("the boxoffice console script is not installed (pip install -e .)")
    return found


def _full_pipe() -> tuple[int, int]:
    """A pipe whose buffer is already full: a writer to it blocks until killed."""
    read_end, write_end = os.pipe()
    flags = fcntl.fcntl(write_end, fcntl.F_GETFL)
    fcntl.fcntl(write_end, fcntl.F_SETFL, flags | os.O_NONBLOCK)
    try:
        while True:
            os.write(write_end, b"." * 4096)
    except BlockingIOError:
        pass
    fcntl.fcntl(write_end, fcntl.F_SETFL, flags)
    return read_end, write_end


async def _bookings(store: EventStore) -> list[object]:
    return [e.data.get("actor") for e in await store.read("booking:" + KEY) if e.type == "booking"]


def _cli(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_script(), "--db", url, *args],
        capture_output=True,
        text=True,
        timeout=WAIT_S,
        env={**os.environ, "BOXOFFICE_OPERATOR": "clerk"},
    )


async def test_a_book_killed_after_its_commit_is_retried_as_booked(
    store: EventStore, store_url: str, tmp_path: Path
) -> None:
    await Ledger(store).create_occurrence(KEY, capacity=2)
    read_end, write_end = _full_pipe()
    errors = (tmp_path / "stderr").open("w")
    client = subprocess.Popen(
        [_script(), "--db", store_url, "book", KEY, "ada", "--request-id", "order-17"],
        stdout=write_end,
        stderr=errors,
        env={**os.environ, "BOXOFFICE_OPERATOR": "clerk"},
    )
    os.close(write_end)
    try:
        deadline = time.monotonic() + WAIT_S
        while not await _bookings(store):  # poll the database, not the clock
            assert client.poll() is None, "the client ended before its booking was visible"
            assert time.monotonic() < deadline, "the booking never became visible"
            await asyncio.sleep(0.005)  # the poll's interval, not a guess at when it lands
        assert client.poll() is None  # committed, and its answer is still stuck inside it
        client.send_signal(signal.SIGKILL)
        assert client.wait(WAIT_S) == -signal.SIGKILL
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
        errors.close()
    os.set_blocking(read_end, False)
    told = b""
    try:
        while chunk := os.read(read_end, 65536):
            told += chunk
    except BlockingIOError:
        pass
    os.close(read_end)
    assert b"booked" not in told  # no answer reached the client's reader

    retry = _cli(store_url, "book", KEY, "ada", "--request-id", "order-17")
    assert (retry.returncode, retry.stderr) == (0, "")
    assert retry.stdout.startswith("booked hamlet: ada, seat 1, ref #2")
    assert "(replayed: already written by this request)" in retry.stdout
    assert await _bookings(store) == ["ada"]

    # without the id, the same retry is the row-19 symptom: `already`, exit 1
    plain = _cli(store_url, "book", KEY, "ada")
    assert plain.returncode == 1 and plain.stdout.startswith("already hamlet")
    assert await _bookings(store) == ["ada"]


async def test_the_json_answer_of_a_replay_says_so(store: EventStore, store_url: str) -> None:
    await Ledger(store).create_occurrence(KEY, capacity=1)
    first = _cli(store_url, "--json", "hold", KEY, "ada", "--ttl", "15m", "--request-id", "h1")
    again = _cli(store_url, "--json", "hold", KEY, "ada", "--ttl", "15m", "--request-id", "h1")
    assert (first.returncode, again.returncode) == (0, 0)
    assert '"replayed": false' in first.stdout and '"replayed": true' in again.stdout
    assert first.stdout.replace("false", "true") == again.stdout
    other = _cli(store_url, "book", KEY, "ada", "--request-id", "h1")
    assert other.returncode == 2 and other.stderr.startswith("boxoffice: request_id:")
    bad = _cli(store_url, "book", KEY, "ada", "--request-id", "no spaces")
    assert bad.returncode == 2 and "--request-id" in bad.stderr


WRITING = {
    "create": ["k", "--capacity", "3"],
    "capacity": ["k", "4"],
    "book": ["k", "ada"],
    "hold": ["k", "ada"],
    "confirm": ["k", "ada"],
    "release": ["k", "ada"],
    "cancel": ["k", "ada"],
    "expire": ["k"],
    "checkin": ["k", "ada"],
    "note": ["k", "ada", "paid"],
    "wait": ["k", "ada"],
    "unwait": ["k", "ada"],
    "update": ["k", "--title", "T"],
    "archive": ["k"],
    "restore": ["k"],
}


def test_every_writing_command_takes_a_request_id() -> None:
    from tui.cli.main import build_parser

    parser = build_parser()
    for name, args in WRITING.items():
        parsed = parser.parse_args([name, *args, "--request-id", "a.B-1_:z"])
        assert parsed.request_id == "a.B-1_:z", name
        assert parser.parse_args([name, *args]).request_id is None, name
