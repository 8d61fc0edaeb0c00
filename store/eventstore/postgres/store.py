"""``PostgresStore``: the shared event store, for terminals on several machines.

Three problems a server brings that one SQLite file does not, and how each is met:

* **A tailing reader must never skip an event.** A sequence hands out positions
  at insert time, not at commit time, so a reader could see position 11 commit
  before 10 and move its cursor past 10 for ever. Appends to different streams
  still run in parallel: positions are got with the transaction id under a short
  lock, and readers stop below any append that is still open (``schema``'s two
  rules; ``read_all`` and ``head_position`` use them, stream reads need not: a
  stream's appends take its lock to commit). A write transaction left open on
  the server (any database of it: ``idle in transaction`` in ``pg_stat_activity``)
  can hold tailing readers back until it ends, never make them skip: they read on
  through positions that follow each other, and stop at the first one missing
  (an append rolled back, or still open) since that transaction began.
* **Two writers at one seq.** ``UNIQUE(stream, seq)`` is the arbiter; the append
  function checks the expected seq under the stream's lock, and a unique violation or
  serialization failure that still gets through is reported as a ``Conflict``.
* **Clocks.** Terminals on different machines disagree about the time, so
  ``server_now()`` answers with the server's clock and the ledger decides expiry
  and stamps ``recorded_at`` with it.

Each append is one call of a server-side function (one round trip, one implicit
transaction); the new head position is ``NOTIFY``-ed after the commit so live views
wake at once (``postgres.live``); ``wait_for_append`` listens on its own connection
and re-checks the head on timeout in case a notification was lost.

A ``?schema=name`` query parameter puts the box office in its own schema, so one
database can hold several (the tests use one per test).
"""

from __future__ import annotations

import asyncio
import contextlib
import urllib.parse
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
import asyncpg.exceptions as pgx

from store.eventstore.contract import DecideTail
from store.eventstore.errors import (
    StoreBusy,
    StoreCorrupt,
    StoreError,
    StoreNotFound,
)
from store.eventstore.events import Conflict, Event, NewEvent
from store.eventstore.postgres.errors import (
    CONNECTION_LOST,
    LOST_RACE,
    TRANSIENT,
    one_line,
    translate,
)
from store.eventstore.postgres.live import Announcer, Listener
from store.eventstore.postgres.pools import (
    POOL_OPTIONS,
    announcer_of,
    borrow_pool,
    holds_no_locks,
    may_hold_locks,
    release_connection,
    return_pool,
)
from store.eventstore.postgres.schema import (
    APPEND,
    APPEND_LOCKED,
    INIT_LOCK_CLASS,
    LOCK_STREAM,
    PG_SCHEMA_VERSION,
    SCHEMA,
    UNLOCK_STREAM,
    columns,
    lay_down_snapshots,
    migrate,
)
from store.eventstore.postgres.urls import split_url
from store.eventstore.retry import Deadline
from store.eventstore.sql import (
    Dialect,
    Queries,
    Row,
    SQLEventStore,
    check_schema_version,
    decode,
    regex_pattern,
)


class PostgresStore(SQLEventStore):
    """An event store in a PostgreSQL database; open it with ``store.open_store``.

    Args:
        url: ``postgresql://user[:password]@host[:port]/database[?schema=name]``.
        pool_min, pool_max: connections opened at once / at most by the pool that
            the stores of one event loop on one URL share.
        connect_timeout: seconds to wait for the server to answer a connection.
        busy_timeout: default bound, in seconds, on waiting for a busy server (a
            free connection, a server turning clients away, another append
            holding the append lock); past it ``StoreBusy`` is raised and nothing
            was written. ``append_many(timeout=...)`` overrides it per call.
    """

    queries = Queries.for_dialect(
        Dialect(
            table="boxoffice_events",
            placeholder="${}",
            unlimited=None,
            field_text="(data ->> '{field}')",
            field_is_text="json_typeof(data -> '{field}') = 'string'",
            data_text="data::text",
            contains="{hay} ~ {pattern}",
            pattern=regex_pattern,
            has_non_ascii="length({hay}) <> octet_length({hay})",
            visible_head="boxoffice_visible_head({after})",
        )
    )

    def __init__(
        self,
        url: str,
        *,
        pool_min: int = 1,
        pool_max: int = 8,
        connect_timeout: float = 10.0,
        busy_timeout: float = 10.0,
    ) -> None:
        if not 0 <= pool_min <= pool_max or pool_max < 1:
            raise ValueError("pool_max: must be at least 1 and at least pool_min")
        self._dsn, self.schema, self.url = split_url(url)
        self.pool_min, self.pool_max = pool_min, pool_max
        self.connect_timeout = connect_timeout
        self.busy_timeout = busy_timeout
        # Durable on return (SPEC §1) even where the server's default says otherwise,
        # and named in pg_stat_activity; settings given in the URL win.
        defaults = {"synchronous_commit": "on", "application_name": "boxoffice"}
        given = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
        settings = {k: v for k, v in defaults.items() if k not in given}
        # The append function relies on a fresh snapshot per statement.
        settings["default_transaction_isolation"] = "read committed"
        if self.schema is not None:
            settings["search_path"] = self.schema
        self._settings = settings
        self._pool: asyncpg.Pool | None = None
        self._pool_key_: tuple[Any, ...] = ()
        self._closed = False
        self.created: bool | None = False
        self._facts: dict[str, Any] = {}
        self._channel = ""
        # LISTEN/NOTIFY: one connection, opened on the first wait_for_append.
        self._listener = Listener(self._dsn, settings, connect_timeout)
        self._announcer = Announcer()  # replaced by the pool's shared one on open

    # -- lifecycle -------------------------------------------------------------

    async def open(self, *, create: bool = False) -> PostgresStore:
        try:
            self._pool_key_ = self._pool_key()
            try:
                self._pool = await borrow_pool(self._pool_key_, self._create_pool)
            except pgx.InvalidCatalogNameError:
                if not create:
                    raise
                await self._create_database()
                self._pool = await borrow_pool(self._pool_key_, self._create_pool)
            self._announcer = announcer_of(self._pool_key_)
            async with self._connection() as conn:
                await self._prepare(conn, create)
                self._facts = await self._read_facts(conn)
        except BaseException as exc:
            await self.close()
            if isinstance(exc, Exception):
                raise translate(exc, self.url) from exc
            raise
        return self

    def _pool_key(self) -> tuple[Any, ...]:
        settings = tuple(sorted(self._settings.items()))
        return (asyncio.get_running_loop(), self._dsn, settings, self.pool_min, self.pool_max)

    async def _create_pool(self) -> asyncpg.Pool:
        deadline = Deadline(self.busy_timeout)
        while True:
            try:
                # No floor (min_size=0): asyncpg 0.32 keeps a floor by reconnecting in
                # the background, and logs a warning to stderr at every refusal while a
                # server restarts. The first ``pool_min`` connections are opened here.
                pool = await asyncpg.create_pool(
                    self._dsn,
                    min_size=0,
                    max_size=self.pool_max,
                    timeout=self.connect_timeout,
                    server_settings=self._settings,
                    **POOL_OPTIONS,
                )
                opened = [await pool.acquire() for _ in range(self.pool_min)]
                for conn in opened:
                    await release_connection(pool, conn)
                return pool
            except TRANSIENT:
                if deadline.passed():
                    raise
                await deadline.pause()

    async def _create_database(self) -> None:
        """``CREATE DATABASE`` through the server's maintenance database (``init`` only)."""
        parts = urllib.parse.urlsplit(self._dsn)
        name = urllib.parse.unquote(parts.path.lstrip("/"))
        maintenance = urllib.parse.urlunsplit(parts._replace(path="/postgres"))
        conn = await asyncpg.connect(maintenance, timeout=self.connect_timeout)
        try:
            quoted = '"' + name.replace('"', '""') + '"'
            with contextlib.suppress(pgx.DuplicateDatabaseError):
                await conn.execute(f"CREATE DATABASE {quoted}")
        finally:
            await conn.close()

    async def _prepare(self, conn: asyncpg.Connection, create: bool) -> None:
        """Check (or, with ``create``, lay down) the schema, one initialiser at a time."""
        async with conn.transaction():
            if create:
                await conn.execute(
                    "SELECT pg_advisory_xact_lock($1, hashtext($2))",
                    INIT_LOCK_CLASS,
                    self.schema or "",
                )
                if self.schema is not None:
                    await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            present = await conn.fetchval("SELECT to_regclass('boxoffice_schema') IS NOT NULL")
            if not present:
                if not create:
                    raise StoreNotFound(
                        f"{self.url}: no boxoffice database here yet "
                        f"(create it with `boxoffice init --db {self.url}`)"
                    )
                if await conn.fetchval("SELECT to_regclass('boxoffice_events') IS NOT NULL"):
                    raise StoreCorrupt(
                        f"{self.url}: a boxoffice_events table without boxoffice's schema table"
                    )
                for statement in SCHEMA:
                    await conn.execute(statement)
                self.created = True
                await conn.execute(
                    "INSERT INTO boxoffice_schema (version) VALUES ($1)", PG_SCHEMA_VERSION
                )
            version = await conn.fetchval("SELECT MAX(version) FROM boxoffice_schema")
            check_schema_version(version, self.url, PG_SCHEMA_VERSION)
            version = await migrate(conn, self.schema, version)
            await lay_down_snapshots(conn, self.schema)
        check_schema_version(version, self.url, PG_SCHEMA_VERSION)

    async def _read_facts(self, conn: asyncpg.Connection) -> dict[str, Any]:
        row = await conn.fetchrow(
            "SELECT current_schema() AS schema, 'boxoffice_' || md5(current_schema()) AS channel,"
            " current_setting('server_version') AS version,"
            " current_setting('synchronous_commit') AS synchronous_commit,"
            " (SELECT MAX(version) FROM boxoffice_schema) AS schema_version"
        )
        self._channel = row["channel"]
        return {
            "engine": "postgresql",
            "server_version": row["version"],
            "schema": row["schema"],
            "synchronous_commit": row["synchronous_commit"],
            "schema_version": row["schema_version"],
            "pool_max": self.pool_max,
        }

    async def close(self) -> None:
        self._closed = True
        await self._listener.close()
        pool, self._pool = self._pool, None
        if pool is not None:
            await return_pool(self._pool_key_)

    # -- connections -------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _connection(self, timeout: float | None = None) -> Any:
        """A pooled connection; a server that turns clients away is waited out."""
        pool = self._pool
        if pool is None or self._closed:
            raise StoreError(f"{self.url}: the store is closed")
        wait = self.busy_timeout if timeout is None else max(timeout, 0.001)
        deadline = Deadline(wait)
        while True:
            try:
                conn = await pool.acquire(timeout=max(deadline.remaining(), 0.001))
                break
            except TimeoutError as exc:
                raise StoreBusy(
                    f"{self.url}: no free connection to the server within {wait:g} s"
                ) from exc
            except TRANSIENT as exc:
                if deadline.passed():
                    raise StoreBusy(
                        f"{self.url}: the server turned connections away for over "
                        f"{wait:g} s ({one_line(exc)})"
                    ) from exc
                await deadline.pause()
            except Exception as exc:
                if self._closed:
                    raise StoreError(f"{self.url}: the store is closed") from exc
                raise translate(exc, self.url) from exc
        try:
            yield conn
        finally:
            await release_connection(pool, conn)

    async def _execute(self, sql: str, params: tuple[Any, ...], timeout: float | None) -> None:
        async with self._connection(timeout) as conn:
            try:
                await conn.execute(sql, *params)
            except Exception as exc:
                raise translate(exc, self.url) from exc

    async def _fetch(self, sql: str, params: tuple[Any, ...] = ()) -> Sequence[Row]:
        """Run a read; one lost connection (the server restarted) is retried on another."""
        for attempt in (1, 2):
            async with self._connection() as conn:
                try:
                    rows: list[Row] = await conn.fetch(sql, *params)
                    return rows
                except CONNECTION_LOST as exc:
                    if attempt == 2 or self._closed:
                        raise translate(exc, self.url) from exc
                except Exception as exc:
                    raise translate(exc, self.url) from exc
        raise AssertionError("unreachable")

    # -- the contract ----------------------------------------------------------

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
        types, data, meta = columns(events)
        wait = self.busy_timeout if timeout is None else timeout
        deadline = Deadline(wait)
        while True:
            async with self._connection(deadline.remaining()) as conn:
                lock_ms = max(1, int(deadline.remaining() * 1000))
                try:
                    may_hold_locks(conn)  # the position lock, released by the function
                    rows = await conn.fetch(
                        APPEND, stream, expected_seq, types, data, meta, lock_ms
                    )
                    holds_no_locks(conn)
                    break
                except LOST_RACE as exc:
                    # Only a writer that bypasses the append lock gets here.
                    lost: BaseException = exc
                except CONNECTION_LOST as exc:
                    raise StoreError(
                        f"{self.url}: lost the connection to the server during an append to "
                        f"{stream!r}; it may or may not have been written ({one_line(exc)})"
                    ) from exc
                except pgx.LockNotAvailableError as exc:
                    raise StoreBusy(
                        f"{self.url}: another writer held the append lock for over {wait:g} s"
                    ) from exc
                except Exception as exc:
                    raise translate(exc, self.url) from exc
            if expected_seq is not None:
                return Conflict(expected_seq, await self.last_seq(stream))
            if deadline.passed():
                raise StoreBusy(f"{self.url}: could not append to {stream!r}: {one_line(lost)}")
        if rows[0]["out_position"] is None:
            assert expected_seq is not None
            return Conflict(expected_seq, rows[0]["out_seq"])
        self._announce(rows[-1]["out_position"])
        return [
            Event(stream, row["out_seq"], row["out_position"], e.type, e.data, e.meta)
            for row, e in zip(rows, events, strict=True)
        ]

    async def append_decided(
        self,
        stream: str,
        after_seq: int,
        decide: DecideTail,
        *,
        timeout: float | None = None,
    ) -> list[Event]:
        """Decide under the stream's lock and append before it is released.

        ``decide(tail)`` sees every event after ``after_seq`` read under the lock,
        and what it returns is appended before the lock is released, so this never
        conflicts. The ledger retries a lost race this way: a command loses at most
        once, and a process that keeps winning cannot starve the others. Two round
        trips hold the lock: the first takes it at session level and reads the tail
        (``boxoffice_lock_stream``), the second appends, handing the hold over to
        its transaction, which keeps it to commit. No transaction is open while
        ``decide`` runs, so the append is its transaction's first write
        (``schema``'s rule 1) and nothing holds back tailing readers meanwhile.
        """
        wait = self.busy_timeout if timeout is None else timeout
        deadline = Deadline(wait)
        async with self._connection(deadline.remaining()) as conn:
            lock_ms = max(1, int(deadline.remaining() * 1000))
            try:
                may_hold_locks(conn)  # the pool's reset unlocks if this fails midway
                rows = await conn.fetch(LOCK_STREAM, stream, after_seq, lock_ms)
                tail = [decode(r, self.url) for r in rows]
                events = list(decide(tail))
                if not events:
                    await conn.execute(UNLOCK_STREAM, stream)
                    holds_no_locks(conn)
                    return []
                last = tail[-1].seq if tail else after_seq
                appended = await conn.fetch(APPEND_LOCKED, stream, last, *columns(events), lock_ms)
                holds_no_locks(conn)
            except Exception as exc:
                if isinstance(exc, pgx.LockNotAvailableError):
                    raise StoreBusy(
                        f"{self.url}: another writer held the append lock for over {wait:g} s"
                    ) from exc
                if isinstance(exc, CONNECTION_LOST):
                    raise StoreError(
                        f"{self.url}: lost the connection to the server during an append to "
                        f"{stream!r}; it may or may not have been written ({one_line(exc)})"
                    ) from exc
                raise translate(exc, self.url) from exc
        if appended[0]["out_position"] is None:  # someone bypassed the lock
            raise StoreError(
                f"{self.url}: {stream!r} moved under the append lock "
                f"(seq {appended[0]['out_seq']}, expected {last})"
            )
        written = [
            Event(stream, row["out_seq"], row["out_position"], e.type, e.data, e.meta)
            for row, e in zip(appended, events, strict=True)
        ]
        self._announce(written[-1].position)
        return written

    def database_key(self) -> tuple[str, str, str | None] | None:
        """The server, database and schema this store writes to (None once closed)."""
        return None if self._closed else ("postgres", self._dsn, self.schema)

    async def server_now(self) -> datetime:
        """The server's clock (``clock_timestamp()``, not the transaction's start)."""
        rows = await self._fetch("SELECT clock_timestamp()", ())
        moment: datetime = rows[0][0]
        return moment

    # -- live updates ------------------------------------------------------------

    def _announce(self, position: int) -> None:
        """Tell the listeners (after the commit: ``postgres.live``)."""
        if self._pool is not None:
            self._announcer.announce(self._pool, self._channel, position)

    @property
    def _notified(self) -> int:
        """The highest position a notification announced (observable by tests)."""
        return self._listener.notified

    @property
    def _sleepers(self) -> int:
        """Waiters parked on a notification (observable by tests)."""
        return self._listener.sleepers

    async def wait_for_append(self, after_position: int, timeout: float) -> bool:
        """Wake on a notification; re-check the head on timeout in case one was missed."""
        if self._pool is None or self._closed:
            raise StoreError(f"{self.url}: the store is closed")
        if not await self._listener.listen(self._channel):
            return await super().wait_for_append(after_position, timeout)
        return await self._listener.wait(after_position, timeout, self._readable)

    async def _readable(self, after: int) -> int:
        """How far a reader holding every event up to ``after`` may read now."""
        rows = await self._fetch("SELECT boxoffice_visible_head($1)", (after,))
        return int(rows[0][0])
