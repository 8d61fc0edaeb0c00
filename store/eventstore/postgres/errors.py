"""How asyncpg's and the network's errors become the store's own (``store.eventstore.errors``)."""

from __future__ import annotations

import asyncpg.exceptions as pgx

from store.eventstore.errors import (
    StoreBusy,
    StoreError,
    StoreFull,
    StoreNotFound,
    StoreReadOnly,
    StoreUnreachable,
)

#: Errors that mean "not now": waited out and retried until the busy timeout.
TRANSIENT = (pgx.TooManyConnectionsError, pgx.CannotConnectNowError)
#: The server closed the connection (restart, failover, an administrator): a read
#: is simply asked again on another connection.
CONNECTION_LOST = (
    pgx.PostgresConnectionError,
    pgx.AdminShutdownError,
    pgx.CrashShutdownError,
    pgx.InternalClientError,  # asyncpg caught mid-operation by the server's goodbye
    ConnectionError,
)
#: Errors with which the database refuses a second writer at one seq.
LOST_RACE = (pgx.UniqueViolationError, pgx.SerializationError, pgx.DeadlockDetectedError)


def one_line(exc: BaseException) -> str:
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
        return StoreError(f"{where}: the server refused the login ({one_line(exc)})")
    if isinstance(exc, pgx.DiskFullError):
        return StoreFull(f"{where}: the server's disk is full; the write did not happen")
    if isinstance(exc, pgx.ReadOnlySQLTransactionError):
        return StoreReadOnly(f"{where}: the server is read-only (a standby?)")
    if isinstance(exc, pgx.InsufficientPrivilegeError):
        return StoreReadOnly(f"{where}: permission denied ({one_line(exc)})")
    if isinstance(exc, TRANSIENT):
        return StoreBusy(f"{where}: the server is not accepting connections ({one_line(exc)})")
    if isinstance(exc, ConnectionRefusedError) or (
        isinstance(exc, OSError) and "refused" in str(exc).lower()
    ):
        return StoreUnreachable(
            f"{where}: cannot connect to the PostgreSQL server (connection refused); is it running?"
        )
    if isinstance(exc, TimeoutError):
        return StoreUnreachable(f"{where}: the PostgreSQL server did not answer in time")
    if isinstance(exc, OSError):
        return StoreUnreachable(f"{where}: cannot reach the PostgreSQL server ({one_line(exc)})")
    if isinstance(exc, (*CONNECTION_LOST, pgx.InterfaceError)):
        return StoreUnreachable(f"{where}: lost the connection to the server ({one_line(exc)})")
    if isinstance(exc, pgx.PostgresError):
        return StoreError(f"{where}: {one_line(exc)}")
    return exc
