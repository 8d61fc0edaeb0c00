"""The embedded event store: one SQLite file in WAL mode, through aiosqlite's public API.

An append is one statement: ``INSERT ... SELECT`` reads the stream's last seq,
checks the writer's expectation and inserts the batch (``RETURNING`` the seqs
and positions). A statement that writes takes SQLite's write lock before it
reads, so one statement is one atomic, serialised transaction, and the
``UNIQUE(stream, seq)`` constraint lets the database itself refuse a second
writer at the same seq. One statement is also one trip to aiosqlite's
connection thread, which keeps a commit as cheap as it was when the whole
transaction ran there as a private call.

A decision made under the write lock (``append_decided``) is one statement too:
the tail is read, decided on and inserted by the same ``INSERT ... SELECT``, the
decision running as a SQL function on the connection's thread
(``store.eventstore.sqlite_decide``). The statements of two asyncio tasks sharing
the writer connection are queued in order (omnilib/aiosqlite#19), and every write
holds an asyncio lock around its take of the turn, its statement and its release.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import weakref
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from store.eventstore.contract import DecideTail
from store.eventstore.errors import (
    StoreBusy,
    StoreCorrupt,
    StoreError,
    StoreNotFound,
    StoreReplaced,
)
from store.eventstore.events import Conflict, Event, NewEvent
from store.eventstore.lock_holders import WAL_WRITE_LOCK, lock_holders, seconds, who
from store.eventstore.retry import Deadline
from store.eventstore.sql import (
    SCHEMA_VERSION,
    SNAPSHOTS,
    SNAPSHOTS_DDL,
    SUMMARIES,
    SUMMARIES_DDL,
    Queries,
    Row,
    SQLEventStore,
    check_schema_version,
)
from store.eventstore.sqlite_decide import APPEND_DECIDED, Decisions
from store.eventstore.sqlite_support import (
    SQLITE_DIALECT,
    busy_ms,
    identity,
    is_busy,
    on_daemon_thread,
    translate,
)
from store.eventstore.sqlite_turn import (
    ConnectionTurn,
    InTurn,
    append_in_turn,
    in_turn,
    written,
)
from store.eventstore.writegate import WriteGate, write_gate

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS boxoffice_schema (version INTEGER NOT NULL)",
    """CREATE TABLE IF NOT EXISTS events (
        position INTEGER PRIMARY KEY AUTOINCREMENT,
        stream   TEXT    NOT NULL,
        seq      INTEGER NOT NULL CHECK (seq >= 1),
        type     TEXT    NOT NULL,
        data     TEXT    NOT NULL,
        meta     TEXT    NOT NULL,
        UNIQUE (stream, seq)
    )""",
    # Every stream has exactly one seq 1: a tiny index that lists the streams.
    "CREATE INDEX IF NOT EXISTS events_stream_heads ON events (stream) WHERE seq = 1",
    """CREATE TRIGGER IF NOT EXISTS events_append_only_update BEFORE UPDATE ON events
       BEGIN SELECT RAISE(ABORT, 'events are append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS events_append_only_delete BEFORE DELETE ON events
       BEGIN SELECT RAISE(ABORT, 'events are append-only'); END""",
    SNAPSHOTS_DDL,
    SUMMARIES_DDL,
)


_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")

T = TypeVar("T")


class SQLiteStore(SQLEventStore):
    """An event store in one SQLite file; open it with ``store.open_store``."""

    queries = Queries.for_dialect(SQLITE_DIALECT)

    def __init__(
        self,
        path: str,
        *,
        synchronous: str = "FULL",
        busy_timeout: float = 10.0,
        fair_lock: bool = True,
    ) -> None:
        if synchronous.upper() not in _SYNCHRONOUS:
            raise ValueError(f"synchronous: must be one of {', '.join(_SYNCHRONOUS)}")
        self.path = path
        self.url = path
        self.synchronous = synchronous.upper()
        self.busy_timeout = busy_timeout
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._fair_lock = fair_lock
        self._gate: WriteGate | None = None
        #: one write (statement or transaction) at a time on the writer connection
        self._writing = asyncio.Lock()
        self._writer_busy_ms = 0
        self._facts: dict[str, Any] = {}
        self.created: bool | None = False
        #: (device, inode) of the file this store opened: a write checks the path still names it
        self._identity: tuple[int, int] | None = None
        self._wal_expected = False
        #: the write turn, taken and given back on the writer connection's thread
        me = weakref.ref(self)  # no cycle: a closed store is freed when it is dropped
        self._turn = ConnectionTurn(lambda: store._gate if (store := me()) else None)
        #: ``append_decided``'s callbacks, run by the append statement on that thread
        self._decisions = Decisions(self._turn, path)

    # -- lifecycle -------------------------------------------------------------

    async def open(self, *, create: bool = False) -> SQLiteStore:
        if not create and not os.path.exists(self.path):
            raise StoreNotFound(
                f"{self.path}: no such database (create it with `boxoffice init --db {self.path}`)"
            )
        if create:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        try:
            self._facts = await self._retry_busy(
                lambda: on_daemon_thread(lambda: self._prepare(create)), self.busy_timeout
            )
            self._writer = await self._connect(writer=True)
            self._identity = identity(self.path)
            self._writer_busy_ms = int(self.busy_timeout * 1000)
            self._reader = await self._connect()
        except BaseException:
            await self.close()
            raise
        return self

    def _new_connection(self) -> aiosqlite.Connection:
        """``aiosqlite.connect`` called from a daemon thread, so its own thread is one too.

        A thread inherits its creator's daemon flag (``threading.Thread``), and
        aiosqlite creates its connection thread when the connection object is
        made. A store left open by a cancelled task (a worker cut short when the
        app quits) would otherwise keep the process alive for ever; as a daemon
        the thread dies with the process, which is what a kill -9 does too, and
        WAL makes that safe.
        """
        return aiosqlite.connect(
            self.path, isolation_level=None, timeout=self.busy_timeout, cached_statements=256
        )

    async def _connect(self, *, writer: bool = False) -> aiosqlite.Connection:
        pending = await on_daemon_thread(self._new_connection)
        try:
            conn = await pending
        except sqlite3.Error as exc:
            raise translate(exc, self.path) from exc
        try:
            await conn.execute(f"PRAGMA synchronous = {self.synchronous}")
            if writer:  # the write turn is taken and given back on this connection's thread
                await self._turn.register(conn)
                await self._decisions.register(conn)
        except BaseException as exc:
            # also on cancellation: a half-opened connection must not outlive its store
            await asyncio.shield(conn.close())
            if isinstance(exc, sqlite3.Error):
                raise translate(exc, self.path) from exc
            raise
        return conn

    def _prepare(self, create: bool) -> dict[str, Any]:
        """Check (or, with ``create``, lay down) the schema; the facts for ``describe()``.

        Runs once per open on a thread of its own, on a plain ``sqlite3`` connection
        (opening is not the hot path; this keeps it one synchronous piece).
        """
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=self.busy_timeout)
        try:
            tables = {
                row[0]
                for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            if "boxoffice_schema" not in tables:
                if tables - {"sqlite_sequence"}:
                    raise StoreCorrupt(f"{self.path}: a SQLite file, but not a boxoffice database")
                if not create:
                    raise StoreNotFound(
                        f"{self.path}: not a boxoffice database yet "
                        f"(create it with `boxoffice init --db {self.path}`)"
                    )
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("BEGIN IMMEDIATE")
                for statement in _SCHEMA:
                    conn.execute(statement)
                # decided under the write lock: of concurrent inits, exactly one lays it down
                if conn.execute("SELECT COUNT(*) FROM boxoffice_schema").fetchone()[0] == 0:
                    conn.execute(
                        "INSERT INTO boxoffice_schema (version) VALUES (?)", (SCHEMA_VERSION,)
                    )
                    self.created = True
                conn.execute("COMMIT")
            else:
                mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
                if str(mode).lower() != "wal":
                    conn.execute("PRAGMA journal_mode = WAL")
                if SNAPSHOTS not in tables:  # a database from before the cache
                    conn.execute(SNAPSHOTS_DDL)
                if SUMMARIES not in tables:  # ... or from before the house's summaries
                    conn.execute(SUMMARIES_DDL)
            version = conn.execute("SELECT MAX(version) FROM boxoffice_schema").fetchone()[0]
            check_schema_version(version, self.path)
            return {
                "engine": "sqlite",
                "sqlite_version": sqlite3.sqlite_version,
                "journal_mode": conn.execute("PRAGMA journal_mode").fetchone()[0],
                "synchronous": self.synchronous,
                "schema_version": version,
            }
        finally:
            conn.close()

    async def close(self) -> None:
        conns = [c for c in (self._writer, self._reader) if c is not None]
        gate = self._gate
        self._writer = self._reader = None
        self._gate = None

        async def close_all() -> None:
            async with self._writing:  # a transaction in flight finishes first
                for conn in conns:
                    # closing a broken connection must not mask the error that broke it
                    with contextlib.suppress(Exception):
                        await conn.close()
                if gate is not None:  # after the writer: a transaction in flight keeps its turn
                    gate.close()

        # shielded: a close cut short by cancellation still finishes, so no
        # connection thread is left behind
        await asyncio.shield(close_all())

    def database_key(self) -> tuple[str, int, int] | None:
        """The file this store opened, as (device, inode): another path to it is the same."""
        if self._writer is None or self._identity is None:
            return None
        return ("sqlite", *self._identity)

    # -- waiting out a busy file -------------------------------------------------

    async def _retry_busy(self, attempt: Callable[[], Awaitable[T]], wait: float) -> T:
        """``attempt()`` until it is not refused as busy, within ``wait`` seconds."""
        deadline = Deadline(wait)
        while True:
            try:
                return await attempt()
            except ValueError as exc:
                if type(exc) is ValueError and "closed" in str(exc).lower():  # aiosqlite's
                    raise StoreError(f"{self.path}: the store is closed") from exc
                raise
            except sqlite3.Error as exc:
                if not is_busy(exc):
                    raise translate(exc, self.path) from exc
                if deadline.passed():
                    holders = lock_holders(self.path + "-shm", "POSIX", WAL_WRITE_LOCK)
                    why = f"the database was locked by {who(holders)} for over {seconds(wait)} s"
                    raise StoreBusy(f"{self.path}: {why}", why) from exc
                await deadline.pause()

    # -- writing -----------------------------------------------------------------

    async def _write(
        self, section: InTurn[T], timeout: float | None, *, shielded: bool = True
    ) -> T:
        """Run ``section`` on the writer connection, which it holds alone.

        ``section(conn, timeout)`` takes the write turn and gives it back
        (``store.eventstore.sqlite_turn``); None means the turn stayed taken. A
        ``shielded`` section runs to its end even if the caller is cancelled; one
        that is not must see to that itself (one statement already queued runs
        anyway: aiosqlite runs what is queued whether or not anyone awaits it).
        """
        wait = self.busy_timeout if timeout is None else max(timeout, 0.0)
        deadline = Deadline(wait)

        async def attempt() -> T:
            conn = self._writer
            if conn is None:
                raise StoreError(f"{self.path}: the store is closed")
            gate = self._gate or self._open_gate()
            await self._writing.acquire()
            try:
                self._check_same_file()
            except BaseException:
                self._writing.release()
                raise
            if not shielded:
                return await self._section(conn, gate, section, deadline, wait)
            work = asyncio.ensure_future(self._section(conn, gate, section, deadline, wait))
            work.add_done_callback(_retrieve)
            return await asyncio.shield(work)

        return await self._retry_busy(attempt, wait)

    async def _section(
        self,
        conn: aiosqlite.Connection,
        gate: WriteGate,
        section: InTurn[T],
        deadline: Deadline,
        wait: float,
    ) -> T:
        try:
            wait_ms = busy_ms(deadline.remaining(), self.busy_timeout)
            if wait_ms != self._writer_busy_ms:  # bound SQLite's own wait by the deadline
                await conn.execute(f"PRAGMA busy_timeout = {wait_ms}")
                self._writer_busy_ms = wait_ms
            result = await section(conn, deadline.remaining())
            if result is None:
                why = f"{who(gate.holders())} has held the write turn for {seconds(wait)} s"
                raise StoreBusy(f"{self.path}: {why}", why)
            self._wal_expected = True  # a write leaves the WAL in place while we are open
            return result.value
        finally:
            self._writing.release()

    def _open_gate(self) -> WriteGate:
        """The write turn's sidecars, made on the first write: a reading command leaves none.

        Only an opened boxoffice database gets them (opening refuses any other
        file first), with the database file's owner and mode.
        """
        try:
            like = os.stat(self.path)
        except OSError as exc:
            raise StoreError(f"{self.path}: the database file was replaced or removed") from exc
        try:
            self._gate = write_gate(self.path + ".lock", self._fair_lock, like)
        except OSError as exc:
            raise StoreError(
                f"{self.path}.lock: a symlink; boxoffice will not lock through it "
                "(remove it, and check who made it)"
            ) from exc
        return self._gate

    def _check_same_file(self, then: str = "nothing was written (reopen it to go on)") -> None:
        """Refuse to write unless the path still names the file this store opened.

        A database removed or replaced (a restore, a careless ``mv``) under a
        running terminal would otherwise go on taking writes into the old inode,
        or into a WAL no other terminal sees: acknowledged bookings lost.
        """
        if self._identity is None:
            return
        same = identity(self.path) == self._identity
        if same and self._wal_expected:
            same = os.path.exists(self.path + "-wal")
        if not same:
            raise StoreReplaced(f"{self.path}: the database file was replaced or removed; {then}")

    async def wait_for_append(self, after_position: int, timeout: float) -> bool:
        """The contract's wait, saying (``StoreReplaced``) when the file is no longer ours.

        A follower or a live screen would otherwise go on showing the old file as
        if nothing more were happening in it; it is looked at once a second.
        """
        deadline = Deadline(timeout)
        while True:
            self._check_same_file("what was read is from the old file (reopen it to go on)")
            if await super().wait_for_append(after_position, min(deadline.remaining(), 1.0)):
                return True
            if deadline.passed():
                return False

    async def append_many(
        self,
        stream: str,
        expected_seq: int | None,
        events: Sequence[NewEvent],
        *,
        timeout: float | None = None,
    ) -> list[Event] | Conflict:
        if not events:
            raise ValueError("append_many: no events")
        statement = append_in_turn(stream, expected_seq, events)

        async def append(conn: aiosqlite.Connection) -> list[Event] | Conflict:
            returned = list(await conn.execute_fetchall(*statement))
            if not returned:
                assert expected_seq is not None
                return Conflict(expected_seq, await self.last_seq(stream))
            return written(stream, events, returned)

        turn = self._turn  # the append protects its own take and release (in_turn)
        return await self._write(
            lambda conn, t: in_turn(conn, turn, append, t, queued=True), timeout, shielded=False
        )

    async def append_decided(
        self,
        stream: str,
        after_seq: int,
        decide: DecideTail,
        *,
        timeout: float | None = None,
    ) -> list[Event]:
        """Decide inside the append: ``decide(tail)`` sees every event after
        ``after_seq``, read under the write lock, and what it returns is appended.

        No writer can move the stream between that read and the append, so this
        never conflicts. One statement does the read, the decision and the insert
        (``store.eventstore.sqlite_decide``): ``decide`` runs on the writer
        connection's thread while this call awaits, and may run again if the
        statement is retried after a busy error (only its last answer is appended).
        """
        decision = self._decisions.add(decide)
        statement = (APPEND_DECIDED, (stream, after_seq, decision.token))

        async def append(conn: aiosqlite.Connection) -> list[Any]:
            return list(await conn.execute_fetchall(*statement))

        turn = self._turn  # the append protects its own take and release (in_turn)
        try:
            returned = await self._write(
                lambda conn, t: in_turn(conn, turn, append, t, queued=True),
                timeout,
                shielded=False,
            )
        finally:
            self._decisions.forget(decision)
        if decision.error is not None:
            raise decision.error
        if not decision.ran:
            raise StoreError(f"{self.path}: the append ran without its decision")
        return written(stream, decision.events, returned) if decision.events else []

    # -- reading -----------------------------------------------------------------

    async def _execute(self, sql: str, params: tuple[Any, ...], timeout: float | None) -> None:
        async def run(conn: aiosqlite.Connection) -> None:
            await conn.execute(sql, params)

        turn = self._turn
        await self._write(lambda conn, t: in_turn(conn, turn, run, t, queued=False), timeout)

    async def _fetch(self, sql: str, params: tuple[Any, ...]) -> Sequence[Row]:
        async def query() -> Sequence[Row]:
            reader = self._reader
            if reader is None:
                raise StoreError(f"{self.path}: the store is closed")
            return list(await reader.execute_fetchall(sql, params))

        return await self._retry_busy(query, self.busy_timeout)

    async def integrity_check(self) -> list[str]:
        """``PRAGMA integrity_check``: ``["ok"]`` for a healthy file."""
        rows = await self._fetch("PRAGMA integrity_check", ())
        return [str(r[0]) for r in rows]

    async def writer_pragma(self, pragma: str) -> list[Row]:
        """Run ``PRAGMA <pragma>`` on the writing connection (fault tests cap its pages)."""

        async def run(conn: aiosqlite.Connection) -> list[Row]:
            return list(await conn.execute_fetchall(f"PRAGMA {pragma}"))

        return await self._write(
            lambda conn, t: in_turn(conn, self._turn, run, t, queued=False), None
        )


def _retrieve(task: asyncio.Future[Any]) -> None:
    """A transaction whose caller was cancelled: its error has no one to go to."""
    if not task.cancelled():
        task.exception()
