"""Database faults: each a clear ``store.eventstore.errors`` error; nothing lost, the rest up.

Every fault is real, not mocked: a missing path, a file that is not a database,
damaged bytes in a copy of a real database, a file the process may not write
(the tests run as root, who may write anything, so that case runs in a child
process that drops to an unprivileged user first), a lock held by another
process past a short deadline, a size limit reached (``PRAGMA max_page_count``)
and a schema from a newer boxoffice. The command line answers each with one
line on stderr and exit 3.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from store import (
    NewEvent,
    SchemaTooNew,
    StoreBusy,
    StoreCorrupt,
    StoreError,
    StoreFull,
    StoreNotFound,
    StoreReadOnly,
    open_store,
)
from store.booking import Ledger, Status
from store.eventstore.sqlite import SQLiteStore
from store.eventstore.writegate import FairTurn

KEY = "show"
ACTORS = [f"actor-{n}" for n in range(40)]
NOBODY = 65534
SHORT = 0.3  # busy timeout for the lock tests: seconds, not the default ten


async def _populate(path: str) -> None:
    async with open_store(path, create=True) as store:
        ledger = Ledger(store, operator="setup")
        await ledger.create_occurrence(KEY, capacity=100)
        for n, actor in enumerate(ACTORS):
            await (ledger.hold if n % 2 else ledger.book)(KEY, actor)


async def _roster(path: str) -> list[str]:
    async with open_store(path) as store:
        return await Ledger(store, operator="reader").roster(KEY)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A populated database, closed (its WAL checkpointed into the main file)."""
    path = str(tmp_path_factory.mktemp("pristine") / "boxoffice.db")
    asyncio.run(_populate(path))
    assert not os.path.exists(path + "-wal")
    return path


@pytest.fixture
def copy(pristine: str, tmp_path: Path) -> str:
    path = str(tmp_path / "copy.db")
    shutil.copy(pristine, path)
    return path


def _cli(db: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli.main", "--db", db, *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _assert_one_line_exit_3(result: subprocess.CompletedProcess[str] | dict[str, object]) -> str:
    if isinstance(result, dict):
        code, stderr = result["code"], str(result["stderr"])
    else:
        code, stderr = result.returncode, result.stderr
    assert code == 3, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("boxoffice: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


# -- missing, not a database, newer schema ------------------------------------------------------


def test_a_missing_file_is_refused_and_not_created(tmp_path: Path) -> None:
    path = str(tmp_path / "typo.db")
    with pytest.raises(StoreNotFound, match="boxoffice init"):
        asyncio.run(_roster(path))
    assert not os.path.exists(path)
    message = _assert_one_line_exit_3(_cli(path, "roster", KEY))
    assert "typo.db" in message and "no such database" in message
    assert not os.path.exists(path)


def test_a_missing_directory_is_refused(tmp_path: Path) -> None:
    path = str(tmp_path / "no" / "such" / "dir.db")
    with pytest.raises(StoreNotFound):
        asyncio.run(_roster(path))
    _assert_one_line_exit_3(_cli(path, "occurrences"))
    assert not os.path.exists(tmp_path / "no")


@pytest.mark.parametrize(
    "content",
    [b"name,seat\nada,1\n" * 200, b"SQLite format 3\x00" + b"\xff" * 4000],
    ids=["csv", "bad-header"],
)
def test_a_file_that_is_not_a_database_is_refused_untouched(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "not.db"
    path.write_bytes(content)
    with pytest.raises(StoreCorrupt, match="not a boxoffice database"):
        asyncio.run(_roster(str(path)))
    _assert_one_line_exit_3(_cli(str(path), "roster", KEY))
    assert path.read_bytes() == content


def test_another_programs_sqlite_file_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.execute("INSERT INTO notes VALUES ('keep me')")
    before = path.read_bytes()
    with pytest.raises(StoreCorrupt, match="not a boxoffice database"):
        asyncio.run(_roster(str(path)))
    assert path.read_bytes() == before


def test_a_newer_schema_is_refused_untouched(copy: str) -> None:
    with sqlite3.connect(copy) as conn:
        conn.execute("INSERT INTO boxoffice_schema (version) VALUES (99)")
    conn.close()
    with pytest.raises(SchemaTooNew, match="99"):
        asyncio.run(_roster(copy))
    message = _assert_one_line_exit_3(_cli(copy, "hold", KEY, "zed"))
    assert "upgrade" in message
    with sqlite3.connect(copy) as conn:
        assert conn.execute("SELECT MAX(version) FROM boxoffice_schema").fetchone() == (99,)
        assert conn.execute("SELECT COUNT(*) FROM events").fetchone() == (len(ACTORS) + 1,)
    conn.close()


# -- damaged bytes ------------------------------------------------------------------------------


def _page_of(path: str, table: str) -> tuple[int, int]:
    """(page size, root page number) of ``table``."""
    with sqlite3.connect(path) as conn:
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        (root,) = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (table,))
    conn.close()
    return size, root[0]


def test_a_damaged_page_is_a_clear_error_and_the_original_is_intact(
    pristine: str, copy: str
) -> None:
    size, root = _page_of(copy, "events")
    data = bytearray(Path(copy).read_bytes())
    start = (root - 1) * size
    data[start : start + size] = bytes(range(256)) * (size // 256)  # the events table's root
    Path(copy).write_bytes(data)

    async def read_damaged() -> None:
        async with open_store(copy) as store:
            assert isinstance(store, SQLiteStore)
            with pytest.raises(StoreCorrupt, match=r"damaged|malformed"):
                await Ledger(store, operator="t").roster(KEY)
            with pytest.raises(StoreCorrupt):
                await store.read_all()

    asyncio.run(read_damaged())
    _assert_one_line_exit_3(_cli(copy, "roster", KEY))
    assert asyncio.run(_roster(pristine)) == ACTORS  # the damage stayed in the copy


def test_damaged_event_text_is_a_clear_error_naming_the_event(copy: str) -> None:
    data = Path(copy).read_bytes()
    target = b'{"actor":"actor-7"'
    assert data.count(target) == 1
    Path(copy).write_bytes(data.replace(target, b'{"actor";"actor-7"'))  # still UTF-8, not JSON

    async def read_damaged() -> None:
        async with open_store(copy) as store:
            with pytest.raises(StoreCorrupt, match="position 9"):
                await store.read(f"booking:{KEY}")

    asyncio.run(read_damaged())
    message = _assert_one_line_exit_3(_cli(copy, "roster", KEY))
    assert "does not decode" in message


def test_text_that_is_not_utf8_is_a_clear_error(copy: str) -> None:
    data = Path(copy).read_bytes()
    target = b'"actor-7"'
    Path(copy).write_bytes(data.replace(target, b'"actor\xff7"'))

    async def read_damaged() -> None:
        async with open_store(copy) as store:
            with pytest.raises(StoreCorrupt, match="not valid UTF-8"):
                await store.read(f"booking:{KEY}")

    asyncio.run(read_damaged())
    _assert_one_line_exit_3(_cli(copy, "roster", KEY))


# -- read-only ----------------------------------------------------------------------------------

_UNPRIVILEGED = """
import asyncio, contextlib, io, json, os, sys
# everything is imported while still privileged: the interpreter lives under /root
from store import open_store, StoreError
from store.booking import Ledger
import store.eventstore.sqlite, store.eventstore.opening, tui.cli.main, importlib.metadata
from tui.cli.commands import COMMANDS
if os.geteuid() == 0:
    os.setgid({uid}); os.setuid({uid})
path = sys.argv[1]

async def attempt():
    try:
        async with open_store(path) as store:
            ledger = Ledger(store, operator="ro")
            await ledger.roster("{key}")
            await ledger.hold("{key}", "zed")
        return None
    except StoreError as exc:
        return [type(exc).__name__, str(exc)]

error = asyncio.run(attempt())
stderr = io.StringIO()
with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
    code = tui.cli.main.main(["--db", path, "hold", "{key}", "zed"])
print(json.dumps({{"error": error, "code": code, "stderr": stderr.getvalue()}}))
"""


@pytest.fixture
def read_only_copy(pristine: str) -> Iterator[str]:
    """A copy in a directory and file this process's child may read but not write.

    Root ignores file modes, so the child drops to ``nobody`` before opening it;
    the directory is a fresh one under the system temp dir that ``nobody`` can enter.
    """
    folder = tempfile.mkdtemp(prefix="boxoffice-ro-")
    path = os.path.join(folder, "ro.db")
    shutil.copy(pristine, path)
    os.chmod(path, 0o444)
    os.chmod(folder, 0o555)
    try:
        yield path
    finally:
        os.chmod(folder, 0o755)
        shutil.rmtree(folder)


def test_a_read_only_database_is_a_clear_error_and_unchanged(read_only_copy: str) -> None:
    before = Path(read_only_copy).read_bytes()
    script = _UNPRIVILEGED.format(uid=NOBODY, key=KEY)
    child = subprocess.run(
        [sys.executable, "-c", script, read_only_copy], capture_output=True, text=True, timeout=120
    )
    assert child.returncode == 0, child.stderr
    report = json.loads(child.stdout)
    assert report["error"] is not None, "an unwritable database was written"
    kind, message = report["error"]
    assert kind == "StoreReadOnly", message
    assert "read-only" in message
    assert "permissions" in _assert_one_line_exit_3(report)
    assert Path(read_only_copy).read_bytes() == before


# -- locked past the deadline -------------------------------------------------------------------

_LOCKER = """
import fcntl, os, sqlite3, sys
path, how = sys.argv[1], sys.argv[2]
if how == "sqlite":  # another program in the middle of a write transaction
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
else:  # a boxoffice writer stopped mid-commit: it holds the fair write turn
    fd = os.open(path + ".lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.read()  # hold it until the test closes our stdin
"""


class Locker:
    """Another process holding the database's write lock until released."""

    def __init__(self, path: str, how: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _LOCKER, path, how],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None and self.proc.stdout.readline() == "locked\n"

    def release(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


@pytest.mark.parametrize("how", ["sqlite", "write-turn"])
def test_a_lock_held_past_the_deadline_is_a_clear_answer_and_the_ledger_recovers(
    copy: str, how: str
) -> None:
    """The store raises StoreBusy; the ledger, which must never crash on a lock, answers
    ``conflict`` at its deadline (SPEC §1, §3). Either way nothing is written."""

    async def scenario(locker: Locker) -> None:
        async with open_store(copy, busy_timeout=SHORT) as store:
            ledger = Ledger(store, operator="t", deadline=SHORT)
            assert await ledger.roster(KEY) == ACTORS  # reads go on while another writes
            try:
                # the answer names the process holding the lock (issue 12 row 9)
                who = rf"another process \(pid {locker.proc.pid}\)"
                why = (
                    rf"{who} has held the write turn for \d"
                    if how == "write-turn"
                    else rf"the database was locked by {who} for over \d"
                )
                with pytest.raises(StoreBusy, match=why):
                    await asyncio.wait_for(store.append(f"booking:{KEY}", "hold", {}), 30)
                late = await asyncio.wait_for(ledger.hold(KEY, "zed"), 30)
                assert late.status is Status.CONFLICT
                assert late.reason is not None and re.fullmatch(why + r".* s", late.reason)
            finally:
                locker.release()
            assert await ledger.roster(KEY) == ACTORS  # nothing was written
            held = await ledger.hold(KEY, "zed")  # the same ledger, once the lock is gone
            assert (held.status, held.seat) == (Status.HELD, len(ACTORS) + 1)
            assert await ledger.matches_full_fold(KEY)

    locker = Locker(copy, how)
    try:
        asyncio.run(scenario(locker))
    finally:
        locker.release()


# -- full ---------------------------------------------------------------------------------------


def test_a_full_database_refuses_the_write_and_loses_nothing(copy: str) -> None:
    async def scenario() -> None:
        async with open_store(copy) as store:
            assert isinstance(store, SQLiteStore)
            ledger = Ledger(store, operator="t")
            await ledger.set_capacity(KEY, 10_000)

            async def limit(pages: int) -> None:
                await store.writer_pragma(f"max_page_count = {pages}")

            used = (await store.writer_pragma("page_count"))[0][0]
            await limit(used + 2)
            acknowledged = []
            with pytest.raises(StoreFull, match="no space left"):
                for n in range(10_000):
                    actor = f"filler-{n}-" + "x" * 200
                    assert (await ledger.hold(KEY, actor)).status is Status.HELD
                    acknowledged.append(actor)
            assert acknowledged, "the limit left no room at all"
            failed = f"filler-{len(acknowledged)}-" + "x" * 200
            # reads still work, every acknowledged hold is there, the refused one is not
            assert await ledger.roster(KEY) == ACTORS + acknowledged
            assert await ledger.seat_state(KEY, failed) == "none"
            assert await ledger.matches_full_fold(KEY)
            with pytest.raises(StoreFull):
                await ledger.hold(KEY, failed)
            await limit(1_000_000)  # space freed: the same ledger carries on
            again = await ledger.hold(KEY, failed)
            assert (again.status, again.seat) == (Status.HELD, len(ACTORS + acknowledged) + 1)
            assert await store.integrity_check() == ["ok"]

    asyncio.run(scenario())


def test_every_store_error_is_a_store_error() -> None:
    """What the CLI's exit 3 and the app's notices rely on."""
    for kind in (SchemaTooNew, StoreBusy, StoreCorrupt, StoreFull, StoreNotFound, StoreReadOnly):
        assert issubclass(kind, StoreError)


# -- boxoffice doctor ---------------------------------------------------------------------------


def test_doctor_reports_the_facts_support_asks_for(copy: str) -> None:
    result = _cli(copy, "--json", "doctor")
    assert result.returncode == 0, result.stderr
    facts = json.loads(result.stdout)
    assert facts["engine"] == "sqlite"
    assert facts["sqlite_version"] == sqlite3.sqlite_version
    assert (facts["journal_mode"], facts["synchronous"]) == ("wal", "FULL")
    assert facts["schema_version"] == facts["schema_understood"] == 1
    assert facts["path"] == os.path.abspath(copy) and facts["size_bytes"] > 0
    assert (facts["occurrences"], facts["events"]) == (1, len(ACTORS) + 1)
    assert facts["warnings"] == []
    text = _cli(copy, "doctor").stdout
    for words in ("sqlite version", "journal mode", "synchronous", "schema version"):
        assert words in text
    assert "ok: no setting weakens durability" in text


def test_doctor_warns_about_settings_that_weaken_durability() -> None:
    from tui.cli.commands.doctor import warnings

    assert warnings({"engine": "sqlite", "journal_mode": "wal", "synchronous": "FULL"}) == []
    weak = warnings({"engine": "sqlite", "journal_mode": "delete", "synchronous": "NORMAL"})
    assert len(weak) == 2 and "power loss" in weak[1]
    assert warnings({"engine": "postgresql", "synchronous_commit": "off"})


def test_doctor_on_a_faulty_database_is_one_line_exit_3(copy: str, tmp_path: Path) -> None:
    _assert_one_line_exit_3(_cli(str(tmp_path / "missing.db"), "doctor"))
    with sqlite3.connect(copy) as conn:
        conn.execute("INSERT INTO boxoffice_schema (version) VALUES (2)")
    conn.close()
    assert "upgrade" in _assert_one_line_exit_3(_cli(copy, "doctor"))


# -- the app stays up ---------------------------------------------------------------------------


async def _until(pilot: Any, condition: Any, what: str) -> None:
    for _ in range(1500):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"timed out waiting for {what}")


class _Notices:
    def __init__(self) -> None:
        self.seen: list[Any] = []

    def __call__(self, message: Any) -> None:
        from textual.notifications import Notify

        if isinstance(message, Notify):
            self.seen.append(message.notification)

    def about(self, needle: str) -> list[Any]:
        return [n for n in self.seen if needle in n.message]


async def _confirm_selected(pilot: Any, app: Any, notices: _Notices, needle: str) -> Any:
    """Press ``c`` on the roster's second row (actor-1, held) and wait for a notice."""
    app.main.roster.focus()
    app.main.roster.move_cursor(row=1)
    assert app.main.roster.selected_actor == "actor-1"
    before = len(notices.about(needle))
    await pilot.press("c")  # asks first: yes is a button
    await _until(pilot, lambda: app.screen.query("#yes"), "the question")
    await pilot.click("#yes")
    seen = lambda: len(notices.about(needle)) > before  # noqa: E731
    await _until(pilot, seen, f"a notice with {needle!r} (seen: {notices.seen})")
    return notices.about(needle)[-1]


def _state(app: Any, actor: str) -> str:
    return str(app.main.roster.get_cell(actor, "state").plain).lower()


async def test_the_app_stays_up_when_the_disk_fills(copy: str) -> None:
    from tui.app import BoxOfficeApp

    notices = _Notices()
    app = BoxOfficeApp(copy, operator="t", tick=None)
    async with app.run_test(size=(160, 50), message_hook=notices) as pilot:
        await _until(pilot, lambda: app.main.roster.total == len(ACTORS), "the roster")
        store = app.store
        assert isinstance(store, SQLiteStore)

        async def limit(pages: int) -> None:
            await store.writer_pragma(f"max_page_count = {pages}")

        used = (await store.writer_pragma("page_count"))[0][0]
        await limit(used + 1)
        with pytest.raises(StoreFull):  # fill every byte with the smallest events there are
            for _ in range(100_000):
                await store.append("filler", "pad", {})
        notice = await _confirm_selected(pilot, app, notices, "no space left")
        assert notice.severity == "error" and notice.markup is False
        assert "\n" not in notice.message
        assert app.is_running and "held" in _state(app, "actor-1")
        await limit(1_000_000)
        await _confirm_selected(pilot, app, notices, "Confirmed")
        await _until(pilot, lambda: "confirmed" in _state(app, "actor-1"), "the confirm")
        assert app.is_running
    assert await _roster(copy) == ACTORS


async def test_the_app_stays_up_while_another_process_holds_the_lock(copy: str) -> None:
    from tui.app import BoxOfficeApp

    notices = _Notices()
    app = BoxOfficeApp(copy, operator="t", tick=None)
    async with app.run_test(size=(160, 50), message_hook=notices) as pilot:
        await _until(pilot, lambda: app.main.roster.total == len(ACTORS), "the roster")
        assert app.ledger is not None
        app.ledger.deadline = SHORT  # the operator's wait, shortened for the test
        locker = Locker(copy, "sqlite")
        try:
            notice = await _confirm_selected(pilot, app, notices, "nothing written")
            assert notice.markup is False and "\n" not in notice.message
            assert app.is_running and "held" in _state(app, "actor-1")
        finally:
            locker.release()
        before = len(notices.seen)
        await _confirm_selected(pilot, app, notices, "Confirmed")
        await _until(pilot, lambda: "confirmed" in _state(app, "actor-1"), "the confirm")
        assert len(notices.seen) > before and app.is_running


# -- the file under a running terminal (issue 12, row 6) -----------------------------------------


@pytest.mark.parametrize("how", ["removed", "replaced", "wal-removed"])
async def test_a_database_replaced_or_removed_under_an_open_store_takes_no_write(
    tmp_path: Path, how: str
) -> None:
    """The open store must not go on writing into an inode no other terminal sees."""
    path = str(tmp_path / "box.db")
    async with open_store(path, create=True) as store:
        await store.append("s", "t", {"n": 1})
        if how == "removed":
            os.remove(path)
        elif how == "replaced":
            fresh = str(tmp_path / "fresh.db")
            async with open_store(fresh, create=True):
                pass
            os.replace(fresh, path)
        else:
            os.remove(path + "-wal")
        with pytest.raises(StoreError, match="the database file was replaced or removed"):
            await store.append("s", "t", {"n": 2})
    if how == "replaced":  # the refused write reached neither file
        async with open_store(path) as replacement:
            assert {"n": 2} not in [e.data for e in await replacement.read("s")]


# -- a lost write turn says why (issue 12, row 9) ------------------------------------------------


async def test_a_write_turn_held_elsewhere_is_busy_and_says_who_holds_it(db_path: str) -> None:
    async with open_store(db_path, create=True) as store:
        other = FairTurn(db_path + ".lock")  # its own file description: another process's turn
        try:
            assert await other.acquire(1.0)
            with pytest.raises(
                StoreBusy, match=r"another process has held the write turn for 0\.3 s"
            ):
                await store.append_many("s", None, [NewEvent("t", {})], timeout=0.3)
            other.release()
            assert (await store.append("s", "t", {})).seq == 1
        finally:
            other.close()


# -- init (issue 12, row 16, SQLite) ------------------------------------------------------------


def _init(path: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "tui.cli.main", "--json", "init", "--db", path]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _created(proc: subprocess.Popen[str]) -> bool:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return bool(json.loads(out)["created"])


def test_init_on_an_empty_file_creates_the_database(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    assert _created(_init(str(path)))
    assert not _created(_init(str(path)))


def test_of_ten_concurrent_inits_exactly_one_says_created(tmp_path: Path) -> None:
    path = str(tmp_path / "raced.db")
    procs = [_init(path) for _ in range(10)]
    assert sum(_created(p) for p in procs) == 1


# -- sidecar files (issue 12, row 15) ------------------------------------------------------------


async def test_a_reading_command_leaves_no_sidecar(db_path: str) -> None:
    async with open_store(db_path, create=True) as store:
        await store.read("s")
    async with open_store(db_path) as store:
        assert await store.read("s") == [] and await store.streams() == []
    assert not os.path.exists(db_path + ".lock") and not os.path.exists(db_path + ".lock.gate")


async def test_sidecars_take_the_database_files_mode(db_path: str) -> None:
    async with open_store(db_path, create=True):
        pass
    os.chmod(db_path, 0o640)
    async with open_store(db_path) as store:
        await store.append("s", "t", {})
    for suffix in (".lock", ".lock.gate"):
        assert os.stat(db_path + suffix).st_mode & 0o777 == 0o640


async def test_a_symlinked_sidecar_is_refused_not_followed(db_path: str, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    async with open_store(db_path, create=True):
        pass
    os.symlink(target, db_path + ".lock")
    async with open_store(db_path) as store:
        with pytest.raises(StoreError, match="a symlink"):
            await store.append("s", "t", {})
        assert await store.read("s") == []
    assert not target.exists()
