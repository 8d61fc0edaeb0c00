"""The installed ``boxoffice`` console script, driven in subprocesses as scripts and QA do.

Every run goes through ``run_cli``, which also checks the promises that hold
for every command: no traceback, and an error is exactly one line on stderr.
Databases are prepared in-process (a ledger with an injected clock for lapsed
holds, the raw store for what no command would write) and then inspected only
through the command line.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from queue import Empty, Queue
from typing import Any

import pytest

from store import open_store
from store.booking import Ledger
from store.ledger.provenance import event_meta


def _script() -> str:
    beside = Path(sys.executable).parent / "boxoffice"
    found = str(beside) if beside.exists() else shutil.which("boxoffice")
    if not found:
        pytest.skip("the boxoffice console script is not installed (pip install -e .)")
    return found


BOXOFFICE = _script()


class Run:
    def __init__(self, proc: subprocess.CompletedProcess[str]) -> None:
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def json(self) -> Any:
        return json.loads(self.out)

    def __repr__(self) -> str:
        return f"Run(code={self.code}, out={self.out!r}, err={self.err!r})"


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOXOFFICE_")}
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg")  # the default db is never the user's
    env.update(extra)
    return env


@pytest.fixture
def cli(tmp_path: Path, db_path: str) -> Callable[..., Run]:
    """``cli("book", "k", "ada")`` runs ``boxoffice --db DB book k ada`` as operator "qa"."""

    def run(*args: str, db: str | None = db_path, operator: str = "qa", code: int = 0) -> Run:
        argv = [BOXOFFICE, *(["--db", db] if db is not None else []), *args]
        proc = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            timeout=60,
            env=_env(tmp_path, BOXOFFICE_OPERATOR=operator),
        )
        result = Run(proc)
        assert "Traceback" not in result.err, result
        assert result.code == code, result
        if code == 1 and not result.err:
            assert result.out, result  # a refusal is the ledger's answer, on stdout
        elif code:
            assert result.err.count("\n") == 1 and result.err.startswith("boxoffice: "), result
        else:
            assert result.err == "", result
        return result

    return run


def prepare(db_path: str, script: Callable[[Ledger], Any], *, clock: Any = None) -> Any:
    """Run ``script(ledger)`` on a fresh or existing database, in this process."""

    async def go() -> Any:
        async with open_store(db_path, create=True) as store:
            return await script(Ledger(store, clock=clock, operator="setup"))

    return asyncio.run(go())


def raw_append(db_path: str, key: str, type_: str, data: dict[str, Any]) -> None:
    """Append straight to the store, bypassing the ledger's rules (as a buggy writer might)."""

    async def go() -> None:
        async with open_store(db_path) as store:
            meta = event_meta("rogue", datetime.now(UTC))
            await store.append("booking:" + key, type_, data, meta)

    asyncio.run(go())


def stream_types(db_path: str, key: str) -> list[str]:
    async def go() -> list[str]:
        async with open_store(db_path) as store:
            return [e.type for e in await store.read("booking:" + key)]

    return asyncio.run(go())


def one_line_error(run: Run, *needles: str) -> None:
    for needle in needles:
        assert needle in run.err, run


# -- the database: init, and refusing a missing or foreign one -----------------------------


def test_every_command_refuses_a_missing_database_and_init_creates_it(
    cli: Callable[..., Run], db_path: str
) -> None:
    missing = cli("occurrences", code=3)
    one_line_error(missing, db_path, "boxoffice init --db")
    cli("book", "k", "ada", code=3)
    assert not os.path.exists(db_path)  # refusing never creates a file

    created = cli("init")
    assert created.out == f"created {db_path}\n"
    again = cli("init", "--json").json()  # harmless the second time, and --json after init
    assert again == {"db": db_path, "created": False, "schema_version": 1}
    assert cli("occurrences", "--json").json() == []


def test_init_db_after_the_subcommand_and_default_path(
    cli: Callable[..., Run], tmp_path: Path
) -> None:
    nested = tmp_path / "a" / "b" / "box.db"
    cli("init", "--db", str(nested), db=None)
    assert nested.exists()
    # with no --db and no BOXOFFICE_DB, the XDG default is used (and refused until init)
    cli("occurrences", db=None, code=3)
    assert cli("init", db=None).out.startswith("created ")
    assert (tmp_path / "xdg" / "boxoffice" / "boxoffice.db").exists()


def test_database_problems_exit_3(cli: Callable[..., Run], tmp_path: Path, db_path: str) -> None:
    garbage = tmp_path / "notes.txt"
    garbage.write_text("not a database at all, just some words " * 200)
    one_line_error(cli("occurrences", db=str(garbage), code=3), "not a boxoffice database")

    cli("init")
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE boxoffice_schema SET version = 99")
    one_line_error(cli("roster", "k", code=3), "newer", "upgrade")


# -- create, capacity, occurrences -----------------------------------------------------------


def test_create_capacity_and_occurrences(cli: Callable[..., Run]) -> None:
    cli("init")
    made = cli("create", "hamlet", "--capacity", "2", "--title", "Hamlet [/b]", "--hold-ttl", "15m")
    assert made.out == "created hamlet: capacity 2\n"
    exists = cli("create", "hamlet", "--capacity", "9", "--json", code=1).json()
    assert (exists["status"], exists["capacity"], exists["ok"]) == ("exists", 2, False)
    cli("create", "lear", "--capacity", "0", "--starts", "2026-12-01T19:30:00+00:00")

    assert cli("capacity", "hamlet", "5").out == "capacity-set hamlet: capacity 5\n"
    listed = {o["key"]: o for o in cli("--json", "occurrences").json()}
    assert listed["hamlet"]["capacity"] == 5
    assert listed["hamlet"]["title"] == "Hamlet [/b]"
    assert listed["hamlet"]["hold_ttl_s"] == 900
    assert listed["hamlet"]["seats_left"] == 5
    assert listed["lear"]["starts_at"] == "2026-12-01T19:30:00+00:00"
    assert listed["lear"]["hold_ttl_s"] is None

    table = cli("occurrences").out.splitlines()
    assert table[0].split() == [
        "key",
        "title",
        "starts",
        "capacity",
        "held",
        "confirmed",
        "left",
        "hold",
        "ttl",
    ]
    assert table[1].split()[:3] == ["hamlet", "Hamlet", "[/b]"] and table[1].endswith("15m")

    one_line_error(
        cli("capacity", "nope", "3", code=1), "no occurrence 'nope'", "boxoffice occurrences"
    )


@pytest.mark.parametrize(
    ("args", "needles"),
    [
        # the full table of bad inputs runs in-process (test_cli_inprocess.py); these
        # three show the installed script maps each kind the same way
        (("create", "k", "--capacity", "2", "--hold-ttl", "5x"), ("--hold-ttl", "90s, 15m, 2h")),
        (("book", "k", "evil\x1b[31m"), ("actor:", "U+001B")),
        (("frobnicate",), ("invalid choice", "frobnicate")),
    ],
)
def test_bad_input_is_exit_2_with_one_line_naming_it(
    cli: Callable[..., Run], db_path: str, args: tuple[str, ...], needles: tuple[str, ...]
) -> None:
    if not os.path.exists(db_path):
        prepare(db_path, lambda ledger: ledger.create_occurrence("k", capacity=1))
    run = cli(*args, code=2)
    one_line_error(run, *needles)
    assert "\x1b" not in run.err  # the refused escape is named, not echoed
    assert stream_types(db_path, "k") == ["created"]  # and nothing was written


# -- seats: book, hold, confirm, release, cancel ---------------------------------------------


def test_seat_commands_answer_and_exit_as_the_ledger_decides(cli: Callable[..., Run]) -> None:
    cli("init")
    cli("create", "show", "--capacity", "2")

    held = cli("hold", "show", "ada", "--ttl", "10m", "--json").json()
    assert (held["status"], held["actor"], held["seat"], held["ok"]) == ("held", "ada", 1, True)
    expires = datetime.fromisoformat(held["expires_at"])
    assert timedelta(minutes=9) < expires - datetime.now(UTC) <= timedelta(minutes=10)

    assert cli("book", "show", "bob").out == "booked show: bob, seat 2, ref #3\n"
    full = cli("book", "show", "cy", "--json", code=1).json()
    assert (full["status"], full["capacity"]) == ("full", 2)
    assert cli("hold", "show", "ada", code=1).out.startswith("already show: ada, seat 1")

    assert cli("release", "show", "bob", code=1).out == "not-held show: bob, seat 2, ref #3\n"
    assert cli("confirm", "show", "ada").out == "confirmed show: ada, seat 1, ref #2\n"
    assert (
        cli("confirm", "show", "ada", code=1).out == "already-confirmed show: ada, seat 1, ref #2\n"
    )
    assert cli("cancel", "show", "ada").out == "cancelled show: ada\n"
    assert cli("cancel", "show", "ada", code=1).out == "not-booked show: ada\n"
    assert cli("confirm", "show", "ada", code=1).out == "not-held show: ada\n"
    assert cli("hold", "show", "cy").out.startswith("held show: cy, seat 2")
    assert cli("release", "show", "cy").out == "released show: cy\n"
    one_line_error(cli("book", "nope", "ada", code=1), "no occurrence 'nope'")

    roster = cli("roster", "show", "--json").json()
    assert [(s["seat"], s["actor"], s["state"], s["operator"]) for s in roster] == [
        (1, "bob", "confirmed", "qa")
    ]


def test_operator_from_option_and_environment_is_recorded(cli: Callable[..., Run]) -> None:
    cli("init")
    cli("create", "k", "--capacity", "3", operator="env-operator")
    cli("--operator", "Zoë at window 2", "book", "k", "ada")
    one_line_error(cli("book", "k", "bob", "--operator", "bad\x07", code=2), "operator:")
    operators = [e["meta"]["operator"] for e in cli("export", "k").json()]
    assert operators == ["env-operator", "Zoë at window 2"]


def _lapsed_holds(db_path: str) -> None:
    """Two holds that lapsed an hour ago, decided with a clock two hours back."""
    past = datetime.now(UTC) - timedelta(hours=2)

    async def script(ledger: Ledger) -> None:
        await ledger.create_occurrence("late", capacity=3)
        await ledger.hold("late", "ada", ttl=timedelta(hours=1))
        await ledger.hold("late", "bob", ttl=timedelta(hours=1))
        await ledger.book("late", "cy")

    prepare(db_path, script, clock=lambda: past)


def test_confirming_a_lapsed_hold_answers_expired(cli: Callable[..., Run], db_path: str) -> None:
    _lapsed_holds(db_path)
    expired = cli("confirm", "late", "ada", "--json", code=1).json()
    assert (expired["status"], expired["actor"], expired["seat"]) == ("expired", "ada", None)
    assert [s["actor"] for s in cli("roster", "late", "--json").json()] == ["cy"]
    types = [e["type"] for e in cli("export", "late").json()]
    assert types[-1] == "expire"  # confirm recorded the lapse it found


def test_expire_records_each_lapse_once(cli: Callable[..., Run], db_path: str) -> None:
    _lapsed_holds(db_path)
    prepare(db_path, lambda ledger: ledger.create_occurrence("other", capacity=1))
    recorded = cli("expire", "--json").json()
    assert [(o["key"], o["actor"], o["status"]) for o in recorded] == [
        ("late", "ada", "expired"),
        ("late", "bob", "expired"),
    ]
    assert cli("expire", "late").out == "no lapsed holds to record\n"
    assert cli("expire", "--json").json() == []
    events = cli("export", "late").json()
    assert [(e["type"], e["data"].get("actor")) for e in events[-2:]] == [
        ("expire", "ada"),
        ("expire", "bob"),
    ]
    one_line_error(cli("expire", "nope", code=1), "no occurrence 'nope'")


# -- roster, export, log: user text is shown, never obeyed ------------------------------------

HOSTILE = [
    "ada",
    'Bob "the Builder" <b>[/]',
    "山田 太郎",
    "https://example.com/?q=[link]",
]
#: written with the raw store: names no command accepts, as an older version might have left
LEGACY = ["evil\x1b[2J\x1b]0;pwned\x07", "csi\x9b31m", "rtl\u202eevil"]


def _hostile_house(db_path: str) -> None:
    async def script(ledger: Ledger) -> None:
        await ledger.create_occurrence(
            "gala", capacity=10, title="Gala", hold_ttl=timedelta(hours=2)
        )
        for name in HOSTILE:
            await ledger.book("gala", name)

    prepare(db_path, script)
    for name in LEGACY:
        raw_append(db_path, "gala", "hold", {"actor": name, "expires_at": None})


def test_roster_in_every_format_keeps_names_and_passes_no_escapes(
    cli: Callable[..., Run], db_path: str
) -> None:
    _hostile_house(db_path)
    everyone = HOSTILE + LEGACY

    as_json = cli("roster", "gala", "--format", "json")
    assert [s["actor"] for s in as_json.json()] == everyone  # exact, once parsed
    assert [s["state"] for s in as_json.json()] == ["confirmed"] * 4 + ["held"] * 3
    assert [s["seat"] for s in as_json.json()] == list(range(1, 8))

    as_csv = cli("roster", "gala", "--format", "csv")
    rows = list(csv.reader(io.StringIO(as_csv.out)))
    assert rows[0][:6] == ["seat", "actor", "state", "joined", "expires", "operator"]
    assert rows[0][6:] == ["seats", "ref", "checked in", "note"]
    assert [r[1] for r in rows[1:5]] == HOSTILE
    assert rows[5][1] == "evil\\u{001B}[2J\\u{001B}]0;pwned\\u{0007}"
    assert rows[1][5] == "setup" and rows[5][5] == "rogue"

    as_table = cli("roster", "gala")
    lines = as_table.out.splitlines()
    assert len(lines) == 8 and lines[1].split()[:2] == ["1", "ada"]
    assert "rtl\\u{202E}evil" in as_table.out

    for run in (as_json, as_csv, as_table):
        for bad in ("\x1b", "\x07", "\x9b", "\u202e"):
            assert bad not in run.out, (bad, run)


def test_export_is_the_whole_stream_as_json_and_csv(cli: Callable[..., Run], db_path: str) -> None:
    _hostile_house(db_path)
    events = cli("export", "gala").json()
    assert [e["seq"] for e in events] == list(range(1, 9))
    assert [e["type"] for e in events] == ["created"] + ["booking"] * 4 + ["hold"] * 3
    assert events[0]["data"]["hold_ttl_s"] == 7200
    assert events[5]["data"]["actor"] == LEGACY[0] and events[5]["meta"]["operator"] == "rogue"
    assert all(e["stream"] == "booking:gala" for e in events)

    as_csv = cli("export", "gala", "--format", "csv")
    assert "\x1b" not in as_csv.out and "\x9b" not in as_csv.out
    rows = list(csv.DictReader(io.StringIO(as_csv.out)))
    assert [int(r["seq"]) for r in rows] == list(range(1, 9))
    assert [r["actor"] for r in rows[1:5]] == HOSTILE
    assert json.loads(rows[0]["data"])["capacity"] == 10
    assert (
        rows[1]["operator"] == "setup"
        and rows[1]["recorded_at"] == events[1]["meta"]["recorded_at"]
    )
    one_line_error(cli("export", "nope", code=1), "no occurrence 'nope'")


def test_log_shows_each_event_on_one_line(cli: Callable[..., Run], db_path: str) -> None:
    _hostile_house(db_path)
    text = cli("log", "gala").out.splitlines()
    assert len(text) == 8
    assert text[0].split()[0] == "1" and "created" in text[0] and "capacity 10" in text[0]
    assert "hold ttl 2h" in text[0] and text[0].endswith("[setup]")
    assert 'Bob "the Builder" <b>[/]' in text[2]
    assert "\x1b" not in cli("log", "gala").out
    lines = [json.loads(x) for x in cli("log", "gala", "--json").out.splitlines()]
    assert [e["seq"] for e in lines] == list(range(1, 9))
    assert lines[7]["data"]["actor"] == LEGACY[2]


def test_log_follow_prints_events_other_processes_append_and_exits_0_on_ctrl_c(
    cli: Callable[..., Run], db_path: str, tmp_path: Path
) -> None:
    prepare(db_path, lambda ledger: ledger.create_occurrence("live", capacity=5))
    follower = subprocess.Popen(
        [BOXOFFICE, "--db", db_path, "log", "live", "--follow", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp_path),
    )
    seen: Queue[str] = Queue()

    def pump() -> None:
        assert follower.stdout is not None
        for text in follower.stdout:
            seen.put(text)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        first = json.loads(seen.get(timeout=30))
        assert (first["seq"], first["type"]) == (1, "created")
        # the follower has printed the log so far: what lands next comes through --follow
        cli("book", "live", "ada")
        cli("hold", "live", "bob")
        landed = [json.loads(seen.get(timeout=30)) for _ in range(2)]
        assert [(e["seq"], e["type"], e["data"]["actor"]) for e in landed] == [
            (2, "booking", "ada"),
            (3, "hold", "bob"),
        ]
        follower.send_signal(signal.SIGINT)
        code = follower.wait(timeout=30)
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()
    reader.join(timeout=10)
    assert code == 0
    assert follower.stderr is not None and follower.stderr.read() == ""
    with pytest.raises(Empty):
        seen.get_nowait()  # nothing printed twice


# -- check -------------------------------------------------------------------------------------


def test_check_passes_on_a_healthy_database(cli: Callable[..., Run], db_path: str) -> None:
    _lapsed_holds(db_path)
    _hostile_house(db_path)
    report = cli("check", "--json").json()
    assert report["ok"] is True and report["first_violation"] is None
    assert report["integrity"] == ["ok"] and report["schema_version"] == 1
    assert {s["stream"]: s["events"] for s in report["streams"]} == {
        "booking:gala": 8,
        "booking:late": 4,
    }
    assert all(s["matches_full_fold"] and s["violations"] == [] for s in report["streams"])
    text = cli("check").out
    assert "integrity_check ok" in text and text.endswith("checked 2 stream(s), 12 event(s): ok\n")


def test_check_fails_on_an_oversold_stream_naming_the_seq(
    cli: Callable[..., Run], db_path: str
) -> None:
    async def script(ledger: Ledger) -> None:
        await ledger.create_occurrence("fine", capacity=1)
        await ledger.book("fine", "ada")
        await ledger.create_occurrence("sold", capacity=2)
        await ledger.book("sold", "ada")
        await ledger.hold("sold", "bob")

    prepare(db_path, script)
    raw_append(db_path, "sold", "booking", {"actor": "cy"})  # seq 4: a third seat of two
    raw_append(db_path, "sold", "booking", {"actor": "dee"})  # seq 5: and a fourth

    failed = cli("check", code=1)
    one_line_error(failed, "check failed", "booking:sold seq 4", "oversold")
    assert "VIOLATION  booking:sold" in failed.out and "ok         booking:fine" in failed.out
    report = cli("check", "--json", code=1).json()
    assert report["ok"] is False and report["first_violation"].startswith("booking:sold seq 4:")
    sold = next(s for s in report["streams"] if s["stream"] == "booking:sold")
    assert [v["seq"] for v in sold["violations"]] == [4, 5]
    assert sold["max_occupied"] == 4 and sold["capacity"] == 2

    assert cli("check", "fine").out.endswith("checked 1 stream(s), 2 event(s): ok\n")
    one_line_error(cli("check", "sold", code=1), "booking:sold seq 4")
    one_line_error(cli("check", "nope", code=1), "no occurrence 'nope'")


def test_check_fails_on_a_snapshot_that_differs_from_the_log(
    cli: Callable[..., Run], db_path: str
) -> None:
    async def script(ledger: Ledger) -> None:
        await ledger.create_occurrence("gala", capacity=3, title="Gala")
        await ledger.book("gala", "ada")

    prepare(db_path, script)
    assert cli("check").out.endswith(": ok\n")
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("SELECT stream FROM boxoffice_snapshots").fetchall()
        assert rows == []  # a two-event stream leaves none; write one as a cache would
        from store.ledger.fold import fold
        from store.ledger.snapshot import encode

        events = asyncio.run(_read(db_path, "booking:gala"))
        wrong = fold(events[:1], "booking:gala")
        wrong.seq = 2  # the state before ada's booking, claiming seq 2: her booking gone
        conn.execute(
            "INSERT INTO boxoffice_snapshots (stream, seq, state) VALUES (?, ?, ?)",
            ("booking:gala", 2, encode(wrong)),
        )
    # the ledger starts from the cache, so its state differs from the full fold too
    one_line_error(cli("check", code=1), "check failed", "booking:gala", "differs")
    report = cli("check", "--json", code=1).json()
    problems = [v["problem"] for v in report["streams"][0]["violations"]]
    assert "snapshot at seq 2 differs from the log's fold at seq 2" in problems, problems


def test_check_fails_on_a_house_summary_that_differs_from_the_log(
    cli: Callable[..., Run], db_path: str
) -> None:
    async def script(ledger: Ledger) -> None:
        await ledger.create_occurrence("gala", capacity=3, title="Gala")
        await ledger.book("gala", "ada")

    prepare(db_path, script)
    assert "gala" in cli("occurrences").out  # the house leaves the stream's summary
    assert cli("check").out.endswith(": ok\n")
    with sqlite3.connect(db_path) as conn:
        (text,) = conn.execute("SELECT summary FROM boxoffice_summaries").fetchone()
        body = json.loads(text)
        body["confirmed"] = 0  # ada's seat gone from the house's line
        conn.execute("UPDATE boxoffice_summaries SET summary = ?", (json.dumps(body),))
    report = cli("check", "--json", code=1).json()
    problems = [v["problem"] for v in report["streams"][0]["violations"]]
    assert "house summary at seq 2 differs from the log's fold at seq 2" in problems, problems


async def _read(db_path: str, stream: str) -> list[Any]:
    async with open_store(db_path) as store:
        return await store.read(stream)


# -- the rest of the surface ----------------------------------------------------------------------


def test_version_help_and_no_textual_for_scripted_commands(
    cli: Callable[..., Run], db_path: str
) -> None:
    assert cli("--version", db=None).out.startswith("boxoffice 0.")
    helptext = cli("--help", db=None).out
    for command in ("init", "occurrences", "create", "book", "roster", "log", "check"):
        assert command in helptext
    prepare(db_path, lambda ledger: ledger.create_occurrence("k", capacity=1))
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from tui.cli.main import main;"
            "code = main(['--db', sys.argv[1], 'roster', 'k']);"
            "print('textual' in sys.modules, 'rich' in sys.modules, code)",
            db_path,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert probe.stdout.splitlines()[-1] == "False False 0", probe
