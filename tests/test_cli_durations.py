"""Issue 12 row 3: a duration too long to count is bad input naming its flag, never a crash.

``--ttl 99999999999h`` and ``--hold-ttl 99999999999999999999d`` left as ``internal
error: OverflowError`` (exit 3): ``timedelta`` cannot hold that many days, and
argparse lets an ``OverflowError`` from a value type through. Every duration flag
of every command is driven here, in-process, on a real database file.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from store import open_store
from store.booking import Ledger
from store.ledger.rules import MAX_TTL
from tui.cli.durations import parse_duration
from tui.cli.main import main

#: Each too long for a ``timedelta`` (or for ``int()`` to read), and far past 100 years.
HUGE = ["99999999999h", "99999999999999999999d", "9" * 5000 + "s", "1d" + "9" * 30 + "m"]

#: Every command and flag that takes a duration, as argv before the value.
DURATION_FLAGS = [
    ("hold", "k", "ada", "--ttl"),
    ("create", "new", "--capacity", "1", "--hold-ttl"),
    ("create", "new", "--capacity", "1", "--offer-ttl"),
    ("update", "k", "--hold-ttl"),
    ("update", "k", "--offer-ttl"),
    ("race", "--yes", "--hold-for"),
]


@pytest.fixture
def house(db_path: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("BOXOFFICE_DB", db_path)
    monkeypatch.delenv("BOXOFFICE_OPERATOR", raising=False)

    async def go() -> None:
        async with open_store(db_path, create=True) as store:
            await Ledger(store, operator="setup").create_occurrence("k", capacity=2)

    asyncio.run(go())
    return db_path


def head(db_path: str) -> int:
    async def go() -> int:
        async with open_store(db_path) as store:
            return await store.head_position()

    return asyncio.run(go())


@pytest.mark.parametrize("value", HUGE, ids=["hours", "days", "5000-digits", "30-digit-part"])
@pytest.mark.parametrize("argv", DURATION_FLAGS, ids=lambda a: f"{a[0]}{a[-1]}")
def test_a_huge_duration_is_exit_2_naming_the_flag(
    house: str, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], value: str
) -> None:
    before = head(house)
    assert main([*argv, value]) == 2
    captured = capsys.readouterr()
    err = captured.err
    assert err.count("\n") == 1, err
    assert f"argument {argv[-1]}:" in err and "too long: at most 36525 days" in err
    assert "internal error" not in err and "Overflow" not in err
    assert len(err) < 200  # a pasted 5,000-digit number is not echoed back whole
    assert captured.out == ""
    assert head(house) == before


def test_the_bound_is_the_ledgers_own() -> None:
    """100 years exactly is a duration; one second more is not (as ``rules.ttl`` says)."""
    assert parse_duration(f"{MAX_TTL.days}d") == MAX_TTL
    with pytest.raises(ValueError, match="too long"):
        parse_duration(f"{MAX_TTL.days}d1s")
    assert parse_duration("0000000000000000000000000090s") == timedelta(seconds=90)


def test_a_long_hold_within_the_bound_is_written(
    house: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["hold", "k", "ada", "--ttl", f"{MAX_TTL.days}d"]) == 0
    assert capsys.readouterr().out.startswith("held k: ada")
