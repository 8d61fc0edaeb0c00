"""PostgreSQL appends in parallel, and the tailing reader that must still never skip.

- An append to one stream commits while another stream's append is still open
  (they used to queue on one lock to commit), and no reader returns the later
  position before the earlier one commits: not ``read_all``, not ``head_position``,
  not a ``wait_for_append`` woken by the later one's notification.
- ``boxoffice_append`` refuses to run after another write in its transaction (an
  xid got before the position lock would break xid order = position order), and a
  failure inside the position lock never leaves that session lock behind.
- A version-1 database (no ``xid`` column) is migrated on open and keeps its events.

The multi-process tailing test (``test_postgres.py``) checks, on top, that every
position in the table is in xid order.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import Any

import asyncpg
import pytest

from store import Event, open_store
from store.eventstore.postgres import SCHEMA_VERSION, split_url
from store.eventstore.postgres.schema import LOCK_CLASS

pytestmark = pytest.mark.postgres

APPEND_RAW = (
    "SELECT out_seq, out_position FROM boxoffice_append($1, NULL, ARRAY['t'],"
    " ARRAY['{}'], ARRAY['{}'], 5000, false)"
)


async def _raw(url: str) -> Any:
    dsn, schema, _ = split_url(url)
    return await asyncpg.connect(dsn, server_settings={"search_path": schema or "public"})


async def test_an_open_append_holds_back_readers_not_other_streams(pg_url: str) -> None:
    async with open_store(pg_url, create=True) as store, open_store(pg_url) as watcher:
        first = await store.append("before", "t", {})
        assert await watcher.wait_for_append(first.position, 0.01) is False  # now listening
        raw = await _raw(pg_url)
        try:
            tx = raw.transaction()
            await tx.start()
            # an append to stream "a", left open: position first+1, not committed
            opened = await raw.fetchrow(APPEND_RAW, "a")
            assert opened["out_position"] == first.position + 1
            # another stream's append does not wait for it (5 s: it used to wait for ever)
            later = await asyncio.wait_for(store.append("b", "t", {}), 5)
            assert later.position == first.position + 2
            # ... but no reader may return it before the open one: it would skip it
            for reader in (store, watcher):
                assert [e.position for e in await reader.read_all(0)] == [first.position]
                assert await reader.head_position() == first.position
            # the notification of "b" arrives, yet there is nothing to read past "before"
            assert await watcher.wait_for_append(first.position, 0.3) is False
            assert watcher._notified == later.position  # type: ignore[attr-defined]
            # the stream itself is readable at once: a stream's appends are in seq order
            assert await store.read("b") == [later]
            waiting = asyncio.ensure_future(watcher.wait_for_append(first.position, 10))
            await tx.commit()
            assert await asyncio.wait_for(waiting, 10) is True
        finally:
            await raw.close()
        seen = await watcher.read_all(first.position)
        assert [(e.stream, e.position) for e in seen] == [
            ("a", first.position + 1),
            ("b", first.position + 2),
        ]
        assert await watcher.head_position() == later.position


async def test_a_rolled_back_append_leaves_a_gap_readers_pass_once_it_ends(
    pg_url: str,
) -> None:
    async with open_store(pg_url, create=True) as store:
        raw = await _raw(pg_url)
        try:
            tx = raw.transaction()
            await tx.start()
            gone = (await raw.fetchrow(APPEND_RAW, "a"))["out_position"]
            later = await store.append("b", "t", {})
            assert await store.read_all(0) == []
            await tx.rollback()
        finally:
            await raw.close()
        assert later.position == gone + 1
        assert await store.read_all(0) == [later]
        assert await store.head_position() == later.position


async def test_append_after_another_write_in_its_transaction_is_refused(pg_url: str) -> None:
    """Its xid would predate the position lock, and positions could then leave xid order."""
    async with open_store(pg_url, create=True):
        pass
    raw = await _raw(pg_url)
    try:
        async with raw.transaction():
            await raw.execute("CREATE TEMP TABLE scratch (n int)")
            await raw.execute("INSERT INTO scratch VALUES (1)")
            with pytest.raises(asyncpg.PostgresError, match="first write of its transaction"):
                await raw.fetchrow(APPEND_RAW, "a")
            raise _Rollback
    except _Rollback:
        pass
    finally:
        await raw.close()
    async with open_store(pg_url) as store:
        assert await store.read_all(0) == []


class _Rollback(Exception):
    """Leaves a transaction block by rolling it back."""


async def test_a_failure_inside_the_position_lock_releases_it(pg_url: str) -> None:
    """The lock is a session lock: a leak would stop every later append on that session."""
    async with open_store(pg_url, create=True) as store:
        raw = await _raw(pg_url)
        try:
            with pytest.raises(asyncpg.NotNullViolationError):  # a NULL type, inside the lock
                await raw.fetchrow(
                    "SELECT * FROM boxoffice_append('a', NULL, ARRAY[NULL]::text[],"
                    " ARRAY['{}'], ARRAY['{}'], 5000, false)"
                )
            held = await raw.fetchval(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                " AND pid = pg_backend_pid() AND classid = $1::bigint::oid",
                LOCK_CLASS,
            )
            assert held == 0
            # the same session appends again, and so does everyone else
            assert (await raw.fetchrow(APPEND_RAW, "a"))["out_seq"] == 1
            assert (await asyncio.wait_for(store.append("a", "t", {}), 5)).seq == 2
        finally:
            await raw.close()


async def test_a_version_1_database_is_migrated_on_open(pg_url: str) -> None:
    async with open_store(pg_url, create=True):
        pass
    raw = await _raw(pg_url)
    try:  # back to version 1: no xid column, no horizon, an append function of its own
        await raw.execute(
            "ALTER TABLE boxoffice_events DROP COLUMN xid;"
            " DROP FUNCTION boxoffice_visible_head(bigint);"
            " CREATE OR REPLACE FUNCTION boxoffice_append(p_stream text, p_expected bigint,"
            " p_types text[], p_data text[], p_meta text[], p_lock_timeout_ms integer)"
            " RETURNS TABLE (out_seq bigint, out_position bigint) LANGUAGE plpgsql AS"
            " $$ BEGIN RAISE EXCEPTION 'the version 1 function'; END $$;"
            " UPDATE boxoffice_schema SET version = 1;"
            " INSERT INTO boxoffice_events (stream, seq, type, data, meta)"
            " VALUES ('old', 1, 't', '{\"n\": 1}', '{}'), ('old', 2, 't', '{\"n\": 2}', '{}')"
        )
        async with open_store(pg_url) as store:
            old = await store.read_all(0)
            assert [(e.stream, e.seq, e.data) for e in old] == [
                ("old", 1, {"n": 1}),
                ("old", 2, {"n": 2}),
            ]
            new = await store.append("old", "t", {"n": 3})
            assert new.seq == 3 and await store.head_position() == new.position
            assert store.describe()["schema_version"] == SCHEMA_VERSION
        assert await raw.fetchval("SELECT MAX(version) FROM boxoffice_schema") == SCHEMA_VERSION
        xids = await raw.fetch("SELECT xid::text FROM boxoffice_events ORDER BY position")
        assert [r[0] for r in xids][:2] == ["0", "0"] and xids[2][0] != "0"
    finally:
        await raw.close()


async def test_concurrent_appends_to_many_streams_read_back_whole(pg_url: str) -> None:
    """Eight stores, eight streams, all at once: a tail sees every event, in order, once."""
    async with open_store(pg_url, create=True) as reader, AsyncExitStack() as stack:
        stores = [await stack.enter_async_context(open_store(pg_url)) for _ in range(8)]
        seen: list[Event] = []
        after = 0

        async def writer(n: int) -> int:
            for b in range(20):
                await stores[n].append(f"s{n}", "t", {"b": b})
            return 20

        writers = asyncio.gather(*(writer(n) for n in range(8)))
        while True:
            done = writers.done()  # decided before the read: a final drain follows
            page = await reader.read_all(after)
            seen.extend(page)
            if page:
                after = page[-1].position
            elif done:
                break
            else:
                await reader.wait_for_append(after, 0.2)
        assert await writers == [20] * 8
        everything = await reader.read_all(0)
    assert len(everything) == 160
    assert seen == everything


async def test_append_decided_that_fails_midway_leaves_the_stream_unlocked(pg_url: str) -> None:
    """Its stream lock is a session lock while it decides: a failure must not keep it."""
    from store import NewEvent

    def refuse(tail: list[Event]) -> list[NewEvent]:
        raise ValueError("decided against")

    async with open_store(pg_url, create=True) as store:
        await store.append("s", "t", {})
        with pytest.raises(ValueError, match="decided against"):
            await store.append_decided("s", 0, refuse)
        # a decide that writes nothing gives the lock back too
        assert await store.append_decided("s", 0, lambda tail: []) == []
        raw = await _raw(pg_url)
        try:  # another session gets the stream at once (a leak: lock_not_available)
            row = await raw.fetchrow(APPEND_RAW.replace("5000", "500"), "s")
            assert row["out_seq"] == 2
        finally:
            await raw.close()
        written = await store.append_decided("s", 2, lambda tail: [NewEvent("t", {"n": 3})])
        assert [e.seq for e in written] == [3]
