"""Connection pools shared by the stores of one event loop on one URL."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from store.eventstore.postgres.live import Announcer


@dataclass(slots=True)
class SharedPool:
    """One pool, how many open stores are using it, and their shared announcer."""

    pool: asyncio.Future[asyncpg.Pool]
    users: int = 0
    announcer: Announcer = field(default_factory=Announcer)


#: Stores on one event loop with one URL share a pool: a terminal (or a racer
#: process) that opens many stores then needs a handful of server connections,
#: not one or more per store, and stays well inside the server's max_connections.
POOLS: dict[tuple[Any, ...], SharedPool] = {}


async def borrow_pool(
    key: tuple[Any, ...], create: Callable[[], Awaitable[asyncpg.Pool]]
) -> asyncpg.Pool:
    shared = POOLS.get(key)
    if shared is None:
        shared = POOLS[key] = SharedPool(asyncio.ensure_future(create()))
    shared.users += 1
    try:
        return await asyncio.shield(shared.pool)
    except BaseException:
        shared.users -= 1
        if POOLS.get(key) is shared and (shared.pool.done() or shared.users == 0):
            del POOLS[key]  # a failed pool is not kept: the next open tries again
            shared.pool.add_done_callback(terminate_orphan)
        raise


#: Server process ids of this process's pooled connections that may hold a session-level
#: advisory lock (an append or ``append_decided`` began on it and did not finish): the
#: pool's reset releases their locks. A stale id (a connection since closed) costs
#: at most one needless unlock.
MAY_HOLD_LOCKS: set[int] = set()


def may_hold_locks(conn: asyncpg.Connection) -> None:
    """Before a call that takes a session lock and means to release it itself."""
    MAY_HOLD_LOCKS.add(conn.get_server_pid())


def holds_no_locks(conn: asyncpg.Connection) -> None:
    """After that call released its session lock."""
    MAY_HOLD_LOCKS.discard(conn.get_server_pid())


async def keep_session(conn: asyncpg.Connection) -> None:
    """The pool's reset of a released connection: asyncpg's own rollback, and the locks
    of a failed append.

    asyncpg's default reset is a round trip per release (``RESET ALL``, ``UNLISTEN *``,
    ``CLOSE ALL``, ``pg_advisory_unlock_all()``), several per ledger command, and
    there is nothing for it to undo: the store sets nothing for a session (settings
    are per transaction or given at connect), listens on a connection of its own and
    opens no cursor. Its session locks (the position lock, ``append_decided``'s
    stream lock) are released by the calls that take them, and where one of those
    failed (``MAY_HOLD_LOCKS``) here.
    """
    pid = conn.get_server_pid()
    if pid in MAY_HOLD_LOCKS:
        MAY_HOLD_LOCKS.discard(pid)
        await conn.execute("SELECT pg_advisory_unlock_all()")


#: ``create_pool``'s options where the installed asyncpg has them (``reset``: 0.30).
POOL_OPTIONS: dict[str, Any] = (
    {"reset": keep_session} if "reset" in inspect.signature(asyncpg.create_pool).parameters else {}
)


def announcer_of(key: tuple[Any, ...]) -> Announcer:
    """The announcer of a borrowed pool's stores (one NOTIFY in flight per process)."""
    return POOLS[key].announcer


def terminate_orphan(future: asyncio.Future[asyncpg.Pool]) -> None:
    """A pool that finished opening after everyone waiting for it gave up."""
    if not future.cancelled() and future.exception() is None:
        future.result().terminate()


async def return_pool(key: tuple[Any, ...]) -> None:
    shared = POOLS.get(key)
    if shared is None:
        return
    shared.users -= 1
    if shared.users > 0:
        return
    del POOLS[key]
    if not shared.pool.done() or shared.pool.exception() is not None:
        return
    await shared.announcer.flush()
    pool = shared.pool.result()
    try:
        await asyncio.wait_for(pool.close(), timeout=5)
    except Exception:
        # a connection stuck mid-call must not keep close() waiting for ever
        pool.terminate()


async def release_connection(pool: asyncpg.Pool, conn: asyncpg.Connection) -> None:
    """Give a connection back to the pool; a failure to do so is contained.

    The pool resets a released connection with a round trip of its own, after the
    caller's statement has returned (an append has committed by then). A server
    that ends the session at that moment (a restart, ``pg_terminate_backend``)
    makes the reset fail; the pool then discards the connection itself, and the
    caller's answer stands: a committed append is never reported as failed.
    """
    with contextlib.suppress(Exception):
        await pool.release(conn)
