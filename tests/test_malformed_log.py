"""Issue 12 rows 11 and 12: a log no boxoffice writes, read by every reader without dying.

Row 11: an event whose ``meta`` (or ``data``) is a JSON array, string, number or
null: ``check``, ``occurrences``, ``book`` and the app died with ``internal error:
AttributeError``. The fold reads such a part as an empty object (no actor, no time,
no operator, as for a missing field), ``check`` reports the event as a violation
naming stream and seq (exit 1), and writes go on. The rows are written straight
into SQLite (as tampering would) and through the store API on both backends.

Row 12: a seq gap (5 after 2): ``check`` exited 2 (the usage code); it is a
violation naming stream and seq (exit 1), and a command that must fold the
stream says the log is damaged (exit 3) instead of deciding on a part of it.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest

from store import open_store
from store.audit.check import check_stream
from store.booking import Ledger
from store.eventstore.events import NewEvent
from store.ledger.views import stream_of
from tui.cli.main import main

KEY = "k"
STREAM = stream_of(KEY)
#: JSON values that are not objects, as a tampered row holds them.
NOT_OBJECTS = {"array": [1, 2], "string": "x", "number": 5, "null": None, "empty-array": []}


def _seed(db: str, clock: Any) -> None:
    async def go() -> None:
        async with open_store(db, create=True) as store:
            ledger = Ledger(store, clock=clock, operator="setup")
            await ledger.create_occurrence(KEY, capacity=4)
            await ledger.book(KEY, "ada")  # seq 2
            await ledger.book(KEY, "bo")  # seq 3

    asyncio.run(go())


def _insert(db: str, seq: int, type_: str, data: Any, meta: Any) -> None:
    """A row written past the store, as a hand edit or another program would."""
    with sqlite3.connect(db) as conn:
        conn.execute(
            "INSERT INTO events (stream, seq, type, data, meta) VALUES (?, ?, ?, ?, ?)",
            (STREAM, seq, type_, json.dumps(data), json.dumps(meta)),
        )


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("BOXOFFICE_OPERATOR", raising=False)
    monkeypatch.delenv("BOXOFFICE_DB", raising=False)


def _cli(capsys: pytest.CaptureFixture[str], db: str, *argv: str) -> tuple[int, str, str]:
    code = main(["--db", db, *argv])
    captured = capsys.readouterr()
    assert "internal error" not in captured.err and "Traceback" not in captured.err
    return code, captured.out, captured.err


@pytest.mark.parametrize("part", ["meta", "data"])
@pytest.mark.parametrize("shape", list(NOT_OBJECTS))
def test_every_command_reads_a_tampered_row(
    env: None, db_path: str, clock: Any, capsys: pytest.CaptureFixture[str], part: str, shape: str
) -> None:
    _seed(db_path, clock)
    good_meta = {"operator": "x", "terminal": "t", "recorded_at": clock().isoformat()}
    data: Any = {"actor": "cy"}
    meta: Any = good_meta
    if part == "meta":
        meta = NOT_OBJECTS[shape]
    else:
        data = NOT_OBJECTS[shape]
    _insert(db_path, 4, "booking", data, meta)

    code, _, err = _cli(capsys, db_path, "check")
    assert code == 1
    assert f"booking:k seq 4: malformed: booking event's {part} is a JSON" in err
    assert err.count("\n") == 1
    assert _cli(capsys, db_path, "occurrences")[0] == 0
    assert _cli(capsys, db_path, "roster", KEY)[0] == 0
    assert _cli(capsys, db_path, "log", KEY)[0] == 0
    assert _cli(capsys, db_path, "export", KEY, "--format", "csv")[0] == 0
    assert _cli(capsys, db_path, "export", KEY)[0] == 0
    # writes still work, at the seq after the tampered row
    code, out, _ = _cli(capsys, db_path, "book", KEY, "dee", "--json")
    assert code == 0 and json.loads(out)["ref"] == 5
    # the row's other part still counts: a booking whose meta is broken still holds its seat
    code, out, _ = _cli(capsys, db_path, "roster", KEY, "--json")
    actors = [s["actor"] for s in json.loads(out)]
    assert actors == (["ada", "bo", "cy", "dee"] if part == "meta" else ["ada", "bo", "dee"])


@pytest.mark.parametrize("shape", ["array", "string", "number", "null"])
async def test_the_store_api_on_every_backend(store: Any, clock: Any, shape: str) -> None:
    """The store takes any JSON value for meta and data; the ledger and check read it."""
    ledger = Ledger(store, clock=clock, operator="tester")
    await ledger.create_occurrence(KEY, capacity=2)
    value: Any = NOT_OBJECTS[shape]  # deliberately not the dict the type promises
    await store.append_many(STREAM, None, [NewEvent("booking", {"actor": "ada"}, value)])
    await store.append_many(STREAM, None, [NewEvent("hold", value, {"operator": "x"})])
    fresh = Ledger(store, clock=clock, operator="tester")  # folds from the log
    assert [r.key for r in await fresh.occurrences()] == [KEY]
    assert await fresh.roster(KEY) == ["ada"]
    assert (await fresh.book(KEY, "bo")).seat == 2
    assert (await fresh.book(KEY, "cy")).status == "full"
    report = check_stream(await store.read(STREAM), STREAM)
    assert [(v.seq, v.problem.split(" is ")[0]) for v in report.violations] == [
        (2, "malformed: booking event's meta"),
        (3, "malformed: hold event's data"),
    ]
    assert report.occupied == 2 and report.oversold == 0


async def test_the_app_shows_a_tampered_log(db_path: str, clock: Any) -> None:
    try:
        from tui.app import BoxOfficeApp
    except ModuleNotFoundError:  # pragma: no cover - the app is optional
        pytest.skip("the app is not installed")
    await asyncio.to_thread(_seed, db_path, clock)
    _insert(db_path, 4, "booking", {"actor": "cy"}, ["tampered"])
    _insert(db_path, 5, "hold", "not an object", {"operator": "x"})
    app = BoxOfficeApp(db_path, clock=clock, operator="op", tz=UTC, tick=None)
    async with app.run_test(size=(140, 40)) as pilot:
        for _ in range(500):
            if "cy" in app.main.roster.shown_actors:
                break
            await pilot.pause(0.02)
        assert app.main.roster.shown_actors == ["ada", "bo", "cy"]
        await pilot.press("l")
        for _ in range(500):
            if app.main.log_table.last_seq == 5:
                break
            await pilot.pause(0.02)
        assert app.main.log_table.last_seq == 5
        assert app.is_running and app.return_code is None
    assert app.return_code in (None, 0)


# -- row 12: a seq gap -----------------------------------------------------------------


def test_a_seq_gap_is_a_violation_naming_stream_and_seq(
    env: None, db_path: str, clock: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    _seed(db_path, clock)  # seqs 1, 2, 3
    meta = {"operator": "x", "terminal": "t", "recorded_at": clock().isoformat()}
    _insert(db_path, 6, "booking", {"actor": "cy"}, meta)  # 6 after 3
    code, out, err = _cli(capsys, db_path, "check")
    assert code == 1
    assert err == (
        "boxoffice: check failed: booking:k seq 6: gap: seq 6 follows seq 3 "
        "(expected seq 4; nothing after it is checked)\n"
    )
    assert "VIOLATION  booking:k" in out
    code, out, _ = _cli(capsys, db_path, "check", KEY, "--json")
    assert code == 1
    report = json.loads(out)
    assert report["ok"] is False
    assert report["streams"][0]["violations"][0]["seq"] == 6
    # a command that folds the stream refuses to decide on part of it: a damaged database
    code, _, err = _cli(capsys, db_path, "book", KEY, "dee")
    assert code == 3
    assert err == (
        "boxoffice: booking:k: damaged: seq 6 follows seq 3 (`boxoffice check` names it)\n"
    )
    assert _cli(capsys, db_path, "log", KEY)[0] == 0  # the log itself still reads
