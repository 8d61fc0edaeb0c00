"""Errors of the event store, independent of the database behind it.

Driver exceptions never leave ``store/``: each backend maps them to these, so a
caller (the CLI's exit codes, the app's notices) can tell a missing database
from a locked one from a corrupt one without knowing SQLite or PostgreSQL.
"""

from __future__ import annotations


class StoreError(Exception):
    """A database problem the caller cannot fix by retrying the same call now."""


class StoreNotFound(StoreError):
    """The database does not exist (and ``create=True`` was not given).

    A mistyped path must never look like an empty house with every seat free.
    """


class SchemaTooNew(StoreError):
    """The database was written by a newer boxoffice; opening it could corrupt it."""


class StoreBusy(StoreError):
    """The database stayed locked by another process past the deadline.

    ``reason`` is the why without the database's location ("another process (pid
    7262) has held the write turn for 5 s"): the ledger's ``conflict`` carries it.
    """

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason if reason is not None else message


class StoreCorrupt(StoreError):
    """The file is not a boxoffice database, or its pages are damaged."""


class StoreReadOnly(StoreError):
    """The database cannot be written (file permissions, read-only mount)."""


class StoreFull(StoreError):
    """The disk, or the database's size limit, is full: the write did not happen."""


class StoreReplaced(StoreError):
    """The database file was replaced or removed while this store had it open.

    The open connections still reach the old file, which no other terminal sees:
    writing on would lose acknowledged bookings, and a live view would go on showing
    a night that is no longer the one at the path. Reopening is the only way on.
    """


class StoreUnreachable(StoreError):
    """The database server cannot be reached now (restarting, network down).

    Unlike the other errors, asking again later may succeed: a follower waits it out.
    """
