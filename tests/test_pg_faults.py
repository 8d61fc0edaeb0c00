"""PostgreSQL under faults a hostile tester reaches for: connections killed around a commit.

- A connection killed after the append committed, while it goes back to the pool,
  is not a failed append: the write happened and is reported as written.
- A connection killed during the append is an unknown outcome, said as such.

Every test takes ``pg_url``: its own schema, dropped afterwards.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest

from store import NewEvent, StoreError, open_store
from store.booking import Ledger, Status
from store.eventstore.postgres import split_url

pytestmark = pytest.mark.postgres


async def _raw(url: str) -> asyncpg.Connection:
    dsn, schema, _ = split_url(url)
    return await asyncpg.connect(dsn, server_settings={"search_path": schema or "public"})


async def _terminate(url: str, pid: int) -> None:
    """End backend ``pid`` and wait until the server has let it go."""
    raw = await _raw(url)
    try:
        assert await raw.fetchval("SELECT pg_terminate_backend($1, 5000)", pid)
    finally:
        await raw.close()


def _kill_on_release(monkeypatch: pytest.MonkeyPatch, url: str) -> list[int]:
    """Have each connection's backend terminated as it goes back to the pool for reuse.

    A connection is released after the caller's statement returned: that is when an
    administrator's (or a restart's) goodbye makes the release itself fail, or leaves
    a dead connection in the pool. Returns the pids killed.
    """
    release = asyncpg.Pool.release
    killed: list[int] = []

    async def kill_then_release(pool: asyncpg.Pool, conn: Any, **kwargs: Any) -> None:
        killed.append(conn.get_server_pid())
        await _terminate(url, killed[-1])
        await release(pool, conn, **kwargs)

    monkeypatch.setattr(asyncpg.Pool, "release", kill_then_release)
    return killed


async def test_a_connection_killed_after_commit_is_not_a_failed_append(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tag = f"bo_t_{uuid.uuid4().hex[:12]}"
    async with open_store(f"{pg_url}&application_name={tag}", create=True) as store:
        ledger = Ledger(store, operator="kill")
        await ledger.create_occurrence("night", capacity=3)
        killed = _kill_on_release(monkeypatch, pg_url)
        written = await store.append("s", "t", {"n": 1})
        held = await ledger.hold("night", "ada")
        monkeypatch.undo()
        assert len(killed) >= 2
        assert written.seq == 1
        assert held.status is Status.HELD
        assert [e.data for e in await store.read("s")] == [{"n": 1}]
        assert [e.type for e in await store.read("booking:night")] == ["created", "hold"]


async def test_a_connection_killed_during_the_append_may_or_may_not_have_written(
    pg_url: str,
) -> None:
    tag = f"bo_t_{uuid.uuid4().hex[:12]}"
    async with open_store(f"{pg_url}&application_name={tag}", create=True) as store:
        raw = await _raw(pg_url)
        try:
            # the append queues behind this lock, so it is mid-statement when killed
            await raw.execute("BEGIN; LOCK TABLE boxoffice_events IN EXCLUSIVE MODE")
            append = asyncio.ensure_future(store.append("s", "t", {}))
            waiting = (
                "SELECT pid FROM pg_stat_activity WHERE application_name = $1"
                " AND wait_event_type = 'Lock'"
            )
            deadline = asyncio.get_running_loop().time() + 20
            while not (pid := await raw.fetchval(waiting, tag)):
                assert asyncio.get_running_loop().time() < deadline, "the append never queued"
                await asyncio.sleep(0.01)
            await _terminate(pg_url, pid)
            with pytest.raises(StoreError, match="may or may not have been written"):
                await append
            await raw.execute("ROLLBACK")
        finally:
            await raw.close()
        # the store carries on, on a fresh connection
        assert (await store.append("s", "t", {})).seq == 1


async def test_a_connection_killed_inside_append_decided_is_a_store_error(pg_url: str) -> None:
    """The ended connection is already back in the pool: the cleanup must not trip on it."""
    from store.eventstore.postgres.schema import LOCK_CLASS

    tag = f"bo_t_{uuid.uuid4().hex[:12]}"
    async with open_store(f"{pg_url}&application_name={tag}", create=True) as store:
        raw = await _raw(pg_url)
        try:
            table = await raw.fetchval("SELECT 'boxoffice_events'::regclass::oid::integer")
            await raw.execute("SELECT pg_advisory_lock($1, $2)", LOCK_CLASS, table)
            decided = asyncio.ensure_future(
                store.append_decided("s", 0, lambda tail: [NewEvent("t", {})])
            )
            waiting = (
                "SELECT pid FROM pg_stat_activity WHERE application_name = $1"
                " AND wait_event_type = 'Lock'"
            )
            deadline = asyncio.get_running_loop().time() + 20
            while not (pid := await raw.fetchval(waiting, tag)):
                assert asyncio.get_running_loop().time() < deadline, "append_decided never queued"
                await asyncio.sleep(0.01)
            await _terminate(pg_url, pid)
            with pytest.raises(StoreError, match="may or may not have been written"):
                await decided
        finally:
            await raw.close()
        assert await store.read("s") == []
