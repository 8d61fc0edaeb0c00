"""SQLite's errors in the store's words, its spelling of the shared queries, a thread for
SQLite's blocking calls, a file's identity and the busy wait's steps.

Split from ``sqlite.py`` so the store reads as the write path it is.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from collections.abc import Callable
from typing import TypeVar

from store.eventstore.errors import (
    StoreCorrupt,
    StoreError,
    StoreFull,
    StoreNotFound,
    StoreReadOnly,
)
from store.eventstore.sql import Dialect, like_pattern

T = TypeVar("T")


#: How SQLite spells the reads ``store.eventstore.sql`` shares with PostgreSQL.
#: The whole append: ?1 stream, ?2 expected seq (NULL: unconditional), ?3 the batch
#: as a JSON array of [type, data, meta] (data and meta as their stored text).
#: ORDER BY keeps positions in seq order within the batch. The head is the last row
#: of the (stream, seq) index: inside this INSERT, MAX(seq) walked every row of the
#: stream (6.7 ms on 100,000 events against 0.045 ms).
def append_statement(batch: str, guard: str) -> str:
    """The one ``INSERT ... SELECT`` every SQLite append is: ``batch`` is the SQL of its
    JSON array of [type, data, meta], ``guard`` whether it writes at all."""
    return f"""
INSERT INTO events (stream, seq, type, data, meta)
SELECT ?1, head.last + batch.key + 1,
       json_extract(batch.value, '$[0]'), json_extract(batch.value, '$[1]'),
       json_extract(batch.value, '$[2]')
FROM (SELECT COALESCE((SELECT seq FROM events WHERE stream = ?1 ORDER BY seq DESC LIMIT 1), 0)
      AS last) AS head,
     json_each({batch}) AS batch
WHERE {guard}
ORDER BY batch.key
RETURNING seq, position
"""


APPEND = append_statement("?3", "?2 IS NULL OR head.last = ?2")

SQLITE_DIALECT = Dialect(
    table="events",
    placeholder="?{}",
    unlimited=-1,
    field_text="json_extract(data, '$.{field}')",
    field_is_text="json_type(data, '$.{field}') = 'text'",
    data_text="data",
    contains="{hay} LIKE {pattern} ESCAPE '\\'",
    pattern=like_pattern,
    has_non_ascii="length({hay}) <> length(CAST({hay} AS BLOB))",
    scan_hint=" NOT INDEXED",
    heads_hint=" INDEXED BY events_stream_heads",
)


def is_busy(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.OperationalError):
        text = str(exc).lower()
        return "locked" in text or "busy" in text
    return False


def translate(exc: BaseException, path: str) -> BaseException:
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


async def on_daemon_thread(fn: Callable[[], T]) -> T:
    """``fn()`` on a short-lived daemon thread, awaited without blocking the loop.

    Not ``asyncio.to_thread``: its executor's threads are not daemons, and its
    lazily imported module may be unreadable to a process that dropped privileges.
    """
    loop = asyncio.get_running_loop()
    done: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if done.done():
            return
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        try:
            result = fn()
        except BaseException as exc:
            loop.call_soon_threadsafe(settle, None, exc)
        else:
            loop.call_soon_threadsafe(settle, result, None)

    threading.Thread(target=run, name="boxoffice-sqlite-open", daemon=True).start()
    return await done


def identity(path: str) -> tuple[int, int] | None:
    """The (device, inode) ``path`` names now, None if it names nothing."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino)


def busy_ms(remaining: float, most: float) -> int:
    """SQLite's own busy wait for what is left of a deadline, in coarse steps.

    A power of two of milliseconds, never more than ``remaining``: the setting is
    one more statement, so it changes only when a step is crossed, and a wait cut
    short is finished by the caller's retry loop.
    """
    budget = int(min(remaining, most) * 1000)
    if budget < 1:
        return 0
    return 1 << (budget.bit_length() - 1)
