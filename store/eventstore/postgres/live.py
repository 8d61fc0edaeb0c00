"""Live updates on PostgreSQL: announcing commits, and waiting for them.

* **Announcing.** A ``NOTIFY`` inside an append's transaction would make its commit
  take PostgreSQL's instance-wide notify lock, held through the commit's fsync: every
  notifying commit of the server would wait for the one before it. So an append
  commits first and is announced afterwards, in a transaction of its own that waits
  for no fsync (``synchronous_commit`` off: a notification lost in a crash costs a
  listener one timeout, nothing else). The stores of one process that share a pool
  share one ``Announcer``: one announcement in flight at a time, carrying the
  highest position committed so far, so a burst of appends costs a few
  notifications, not one each.
* **Waiting.** A notification is a hint, not a promise that the position can be
  read: a reader stops below an append that is still open (``schema``'s rule 2),
  so a waiter woken for a position the reader cannot return yet re-checks the head
  every few milliseconds until it can (the open append either commits and
  announces, or rolls back and leaves a gap that its end makes readable).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import asyncpg.exceptions as pgx

#: Sent after the append's commit, in its own implicit transaction.
NOTIFY = "SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, $2)"
#: How long an announcement may wait for a pooled connection before it is dropped
#: (listeners then catch the commit on their timeout).
ANNOUNCE_WAIT_S = 5.0
#: First and longest pause between head checks when a notification ran ahead of
#: what a reader may return.
RECHECK_FIRST_S = 0.002
RECHECK_MAX_S = 0.05


class Announcer:
    """Tells the box office's listeners about new commits, one NOTIFY in flight at a time."""

    def __init__(self) -> None:
        self.pending = 0  # highest position committed here and to be announced
        self.sent = 0  # highest position announced
        self.sends = 0  # NOTIFY statements sent (the benchmark reports it)
        self._task: asyncio.Future[None] | None = None

    def announce(self, pool: asyncpg.Pool, channel: str, position: int) -> None:
        """Announce ``position`` soon; returns at once (the append has committed)."""
        if position <= self.pending:
            return
        self.pending = position
        if self._task is None:
            self._task = asyncio.ensure_future(self._send(pool, channel))

    async def _send(self, pool: asyncpg.Pool, channel: str) -> None:
        try:
            while self.sent < self.pending:
                position = self.pending
                async with pool.acquire(timeout=ANNOUNCE_WAIT_S) as conn:
                    await conn.execute(NOTIFY, channel, str(position))
                self.sends += 1
                self.sent = position
        except Exception:
            # A closed pool, a restarting server: the listeners' timeout re-check
            # finds the commit; the next append announces afresh.
            self.sent = self.pending
        finally:
            self._task = None

    async def flush(self, timeout: float = 2.0) -> None:
        """Let an announcement in flight finish before the pool closes."""
        task = self._task
        if task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(task), timeout)


class Listener:
    """One LISTEN connection per store, opened on the first wait."""

    def __init__(self, dsn: str, settings: dict[str, str], connect_timeout: float) -> None:
        self._dsn, self._settings, self._connect_timeout = dsn, settings, connect_timeout
        self.conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()
        self.notified = 0  # highest position a notification announced
        self.sleepers = 0  # waiters parked on a notification (observable by tests)
        self._wake = asyncio.Event()
        self.closed = False

    async def listen(self, channel: str) -> bool:
        """Open the listening connection if it is not open; whether it is."""
        if self.conn is not None:
            return True
        async with self._lock:
            if self.conn is not None:
                return True
            try:
                conn = await asyncpg.connect(
                    self._dsn, timeout=self._connect_timeout, server_settings=self._settings
                )
                await conn.add_listener(channel, self._on_notify)
            except (OSError, TimeoutError, pgx.PostgresError, pgx.InterfaceError):
                return False  # the base class's polling still works through the pool
            conn.add_termination_listener(self._on_lost)
            self.conn = conn
            return True

    async def wait(
        self, after: int, timeout: float, readable: Callable[[int], Awaitable[int]]
    ) -> bool:
        """Whether a position past ``after`` became readable within ``timeout``.

        ``readable(after)`` is the highest position a reader holding everything up to
        ``after`` may read up to (``boxoffice_visible_head``: it looks only above
        ``after``, where ``head_position`` would walk every young row).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout

        async def head() -> int:
            return await readable(after)

        # LISTEN is active before this look, so nothing committed after it goes unheard.
        if await head() > after:
            return True
        pause = RECHECK_FIRST_S
        while self.conn is not None and not self.closed:
            wake = self._wake
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            ahead = self.notified > after
            if ahead:
                if await head() > after:
                    return True
                # announced but not readable yet: an older append is still open
                remaining, pause = min(pause, remaining), min(pause * 2, RECHECK_MAX_S)
            self.sleepers += 1
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), remaining)
            finally:
                self.sleepers -= 1
        return await head() > after

    def _on_notify(self, conn: Any, pid: int, channel: str, payload: str) -> None:
        with contextlib.suppress(ValueError):
            self.notified = max(self.notified, int(payload))
        self._wake_all()

    def _on_lost(self, conn: Any) -> None:
        if self.conn is conn:
            self.conn = None
        self._wake_all()

    def _wake_all(self) -> None:
        self._wake.set()
        self._wake = asyncio.Event()

    async def close(self) -> None:
        self.closed = True
        conn, self.conn = self.conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)
        self._wake_all()
