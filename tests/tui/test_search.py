"""The app's search across every show, partial cancel of a party, and the check-in badge.

Issue 14: `/` in the house (or ctrl+f, or the palette) finds a party on any show and
Enter puts the roster's cursor on it; a party picked on the roster is asked how many
seats to cancel; a party checked in at another terminal shows ``✓ IN`` by itself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from support.pilot import SHOW, Answers, opened, say_yes, until
from test_live import other_terminal
from textual.widgets import Input

from store import open_store
from store.booking import Ledger
from store.ledger.fold import stream_of
from store.ledger.provenance import event_meta
from tui.app import BoxOfficeApp
from tui.screens.cancel_seats import CancelSeatsForm
from tui.screens.confirm import ConfirmScreen
from tui.screens.main import MainScreen
from tui.screens.search import SearchScreen

SIZE = (140, 36)
LATER = "show-2"
HOSTILE = "[red]x[/]\x1b[2J"


async def add_second_show(db: str, clock: Any) -> None:
    """``show-2`` the day after ``show-1``, with Ada Lovelace's party of 3 and a hostile name."""
    async with open_store(db) as store:
        ledger = Ledger(store, clock=clock, operator="seed")
        await ledger.create_occurrence(
            LATER, capacity=10, title="Second Night", starts_at=clock() + timedelta(days=2)
        )
        await ledger.book(LATER, "zoe")
        await ledger.book(LATER, "Ada Lovelace", seats=3, note="paid")
        await store.append(  # old data, written past today's validation
            stream_of(LATER), "booking", {"actor": HOSTILE}, event_meta("old", clock())
        )


def screen_text(app: BoxOfficeApp) -> str:
    """What the terminal shows (the SVG text of a screenshot, as the table drew it)."""
    return app.export_screenshot()


def question_text(app: BoxOfficeApp) -> str:
    screen = app.screen
    assert isinstance(screen, ConfirmScreen)
    return str(screen.question)


def search_cells(screen: SearchScreen) -> list[list[str]]:
    table = screen.results
    return [[str(c.plain) for c in table.get_row_at(n)] for n in range(table.row_count)]


async def search_for(pilot: Any, text: str, count: int) -> SearchScreen:
    """Open the search from the house with `/`, type ``text``, wait for ``count`` matches."""
    app = pilot.app
    app.main.house.focus()
    await pilot.press("slash")
    await until(pilot, lambda: isinstance(app.screen, SearchScreen), "the search")
    screen = app.screen
    assert isinstance(screen, SearchScreen)
    screen.field.value = text  # as typed; the search runs once the typing pauses
    await until(
        pilot,
        lambda: screen.searched == text and len(screen.matches) == count,
        f"{count} matches for {text!r}",
    )
    return screen


async def test_search_finds_a_name_on_two_shows_and_enter_goes_to_its_row(
    house_db: str, make_app: Callable[..., BoxOfficeApp], clock: Any
) -> None:
    await add_second_show(house_db, clock)
    app = make_app(house_db)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        screen = await search_for(pilot, "ADA", 2)
        rows = search_cells(screen)
        assert [r[6] for r in rows] == [SHOW, LATER]  # soonest show first
        assert rows[0][0] == "Opening Night" and rows[1][0] == "Second Night"
        assert rows[1][1:5] == ["Ada Lovelace", "#3", "2-4", "✔ confirmed"]
        assert rows[0][1:5] == ["ada", "#2", "1", "✔ confirmed"]
        assert rows[0][5] != rows[1][5]  # the curtain times
        assert "2 matches" in str(screen.status.render())
        await pilot.press("down", "enter")
        await until(pilot, lambda: isinstance(app.screen, MainScreen), "the search closed")
        await until(
            pilot, lambda: app.main.roster.selected_actor == "Ada Lovelace", "the cursor on Ada"
        )
        assert app.main.selected == LATER
        assert app.main.house.selected_key == LATER
        assert app.focused is app.main.roster
        assert app.main.roster.cursor_row == 1  # zoe, then Ada's party


async def test_esc_closes_the_search_and_changes_nothing(
    house_db: str, make_app: Callable[..., BoxOfficeApp], clock: Any
) -> None:
    await add_second_show(house_db, clock)
    app = make_app(house_db)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        screen = await search_for(pilot, "zoe", 1)
        assert search_cells(screen)[0][1] == "zoe" and search_cells(screen)[0][6] == LATER
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, MainScreen), "the search closed")
        assert app.main.selected == SHOW
        await pilot.press("ctrl+f")  # the palette's "Find a party" runs this action too
        await until(pilot, lambda: isinstance(app.screen, SearchScreen), "the search again")
        assert app.screen.query_one("#search-field", Input).value == ""
        commands = [c.title for c in app.get_system_commands(app.main)]
        assert "Find a party" in commands


async def test_a_hostile_name_is_listed_literally(
    house_db: str, make_app: Callable[..., BoxOfficeApp], clock: Any
) -> None:
    await add_second_show(house_db, clock)
    app = make_app(house_db)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        screen = await search_for(pilot, "[red]x", 1)
        assert search_cells(screen)[0][1] == "[red]x[/]\\u{001B}[2J"
        await pilot.press("enter")
        await until(pilot, lambda: app.main.selected == LATER, "the hostile party's show")
        await until(pilot, lambda: app.main.roster.selected_actor == HOSTILE, "its row")


async def test_a_jump_clears_a_filter_hiding_the_party_and_a_waiter_is_said_in_words(
    house_db: str, make_app: Callable[..., BoxOfficeApp], clock: Any, answers: Answers
) -> None:
    async with open_store(house_db) as store:
        ledger = Ledger(store, clock=clock, operator="seed")
        assert (await ledger.join_waitlist(SHOW, "walt", seats=4)).position == 1
    app = make_app(house_db)
    async with app.run_test(size=SIZE, message_hook=answers) as pilot:
        await opened(pilot)
        app.main.roster.focus()
        await pilot.press("slash", "b", "o", "b", "enter")  # the roster's own filter
        assert app.main.roster.shown_actors == ["bob"]
        screen = await search_for(pilot, "ada", 1)
        await pilot.press("enter")
        await until(pilot, lambda: app.main.roster.selected_actor == "ada", "the cursor on ada")
        assert app.main.roster.shown_actors == ["ada", "bob", "cy"]
        screen = await search_for(pilot, "walt", 1)
        assert search_cells(screen)[0][1:5] == ["walt", "#5", "4 wait", "… waiting"]
        await pilot.press("enter")
        await answers.notice(pilot, "walt is on the waiting list for show-1 (ref #5)")


async def test_cancelling_part_of_a_party_asks_how_many_then_who_keeps_what(
    house_db: str, make_app: Callable[..., BoxOfficeApp], clock: Any, answers: Answers
) -> None:
    async with open_store(house_db) as store:
        ledger = Ledger(store, clock=clock, operator="seed")
        await ledger.set_capacity(SHOW, 10)
        await ledger.book(SHOW, "Smiths", seats=4)
    app = make_app(house_db)
    async with app.run_test(size=SIZE, message_hook=answers) as pilot:
        await opened(pilot)
        await until(pilot, lambda: "Smiths" in app.main.roster.shown_actors, "the Smiths")
        app.main.roster.focus()
        await pilot.press("down", "down", "down")
        assert app.main.roster.selected_actor == "Smiths"
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, CancelSeatsForm), "how many seats")
        field = app.screen.query_one("#seats", Input)
        assert field.value == "4"  # the default: the whole party
        field.value = "9"
        await pilot.press("enter")
        assert isinstance(app.screen, CancelSeatsForm)  # refused next to the field
        assert "from 1 to 4" in str(app.screen.query_one("#seats-error").render())
        field.value = "4"
        await pilot.press("end", "backspace", "2", "enter")  # as an operator types it
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        question = question_text(app)
        assert "Cancel 2 of Smiths's 4 seats" in question
        assert "Smiths keeps 2 (same place, ref #6)" in question
        await pilot.press("enter")  # the focused answer keeps them
        await answers.notice(pilot, "Nothing cancelled")
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, CancelSeatsForm), "the form again")
        app.screen.query_one("#seats", Input).value = "2"
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question again")
        await say_yes(pilot)
        reply = await answers.next(pilot)
        assert reply.text.startswith("Cancelled"), reply.text
        await until(
            pilot, lambda: str(app.main.roster.get_cell("Smiths", "seat").plain) == "4-5", "4-5"
        )
        await until(pilot, lambda: "4-5" in screen_text(app), "4-5 drawn on screen")
        assert "4-7" not in screen_text(app)
        assert app.main.roster.row_of("Smiths").seats == 2  # type: ignore[union-attr]
        assert app.main.roster.selected_actor == "Smiths"  # same place, same ref
        await pilot.press("d")  # a party of 2 now: all of it
        await until(pilot, lambda: isinstance(app.screen, CancelSeatsForm), "the form, all")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the last question")
        assert "Smiths's seats 4-5 (the whole party)" in question_text(app)


async def test_a_check_in_at_another_terminal_shows_the_in_badge_by_itself(
    house_db: str, make_app: Callable[..., BoxOfficeApp], clock: Any
) -> None:
    app = make_app(house_db)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        state = app.main.roster.get_cell
        assert str(state("ada", "state").plain) == "✔ CONFIRMED"
        assert await other_terminal(house_db, clock, "check_in", "ada") == "checked-in"
        await until(pilot, lambda: str(state("ada", "state").plain) == "✓ IN", "the IN badge")
        assert str(state("bob", "state").plain) == "✔ CONFIRMED"
        assert await other_terminal(house_db, clock, "check_in", "cy") == "not-confirmed"
