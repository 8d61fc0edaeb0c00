"""The write turn, taken and given back by statements on the writer connection's thread.

aiosqlite runs each connection's statements in order on a thread of its own. The
turn (``writegate``) is taken by a SQL function called there (``TAKE_TURN``), so
when one process commits and gives the turn back (``RELEASE_TURN``, the next
statement on its thread), the next process's statement runs as soon as its own
thread is woken: no event loop stands between a commit and the next writer. An
append is queued together with both (``APPEND_IN_TURN`` writes nothing unless the
turn was taken), so an uncontended append is still one trip to the thread and back.

Measured before this (the turn awaited on the event loop, then the statement
sent to the thread): ``bench/compare.py``'s hot race ran at 0.56 of the older
commit that took the turn on the connection's thread through aiosqlite's private
API; the functions here are its public ``create_function``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

import aiosqlite

from store.eventstore.events import Event, NewEvent
from store.eventstore.sql import Row, encode
from store.eventstore.sqlite_support import append_statement
from store.eventstore.writegate import WriteGate

T = TypeVar("T")

TAKE_TURN = "SELECT boxoffice_take_turn(?)"
RELEASE_TURN = "SELECT boxoffice_release_turn()"
#: ``APPEND`` queued behind ``TAKE_TURN`` before its answer: it writes only in the turn.
APPEND_IN_TURN = append_statement("?3", "boxoffice_turn_held() AND (?2 IS NULL OR head.last = ?2)")
#: one event, given as columns (``?3`` type, ``?4`` data, ``?5`` meta): most appends
#: are one event, and a batch in JSON costs SQLite a parse and three extracts per row
#: (~35 us of a ~150 us append, measured on this machine's SQLite 3.40)
APPEND_ONE_IN_TURN = """
INSERT INTO events (stream, seq, type, data, meta)
SELECT ?1, head.last + 1, ?3, ?4, ?5
FROM (SELECT COALESCE((SELECT seq FROM events WHERE stream = ?1 ORDER BY seq DESC LIMIT 1), 0)
      AS last) AS head
WHERE boxoffice_turn_held() AND (?2 IS NULL OR head.last = ?2)
RETURNING seq, position
"""


def batch_json(events: Sequence[NewEvent]) -> str:
    """The batch as ``APPEND``'s third parameter (refuses what JSON cannot hold first)."""
    return json.dumps(encode(events), ensure_ascii=False, separators=(",", ":"))


def append_in_turn(
    stream: str, expected_seq: int | None, events: Sequence[NewEvent]
) -> tuple[str, tuple[Any, ...]]:
    """The guarded append statement for ``events``: one event as columns, more as JSON."""
    if len(events) == 1:
        return APPEND_ONE_IN_TURN, (stream, expected_seq, *encode(events)[0])
    return APPEND_IN_TURN, (stream, expected_seq, batch_json(events))


def written(stream: str, events: Sequence[NewEvent], returned: Sequence[Row]) -> list[Event]:
    """The appended events, from the ``(seq, position)`` rows ``RETURNING`` gave (any order)."""
    ordered = sorted((int(seq), int(position)) for seq, position in returned)
    return [
        Event(stream, seq, position, event.type, event.data, event.meta)
        for (seq, position), event in zip(ordered, events, strict=True)
    ]


class ConnectionTurn:
    """The turn as SQL functions of one writer connection; ``held`` is read only there."""

    def __init__(self, gate: Callable[[], WriteGate | None]) -> None:
        self._gate = gate
        self.held = False

    async def register(self, conn: aiosqlite.Connection) -> None:
        await conn.create_function("boxoffice_take_turn", 1, self.take)
        await conn.create_function("boxoffice_release_turn", 0, self.release)
        await conn.create_function("boxoffice_turn_held", 0, self.is_held)

    def take_now(self) -> bool:
        """On the event loop, before a section is queued: the turn if it is free now.

        Nothing is queued on the connection then (the previous section's release
        has run), so the connection's thread sees ``held`` set before it looks.
        """
        gate = self._gate()
        self.held = gate is not None and gate.take_now()
        return self.held

    def awaited(self) -> bool:
        """On the event loop, holding the turn: whether another writer waits for it."""
        gate = self._gate()
        return gate is not None and gate.awaited()

    def release_now(self) -> None:
        """On the event loop, once the section's statements are done: give the turn back."""
        self.release()

    def take(self, timeout: float) -> int:
        """``TAKE_TURN``, on the connection's thread: waits for the turn within ``timeout``."""
        gate = self._gate()
        self.held = gate is not None and gate.take(float(timeout))
        return int(self.held)

    def release(self) -> int:
        gate = self._gate()
        if self.held and gate is not None:
            gate.release()
        self.held = False
        return 1

    def is_held(self) -> int:
        return int(self.held)


@dataclass(frozen=True)
class Written(Generic[T]):
    """What a section in the turn returned (None instead: the turn stayed taken)."""

    value: T


#: a write section: ``(writer connection, seconds to wait for the turn)``
InTurn = Callable[[aiosqlite.Connection, float], Awaitable[Written[T] | None]]


async def in_turn(
    conn: aiosqlite.Connection,
    turn: ConnectionTurn,
    section: Callable[[aiosqlite.Connection], Awaitable[T]],
    timeout: float,
    *,
    queued: bool,
) -> Written[T] | None:
    """``section`` inside the turn; None if the turn stayed taken for ``timeout`` seconds.

    A turn that is free this instant is taken on the loop (no statement), and the
    section is awaited in the same step, so its first statement is queued at once
    with nothing of the loop's in between. It is given back on the loop when the
    section is done, unless another writer was already waiting: then a release
    statement is queued behind the section, and the turn passes on from the
    connection's thread as soon as the commit is done, not when this loop is next
    scheduled (with four processes on two cores that wait was longer than the
    commit: ``bench/compare.py``'s hot race).

    Otherwise, ``queued``: the section is one statement that writes only in the
    turn, so the take, the statement and the release are queued at once, as three
    tasks (tasks start in the order they were made: ``call_soon`` is first in,
    first out). Otherwise the section waits for the turn and gives it back after
    its last statement.
    """
    if turn.take_now():
        if not queued or not turn.awaited():
            try:
                return Written(await section(conn))
            finally:
                turn.release_now()
        # made first, started after the section's first step has queued its statement
        release = asyncio.ensure_future(conn.execute_fetchall(RELEASE_TURN))
        try:
            return Written(await section(conn))
        finally:
            await asyncio.wait([release])  # the turn is given back before anyone else's
    if not queued:
        if not _first(await conn.execute_fetchall(TAKE_TURN, (timeout,))):
            return None
        try:
            return Written(await section(conn))
        finally:
            await conn.execute_fetchall(RELEASE_TURN)
    took_task = asyncio.ensure_future(conn.execute_fetchall(TAKE_TURN, (timeout,)))
    work = asyncio.ensure_future(section(conn))
    release = asyncio.ensure_future(conn.execute_fetchall(RELEASE_TURN))
    trio = asyncio.gather(took_task, work, release, return_exceptions=True)
    try:
        outcomes: tuple[Any, ...] = await asyncio.shield(trio)
    except asyncio.CancelledError:
        # the caller gave up: the turn is still given back before the connection is
        # anyone else's (the take and the release are already queued)
        await asyncio.wait([trio])
        raise
    took, result, _ = outcomes
    if isinstance(took, BaseException):
        raise took
    if not _first(took):  # the section wrote nothing, whatever it answered
        return None
    if isinstance(result, BaseException):
        raise result
    return Written(cast(T, result))


def _first(rows: Any) -> bool:
    return bool(next(iter(rows))[0])
