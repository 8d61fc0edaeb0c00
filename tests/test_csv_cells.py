"""Issue 12 row 10: names that a spreadsheet would run as formulas are disarmed in CSV.

Actors, titles, operators and notes such as ``=HYPERLINK("http://evil/","x")``,
``+1+cmd`` or ``@SUM(A1)`` went as-is into ``roster --format csv`` and ``export
--format csv``. Every CSV the command line writes (roster, export, door, waitlist)
now starts such a text cell with ``'`` (OWASP's advice); ``--raw`` keeps the cells
as stored, for programs. Numbers and times are never prefixed.
"""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path
from typing import Any

import pytest

from store import open_store
from store.booking import Ledger
from store.ledger.provenance import event_meta
from store.ledger.views import stream_of
from tui.cli.main import main
from tui.cli.output import FORMULA_STARTS

KEY = "k"
FORMULAS = ['=HYPERLINK("http://evil/","x")', "+1+cmd", "@SUM(A1)", "-2+3"]
TITLE = "=cmd|' /C calc'!A0"
OPERATOR = "@op"
NOTE = "+note"
WAITER = "=waiter"
#: written by an older boxoffice, past today's validation
OLD_ACTOR = "\t=old"


@pytest.fixture
def house(db_path: str, clock: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("BOXOFFICE_DB", db_path)
    monkeypatch.delenv("BOXOFFICE_OPERATOR", raising=False)

    async def go() -> None:
        async with open_store(db_path, create=True) as store:
            ledger = Ledger(store, clock=clock, operator=OPERATOR)
            await ledger.create_occurrence(KEY, capacity=len(FORMULAS) + 2, title=TITLE)
            for name in FORMULAS:
                await ledger.book(KEY, name, note=NOTE)
            await ledger.book(KEY, "ada")
            await store.append(
                stream_of(KEY), "booking", {"actor": OLD_ACTOR}, event_meta("x", clock())
            )
            await ledger.join_waitlist(KEY, WAITER)  # the house is full: it waits

    asyncio.run(go())
    return db_path


def csv_rows(capsys: pytest.CaptureFixture[str], *argv: str) -> list[dict[str, str]]:
    assert main([*argv]) == 0
    out = capsys.readouterr().out
    assert "\t" not in out and "\r" not in out
    return list(csv.DictReader(io.StringIO(out)))


COMMANDS = {
    "roster": (("roster", KEY, "--format", "csv"), "actor"),
    "export": (("export", KEY, "--format", "csv"), "actor"),
    "door": (("door", KEY, "--format", "csv"), "actor"),
    "waitlist": (("waitlist", KEY, "--format", "csv"), "actor"),
}


def _expected_actors(command: str) -> list[str]:
    """Each listing's actors, in its own order (the old name left out)."""
    seated = [*FORMULAS, "ada"]
    return {
        "roster": seated,
        "export": [*seated, WAITER],  # every event with an actor, in log order
        "door": sorted(seated, key=str.casefold),  # by name
        "waitlist": [WAITER],
    }[command]


@pytest.mark.parametrize("command", list(COMMANDS))
def test_formula_cells_start_with_a_quote_by_default(
    house: str, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    argv, column = COMMANDS[command]
    rows = csv_rows(capsys, *argv)
    actors = [r[column] for r in rows if r[column] and "old" not in r[column]]
    assert actors == [
        "'" + a if a.startswith(FORMULA_STARTS) else a for a in _expected_actors(command)
    ]
    for row in rows:
        for header, value in row.items():
            assert not value.startswith(FORMULA_STARTS), f"{command} {header}: {value!r}"


@pytest.mark.parametrize("command", list(COMMANDS))
def test_raw_keeps_the_cells_as_stored(
    house: str, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    argv, column = COMMANDS[command]
    rows = csv_rows(capsys, *argv, "--raw")
    actors = [r[column] for r in rows if r[column] and "old" not in r[column]]
    assert actors == _expected_actors(command)


def test_every_text_column_is_disarmed(house: str, capsys: pytest.CaptureFixture[str]) -> None:
    """Titles, operators and notes too; numbers and times are left alone."""
    roster = csv_rows(capsys, "roster", KEY, "--format", "csv")
    assert {r["operator"] for r in roster} == {"'" + OPERATOR, "x"}
    assert {r["note"] for r in roster} == {"'" + NOTE, ""}
    assert [r["seat"] for r in roster] == [str(n) for n in range(1, len(roster) + 1)]
    door = csv_rows(capsys, "door", KEY, "--format", "csv")
    assert {r["title"] for r in door} == {"'" + TITLE}
    export = csv_rows(capsys, "export", KEY, "--format", "csv")
    assert [r["seq"] for r in export] == [str(n) for n in range(1, len(export) + 1)]
    assert all(r["recorded_at"][:4].isdigit() for r in export)
    raw = csv_rows(capsys, "door", KEY, "--format", "csv", "--raw")
    assert {r["title"] for r in raw} == {TITLE}


def test_an_old_name_with_a_tab_shows_the_tab_as_a_code(
    house: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A TAB in front of a formula (a way to hide one) never reaches the file raw."""
    for flags in ((), ("--raw",)):
        roster = csv_rows(capsys, "roster", KEY, "--format", "csv", *flags)
        assert [r["actor"] for r in roster if "old" in r["actor"]] == ["\\u{0009}=old"]
