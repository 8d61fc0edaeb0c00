"""Door mode: type-ahead on name or ref, Enter checks in, refusals in words, a counter, export."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.pilot import SHOW, opened, until
from test_hostile_text import ESCAPES, KEY, MARKUP, TITLE, hostile_db, shown, text_of
from textual.coordinate import Coordinate
from textual.pilot import Pilot

from tui.app import BoxOfficeApp
from tui.screens.door import DoorScreen

SIZE = (100, 30)
__all__ = ["hostile_db"]  # the fixture, shared with the hostile-text tests


async def door(pilot: Pilot[Any]) -> DoorScreen:
    await pilot.press("i")
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, DoorScreen), "the door")
    screen = app.screen
    assert isinstance(screen, DoorScreen)
    await until(pilot, lambda: screen.view is not None, "the door list")
    return screen


async def answered(pilot: Pilot[Any], screen: DoorScreen, typed: str, needle: str) -> str:
    """Type ``typed``, press Enter, wait for the door to say something with ``needle``."""
    screen.find.value = typed
    await pilot.pause()
    await pilot.press("enter")
    await until(pilot, lambda: needle in text_of(screen.said), needle)
    return text_of(screen.said)


async def test_enter_checks_the_party_in_and_the_counter_moves(
    house_db: str, make_app: Callable[..., BoxOfficeApp]
) -> None:
    app = make_app(house_db)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        screen = await door(pilot)
        assert text_of(screen.count) == "0 of 2 seats in"
        assert "Opening Night" in text_of(screen.show_line)
        said = await answered(pilot, screen, "BO", "IN:")
        assert said.startswith("IN: bob #") and "seats 2" in said
        await until(pilot, lambda: text_of(screen.count) == "1 of 2 seats in", "the counter")
        assert app.ledger is not None
        roster = {r.actor: r for r in (await app.ledger.view(SHOW)).rows}
        assert roster["bob"].checked_in_at is not None and roster["ada"].checked_in_at is None


async def test_refusals_are_said_in_words_and_write_nothing(
    house_db: str, make_app: Callable[..., BoxOfficeApp]
) -> None:
    app = make_app(house_db)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        screen = await door(pilot)
        assert app.ledger is not None
        before = (await app.ledger.view(SHOW)).seq
        said = await answered(pilot, screen, "cy", "REFUSED")
        assert said == "REFUSED: cy: not paid: confirm first"
        assert screen.said.has_class("-refused")
        assert (await app.ledger.view(SHOW)).seq == before
        await answered(pilot, screen, "nobody", "nobody matches")


async def test_a_ref_finds_its_party_and_a_second_check_in_is_refused(
    house_db: str, make_app: Callable[..., BoxOfficeApp]
) -> None:
    app = make_app(house_db)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        screen = await door(pilot)
        ada = next(r for r in screen.shown if r.actor == "ada")
        screen.find.value = f"#{ada.ref}"
        await pilot.pause()
        assert [r.actor for r in screen.shown] == ["ada"]
        await answered(pilot, screen, str(ada.ref), "IN: ada")
        said = await answered(pilot, screen, str(ada.ref), "REFUSED")
        assert said == "REFUSED: ada: already in"


async def test_arrows_choose_among_the_matches(
    house_db: str, make_app: Callable[..., BoxOfficeApp]
) -> None:
    app = make_app(house_db)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        screen = await door(pilot)
        assert [r.actor for r in screen.shown] == ["ada", "bob", "cy"]
        await pilot.press("down")
        await answered(pilot, screen, "", "IN: bob")


async def test_export_writes_the_door_list(
    house_db: str,
    make_app: Callable[..., BoxOfficeApp],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    app = make_app(house_db)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        screen = await door(pilot)
        await answered(pilot, screen, "ada", "IN: ada")
        await until(pilot, lambda: text_of(screen.count) == "1 of 2 seats in", "the counter")
        await pilot.press("ctrl+o")
        path = tmp_path / "door-show-1.csv"
        await until(pilot, lambda: str(path) in text_of(screen.said), "the export")
        rows = list(csv.DictReader(path.open(encoding="utf-8")))
        assert [(r["actor"], bool(r["checked_in_at"])) for r in rows] == [
            ("ada", True),
            ("bob", False),
        ]
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.main, "back to the house")


async def test_the_palette_offers_the_door(
    house_db: str, make_app: Callable[..., BoxOfficeApp]
) -> None:
    app = make_app(house_db)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        titles = [c.title for c in app.get_system_commands(app.main)]
        assert "Door" in titles


async def test_hostile_names_at_the_door(
    hostile_db: str, make_app: Callable[..., BoxOfficeApp]
) -> None:
    app = make_app(hostile_db)
    async with app.run_test(size=(150, 36)) as pilot:
        await until(pilot, lambda: app.main.selected == KEY, "the hostile house")
        screen = await door(pilot)
        names = sorted(MARKUP + [shown(a) for a in ESCAPES], key=str.casefold)
        drawn = sorted(
            screen.parties.get_cell_at(Coordinate(i, 0)).plain for i in range(len(screen.shown))
        )
        assert drawn == sorted(names)
        assert TITLE in text_of(screen.show_line)
        # markup checks in as a name: the app neither quits nor styles it
        await answered(pilot, screen, "[@click=app.quit]x", "IN:")
        assert app.is_running
        assert "IN: [@click=app.quit]x #" in text_of(screen.said)
        svg = app.export_screenshot()
        assert "\x1b" not in svg and "[@click=app.quit]x" in svg.replace("&#160;", " ")


def test_door_mode_snapshot(snap_compare: Any, house_db: str, make_app: Any) -> None:
    """Door mode after bob came in: the counter, the list in words, what the door said."""

    async def check_bob_in(pilot: Pilot[Any]) -> None:
        await opened(pilot)
        screen = await door(pilot)
        await answered(pilot, screen, "bob", "IN:")
        await until(pilot, lambda: text_of(screen.count) == "1 of 2 seats in", "the counter")
        screen.find.cursor_blink = False
        await pilot.pause()

    assert snap_compare(make_app(house_db), terminal_size=(80, 24), run_before=check_bob_in)
