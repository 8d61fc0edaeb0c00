"""Clock sanity (issue 12, row 5): a terminal whose clock runs ahead may not write.

The harm, shown first with the check switched off (how every write went before):
one real second process whose clock is three years ahead books a seat, and every
live hold on the occurrence lapses at once, for every terminal. With the check
(the default for a ledger on its own clock; asked for here because the clock is
injected), the same process is refused with the skew named, and nothing is written.
``boxoffice check`` flags an occurrence whose recorded times run ahead of now.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta

import pytest

from store import EventStore, open_store
from store.booking import Ledger
from store.ledger.clock_check import CLOCK_LEAD, ClockSkew, ahead_of_now, machine_now, spell
from store.ledger.fold import stream_of

KEY = "skewed-night"
SKEW_DAYS = 1095

#: The second terminal: its clock SKEW_DAYS ahead of the machine's, through the ledger's
#: clock seam; argv: database, occurrence, actor, "check" or "no-check".
SECOND_TERMINAL = textwrap.dedent(
    """
    import asyncio, json, sys
    from datetime import UTC, datetime, timedelta
    from store import open_store
    from store.booking import Ledger

    async def main(db, key, actor, mode):
        ahead = lambda: datetime.now(UTC) + timedelta(days=int(sys.argv[5]))
        async with open_store(db) as store:
            ledger = Ledger(store, clock=ahead, operator="skewed", clock_check=mode == "check")
            try:
                outcome = await ledger.book(key, actor)
            except Exception as exc:
                print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
                return
            print(json.dumps({"status": str(outcome.status)}))

    asyncio.run(main(*sys.argv[1:5]))
    """
)


def _second_terminal(db_path: str, actor: str, mode: str) -> dict[str, str]:
    done = subprocess.run(
        [sys.executable, "-c", SECOND_TERMINAL, db_path, KEY, actor, mode, str(SKEW_DAYS)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    answer: dict[str, str] = json.loads(done.stdout)
    return answer


async def _house_with_live_holds(db_path: str) -> None:
    async with open_store(db_path, create=True) as store:
        ledger = Ledger(store, operator="box")  # the machine's own clock, checked
        await ledger.create_occurrence(KEY, capacity=4, hold_ttl=timedelta(minutes=15))
        for actor in ("ada", "bob", "cy"):
            assert (await ledger.hold(KEY, actor)).status == "held"


async def _states(db_path: str) -> tuple[int, list[str]]:
    async with open_store(db_path) as store:
        ledger = Ledger(store)
        record = await ledger.occurrence(KEY)
        return record.seq, [await ledger.seat_state(KEY, a) for a in ("ada", "bob", "cy")]


async def test_a_terminal_years_ahead_is_refused_and_the_holds_stay(db_path: str) -> None:
    await _house_with_live_holds(db_path)
    seq_before, states = await _states(db_path)
    assert states == ["held", "held", "held"]

    answer = _second_terminal(db_path, "dee", "check")

    assert answer["error"] == "ClockSkew", answer
    message = answer["message"]
    assert "\n" not in message
    assert f"{SKEW_DAYS:,} days ahead of this machine's clock" in message
    assert "nothing was written" in message
    assert await _states(db_path) == (seq_before, ["held", "held", "held"])


async def test_without_the_check_that_terminal_lapses_every_live_hold_at_once(
    db_path: str,
) -> None:
    """What row 5 found: the same write, unchecked, takes every hold at once."""
    await _house_with_live_holds(db_path)
    seq_before, _ = await _states(db_path)

    assert _second_terminal(db_path, "dee", "no-check") == {"status": "booked"}

    seq_after, states = await _states(db_path)
    assert seq_after == seq_before + 1
    assert states == ["none", "none", "none"]  # three live holds, lapsed by one write


async def test_check_flags_an_occurrence_whose_recorded_times_run_ahead(db_path: str) -> None:
    await _house_with_live_holds(db_path)
    _second_terminal(db_path, "dee", "no-check")  # the damage, written the old way
    done = subprocess.run(
        [sys.executable, "-m", "tui.cli.main", "--db", db_path, "check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"booking:{KEY} seq 5" in done.stderr
    assert "ahead of this machine's clock" in done.stderr
    assert "VIOLATION" in done.stdout
    doctor = subprocess.run(
        [sys.executable, "-m", "tui.cli.main", "--db", db_path, "doctor"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    # a few seconds have passed since the write: 1,094 days and some hours
    assert re.search(rf"warning: {KEY}: recorded times run 1,09[45] days ahead", doctor.stdout), (
        doctor.stdout
    )


async def test_an_injected_clock_is_checked_against_the_backends_now(store: EventStore) -> None:
    """SQLite: the machine's clock; PostgreSQL: the server's. 4 minutes ahead is fine."""
    lead = [timedelta(minutes=4)]
    ledger = Ledger(store, clock=lambda: machine_now() + lead[0], clock_check=True)
    assert (await ledger.create_occurrence(KEY, capacity=2)).status == "created"
    lead[0] = timedelta(minutes=6)
    with pytest.raises(ClockSkew, match=r"6 min ahead of (this machine's|the database server's)"):
        await ledger.book(KEY, "ada")
    assert (await ledger.occurrence(KEY)).seq == 1
    assert [e.type for e in await store.read(stream_of(KEY))] == ["created"]


async def test_a_ledger_on_its_own_clock_is_checked_and_an_injected_one_is_not(
    store: EventStore,
) -> None:
    assert Ledger(store).clock_check
    far = Ledger(store, clock=lambda: datetime.now(UTC) + timedelta(days=3650))
    assert not far.clock_check  # a chosen time is the caller's to keep (tests, the harness)
    assert (await far.create_occurrence(KEY, capacity=1)).status == "created"


def test_the_machines_clock_agrees_with_the_process_clock_to_a_second() -> None:
    assert abs(machine_now() - datetime.now(UTC)) < timedelta(seconds=2)
    assert ahead_of_now(machine_now() + CLOCK_LEAD + timedelta(seconds=1), machine_now())
    assert not ahead_of_now(machine_now() + CLOCK_LEAD - timedelta(seconds=5), machine_now())
    assert not ahead_of_now(None, machine_now())
    assert spell(timedelta(days=SKEW_DAYS)) == "1,095 days"
    assert spell(timedelta(hours=5, minutes=2)) == "5 h 2 min"


@pytest.mark.skipif(shutil.which("faketime") is None, reason="faketime is not installed")
def test_a_faked_process_clock_is_refused_on_the_command_line(db_path: str) -> None:
    """``faketime`` fakes the process's clock calls; the kernel's boot time is not faked."""
    import asyncio

    asyncio.run(_house_with_live_holds(db_path))
    book = [sys.executable, "-m", "tui.cli.main", "--db", db_path, "book", KEY, "dee"]
    done = subprocess.run(
        ["faketime", "-f", f"+{SKEW_DAYS}d", *book],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 3, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1
    assert "ahead of this machine's clock" in done.stderr
    assert asyncio.run(_states(db_path))[1] == ["held", "held", "held"]
