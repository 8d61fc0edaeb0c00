"""The app and a clock that runs ahead (issue 12, row 5).

An occurrence whose recorded times run ahead of now (a terminal whose clock ran
ahead wrote it, so every hold lapsed at that time) is marked in the house; a write
from an app whose own clock runs ahead is refused with the skew named, the app up.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from support.pilot import SHOW, Answers, opened, until

from store import open_store
from store.booking import Ledger
from store.ledger.clock_check import machine_now
from store.ledger.fold import stream_of
from tui.app import BoxOfficeApp
from tui.screens.forms import FormScreen

SIZE = (100, 30)
YEARS = timedelta(days=1095)


def _show_text(app: BoxOfficeApp, key: str = SHOW) -> str:
    return str(app.main.house.get_cell(key, "show").plain)


async def test_an_occurrence_recorded_ahead_of_now_is_marked_in_the_house(
    make_app: Callable[..., BoxOfficeApp], house_db: str, clock: Any
) -> None:
    app = make_app(house_db)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        assert not _show_text(app).startswith("CLOCK AHEAD")
        async with open_store(house_db) as store:  # another terminal, its clock years ahead
            ahead = Ledger(store, clock=lambda: clock() + YEARS, operator="skewed")
            await ahead.book(SHOW, "dee")
        await until(pilot, lambda: _show_text(app).startswith("CLOCK AHEAD "), "the mark")
        assert "Opening Night" in _show_text(app)


async def test_a_write_from_an_app_whose_clock_runs_ahead_is_refused(
    tmp_path: Path, answers: Answers
) -> None:
    db = str(tmp_path / "house.db")
    async with open_store(db, create=True) as store:
        await Ledger(store, operator="seed").create_occurrence(SHOW, capacity=3, title="Gala")
    app = BoxOfficeApp(
        db,
        operator="tester",
        clock=lambda: machine_now() + YEARS,
        clock_check=True,  # what an app on its own (faked) clock does by default
        tz=UTC,
        tick=None,
    )
    async with app.run_test(size=SIZE, message_hook=answers) as pilot:
        await until(pilot, lambda: app.main.selected == SHOW, "the house")
        await pilot.press("b")
        assert isinstance(app.screen, FormScreen)
        await pilot.press(*"dee", "enter")
        notice = await answers.notice(pilot, "ahead of this machine's clock")
        assert "1,095 days" in notice.message and "nothing was written" in notice.message
        assert app.is_running and answers.seen == []
    async with open_store(db) as store:
        assert [e.type for e in await store.read(stream_of(SHOW))] == ["created"]
        assert datetime.now(UTC) - machine_now() < timedelta(seconds=2)
