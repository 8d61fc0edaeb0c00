"""Shared fixtures: every store-level test runs against each backend it is given.

``store`` is parametrised by backend, so the event-store contract suite and the
ledger suite run unchanged on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import pytest
from support.clock import ManualClock

from store import EventStore, open_store
from store.booking import Ledger

BACKENDS = ["sqlite", "postgres"]

#: The PostgreSQL server the "postgres" backend's tests use; each test gets its own schema.
PG_URL = os.environ.get("BOXOFFICE_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
#: Set by CI: a missing server then fails the PostgreSQL tests instead of skipping them.
PG_REQUIRED = os.environ.get("BOXOFFICE_REQUIRE_PG", "") not in ("", "0")

T = TypeVar("T")


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    return str(tmp_path / "boxoffice.db")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def _run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine from a synchronous fixture, on a loop of its own."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _pg_execute(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_URL, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


_pg_probe: list[str | None] = []


def pg_unavailable() -> str | None:
    """Why the PostgreSQL test server cannot be used (None when it can); asked once."""
    if not _pg_probe:
        try:
            _run_async(_pg_execute("SELECT 1"))
            _pg_probe.append(None)
        except Exception as exc:
            _pg_probe.append(f"PostgreSQL at {PG_URL} unusable: {type(exc).__name__}: {exc}")
    return _pg_probe[0]


def pg_schema_url(schema: str) -> str:
    parts = urlsplit(PG_URL)
    query = f"{parts.query}&schema={schema}" if parts.query else f"schema={schema}"
    return urlunsplit(parts._replace(query=query))


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> str:
    """A URL naming a fresh schema (created by ``create=True``), dropped after the test.

    The schema travels in the URL, so child processes handed it land in the same
    place. Unreachable server: skip, or fail when CI requires PostgreSQL.
    """
    problem = pg_unavailable()
    if problem is not None:
        if PG_REQUIRED:
            pytest.fail(f"{problem} (BOXOFFICE_REQUIRE_PG is set)", pytrace=False)
        pytest.skip(problem)
    schema = f"bo_test_{uuid.uuid4().hex[:16]}"
    request.addfinalizer(
        lambda: _run_async(_pg_execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    )
    return pg_schema_url(schema)


@pytest.fixture(
    params=[
        pytest.param(b, marks=[pytest.mark.postgres] if b == "postgres" else []) for b in BACKENDS
    ]
)
def store_url(request: pytest.FixtureRequest, db_path: str) -> str:
    """The URL of a fresh, empty database of the parametrised backend."""
    if request.param == "sqlite":
        return db_path
    if request.param == "postgres":
        return str(request.getfixturevalue("pg_url"))
    raise AssertionError(f"unknown backend {request.param}")


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[EventStore]:
    async with open_store(store_url, create=True) as opened:
        yield opened


@pytest.fixture
def ledger(store: EventStore, clock: ManualClock) -> Ledger:
    return Ledger(store, clock=clock, operator="tester")


def pytest_report_header() -> str:
    return f"boxoffice backends: {', '.join(BACKENDS)}; pid {os.getpid()}"
