"""A decision made inside the append statement itself, on the writer connection's thread.

``append_decided`` must decide on the stream as it stands under the write lock.
Done as ``BEGIN IMMEDIATE``, a read, a decision on the event loop, the insert
and ``COMMIT``, the write turn stayed taken across a hop back to the event loop:
with four processes on two cores that hop waited for the scheduler, every other
writer waited behind it, and ``bench/compare.py``'s hot race ran at ~0.8 of the
commit that decided on the connection's thread through aiosqlite's private API.

Here the read, the decision and the insert are one statement (``APPEND_DECIDED``):
SQLite takes its write lock when the statement starts, a scalar subquery hands
the tail to ``boxoffice_decide`` (a function registered with aiosqlite's public
``create_function``, so it runs on the connection's thread), and the insert
writes what it returned. The statement is queued with the turn's take and
release like any append, so no event loop stands inside the turn.

The decision runs on that thread while its caller awaits the append: it may read
and change only what its caller keeps from everyone else for that long (the
ledger's lane lock guards the state it folds). Whatever it raises is kept and
raised to the caller, and the statement then writes nothing.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from typing import Any

import aiosqlite

from store.eventstore.contract import DecideTail
from store.eventstore.events import NewEvent
from store.eventstore.sql import decode
from store.eventstore.sqlite_support import append_statement
from store.eventstore.sqlite_turn import ConnectionTurn, batch_json

#: ``?1`` stream, ``?2`` the seq the caller has seen, ``?3`` the decision's token.
#: The tail is every event after ``?2`` as JSON rows ``[position, stream, seq, type,
#: data, meta]`` (``data`` and ``meta`` as their stored text); the decision answers
#: with a batch as ``APPEND`` takes one. ``head.last`` and the tail are read by the
#: same statement under the same lock, so the batch follows on from the tail.
APPEND_DECIDED = append_statement(
    """boxoffice_decide(?3, (
         SELECT json_group_array(json_array(position, stream, seq, type, data, meta))
         FROM (SELECT position, stream, seq, type, data, meta FROM events
               WHERE stream = ?1 AND seq > ?2 ORDER BY seq)))""",
    "boxoffice_turn_held()",
)


@dataclass
class Decision:
    """One ``append_decided`` call's callback, and what its last run decided or raised."""

    token: int
    decide: DecideTail
    events: list[NewEvent] = field(default_factory=list)
    error: Exception | None = None
    ran: bool = False


class Decisions:
    """The decisions queued on one writer connection, found by token when SQL calls."""

    def __init__(self, turn: ConnectionTurn, path: str) -> None:
        self._turn = turn
        self._path = path
        self._pending: dict[int, Decision] = {}
        self._tokens = itertools.count(1)

    async def register(self, conn: aiosqlite.Connection) -> None:
        await conn.create_function("boxoffice_decide", 2, self._run)

    def add(self, decide: DecideTail) -> Decision:
        decision = Decision(next(self._tokens), decide)
        self._pending[decision.token] = decision
        return decision

    def forget(self, decision: Decision) -> None:
        self._pending.pop(decision.token, None)

    def _run(self, token: Any, tail: Any) -> str:
        """``boxoffice_decide``: on the connection's thread, inside the append statement.

        Outside the turn it decides nothing (the statement's guard would write
        nothing anyway, and the caller's state must not move for a write that
        cannot happen). A run after a busy retry replaces the last one's answer.
        """
        decision = self._pending.get(token) if isinstance(token, int) else None
        if decision is None or not self._turn.held:
            return "[]"
        decision.ran = True
        decision.events, decision.error = [], None
        try:
            rows = json.loads(tail) if isinstance(tail, str) else []
            rows.sort(key=lambda row: row[2])
            events = list(decision.decide([decode(tuple(row), self._path) for row in rows]))
            answer = batch_json(events) if events else "[]"
        except Exception as exc:  # raised to the caller once the statement is done
            decision.error = exc
            return "[]"
        decision.events = events
        return answer
