"""No single stray key writes: every letter, on every screen the letters reach, writes nothing.

An operator who types a name while no form is open (or a barcode scanner that
fires into the wrong window) must never confirm, release, cancel or expire
anything, nor take a party off the waiting list. Each letter is pressed with the
house, the roster (cursor on a held row), the event log and the waiting list
(cursor on a waiting party) focused; any screen a letter opens gets every letter
too (once per kind of screen: its keys are its class's bindings, wherever it was
opened from), then Esc; after each key the store's head must not have moved.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any

from support.pilot import opened, until
from textual.pilot import Pilot
from textual.screen import Screen

from store import open_store
from tui.app import BoxOfficeApp
from tui.screens.main import MainScreen

SIZE = (140, 40)
LETTERS = string.ascii_lowercase + string.ascii_uppercase


async def head(app: BoxOfficeApp) -> int:
    assert app.store is not None
    return await app.store.head_position()


async def back_to_main(pilot: Pilot[Any], app: BoxOfficeApp) -> None:
    for _ in range(5):
        if isinstance(app.screen, MainScreen):
            return
        await pilot.press("escape")
    await until(pilot, lambda: isinstance(app.screen, MainScreen), "the main screen again")


async def test_no_letter_writes_on_any_screen(
    house_db: str, make_app: Callable[..., BoxOfficeApp]
) -> None:
    app = make_app(house_db)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        main = app.main
        assert app.ledger is not None  # sold out, with a party waiting for x to aim at
        for actor in ("dee", "eve"):
            await app.ledger.book("show-1", actor)
        await app.ledger.join_waitlist("show-1", "wes")
        await until(pilot, lambda: main.house.lines["show-1"].record.waiting == 1, "wes waiting")
        start = await head(app)
        swept: dict[type[Screen[Any]], str] = {}  # each kind of screen, where first opened
        pressed = 0

        def focus(where: str) -> None:
            if where == "roster":
                main.roster.focus()
                main.roster.move_cursor(row=2)  # cy: a live hold, the row c would confirm
            elif where == "log":
                if not main.log_table.display:
                    main.action_toggle_log()
                main.log_table.focus()
            elif where == "waitlist":
                if not main.waitlist.display:
                    main.action_toggle_waitlist()
                main.waitlist.focus()
            else:
                if main.log_table.display:
                    main.action_toggle_log()
                if main.waitlist.display:
                    main.action_toggle_waitlist()
                main.house.focus()

        for where in ("house", "roster", "log", "waitlist"):
            for letter in ["question_mark", *LETTERS]:  # ? opens help: its letters too
                if letter == "q":
                    continue  # quits the app: leaves the ledger as it was, and ends the test
                await back_to_main(pilot, app)
                focus(where)
                await pilot.press(letter)
                pressed += 1
                opened_screen = app.screen
                kind = type(opened_screen)
                if not isinstance(opened_screen, MainScreen) and kind not in swept:
                    swept[kind] = where
                    for other in string.ascii_lowercase.replace("q", ""):
                        await pilot.press(other)
                        pressed += 1
                        assert await head(app) == start, f"{letter} then {other} wrote"
                        if app.screen is not opened_screen:
                            break  # the letter closed it (n answers no)
                assert await head(app) == start, f"{letter!r} with the {where} focused wrote"
        assert app.return_code is None and app.is_running
        assert pressed > 3 * 50
        kinds = {kind.__name__ for kind in swept}
        assert {"ConfirmScreen", "ActorForm", "HelpScreen", "WaiterForm"} <= kinds, kinds
        assert main.waitlist.shown_actors == ["wes"], "wes was there for x to aim at"
    async with open_store(house_db) as store:  # read again after the app has closed
        assert await store.head_position() == start
