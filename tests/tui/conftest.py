"""Fixtures for the app's tests: a seeded house on a real SQLite file and a fixed clock."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from support.pilot import Answers, seed_house

from tui.app import BoxOfficeApp


@pytest.fixture
def house_db(tmp_path: Path, clock: Any) -> str:
    db = str(tmp_path / "house.db")
    asyncio.run(seed_house(db, clock))
    return db


@pytest.fixture
def make_app(clock: Any) -> Callable[..., BoxOfficeApp]:
    """Apps on the manual clock, in UTC, with countdowns advanced only by ``app.tick()``."""

    def make(db: str, **options: Any) -> BoxOfficeApp:
        options.setdefault("operator", "tester")
        options.setdefault("tz", UTC)
        options.setdefault("tick", None)
        return BoxOfficeApp(db, clock=clock, **options)

    return make


@pytest.fixture
def answers() -> Answers:
    return Answers()
