"""Pictures of a waiting list (pytest-textual-snapshot) at 80x24 and 140x40, on a fixed clock.

A sold-out gala: Ada's hold lapsed a minute ago and the fold offered her two
seats to Grace, the first party that fits (no event holds the offer); a party of
eight keeps its place at the head of the list, and a markup-looking name is shown
as typed. Update with ``--snapshot-update`` after a deliberate change, and look.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest
from support.pilot import until
from textual.pilot import Pilot
from textual.widgets import Input

from store import open_store
from store.booking import Ledger
from tui.app import BoxOfficeApp


@pytest.fixture
def waiting_app(tmp_path: Path, clock: Any, monkeypatch: pytest.MonkeyPatch) -> BoxOfficeApp:
    async def seed() -> None:
        async with open_store("house.db", create=True) as store:
            ledger = Ledger(store, clock=clock, operator="box office")
            await ledger.create_occurrence(
                "gala",
                capacity=6,
                title="Gala",
                starts_at=clock() + timedelta(hours=3),
                hold_ttl=timedelta(minutes=15),
                offer_ttl=timedelta(minutes=10),
            )
            await ledger.book("gala", "Smiths", seats=3, note="paid by card")
            await ledger.hold("gala", "Ada Lovelace", timedelta(minutes=5), seats=2)
            await ledger.book("gala", "bob")
            await ledger.join_waitlist("gala", "Big Party", seats=8, note="call after 6")
            clock.advance(minutes=2)
            await ledger.join_waitlist("gala", "Grace Hopper", seats=2, note="07700 900123")
            await ledger.join_waitlist("gala", "[bold]x[/] [@click=app.quit]q")
            await ledger.create_occurrence(
                "matinee", capacity=20, title="Matinee", starts_at=clock() + timedelta(days=1)
            )
            await ledger.book("matinee", "dee")

    monkeypatch.chdir(tmp_path)  # the header shows the path: keep it the same every run
    asyncio.run(seed())
    clock.advance(minutes=4)  # Ada's hold lapsed at +5: Grace holds the offer until +15
    return BoxOfficeApp("house.db", operator="snapshot", clock=clock, tz=UTC, tick=None)


def show_waitlist(*keys: str) -> Callable[[Pilot[Any]], Any]:
    async def run_before(pilot: Pilot[Any]) -> None:
        app = pilot.app
        assert isinstance(app, BoxOfficeApp)
        await until(pilot, lambda: len(app.main.house.lines) == 2, "the house")
        await until(pilot, lambda: app.main.roster.total == 4, "the roster")
        await pilot.press(*keys)
        await until(pilot, lambda: len(app.main.waitlist.shown_actors) == 3, "the waiting list")
        if app.main.log_table.display:
            await until(pilot, lambda: len(app.main.log_table.offers) == 1, "the derived offer")
        for field in app.screen.query(Input):
            field.cursor_blink = False
        await pilot.pause()

    return run_before


def test_waiting_list_at_80x24(snap_compare: Any, waiting_app: BoxOfficeApp) -> None:
    assert snap_compare(waiting_app, terminal_size=(80, 24), run_before=show_waitlist("w"))


def test_waiting_list_and_log_at_140x40(snap_compare: Any, waiting_app: BoxOfficeApp) -> None:
    """With the event log: the offer between the events, marked as derived."""
    assert snap_compare(waiting_app, terminal_size=(140, 40), run_before=show_waitlist("l", "w"))


def test_waiting_list_and_log_at_80x24(snap_compare: Any, waiting_app: BoxOfficeApp) -> None:
    """Both panes on a short terminal: the roster keeps its rows, the offer its until."""
    assert snap_compare(waiting_app, terminal_size=(80, 24), run_before=show_waitlist("l", "w"))
