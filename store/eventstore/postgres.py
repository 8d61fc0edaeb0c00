"""The shared event store: PostgreSQL through asyncpg, for terminals on several machines.

Three problems a server brings that one SQLite file does not, and how each is met:

* **A tailing reader must never skip an event.** A sequence hands out positions
  at insert time, not at commit time, so a reader could see position 11 commit
  before 10 and move its cursor past 10 for ever. Every append therefore takes a
  transaction-scoped advisory lock just before it inserts: appends take
  positions one transaction at a time, and PostgreSQL releases the lock only
  after the commit is visible, so positions become visible in increasing order.
* **Two writers at one seq.** ``UNIQUE(stream, seq)`` is the arbiter; the append
  function checks the expected seq under the lock, and a unique violation or
  serialization failure that still gets through is reported as a ``Conflict``.
* **Clocks.** Terminals on different machines disagree about the time, so
  ``server_now()`` answers with the server's clock and the ledger decides expiry
  and stamps ``recorded_at`` with it.

Each append is one call of a server-side function (one round trip, one implicit
transaction), which also ``NOTIFY``s the new head position so live views wake at
once; ``wait_for_append`` listens on its own connection and re-checks the head
on timeout in case a notification was lost.

A ``?schema=name`` query parameter puts the box office in its own schema, so one
database can hold several (the tests use one per test).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import urllib.parse
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import asyncpg.exceptions as pgx

from store.eventstore.contract import DecideTail
from store.eventstore.errors import (
    StoreBusy,
    StoreCorrupt,
    StoreError,
    StoreFull,
    StoreNotFound,
    StoreReadOnly,
    StoreUnreachable,
)
from store.eventstore.events import Conflict, Event, NewEvent
from store.eventstore.opening import shown_url
from store.eventstore.retry import Deadline
from store.eventstore.sql import (
    SCHEMA_VERSION,
    Dialect,
    Queries,
    Row,
    SQLEventStore,
    check_schema_version,
    decode,
    encode,
    regex_pattern,
)

#: First half of every advisory lock key boxoffice takes ("boxo"); the second half
#: names the table (appends) or the schema (``init``), so box offices in other
#: schemas or databases never wait for each other.
_LOCK_CLASS = 0x626F786F
_INIT_LOCK_CLASS = 0x626F7869

#: Lower case only: PostgreSQL folds an unquoted name to lower case, so ``RT_B`` in
#: the search path and a quoted ``"RT_B"`` schema are two different places.
_SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

_APPEND_FUNCTION = f"""
CREATE FUNCTION boxoffice_append(
    p_stream text, p_expected bigint, p_types text[], p_data text[], p_meta text[],
    p_lock_timeout_ms integer
) RETURNS TABLE (out_seq bigint, out_position bigint)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_last bigint;
BEGIN
    -- A stale expectation fails here, before queueing for the lock.
    IF p_expected IS NOT NULL THEN
        SELECT COALESCE(MAX(seq), 0) INTO v_last FROM boxoffice_events WHERE stream = p_stream;
        IF v_last <> p_expected THEN
            out_seq := v_last; out_position := NULL; RETURN NEXT; RETURN;
        END IF;
    END IF;
    -- One appender at a time from here to commit: positions are taken in commit
    -- order. Each statement below gets a fresh snapshot (READ COMMITTED), so the
    -- seq read after the lock sees the previous holder's commit. A wait past the
    -- caller's timeout fails the whole call (lock_not_available): nothing is written.
    PERFORM set_config('lock_timeout', greatest(p_lock_timeout_ms, 1) || 'ms', true);
    PERFORM pg_advisory_xact_lock({_LOCK_CLASS}, 'boxoffice_events'::regclass::oid::integer);
    SELECT COALESCE(MAX(seq), 0) INTO v_last FROM boxoffice_events WHERE stream = p_stream;
    IF p_expected IS NOT NULL AND v_last <> p_expected THEN
        out_seq := v_last; out_position := NULL; RETURN NEXT; RETURN;
    END IF;
    FOR i IN 1 .. cardinality(p_types) LOOP
        INSERT INTO boxoffice_events (stream, seq, type, data, meta)
        VALUES (p_stream, v_last + i, p_types[i], p_data[i]::json, p_meta[i]::json)
        RETURNING seq, position INTO out_seq, out_position;
        RETURN NEXT;
    END LOOP;
    PERFORM pg_notify('boxoffice_' || md5(current_schema()), out_position::text);
END
$$"""

_SCHEMA = (
    "CREATE TABLE boxoffice_schema (version integer NOT NULL)",
    """CREATE TABLE boxoffice_events (
        position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        stream   text COLLATE "C" NOT NULL,
        seq      bigint NOT NULL CHECK (seq >= 1),
        type     text NOT NULL,
        data     json NOT NULL,
        meta     json NOT NULL,
        UNIQUE (stream, seq)
    )""",
    # Every stream has exactly one seq 1: a small index that lists the streams.
    "CREATE INDEX boxoffice_events_stream_heads ON boxoffice_events (stream) WHERE seq = 1",
    """CREATE FUNCTION boxoffice_refuse_change() RETURNS trigger
       LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'events are append-only'; END $$""",
    """CREATE TRIGGER boxoffice_events_append_only BEFORE UPDATE OR DELETE ON boxoffice_events
       FOR EACH ROW EXECUTE FUNCTION boxoffice_refuse_change()""",
    """CREATE TRIGGER boxoffice_events_no_truncate BEFORE TRUNCATE ON boxoffice_events
       FOR EACH STATEMENT EXECUTE FUNCTION boxoffice_refuse_change()""",
    _APPEND_FUNCTION,
)

_APPEND = "SELECT out_seq, out_position FROM boxoffice_append($1, $2, $3, $4, $5, $6)"

#: Errors that mean "not now": waited out and retried until the busy timeout.
_TRANSIENT = (pgx.TooManyConnectionsError, pgx.CannotConnectNowError)
#: The server closed the connection (restart, failover, an administrator): a read
#: is simply asked again on another connection.
_CONNECTION_LOST = (
    pgx.PostgresConnectionError,
    pgx.AdminShutdownError,
    pgx.CrashShutdownError,
    pgx.InternalClientError,  # asyncpg caught mid-operation by the server's goodbye
    ConnectionError,
)
#: Errors with which the database refuses a second writer at one seq.
_LOST_RACE = (pgx.UniqueViolationError, pgx.SerializationError, pgx.DeadlockDetectedError)


def _columns(events: Sequence[NewEvent]) -> tuple[list[str], list[str], list[str]]:
    """The append function's three arrays: types, data and meta as stored JSON text."""
    rows = encode(events)
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]


def split_url(url: str) -> tuple[str, str | None, str]:
    """``(dsn for asyncpg, schema or None, url safe to show)``.

    ``schema`` is boxoffice's own query parameter; every other parameter goes
    to asyncpg (which passes unknown ones to the server as settings). The shown
    URL hides the password, in the user part or as ``?password=``.
    """
    shown = shown_url(url)
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError as exc:
        raise ValueError(f"database: {shown}: not a usable URL ({_one_line(exc)})") from None
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port is not None and port < 1:
        raise ValueError(f"port: {shown}: the port must be a number from 1 to 65535")
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    schemas = [value for key, value in query if key == "schema"]
    if len(schemas) > 1:
        # which one would win is a guess; a guess of "public" puts a box office
        # in the shared schema without a word
        raise ValueError(
            f"schema: given {len(schemas)} times ({', '.join(map(ascii, schemas))}); give it once"
        )
    schema = schemas[0] if schemas else None
    if schema is not None and not _SCHEMA_NAME.fullmatch(schema):
        raise ValueError(
            f"schema: {ascii(schema)[:70]} is not a schema name boxoffice accepts: 1-63 "
            "lower-case ASCII letters, digits and _, not starting with a digit"
            + (
                f" (did you mean {schema.lower()}?)"
                if _SCHEMA_NAME.fullmatch(schema.lower())
                else ""
            )
        )
    rest = urllib.parse.urlencode([(k, v) for k, v in query if k != "schema"])
    dsn = urllib.parse.urlunsplit(parts._replace(query=rest))
    return dsn, schema, shown


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def translate(exc: BaseException, where: str) -> BaseException:
    """Map a driver or network exception to the store's own error types."""
    if isinstance(exc, StoreError):
        return exc
    init_hint = f"(create it with `boxoffice init --db {where}`)"
    if isinstance(exc, pgx.InvalidCatalogNameError):
        return StoreNotFound(f"{where}: no such database {init_hint}")
    if isinstance(exc, (pgx.UndefinedTableError, pgx.UndefinedFunctionError)):
        return StoreNotFound(f"{where}: the boxoffice tables are gone {init_hint}")
    if isinstance(exc, pgx.InvalidSchemaNameError):
        return StoreError(
            f"{where}: no schema to put the boxoffice tables in (the server's search_path "
            "names none that exists); name one with ?schema=name"
        )
    if isinstance(exc, pgx.InvalidAuthorizationSpecificationError):
        return StoreError(f"{where}: the server refused the login ({_one_line(exc)})")
    if isinstance(exc, pgx.DiskFullError):
        return StoreFull(f"{where}: the server's disk is full; the write did not happen")
    if isinstance(exc, pgx.ReadOnlySQLTransactionError):
        return StoreReadOnly(f"{where}: the server is read-only (a standby?)")
    if isinstance(exc, pgx.InsufficientPrivilegeError):
        return StoreReadOnly(f"{where}: permission denied ({_one_line(exc)})")
    if isinstance(exc, _TRANSIENT):
        return StoreBusy(f"{where}: the server is not accepting connections ({_one_line(exc)})")
    if isinstance(exc, ConnectionRefusedError) or (
        isinstance(exc, OSError) and "refused" in str(exc).lower()
    ):
        return StoreUnreachable(
            f"{where}: cannot connect to the PostgreSQL server (connection refused); is it running?"
        )
    if isinstance(exc, TimeoutError):
        return StoreUnreachable(f"{where}: the PostgreSQL server did not answer in time")
    if isinstance(exc, OSError):
        return StoreUnreachable(f"{where}: cannot reach the PostgreSQL server ({_one_line(exc)})")
    if isinstance(exc, (*_CONNECTION_LOST, pgx.InterfaceError)):
        return StoreUnreachable(f"{where}: lost the connection to the server ({_one_line(exc)})")
    if isinstance(exc, pgx.PostgresError):
        return StoreError(f"{where}: {_one_line(exc)}")
    return exc


@dataclass(slots=True)
class _SharedPool:
    pool: asyncio.Future[asyncpg.Pool]
    users: int = 0


#: Stores on one event loop with one URL share a pool: a terminal (or a racer
#: process) that opens many stores then needs a handful of server connections,
#: not one or more per store, and stays well inside the server's max_connections.
_POOLS: dict[tuple[Any, ...], _SharedPool] = {}


async def _borrow_pool(
    key: tuple[Any, ...], create: Callable[[], Awaitable[asyncpg.Pool]]
) -> asyncpg.Pool:
    shared = _POOLS.get(key)
    if shared is None:
        shared = _POOLS[key] = _SharedPool(asyncio.ensure_future(create()))
    shared.users += 1
    try:
        return await asyncio.shield(shared.pool)
    except BaseException:
        shared.users -= 1
        if _POOLS.get(key) is shared and (shared.pool.done() or shared.users == 0):
            del _POOLS[key]  # a failed pool is not kept: the next open tries again
            shared.pool.add_done_callback(_terminate_orphan)
        raise


def _terminate_orphan(future: asyncio.Future[asyncpg.Pool]) -> None:
    """A pool that finished opening after everyone waiting for it gave up."""
    if not future.cancelled() and future.exception() is None:
        future.result().terminate()


async def _return_pool(key: tuple[Any, ...]) -> None:
    shared = _POOLS.get(key)
    if shared is None:
        return
    shared.users -= 1
    if shared.users > 0:
        return
    del _POOLS[key]
    if not shared.pool.done() or shared.pool.exception() is not None:
        return
    pool = shared.pool.result()
    try:
        await asyncio.wait_for(pool.close(), timeout=5)
    except Exception:
        # a connection stuck mid-call must not keep close() waiting for ever
        pool.terminate()


async def _release(pool: asyncpg.Pool, conn: asyncpg.Connection) -> None:
    """Give a connection back to the pool; a failure to do so is contained.

    The pool resets a released connection with a round trip of its own, after the
    caller's statement has returned (an append has committed by then). A server
    that ends the session at that moment (a restart, ``pg_terminate_backend``)
    makes the reset fail; the pool then discards the connection itself, and the
    caller's answer stands: a committed append is never reported as failed.
    """
    with contextlib.suppress(Exception):
        await pool.release(conn)


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
        self._listener: asyncpg.Connection | None = None
        self._listener_lock = asyncio.Lock()
        self._notified = 0  # highest position a notification announced
        self._sleepers = 0  # waiters parked on a notification (observable by tests)
        self._wake = asyncio.Event()

    # -- lifecycle -------------------------------------------------------------

    async def open(self, *, create: bool = False) -> PostgresStore:
        try:
            self._pool_key_ = self._pool_key()
            try:
                self._pool = await _borrow_pool(self._pool_key_, self._create_pool)
            except pgx.InvalidCatalogNameError:
                if not create:
                    raise
                await self._create_database()
                self._pool = await _borrow_pool(self._pool_key_, self._create_pool)
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
                )
                opened = [await pool.acquire() for _ in range(self.pool_min)]
                for conn in opened:
                    await _release(pool, conn)
                return pool
            except _TRANSIENT:
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
                    _INIT_LOCK_CLASS,
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
                for statement in _SCHEMA:
                    await conn.execute(statement)
                self.created = True
                await conn.execute(
                    "INSERT INTO boxoffice_schema (version) VALUES ($1)", SCHEMA_VERSION
                )
            version = await conn.fetchval("SELECT MAX(version) FROM boxoffice_schema")
        check_schema_version(version, self.url)

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
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(Exception):
                await listener.close(timeout=2)
        pool, self._pool = self._pool, None
        if pool is not None:
            await _return_pool(self._pool_key_)
        self._wake.set()

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
            except _TRANSIENT as exc:
                if deadline.passed():
                    raise StoreBusy(
                        f"{self.url}: the server turned connections away for over "
                        f"{wait:g} s ({_one_line(exc)})"
                    ) from exc
                await deadline.pause()
            except Exception as exc:
                if self._closed:
                    raise StoreError(f"{self.url}: the store is closed") from exc
                raise translate(exc, self.url) from exc
        try:
            yield conn
        finally:
            await _release(pool, conn)

    async def _fetch(self, sql: str, params: tuple[Any, ...] = ()) -> Sequence[Row]:
        """Run a read; one lost connection (the server restarted) is retried on another."""
        for attempt in (1, 2):
            async with self._connection() as conn:
                try:
                    rows: list[Row] = await conn.fetch(sql, *params)
                    return rows
                except _CONNECTION_LOST as exc:
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
        types, data, meta = _columns(events)
        wait = self.busy_timeout if timeout is None else timeout
        deadline = Deadline(wait)
        while True:
            async with self._connection(deadline.remaining()) as conn:
                lock_ms = max(1, int(deadline.remaining() * 1000))
                try:
                    rows = await conn.fetch(
                        _APPEND, stream, expected_seq, types, data, meta, lock_ms
                    )
                    break
                except _LOST_RACE as exc:
                    # Only a writer that bypasses the append lock gets here.
                    lost: BaseException = exc
                except _CONNECTION_LOST as exc:
                    raise StoreError(
                        f"{self.url}: lost the connection to the server during an append to "
                        f"{stream!r}; it may or may not have been written ({_one_line(exc)})"
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
                raise StoreBusy(f"{self.url}: could not append to {stream!r}: {_one_line(lost)}")
        if rows[0]["out_position"] is None:
            assert expected_seq is not None
            return Conflict(expected_seq, rows[0]["out_seq"])
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
        """Decide inside the append's transaction, holding the append lock throughout.

        ``decide(tail)`` sees every event after ``after_seq`` read under the lock,
        and what it returns is appended before the lock is released, so this never
        conflicts. The ledger retries a lost race this way: a command loses at most
        once, and a process that keeps winning cannot starve the others. Costs the
        lock for four round trips instead of one, so only retries use it.
        """
        wait = self.busy_timeout if timeout is None else timeout
        deadline = Deadline(wait)
        async with self._connection(deadline.remaining()) as conn:
            lock_ms = max(1, int(deadline.remaining() * 1000))
            try:
                # One round trip; each statement gets its own snapshot, so the read
                # below (a separate statement) sees every append committed before ours.
                await conn.execute(
                    "BEGIN ISOLATION LEVEL READ COMMITTED;"
                    f" SELECT set_config('lock_timeout', '{lock_ms}ms', true);"
                    f" SELECT pg_advisory_xact_lock({_LOCK_CLASS},"
                    " 'boxoffice_events'::regclass::oid::integer)"
                )
                rows = await conn.fetch(self.queries.read, stream, after_seq)
                tail = [decode(r, self.url) for r in rows]
                events = list(decide(tail))
                written: list[Event] = []
                if events:
                    last = tail[-1].seq if tail else after_seq
                    appended = await conn.fetch(_APPEND, stream, last, *_columns(events), lock_ms)
                    if appended[0]["out_position"] is None:  # someone bypassed the lock
                        raise StoreError(
                            f"{self.url}: {stream!r} moved under the append lock "
                            f"(seq {appended[0]['out_seq']}, expected {last})"
                        )
                    written = [
                        Event(stream, row["out_seq"], row["out_position"], e.type, e.data, e.meta)
                        for row, e in zip(appended, events, strict=True)
                    ]
                await conn.execute("COMMIT")
                return written
            except BaseException as exc:
                # a connection the server ended is already back in the pool, where
                # even asking is_closed() raises: there is nothing to roll back then
                with contextlib.suppress(Exception):
                    if not conn.is_closed() and conn.is_in_transaction():
                        await conn.execute("ROLLBACK")
                if isinstance(exc, pgx.LockNotAvailableError):
                    raise StoreBusy(
                        f"{self.url}: another writer held the append lock for over {wait:g} s"
                    ) from exc
                if isinstance(exc, _CONNECTION_LOST):
                    raise StoreError(
                        f"{self.url}: lost the connection to the server during an append to "
                        f"{stream!r}; it may or may not have been written ({_one_line(exc)})"
                    ) from exc
                if isinstance(exc, Exception):
                    raise translate(exc, self.url) from exc
                raise

    async def server_now(self) -> datetime:
        """The server's clock (``clock_timestamp()``, not the transaction's start)."""
        rows = await self._fetch("SELECT clock_timestamp()", ())
        moment: datetime = rows[0][0]
        return moment

    # -- live updates ------------------------------------------------------------

    async def wait_for_append(self, after_position: int, timeout: float) -> bool:
        """Wake on the append's NOTIFY; re-check the head on timeout in case one was missed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        if not await self._listen():
            return await super().wait_for_append(after_position, timeout)
        # LISTEN is active before this look, so nothing committed after it goes unheard.
        if self._notified > after_position or await self.head_position() > after_position:
            return True
        while self._listener is not None and not self._closed:
            wake = self._wake
            if self._notified > after_position:
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            self._sleepers += 1
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), remaining)
            finally:
                self._sleepers -= 1
        return await self.head_position() > after_position

    async def _listen(self) -> bool:
        """Open the listening connection if it is not open; whether it is."""
        if self._listener is not None:
            return True
        async with self._listener_lock:
            if self._listener is not None:
                return True
            if self._pool is None or self._closed:
                raise StoreError(f"{self.url}: the store is closed")
            try:
                conn = await asyncpg.connect(
                    self._dsn, timeout=self.connect_timeout, server_settings=self._settings
                )
                await conn.add_listener(self._channel, self._on_notify)
            except (OSError, TimeoutError, pgx.PostgresError, pgx.InterfaceError):
                return False  # the base class's polling still works through the pool
            conn.add_termination_listener(self._on_listener_lost)
            self._listener = conn
            return True

    def _on_notify(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        with contextlib.suppress(ValueError):
            self._notified = max(self._notified, int(payload))
        self._wake.set()
        self._wake = asyncio.Event()

    def _on_listener_lost(self, conn: Any) -> None:
        if self._listener is conn:
            self._listener = None
        self._wake.set()
        self._wake = asyncio.Event()
