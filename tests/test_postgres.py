"""What the PostgreSQL store adds to the shared contract (the contract itself runs in
test_store_contract.py on every backend).

- A tailing reader never skips an event, with writers in several processes.
- ``UNIQUE(stream, seq)`` arbitrates a writer that slipped past the expectation check.
- The ledger decides and stamps with the server's clock, whatever the terminal's clock says.
- LISTEN/NOTIFY wakes live views; a missed notification is caught on timeout.
- Schema creation, version and error mapping.

Every test takes ``pg_url``: its own schema, dropped afterwards. This file doubles as
the writer script the tailing test starts (``python tests/test_postgres.py write ...``).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from store import (
    Conflict,
    Event,
    EventStore,
    NewEvent,
    SchemaTooNew,
    StoreBusy,
    StoreError,
    StoreNotFound,
    open_store,
)
from store.eventstore.postgres import split_url

pytestmark = pytest.mark.postgres

HERE = Path(__file__).resolve()


async def _raw(url: str) -> Any:
    """A plain asyncpg connection into the test's schema, for what the store must not do."""
    import asyncpg

    dsn, schema, _ = split_url(url)
    return await asyncpg.connect(dsn, server_settings={"search_path": schema or "public"})


async def _until(condition: Any, timeout: float = 20.0) -> None:
    """Poll an observable condition (not a sleep standing in for one)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, "condition never held"
        await asyncio.sleep(0.01)


# -- the tailing reader ----------------------------------------------------------------------

WRITER_PROCESSES = 3
WRITERS_PER_PROCESS = 4
BATCHES_PER_WRITER = 16


async def _write(url: str, name: str, writers: int, batches: int) -> None:
    """Child process: ``writers`` stores appending batches of 1-4 events, some conditionally.

    Multi-event batches hold their transaction open across several inserts, which is
    exactly when a sequence would hand out positions out of commit order.
    """
    async with AsyncExitStack() as stack:
        stores = [await stack.enter_async_context(open_store(url)) for _ in range(writers)]
        print("ready", flush=True)
        if sys.stdin.readline().strip() != "go":
            return
        counts = await asyncio.gather(
            *(_writer(stores[n], name, n, batches) for n in range(writers))
        )
    print(json.dumps({"written": sum(counts)}), flush=True)


async def _writer(store: EventStore, name: str, n: int, batches: int) -> int:
    written = 0
    for b in range(batches):
        batch = [NewEvent("t", {"w": f"{name}.{n}", "b": b, "i": i}) for i in range(1 + b % 16)]
        if b % 4:  # the writer's own stream: nothing to wait for, transactions overlap freely
            result = await store.append_many(f"tail:{name}.{n}", None, batch)
        else:  # a shared stream, raced by every writer; losers write nothing
            stream = f"tail:shared{b % 3}"
            result = await store.append_many(stream, await store.last_seq(stream), batch)
        if not isinstance(result, Conflict):
            written += len(result)
    return written


async def test_tailing_reader_sees_every_event_once_in_order(pg_url: str) -> None:
    async with open_store(pg_url, create=True) as store:
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                str(HERE),
                "write",
                pg_url,
                f"p{p}",
                str(WRITERS_PER_PROCESS),
                str(BATCHES_PER_WRITER),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
            )
            for p in range(WRITER_PROCESSES)
        ]
        try:
            for proc in procs:
                assert proc.stdout is not None
                assert (await asyncio.wait_for(proc.stdout.readline(), 60)).strip() == b"ready"
            for proc in procs:
                assert proc.stdin is not None
                proc.stdin.write(b"go\n")
                await proc.stdin.drain()

            seen: list[Event] = []
            after = 0
            reads = 0
            finished = asyncio.gather(*(proc.communicate() for proc in procs))
            while True:
                done = finished.done()  # decided before the read: a final drain follows
                page = await store.read_all(after, limit=25)
                reads += 1
                seen.extend(page)
                if page:
                    after = page[-1].position
                elif done:
                    break
                else:
                    await store.wait_for_append(after, 0.2)
            outputs = await finished
        finally:
            for proc in procs:
                if proc.returncode is None:
                    proc.kill()
                    await proc.wait()

        assert [proc.returncode for proc in procs] == [0] * WRITER_PROCESSES
        written = sum(json.loads(out.splitlines()[-1])["written"] for out, _ in outputs)
        everything = await store.read_all(0)
        assert len(everything) == written
        positions = [e.position for e in seen]
        assert positions == sorted(set(positions)), "each event once, in position order"
        assert seen == everything, "the tailing reader skipped or invented events"
        for stream in {e.stream for e in everything}:
            assert [e.seq for e in everything if e.stream == stream] == list(
                range(1, 1 + sum(e.stream == stream for e in everything))
            )
        assert reads > 2, "the reader must have tailed while the writers wrote"
        # what makes the reader's horizon sound: positions were got in xid order
        raw = await _raw(pg_url)
        try:
            inversions = await raw.fetchval(
                "SELECT count(*) FROM (SELECT xid, lag(xid) OVER (ORDER BY position) AS prev"
                " FROM boxoffice_events) t WHERE xid < prev"
            )
        finally:
            await raw.close()
        assert inversions == 0, "a position was got out of xid order"
        print(f"tail: {written} events from {WRITER_PROCESSES} processes, {reads} reads")


# -- UNIQUE(stream, seq) arbitration -----------------------------------------------------------


async def _blocked_by_uncommitted_seq_1(pg_url: str, append: Any) -> Any:
    """Start ``append`` while another transaction holds an uncommitted seq 1, then commit it.

    The store's own check cannot see the uncommitted row, so only the unique index
    stops the append: the case a writer bypassing the append lock would create.
    """
    tag = f"bo_t_{uuid.uuid4().hex[:12]}"
    url = f"{pg_url}&application_name={tag}"
    raw = await _raw(pg_url)
    async with open_store(url) as store:
        tx = raw.transaction()
        await tx.start()
        await raw.execute(
            "INSERT INTO boxoffice_events (stream, seq, type, data, meta)"
            " VALUES ('s', 1, 'other', '{}', '{}')"
        )
        task = asyncio.create_task(append(store))

        async def waiting_on_the_index() -> bool:
            return bool(
                await raw.fetchval(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE application_name = $1 AND wait_event_type = 'Lock'",
                    tag,
                )
            )

        await _until(waiting_on_the_index)
        await tx.commit()
        result = await task
        events = await store.read("s")
    await raw.close()
    return result, events


async def test_unique_violation_on_append_expect_is_a_conflict(pg_url: str) -> None:
    async with open_store(pg_url, create=True):
        pass
    result, events = await _blocked_by_uncommitted_seq_1(
        pg_url, lambda store: store.append_expect("s", 0, "mine", {})
    )
    assert result == Conflict(expected=0, actual=1)
    assert [(e.seq, e.type) for e in events] == [(1, "other")]


async def test_unique_violation_on_unconditional_append_retries(pg_url: str) -> None:
    async with open_store(pg_url, create=True):
        pass
    result, events = await _blocked_by_uncommitted_seq_1(
        pg_url, lambda store: store.append("s", "mine", {})
    )
    assert isinstance(result, Event) and result.seq == 2
    assert [(e.seq, e.type) for e in events] == [(1, "other"), (2, "mine")]


async def test_a_writer_holding_the_append_lock_makes_appends_busy_not_hung(pg_url: str) -> None:
    """Another session sits on the append lock: StoreBusy by the timeout, nothing written."""
    from store.eventstore.postgres.schema import LOCK_CLASS

    async with open_store(pg_url, create=True) as store:
        await store.append("s", "t", {})
        raw = await _raw(pg_url)
        try:
            table = await raw.fetchval("SELECT 'boxoffice_events'::regclass::oid::integer")
            await raw.execute("SELECT pg_advisory_lock($1, $2)", LOCK_CLASS, table)
            for expected in (1, None):
                with pytest.raises(StoreBusy, match="append lock"):
                    await store.append_many("s", expected, [NewEvent("t", {})], timeout=0.3)
            # a stale expectation is answered before queueing for the lock
            assert await store.append_expect("s", 0, "t", {}) == Conflict(0, 1)
            await raw.execute("SELECT pg_advisory_unlock($1, $2)", LOCK_CLASS, table)
        finally:
            await raw.close()
        assert [e.seq for e in await store.read("s")] == [1]
        assert (await store.append("s", "t", {})).seq == 2


async def test_a_held_append_lock_makes_the_ledger_answer_conflict_by_its_deadline(
    pg_url: str,
) -> None:
    """SPEC §1/§3 on PostgreSQL: waited out until the deadline, then `conflict`, nothing written."""
    from store.booking import Ledger, Status
    from store.eventstore.postgres.schema import LOCK_CLASS

    async with open_store(pg_url, create=True) as store:
        ledger = Ledger(store, operator="blocked", deadline=0.5)
        await ledger.create_occurrence("stuck", capacity=5)
        raw = await _raw(pg_url)
        try:
            table = await raw.fetchval("SELECT 'boxoffice_events'::regclass::oid::integer")
            await raw.execute("SELECT pg_advisory_lock($1, $2)", LOCK_CLASS, table)
            answer = await asyncio.wait_for(ledger.hold("stuck", "ada"), 30)
            await raw.execute("SELECT pg_advisory_unlock($1, $2)", LOCK_CLASS, table)
        finally:
            await raw.close()
        assert answer.status is Status.CONFLICT
        assert [e.type for e in await store.read("booking:stuck")] == ["created"]
        assert (await ledger.hold("stuck", "ada")).status is Status.HELD


async def test_reads_survive_the_server_dropping_connections(pg_url: str) -> None:
    """A restart or an administrator ends the store's sessions: the next read reconnects."""
    tag = f"bo_t_{uuid.uuid4().hex[:12]}"
    async with open_store(f"{pg_url}&application_name={tag}", create=True) as store:
        written = await store.append("s", "t", {})
        raw = await _raw(pg_url)
        try:
            ended = await raw.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name = $1",
                tag,
            )
        finally:
            await raw.close()
        assert ended >= 1
        assert await store.read("s") == [written]
        assert (await store.append("s", "t", {})).seq == 2


# -- the server's clock ----------------------------------------------------------------------


async def test_ledger_uses_the_servers_clock_not_the_terminals(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A terminal whose clock is a day fast still stamps and decides with the server's time."""
    from store.booking import Ledger, Status
    from store.ledger import api as booking

    class DayFast(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> DayFast:  # type: ignore[override]
            return super().now(tz) + timedelta(days=1)

    monkeypatch.setattr(booking, "datetime", DayFast)
    async with open_store(pg_url, create=True) as store:
        ledger = Ledger(store, operator="skewed")  # no clock injected
        before = await store.server_now()
        assert before is not None
        await ledger.create_occurrence("show", capacity=2)
        held = await ledger.hold("show", "ada", ttl=timedelta(minutes=10))
        after = await store.server_now()
        assert after is not None
        assert held.status is Status.HELD

        hold_event = (await store.read("booking:show"))[-1]
        recorded = datetime.fromisoformat(hold_event.meta["recorded_at"])
        assert before <= recorded <= after, (before, recorded, after)
        assert held.expires_at is not None
        assert before + timedelta(minutes=10) <= held.expires_at <= after + timedelta(minutes=10)
        # By the server's clock the hold is live; by the terminal's it lapsed long ago.
        assert await ledger.seat_state("show", "ada") == "held"
        fast = Ledger(store, operator="local", clock=lambda: DayFast.now(UTC))
        assert await fast.seat_state("show", "ada") == "none"


async def test_server_now_is_the_servers_clock(pg_url: str) -> None:
    async with open_store(pg_url, create=True) as store:
        raw = await _raw(pg_url)
        try:
            before = await raw.fetchval("SELECT clock_timestamp()")
            now = await store.server_now()
            after = await raw.fetchval("SELECT clock_timestamp()")
        finally:
            await raw.close()
    assert now is not None and now.tzinfo is not None
    assert before <= now <= after


# -- live updates ----------------------------------------------------------------------------


async def test_wait_for_append_wakes_on_another_stores_notification(pg_url: str) -> None:
    async with open_store(pg_url, create=True) as watcher, open_store(pg_url) as writer:
        head = await watcher.head_position()
        waiting = asyncio.create_task(watcher.wait_for_append(head, 30))

        async def parked() -> bool:
            return watcher._sleepers == 1  # type: ignore[attr-defined]

        await _until(parked)
        event = await writer.append("s", "t", {})
        assert await waiting is True
        # woken by the notification, which carried the new position
        assert watcher._notified == event.position  # type: ignore[attr-defined]
        assert await watcher.wait_for_append(event.position, 0.05) is False


async def test_wait_for_append_catches_a_missed_notification_on_timeout(pg_url: str) -> None:
    async with open_store(pg_url, create=True) as store:
        head = await store.head_position()
        waiting = asyncio.create_task(store.wait_for_append(head, 1.0))

        async def parked() -> bool:
            return store._sleepers == 1  # type: ignore[attr-defined]

        await _until(parked)
        raw = await _raw(pg_url)
        try:  # a write that never notifies (another tool, a notification lost)
            await raw.execute(
                "INSERT INTO boxoffice_events (stream, seq, type, data, meta)"
                " VALUES ('s', 1, 't', '{}', '{}')"
            )
        finally:
            await raw.close()
        assert await waiting is True
        assert store._notified == 0  # type: ignore[attr-defined]


async def test_notifications_stay_within_their_schema(pg_url: str) -> None:
    other_url = pg_url.replace("schema=bo_test_", "schema=bo_test_other_")
    try:
        async with (
            open_store(pg_url, create=True) as mine,
            open_store(other_url, create=True) as theirs,
        ):
            await theirs.append("s", "t", {})
            assert await mine.read_all(0) == []
            assert await mine.wait_for_append(0, 0.2) is False
            assert mine._notified == 0  # type: ignore[attr-defined]
    finally:
        raw = await _raw(pg_url)
        await raw.execute(f'DROP SCHEMA IF EXISTS "{split_url(other_url)[1]}" CASCADE')
        await raw.close()


# -- schema and errors -----------------------------------------------------------------------


async def test_missing_schema_is_store_not_found_with_init_hint(pg_url: str) -> None:
    with pytest.raises(StoreNotFound, match=r"boxoffice init --db postgresql://"):
        async with open_store(pg_url):
            pass
    raw = await _raw(pg_url)
    try:  # refusing created nothing
        assert await raw.fetchval("SELECT to_regclass('boxoffice_events')") is None
    finally:
        await raw.close()


async def test_newer_schema_version_is_refused(pg_url: str) -> None:
    from store.eventstore.postgres import SCHEMA_VERSION

    async with open_store(pg_url, create=True) as store:
        await store.append("s", "t", {})
    raw = await _raw(pg_url)
    try:
        await raw.execute("UPDATE boxoffice_schema SET version = version + 1")
        for create in (False, True):
            with pytest.raises(SchemaTooNew, match=f"schema version {SCHEMA_VERSION + 1}"):
                async with open_store(pg_url, create=create):
                    pass
        assert await raw.fetchval("SELECT count(*) FROM boxoffice_events") == 1
    finally:
        await raw.close()


async def test_init_twice_and_concurrently_is_harmless(pg_url: str) -> None:
    async def init() -> None:
        async with open_store(pg_url, create=True):
            pass

    await asyncio.gather(*(init() for _ in range(4)))
    async with open_store(pg_url, create=True) as store:
        await store.append("s", "t", {})
    async with open_store(pg_url, create=True) as store:
        assert await store.last_seq("s") == 1
    raw = await _raw(pg_url)
    try:
        assert await raw.fetchval("SELECT count(*) FROM boxoffice_schema") == 1
    finally:
        await raw.close()


async def test_events_are_append_only_in_the_database(pg_url: str) -> None:
    import asyncpg

    async with open_store(pg_url, create=True) as store:
        await store.append("s", "t", {"n": 1})
    raw = await _raw(pg_url)
    try:
        for statement in (
            "UPDATE boxoffice_events SET type = 'x'",
            "DELETE FROM boxoffice_events",
            "TRUNCATE boxoffice_events",
        ):
            with pytest.raises(asyncpg.PostgresError, match="append-only"):
                await raw.execute(statement)
        assert await raw.fetchval("SELECT count(*) FROM boxoffice_events") == 1
    finally:
        await raw.close()


async def test_connection_refused_is_a_one_line_store_error() -> None:
    with pytest.raises(StoreError) as caught:
        async with open_store("postgresql://postgres@127.0.0.1:1/postgres"):
            pass
    message = str(caught.value)
    assert "connection refused" in message and "\n" not in message
    assert message.startswith("postgresql://postgres@127.0.0.1:1/postgres:")


async def test_missing_database_is_not_found_unless_created(pg_url: str) -> None:
    name = f"bo_test_db_{uuid.uuid4().hex[:12]}"
    parts = urlsplit(split_url(pg_url)[0])  # the test server, without the schema
    url = urlunsplit(parts._replace(path=f"/{name}"))
    with pytest.raises(StoreNotFound, match="no such database"):
        async with open_store(url):
            pass
    try:
        async with open_store(url, create=True) as store:
            assert (await store.append("s", "t", {})).seq == 1
    finally:
        raw = await _raw(pg_url)
        await raw.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await raw.close()


def test_url_hides_password_and_checks_schema_name() -> None:
    from store.eventstore.postgres import PostgresStore

    dsn, schema, shown = split_url("postgresql://u:s3cret@db.example:5433/bo?schema=venue_2&x=1")
    assert (schema, shown) == (
        "venue_2",
        "postgresql://u:***@db.example:5433/bo?schema=venue_2&x=1",
    )
    assert "schema" not in dsn and "x=1" in dsn and "s3cret" in dsn
    assert PostgresStore("postgresql://u:s3cret@h/bo").url == "postgresql://u:***@h/bo"
    for bad in ("1abc", "a-b", 'x"; DROP TABLE t; --', "", "a" * 64):
        with pytest.raises(ValueError, match="schema"):
            split_url(f"postgresql://h/bo?schema={bad}")


async def test_describe_reports_the_server(pg_url: str) -> None:
    from store.eventstore.postgres import SCHEMA_VERSION

    async with open_store(pg_url, create=True) as store:
        facts = store.describe()
    assert facts["engine"] == "postgresql"
    assert facts["schema"] == pg_url.rsplit("schema=", 1)[1]
    assert facts["schema_version"] == SCHEMA_VERSION and facts["server_version"]
    assert facts["synchronous_commit"] == "on"  # durable on return, whatever the server default


async def test_stores_on_one_loop_share_a_pool_and_close_independently(pg_url: str) -> None:
    from store.eventstore.postgres.pools import POOLS

    async with open_store(pg_url, create=True) as first:
        async with open_store(pg_url) as second:
            assert first._pool is second._pool  # type: ignore[attr-defined]
            await second.append("s", "t", {})
        assert await first.last_seq("s") == 1  # closing one store left the pool to the other
        with pytest.raises(StoreError, match="closed"):
            await second.read("s")
    assert not [key for key in POOLS if pg_url.split("schema=")[1] in str(key)]


# -- CI: required means fail, not skip ---------------------------------------------------------


@pytest.mark.parametrize(("required", "outcome"), [("1", "error"), ("", "skipped")])
def test_unreachable_server_fails_when_required_and_skips_otherwise(
    required: str, outcome: str
) -> None:
    env = {
        **os.environ,
        "BOXOFFICE_TEST_PG": "postgresql://postgres@127.0.0.1:1/postgres",
        "BOXOFFICE_REQUIRE_PG": required,
    }
    smoke = str(HERE.parent / "test_smoke.py")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "postgres", smoke],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=HERE.parent.parent,
    )
    summary = run.stdout.strip().splitlines()[-1]
    assert f"1 {outcome}" in summary, run.stdout
    assert (run.returncode != 0) == (outcome == "error"), run.stdout


def main(argv: list[str]) -> int:
    if len(argv) != 5 or argv[0] != "write":
        sys.stderr.write("usage: test_postgres.py write URL NAME WRITERS BATCHES\n")
        return 2
    _, url, name, writers, batches = argv
    asyncio.run(_write(url, name, int(writers), int(batches)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
