"""The embedded event store: one SQLite file in WAL mode, through aiosqlite.

Each transaction runs as one function on the connection's own thread, so the
statements of two asyncio tasks can never interleave inside a transaction (the
failure mode of sharing an aiosqlite connection, omnilib/aiosqlite#19), and a
task cancelled mid-append leaves either a committed or an untouched stream.
Writes take SQLite's write lock up front (``BEGIN IMMEDIATE``) and the
``UNIQUE(stream, seq)`` constraint lets the database itself refuse a second
writer at the same seq.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from store.eventstore.contract import EventStore
from store.eventstore.errors import (
    SchemaTooNew,
    StoreBusy,
    StoreCorrupt,
    StoreError,
    StoreFull,
    StoreNotFound,
    StoreReadOnly,
)
from store.eventstore.events import Conflict, Event, NewEvent
from store.eventstore.writegate import WriteTurn

SCHEMA_VERSION = 1

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
)

_COLUMNS = "position, stream, seq, type, data, meta"
_SYNCHRONOUS = ("OFF", "NORMAL", "FULL", "EXTRA")

T = TypeVar("T")


def _event(row: tuple[Any, ...], path: str) -> Event:
    position, stream, seq, type_, data, meta = row
    try:
        return Event(stream, seq, position, type_, json.loads(data), json.loads(meta))
    except (TypeError, ValueError) as exc:  # bytes the JSON writer never produced
        raise StoreCorrupt(
            f"{path}: damaged: event at position {position} does not decode ({exc})"
        ) from exc


# One encoder for every event: ``json.dumps`` with options builds a new one per call.
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _encode(events: Sequence[NewEvent]) -> list[tuple[str, str, str]]:
    """``(type, data, meta)`` as stored; a batch's events share one meta, encoded once."""
    rows = []
    meta: dict[str, Any] | None = None
    meta_text = ""
    for event in events:
        if event.meta is not meta:
            meta, meta_text = event.meta, _dumps(event.meta)
        rows.append((event.type, _dumps(event.data), meta_text))
    return rows


def _is_busy(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        return "locked" in text or "busy" in text
    return False


def _translate(exc: BaseException, path: str) -> BaseException:
    """Map a driver exception to the store's own error types."""
    text = str(exc).lower()
    if isinstance(exc, sqlite3.DatabaseError):
        if "not a database" in text or "malformed" in text or "corrupt" in text:
            return StoreCorrupt(f"{path}: not a boxoffice database, or damaged ({exc})")
        if "could not decode" in text:  # text that is not UTF-8: damaged pages (no row quoted)
            return StoreCorrupt(f"{path}: damaged: a stored event is not valid UTF-8")
        if "readonly" in text or "read-only" in text:
            return StoreReadOnly(f"{path}: the database is read-only ({exc})")
        if "full" in text:
            return StoreFull(f"{path}: no space left for the write ({exc})")
        if "unable to open" in text:
            return _unopenable(path, exc)
        return StoreError(f"{path}: {exc}")
    return exc


def _unopenable(path: str, exc: BaseException) -> StoreError:
    """Why SQLite could not open ``path``, in words an operator can act on."""
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        return StoreError(f"{path}: is a directory, not a database file")
    if os.path.exists(path) and not os.access(path, os.R_OK):
        return StoreError(f"{path}: permission denied: cannot read the database file")
    if os.path.isdir(folder) and not os.access(folder, os.W_OK | os.X_OK):
        return StoreReadOnly(f"{path}: cannot create the database's files in {folder}")
    return StoreNotFound(f"{path}: cannot open the database ({exc})")


def _insert(
    conn: sqlite3.Connection,
    stream: str,
    last: int,
    events: Sequence[NewEvent],
    rows: Sequence[tuple[str, str, str]],
) -> list[Event]:
    """Insert ``events`` (already encoded as ``rows``) after seq ``last``, inside a transaction.

    Positions come from AUTOINCREMENT while this transaction holds the write lock,
    so one batch's positions are consecutive and end at ``last_insert_rowid()``.
    """
    if not rows:
        return []
    conn.executemany(
        "INSERT INTO events (stream, seq, type, data, meta) VALUES (?, ?, ?, ?, ?)",
        [(stream, last + i, *row) for i, row in enumerate(rows, start=1)],
    )
    (end,) = conn.execute("SELECT last_insert_rowid()").fetchone()
    first = int(end) - len(rows) + 1
    return [
        Event(stream, last + i, first + i - 1, event.type, event.data, event.meta)
        for i, event in enumerate(events, start=1)
    ]


class SQLiteStore(EventStore):
    """An event store in one SQLite file; open it with ``store.open_store``."""

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
        self._turn: WriteTurn | None = None
        self._facts: dict[str, Any] = {}

    # -- lifecycle -------------------------------------------------------------

    async def open(self, *, create: bool = False) -> SQLiteStore:
        if not create and not os.path.exists(self.path):
            raise StoreNotFound(
                f"{self.path}: no such database (create it with `boxoffice init --db {self.path}`)"
            )
        if create:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        if self._fair_lock:
            self._turn = WriteTurn(self.path + ".lock")
        try:
            self._writer = await self._connect()
            await self._run(self._writer, lambda c: self._prepare(c, create))
            self._reader = await self._connect()
            self._facts = await self._run(self._reader, self._read_facts)
        except BaseException:
            await self.close()
            raise
        return self

    async def _connect(self) -> aiosqlite.Connection:
        pending = aiosqlite.connect(self.path, isolation_level=None, timeout=self.busy_timeout)
        # aiosqlite's connection thread is not a daemon: a store left open by a
        # cancelled task (a worker cut short when the app quits) would keep the
        # process alive forever. As a daemon it dies with the process, which is
        # what a kill -9 does too, and WAL makes that safe.
        pending._thread.daemon = True
        try:
            conn = await pending
        except sqlite3.Error as exc:
            raise _translate(exc, self.path) from exc
        try:
            await conn.execute(f"PRAGMA synchronous = {self.synchronous}")
            await conn.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
        except BaseException as exc:
            # also on cancellation: a half-opened connection must not outlive its store
            await asyncio.shield(conn.close())
            if isinstance(exc, sqlite3.Error):
                raise _translate(exc, self.path) from exc
            raise
        return conn

    def _prepare(self, conn: sqlite3.Connection, create: bool) -> None:
        """Check (or, with ``create``, lay down) the schema; runs on the writer's thread."""
        tables = {
            row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
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
            if conn.execute("SELECT COUNT(*) FROM boxoffice_schema").fetchone()[0] == 0:
                conn.execute("INSERT INTO boxoffice_schema (version) VALUES (?)", (SCHEMA_VERSION,))
            conn.execute("COMMIT")
        else:
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
            if str(mode).lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
        version = conn.execute("SELECT MAX(version) FROM boxoffice_schema").fetchone()[0]
        if version is None or version > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"{self.path}: schema version {version} is newer than this boxoffice "
                f"understands ({SCHEMA_VERSION}); upgrade boxoffice to open it"
            )

    def _read_facts(self, conn: sqlite3.Connection) -> dict[str, Any]:
        return {
            "engine": "sqlite",
            "sqlite_version": sqlite3.sqlite_version,
            "journal_mode": conn.execute("PRAGMA journal_mode").fetchone()[0],
            "synchronous": self.synchronous,
            "schema_version": conn.execute("SELECT MAX(version) FROM boxoffice_schema").fetchone()[
                0
            ],
        }

    def describe(self) -> dict[str, Any]:
        return {"url": self.url, **self._facts}

    async def close(self) -> None:
        conns = [c for c in (self._writer, self._reader) if c is not None]
        turn = self._turn
        self._writer = self._reader = None
        self._turn = None

        async def close_all() -> None:
            for conn in conns:
                # closing a broken connection must not mask the error that broke it
                with contextlib.suppress(Exception):
                    await conn.close()
            if turn is not None:  # after the writer: a transaction in flight keeps its turn
                turn.close()

        # shielded: a close cut short by cancellation still finishes, so no
        # connection thread is left behind
        await asyncio.shield(close_all())

    # -- running work on a connection's thread -----------------------------------

    async def _run(
        self,
        conn: aiosqlite.Connection | None,
        fn: Callable[[sqlite3.Connection], T],
        timeout: float | None = None,
    ) -> T:
        """Run ``fn(sqlite3_connection)`` on the connection's thread, waiting out busy errors."""
        if conn is None:
            raise StoreError(f"{self.path}: the store is closed")
        wait = self.busy_timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        delay = 0.005
        while True:
            try:
                # aiosqlite's worker thread owns the sqlite3 connection; running the
                # whole transaction there keeps it atomic with respect to other tasks.
                return await conn._execute(fn, conn._conn)
            except sqlite3.Error as exc:
                if _is_busy(exc) and time.monotonic() < deadline:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 0.1)
                    continue
                if _is_busy(exc):
                    raise StoreBusy(
                        f"{self.path}: locked by another process for over {wait:g} s"
                    ) from exc
                raise _translate(exc, self.path) from exc

    # -- the contract ----------------------------------------------------------

    async def append_many(
        self,
        stream: str,
        expected_seq: int | None,
        events: Sequence[NewEvent],
        *,
        timeout: float | None = None,
    ) -> list[Event] | Conflict:
        rows = _encode(events)
        if not rows:
            raise ValueError("append_many: no events")
        wait = self.busy_timeout if timeout is None else max(timeout, 0.0)

        def body(conn: sqlite3.Connection) -> list[Event] | Conflict:
            (last,) = conn.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM events WHERE stream = ?", (stream,)
            ).fetchone()
            if expected_seq is not None and last != expected_seq:
                conn.execute("ROLLBACK")
                return Conflict(expected_seq, last)
            return _insert(conn, stream, last, events, rows)

        return await self._run(self._writer, self._write_transaction(body, wait), wait)

    async def append_decided(
        self,
        stream: str,
        after_seq: int,
        decide: Callable[[list[Event]], Sequence[NewEvent]],
        *,
        timeout: float | None = None,
    ) -> list[Event]:
        """Decide inside the write transaction: ``decide(tail)`` sees every event after
        ``after_seq``, read under the write lock, and what it returns is appended.

        No writer can move the stream between that read and the append, so this
        never conflicts. The ledger uses it for a command's retry after a lost
        race: a command then loses at most once to the writers that share this
        file, and a writer that keeps winning cannot starve the others (the
        first attempt stays optimistic). ``decide`` runs on the writer's thread
        and may run again if the transaction is retried after a busy error.
        """
        wait = self.busy_timeout if timeout is None else max(timeout, 0.0)

        def body(conn: sqlite3.Connection) -> list[Event]:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM events WHERE stream = ? AND seq > ? ORDER BY seq",
                (stream, after_seq),
            ).fetchall()
            tail = [_event(r, self.path) for r in rows]
            events = list(decide(tail))
            last = tail[-1].seq if tail else after_seq
            return _insert(conn, stream, last, events, _encode(events))

        return await self._run(self._writer, self._write_transaction(body, wait), wait)

    def _write_transaction(
        self, body: Callable[[sqlite3.Connection], T], wait: float
    ) -> Callable[[sqlite3.Connection], T]:
        """``body`` between ``BEGIN IMMEDIATE`` and ``COMMIT``, holding the write turn.

        Runs on the writer's thread; ``body`` may end the transaction itself with
        ``ROLLBACK`` (a conflict), and any exception rolls it back.
        """
        turn = self._turn
        deadline = time.monotonic() + wait

        def transaction(conn: sqlite3.Connection) -> T:
            left = deadline - time.monotonic()
            if turn is not None and not turn.acquire(left):
                raise sqlite3.OperationalError("database is locked (write turn)")
            try:
                # bound SQLite's own wait for its lock by what is left of the deadline
                left_ms = max(0, int((deadline - time.monotonic()) * 1000))
                conn.execute(f"PRAGMA busy_timeout = {left_ms}")
                conn.execute("BEGIN IMMEDIATE")
                try:
                    result = body(conn)
                    if conn.in_transaction:
                        conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
            finally:
                if turn is not None:
                    turn.release()
            return result

        return transaction

    async def read(self, stream: str, after_seq: int = 0) -> list[Event]:
        rows = await self._fetch(
            f"SELECT {_COLUMNS} FROM events WHERE stream = ? AND seq > ? ORDER BY seq",
            (stream, after_seq),
        )
        return [_event(r, self.path) for r in rows]

    async def last_seq(self, stream: str) -> int:
        rows = await self._fetch(
            "SELECT COALESCE(MAX(seq), 0) FROM events WHERE stream = ?", (stream,)
        )
        return int(rows[0][0])

    async def read_all(self, after_position: int = 0, limit: int | None = None) -> list[Event]:
        rows = await self._fetch(
            f"SELECT {_COLUMNS} FROM events WHERE position > ? ORDER BY position LIMIT ?",
            (after_position, -1 if limit is None else limit),
        )
        return [_event(r, self.path) for r in rows]

    async def head_position(self) -> int:
        rows = await self._fetch("SELECT COALESCE(MAX(position), 0) FROM events", ())
        return int(rows[0][0])

    async def streams(self, prefix: str = "") -> list[str]:
        rows = await self._fetch(
            "SELECT stream FROM events WHERE seq = 1 AND substr(stream, 1, ?) = ? ORDER BY stream",
            (len(prefix), prefix),
        )
        return [r[0] for r in rows]

    async def integrity_check(self) -> list[str]:
        """``PRAGMA integrity_check``: ``["ok"]`` for a healthy file."""
        rows = await self._fetch("PRAGMA integrity_check", ())
        return [str(r[0]) for r in rows]

    async def _fetch(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        def query(conn: sqlite3.Connection) -> list[tuple[Any, ...]]:
            return conn.execute(sql, params).fetchall()

        return await self._run(self._reader, query)
