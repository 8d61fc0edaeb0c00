"""The command line's parsing, error mapping and output, run in this process via ``main(argv)``.

A subprocess would add nothing here but start-up time: ``main`` is exactly what
the console script calls, and it returns the exit code instead of exiting.
``test_cli.py`` drives the installed script for every command end to end.
"""

from __future__ import annotations

import asyncio
import json
import sys
import types
from pathlib import Path

import pytest

from store import StoreBusy, StoreCorrupt, open_store
from store.booking import InvalidInput, Ledger, UnknownOccurrence
from tui.cli.commands.common import error_exit_code
from tui.cli.main import main
from tui.cli.output import dumps


@pytest.fixture
def house(db_path: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """A database with occurrence ``k`` (capacity 1), named by $BOXOFFICE_DB."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("BOXOFFICE_DB", db_path)
    monkeypatch.delenv("BOXOFFICE_OPERATOR", raising=False)

    async def go() -> None:
        async with open_store(db_path, create=True) as store:
            await Ledger(store, operator="setup").create_occurrence("k", capacity=1)

    asyncio.run(go())
    return db_path


def events(db_path: str) -> list[tuple[str, dict[str, object], dict[str, object]]]:
    async def go() -> list[tuple[str, dict[str, object], dict[str, object]]]:
        async with open_store(db_path) as store:
            return [(e.type, e.data, e.meta) for e in await store.read("booking:k")]

    return asyncio.run(go())


@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (["create", "bad key", "--capacity", "2"], ["key:", "ASCII letters"]),
        (["create", "x" * 121, "--capacity", "2"], ["key:"]),
        (["create", "k2", "--capacity", "ten"], ["--capacity", "whole number", "'ten'"]),
        (["create", "k2", "--capacity", "1.5"], ["whole number", "'1.5'"]),
        (["create", "k2", "--capacity", "2", "--hold-ttl", "5x"], ["--hold-ttl", "90s, 15m"]),
        (["create", "k2", "--capacity", "2", "--hold-ttl", "0m"], ["must be positive"]),
        (["create", "k2", "--capacity", "2", "--starts", "soon"], ["starts_at", "ISO 8601"]),
        (["create", "k2", "--capacity", "2", "--title", "a\u202eb"], ["title:", "U+202E"]),
        (["create", "k2"], ["required", "--capacity"]),
        (["capacity", "k", "-1"], ["whole number", "'-1'"]),
        (["capacity", "k"], ["required", "N"]),
        (["hold", "k", "ada", "--ttl", "soon"], ["--ttl", "90s, 15m"]),
        (["book", "k", "evil\x1b[31m"], ["actor:", "U+001B"]),
        (["book", "k", "zero\u200bwidth"], ["actor:", "U+200B"]),
        (["book", "k", "   "], ["actor:", "empty"]),
        (["book", "k", "x" * 501], ["actor:", "500"]),
        (["book", "k"], ["required", "ACTOR"]),
        (["book", "k", "ada", "--ttl", "5m"], ["unrecognized", "--ttl"]),
        (["--operator", "bad\x07", "book", "k", "ada"], ["operator:", "U+0007"]),
        (["roster", "k", "--format", "xml"], ["--format", "'xml'"]),
        (["export", "k", "--format", "table"], ["--format", "'table'"]),
        (["frobnicate"], ["invalid choice", "'frobnicate'"]),
        (["--demo", "occurrences"], ["--demo", "only"]),
        (["--db", "ftp://x/y", "occurrences"], ["unknown database scheme"]),
        (["--db", "sqlite://rel.db", "occurrences"], ["sqlite:///"]),
    ],
)
def test_bad_input_is_exit_2_one_line_and_writes_nothing(
    house: str, capsys: pytest.CaptureFixture[str], argv: list[str], needles: list[str]
) -> None:
    before = events(house)
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("boxoffice: ") and err.count("\n") == 1, err
    for needle in needles:
        assert needle in err, err
    assert not any(bad in err for bad in ("\x1b", "\x07", "\u202e", "\u200b"))
    assert events(house) == before


def test_global_options_go_before_or_after_the_command(
    house: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    other = str(tmp_path / "other.db")
    assert main(["init", "--db", other, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["created"] is True
    assert main(["--db", other, "create", "k", "--capacity", "3"]) == 0
    assert main(["create", "k", "--capacity", "3", "--db", other, "--json"]) == 1
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["status"] == "exists"
    # a value before the command is not reset by the subcommand's own option slot
    assert main(["--json", "--db", other, "--operator", "ops", "book", "k", "ada"]) == 0
    booked = json.loads(capsys.readouterr().out)
    assert (booked["status"], booked["seat"]) == ("booked", 1)
    # and $BOXOFFICE_DB (the `house` fixture) still names the default database
    assert main(["roster", "k", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_operator_from_environment_and_option(
    house: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BOXOFFICE_OPERATOR", "from-env")
    assert main(["capacity", "k", "3"]) == 0
    assert main(["--operator", "from-option", "book", "k", "ada"]) == 0
    assert [meta["operator"] for _, _, meta in events(house)[1:]] == ["from-env", "from-option"]


def test_no_command_starts_the_app_with_the_options(
    house: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[object, ...]] = []
    fake = types.ModuleType("tui.cli.launch")

    def launch(db: str | None, operator: str | None, demo: bool) -> int:
        calls.append((db, operator, demo))
        return 7

    fake.launch = launch  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "tui.cli.launch", fake)
    assert main(["--operator", "ops", "--demo"]) == 7
    monkeypatch.delenv("BOXOFFICE_DB")
    assert main([]) == 7
    # an explicit database is passed on; the default is left to the app (None)
    assert calls == [(house, "ops", True), (None, None, False)]


def test_exit_codes_for_what_the_ledger_and_store_raise() -> None:
    assert error_exit_code(UnknownOccurrence("k")) == 1
    assert error_exit_code(InvalidInput("actor", "bad")) == 2
    assert error_exit_code(ValueError("duration '5x'")) == 2
    assert error_exit_code(StoreBusy("locked")) == 3
    assert error_exit_code(StoreCorrupt("bad pages")) == 3
    assert error_exit_code(OSError("disk")) == 3


def test_json_escapes_every_hidden_character_but_keeps_names_readable() -> None:
    names = [
        "山田",
        "Zoë",
        "[/b]",
        "esc\x1b[2J",
        "del\x7f",
        "csi\x9b1m",
        "bidi\u202e",
        "ls\u2028",
        "tag\U000e0041",
    ]
    text = dumps({"names": names})
    assert json.loads(text) == {"names": names}  # the same data, exactly
    assert "山田" in text and "Zoë" in text
    for ch in ("\x1b", "\x7f", "\x9b", "\u202e", "\u2028", "\U000e0041"):
        assert ch not in text
    assert "\\u001b" in text and "\\u009b" in text and "\\udb40\\udc41" in text
