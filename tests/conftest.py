"""Shared fixtures: every store-level test runs against each backend it is given.

``store`` is parametrised by backend, so the event-store contract suite and the
ledger suite run unchanged on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from store import EventStore, open_store
from store.booking import Ledger

BACKENDS = ["sqlite"]


class ManualClock:
    """A clock tests move by hand: expiry is decided by it, never by sleeping."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 12, 1, 19, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    return str(tmp_path / "boxoffice.db")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, db_path: str) -> str:
    """The URL of a fresh, empty database of the parametrised backend."""
    if request.param == "sqlite":
        return db_path
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
