"""The command line for parties, notes, find and the door (SPEC §4.1-§4.3, §4.7), in process.

``main(argv)`` is what the console script calls; it returns the exit code. Exit
0 only for a command that wrote (``checked-in``, ``noted``...), 1 for the other
answers, 2 for bad input (one line naming the field, nothing written).
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from store import open_store
from store.booking import Ledger
from tui.cli.main import main


@pytest.fixture
def gala(db_path: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """Occurrence ``gala`` (capacity 10, titled, with a start time) named by $BOXOFFICE_DB."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("BOXOFFICE_DB", db_path)
    monkeypatch.setenv("BOXOFFICE_OPERATOR", "qa")

    async def go() -> None:
        async with open_store(db_path, create=True) as store:
            ledger = Ledger(store, operator="setup")
            await ledger.create_occurrence(
                "gala", capacity=10, title="Gala", starts_at="2026-12-05T19:30:00+00:00"
            )

    asyncio.run(go())
    return db_path


def cli(capsys: pytest.CaptureFixture[str], *argv: str, code: int = 0) -> str:
    got = main(list(argv))
    out, err = capsys.readouterr()
    assert got == code, (argv, out, err)
    if code == 2:
        assert len(err.strip().splitlines()) == 1, err
        return err
    return out


def log(db_path: str) -> list[tuple[str, dict[str, Any]]]:
    async def go() -> list[tuple[str, dict[str, Any]]]:
        async with open_store(db_path) as store:
            return [(e.type, e.data) for e in await store.read("booking:gala")]

    return asyncio.run(go())


def test_parties_book_hold_and_cancel_in_part(
    gala: str, capsys: pytest.CaptureFixture[str]
) -> None:
    out = cli(capsys, "book", "gala", "Smiths", "--seats", "4", "--note", "07700 900123")
    assert out == "booked gala: Smiths, seats 1-4, ref #2\n"
    held = json.loads(cli(capsys, "--json", "hold", "gala", "Jones", "--seats", "3"))
    assert (held["seat"], held["seats"], held["ref"]) == (5, 3, 3)
    full = json.loads(cli(capsys, "--json", "book", "gala", "Big", "--seats", "5", code=1))
    assert (full["status"], full["capacity"], full["seats_left"]) == ("full", 10, 3)
    out = cli(capsys, "cancel", "gala", "Smiths", "--seats", "1")
    assert out == "cancelled gala: Smiths, seats 1-3, ref #2\n"
    assert log(gala)[1] == ("booking", {"actor": "Smiths", "seats": 4, "note": "07700 900123"})
    assert log(gala)[-1] == ("cancel", {"actor": "Smiths", "seats": 1})
    assert cli(capsys, "cancel", "gala", "Jones") == "cancelled gala: Jones\n"


@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["book", "gala", "x", "--seats", "0"], "seats: must be 1 to 100"),
        (["hold", "gala", "x", "--seats", "101"], "seats: must be 1 to 100"),
        (["book", "gala", "x", "--seats", "two"], "--seats"),
        (["book", "gala", "x", "--seats", "1.5"], "--seats"),
        (["cancel", "gala", "x", "--seats", "0"], "seats: must be 1 to 100"),
        (["book", "gala", "x", "--note", "a\u202eb"], "note:"),
        (["hold", "gala", "x", "--note", "y" * 501], "note: must be at most 500"),
        (["note", "gala", "x", "bell\x07"], "note:"),
        (["find", " "], "text: must not be empty"),
        (["checkin", "gala", "a\x1b[2J"], "actor:"),
    ],
)
def test_bad_party_input_is_exit_2_naming_the_field(
    gala: str, capsys: pytest.CaptureFixture[str], argv: list[str], needle: str
) -> None:
    before = log(gala)
    err = cli(capsys, *argv, code=2)
    assert needle in err
    assert "\x1b" not in err and "\x07" not in err and "\u202e" not in err
    assert log(gala) == before


def test_checkin_and_note_exit_codes(gala: str, capsys: pytest.CaptureFixture[str]) -> None:
    cli(capsys, "book", "gala", "Smiths", "--seats", "2")
    cli(capsys, "hold", "gala", "Jones")
    assert (
        cli(capsys, "checkin", "gala", "Smiths") == "checked-in gala: Smiths, seats 1-2, ref #2\n"
    )
    out = cli(capsys, "checkin", "gala", "Smiths", code=1)
    assert out.startswith("already-checked-in gala: Smiths")
    assert cli(capsys, "checkin", "gala", "Jones", code=1).startswith("not-confirmed gala: Jones")
    assert cli(capsys, "checkin", "gala", "nobody", code=1) == "not-booked gala: nobody\n"
    assert cli(capsys, "note", "gala", "Jones", "pays at 7").startswith("noted gala: Jones")
    assert cli(capsys, "note", "gala", "nobody", "x", code=1) == "not-booked gala: nobody\n"
    assert [t for t, _ in log(gala)].count("checkin") == 1
    roster = json.loads(cli(capsys, "roster", "gala", "--format", "json"))
    assert [(r["seat"], r["seats"], r["ref"], r["note"]) for r in roster] == [
        (1, 2, 2, None),
        (3, 1, 3, "pays at 7"),
    ]
    assert roster[0]["checked_in_at"] is not None and roster[1]["checked_in_at"] is None
    table = cli(capsys, "roster", "gala").splitlines()
    assert table[1].split()[:5] == ["1-2", "Smiths", "confirmed", table[1].split()[3], "qa"]
    assert "#2" in table[1] and "pays at 7" in table[2]


def test_find_lists_matches_soonest_first_and_exits_1_for_none(
    gala: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cli(capsys, "create", "matinee", "--capacity", "5", "--starts", "2026-12-05T14:00:00+00:00")
    cli(capsys, "book", "gala", "Ada Lovelace", "--seats", "2")
    cli(capsys, "book", "matinee", "ada")
    found = json.loads(cli(capsys, "--json", "find", "ADA"))
    assert [(f["key"], f["actor"], f["seats"], f["ref"]) for f in found] == [
        ("matinee", "ada", 1, 2),
        ("gala", "Ada Lovelace", 2, 2),
    ]
    assert found[1]["title"] == "Gala"
    lines = cli(capsys, "find", "lovelace").splitlines()
    assert len(lines) == 2 and "gala" in lines[1] and "#2" in lines[1] and "1-2" in lines[1]
    assert cli(capsys, "find", "nobody", code=1) == "no party matches\n"
    assert json.loads(cli(capsys, "--json", "find", "nobody", code=1)) == []


def test_door_lists_confirmed_parties_by_name(
    gala: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cli(capsys, "book", "gala", "zed", "--seats", "3")
    cli(capsys, "hold", "gala", "Held Party")
    cli(capsys, "book", "gala", "Ada", "--seats", "2")
    cli(capsys, "book", "gala", "bob")
    cli(capsys, "checkin", "gala", "zed")
    lines = cli(capsys, "door", "gala").splitlines()
    assert lines[0] == "Gala · 2026-12-05T19:30:00+00:00 · 3 of 6 seats in"
    assert [line.split()[:3] for line in lines[2:]] == [
        ["Ada", "#4", "5-6"],
        ["bob", "#5", "7"],
        ["zed", "#2", "1-3"],
    ]
    assert lines[4].split()[3] == "in" and len(lines[2].split()) == 3
    rows = list(csv.reader(io.StringIO(cli(capsys, "door", "gala", "--format", "csv"))))
    assert rows[0] == [
        "key",
        "title",
        "starts_at",
        "actor",
        "ref",
        "seat",
        "seats",
        "checked_in_at",
    ]
    assert [r[3:7] for r in rows[1:]] == [
        ["Ada", "4", "5", "2"],
        ["bob", "5", "7", "1"],
        ["zed", "2", "1", "3"],
    ]
    assert rows[3][7] and not rows[1][7]
    door = json.loads(cli(capsys, "--json", "door", "gala"))
    assert (door["title"], door["confirmed"], door["checked_in"]) == ("Gala", 6, 3)
    assert [p["actor"] for p in door["parties"]] == ["Ada", "bob", "zed"]
    assert cli(capsys, "door", "nope", code=1) == ""


def test_hostile_names_reach_the_door_and_find_as_text(
    gala: str, capsys: pytest.CaptureFixture[str]
) -> None:
    async def go() -> None:  # a name with a C1 control, written around the ledger's rules
        async with open_store(gala) as store:
            meta = {"operator": "rogue", "recorded_at": "2026-12-01T19:00:00+00:00"}
            await store.append("booking:gala", "booking", {"actor": "ev\x9b31mil"}, meta)

    asyncio.run(go())
    for argv in (("door", "gala"), ("find", "ev"), ("door", "gala", "--format", "csv")):
        out = cli(capsys, *argv)
        assert "ev" in out and "\x9b" not in out, out


def test_the_waiting_list_from_the_command_line(
    gala: str, capsys: pytest.CaptureFixture[str]
) -> None:
    cli(capsys, "create", "tiny", "--capacity", "2", "--offer-ttl", "10m")
    cli(capsys, "book", "tiny", "ada", "--seats", "2")
    out = cli(capsys, "wait", "tiny", "bob", "--seats", "2", "--note", "call")
    assert out == "waiting tiny: bob, place 1 in the waiting list\n"
    assert json.loads(cli(capsys, "--json", "wait", "tiny", "cy"))["position"] == 2
    assert cli(capsys, "wait", "tiny", "cy", code=1).startswith("already tiny: cy")
    listed = json.loads(cli(capsys, "waitlist", "tiny", "--format", "json"))
    assert [(w["position"], w["actor"], w["seats"], w["note"]) for w in listed] == [
        (1, "bob", 2, "call"),
        (2, "cy", 1, None),
    ]
    cli(capsys, "cancel", "tiny", "ada")  # bob is offered the two seats
    roster = json.loads(cli(capsys, "roster", "tiny", "--format", "json"))
    assert [(r["actor"], r["offered"], r["state"]) for r in roster] == [("bob", True, "held")]
    assert roster[0]["expires_at"] is not None
    assert cli(capsys, "unwait", "tiny", "bob", code=1) == "not-waiting tiny: bob\n"
    assert cli(capsys, "unwait", "tiny", "cy") == "left tiny: cy\n"
    rows = list(csv.reader(io.StringIO(cli(capsys, "waitlist", "tiny", "--format", "csv"))))
    assert rows == [["place", "actor", "seats", "ref", "joined", "note"]]
    assert "seats: must be 1 to 100" in cli(capsys, "wait", "tiny", "x", "--seats", "0", code=2)
    offered = json.loads(cli(capsys, "--json", "wait", "gala", "dee", "--seats", "3"))
    assert (offered["status"], offered["seat"], offered["seats"]) == ("offered", 1, 3)
