"""A few pictures of the app over fixed data and a fixed clock (pytest-textual-snapshot).

Update after a deliberate change with ``pytest tests/tui/test_snapshots.py --snapshot-update``
and look at the SVGs before committing them.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from datetime import UTC
from pathlib import Path
from typing import Any

import pytest
from support.pilot import until
from textual.pilot import Pilot
from textual.widgets import Input

from store import open_store
from store.booking import Ledger
from store.demo import seed_demo
from tui.app import BoxOfficeApp

SIZE = (140, 34)


@pytest.fixture
def demo_app(tmp_path: Path, clock: Any, monkeypatch: pytest.MonkeyPatch) -> BoxOfficeApp:
    """The demo house two minutes after seeding: one hold lapsed, others counting down."""

    async def seed() -> None:
        async with open_store("house.db", create=True) as store:
            await seed_demo(Ledger(store, clock=clock, operator="box office"), clock())

    monkeypatch.chdir(tmp_path)  # the header shows the path: keep it the same every run
    asyncio.run(seed())
    clock.advance(minutes=2)
    return BoxOfficeApp("house.db", operator="snapshot", clock=clock, tz=UTC, tick=None)


def ready(*then: Callable[[Pilot[Any]], Awaitable[None]]) -> Callable[[Pilot[Any]], Any]:
    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, BoxOfficeApp)
        await until(
            pilot, lambda: app.main.roster.total > 0 and len(app.main.house.lines) == 3, "house"
        )
        for step in then:
            await step(pilot)
        for field in app.screen.query(Input):
            field.cursor_blink = False
        await pilot.pause()

    return run_before


async def open_log(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, BoxOfficeApp)
    await pilot.press("l")
    log = app.main.log_table
    await until(
        pilot,
        lambda: (
            log.row_count == 13 and log.cursor_row == 12 and 0 < log.max_scroll_y == log.scroll_y
        ),
        "the whole log, scrolled to its end",
    )


async def book_nobody(pilot: Pilot[Any]) -> None:
    await pilot.press("b", "space", "enter")


async def press_help(pilot: Pilot[Any]) -> None:
    await pilot.press("question_mark")


def test_main_screen(snap_compare: Any, demo_app: BoxOfficeApp) -> None:
    assert snap_compare(demo_app, terminal_size=SIZE, run_before=ready())


def test_event_log(snap_compare: Any, demo_app: BoxOfficeApp) -> None:
    assert snap_compare(demo_app, terminal_size=SIZE, run_before=ready(open_log))


def test_form_with_an_error(snap_compare: Any, demo_app: BoxOfficeApp) -> None:
    assert snap_compare(demo_app, terminal_size=SIZE, run_before=ready(book_nobody))


def test_help(snap_compare: Any, demo_app: BoxOfficeApp) -> None:
    assert snap_compare(demo_app, terminal_size=SIZE, run_before=ready(press_help))


async def database_replaced(pilot: Pilot[Any]) -> None:
    """The file at the path becomes another database; the app finds out within a second."""
    app = pilot.app
    assert isinstance(app, BoxOfficeApp)
    async with open_store("fresh.db", create=True):
        pass
    os.replace("fresh.db", "house.db")
    await until(pilot, lambda: app.main.gone is not None, "the database gone banner")


def test_database_gone_at_80x24(snap_compare: Any, demo_app: BoxOfficeApp) -> None:
    """The banner that stays once the file is replaced (issue 12, row 6)."""
    assert snap_compare(demo_app, terminal_size=(80, 24), run_before=ready(database_replaced))


def test_main_screen_at_80x24(snap_compare: Any, demo_app: BoxOfficeApp) -> None:
    """An 80x24 terminal: the house narrows, the roster's state column stays in view."""
    assert snap_compare(demo_app, terminal_size=(80, 24), run_before=ready())


def test_main_screen_at_140x40(snap_compare: Any, demo_app: BoxOfficeApp) -> None:
    assert snap_compare(demo_app, terminal_size=(140, 40), run_before=ready())


async def search_zoe(pilot: Pilot[Any]) -> None:
    """The search across every show, answering "zoë" (she is on all three)."""
    from tui.screens.search import SearchScreen

    app = pilot.app
    assert isinstance(app, BoxOfficeApp)
    app.main.house.focus()
    await pilot.press("slash")
    await until(pilot, lambda: isinstance(app.screen, SearchScreen), "the search")
    screen = app.screen
    assert isinstance(screen, SearchScreen)
    screen.field.value = "zoë"
    await until(pilot, lambda: len(screen.matches) == 3, "three matches")


def test_search_across_shows(snap_compare: Any, demo_app: BoxOfficeApp) -> None:
    assert snap_compare(demo_app, terminal_size=SIZE, run_before=ready(search_zoe))


async def archive_macbeth_show_archived_sort_by_lapse(pilot: Pilot[Any]) -> None:
    """Macbeth archived (hidden), then shown with ``v``; the roster sorted with ``o``."""
    app = pilot.app
    assert isinstance(app, BoxOfficeApp) and app.ledger is not None
    macbeth = next(key for key in app.main.house.lines if key.startswith("macbeth-"))
    await app.ledger.archive(macbeth)
    await until(pilot, lambda: macbeth in app.main.house.hidden, "macbeth hidden")
    await pilot.press("v", "o")
    await until(pilot, lambda: macbeth in app.main.house.lines, "macbeth shown, marked")


async def new_occurrence(pilot: Pilot[Any]) -> None:
    await pilot.press("n")


async def book_form(pilot: Pilot[Any]) -> None:
    await pilot.press("b")


def test_archived_shown_and_roster_by_lapse_at_140x40(
    snap_compare: Any, demo_app: BoxOfficeApp
) -> None:
    """``v`` shows the archived Macbeth, marked; ``o`` puts the holds first, soonest first."""
    assert snap_compare(
        demo_app,
        terminal_size=(140, 40),
        run_before=ready(archive_macbeth_show_archived_sort_by_lapse),
    )


def test_new_occurrence_form_at_140x40(snap_compare: Any, demo_app: BoxOfficeApp) -> None:
    """Every field and both buttons on screen; placeholders read as examples."""
    assert snap_compare(demo_app, terminal_size=(140, 40), run_before=ready(new_occurrence))


def test_new_occurrence_form_at_80x24(snap_compare: Any, demo_app: BoxOfficeApp) -> None:
    """Compact under 34 rows: one line per field, the buttons above the footer."""
    assert snap_compare(demo_app, terminal_size=(80, 24), run_before=ready(new_occurrence))


def test_book_form_at_80x24(snap_compare: Any, demo_app: BoxOfficeApp) -> None:
    assert snap_compare(demo_app, terminal_size=(80, 24), run_before=ready(book_form))
