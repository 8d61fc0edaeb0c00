"""Every action from the keyboard: forms, answers in words, inline errors that write nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from support.pilot import CAPACITY, SHOW, Answers, opened, say_yes, until
from textual import events
from textual.command import CommandList, CommandPalette
from textual.pilot import Pilot
from textual.widgets import Input, Static

from store import open_store
from store.booking import Ledger
from store.ledger.fold import stream_of
from tui.app import BoxOfficeApp
from tui.screens.confirm import ConfirmScreen
from tui.screens.forms import FormScreen
from tui.screens.main import MainScreen

SIZE = (140, 36)


def cell(app: BoxOfficeApp, actor: str, column: str) -> str:
    return str(app.main.roster.get_cell(actor, column).plain)


def house_cell(app: BoxOfficeApp, key: str, column: str) -> str:
    return str(app.main.house.get_cell(key, column).plain)


async def fill(pilot: Pilot[Any], **fields: str) -> None:
    """Type into the open form's fields (replacing what is there)."""
    screen = pilot.app.screen
    for name, text in fields.items():
        screen.query_one(f"#{name}", Input).value = text
    await pilot.pause()


def error_of(app: BoxOfficeApp, field: str) -> str:
    return str(app.screen.query_one(f"#{field}-error", Static).render())


@asynccontextmanager
async def on_the_house(
    make_app: Callable[..., BoxOfficeApp], db: str, answers: Answers | None = None
) -> AsyncIterator[tuple[BoxOfficeApp, Pilot[Any]]]:
    """The app on the seeded house with its roster on screen, collecting ``answers`` if given."""
    app = make_app(db)
    async with app.run_test(size=SIZE, message_hook=answers) as pilot:
        await opened(pilot)
        yield app, pilot


async def last_seq(app: BoxOfficeApp, key: str = SHOW) -> int:
    assert app.store is not None
    return await app.store.last_seq(stream_of(key))


async def test_opens_on_the_house_with_badges(
    house_db: str, make_app: Callable[..., BoxOfficeApp], answers: Answers
) -> None:
    async with on_the_house(make_app, house_db, answers) as (app, _):
        assert app.main.roster.shown_actors == ["ada", "bob", "cy"]
        assert cell(app, "ada", "state") == "✔ CONFIRMED"
        assert cell(app, "cy", "state") == "◷ HELD 10:00"
        assert [cell(app, a, "seat") for a in ("ada", "bob", "cy")] == ["1", "2", "3"]
        assert cell(app, "cy", "operator") == "seed"
        assert house_cell(app, SHOW, "left") == "2/5 left"
        assert house_cell(app, SHOW, "show") == "Opening Night show-1"  # the key the CLI needs
        assert house_cell(app, SHOW, "seats").count("·") >= 1
        header = str(app.query_one("#header").render())
        assert "tester" in header and house_db in header and "LIVE" in header
        assert "19:00:00 UTC" in header, "the venue's clock and zone"
        assert "lapse in 5m" not in header  # cy's hold has 10 minutes left


async def test_the_header_counts_holds_lapsing_in_the_next_5_minutes(
    house_db: str, make_app: Callable[..., BoxOfficeApp], clock: Any
) -> None:
    async with on_the_house(make_app, house_db) as (app, pilot):
        clock.advance(minutes=6)
        app.tick()
        header = str(app.main.header.render())
        assert "19:06:00 UTC" in header and "⏳ 1 lapse in 5m" in header
        clock.advance(minutes=5)
        app.tick()
        await until(pilot, lambda: cell(app, "cy", "state") == "✖ LAPSED", "the lapse")
        assert "lapse in 5m" not in str(app.main.header.render())


async def test_book_answers_in_words_and_the_row_appears(
    house_db: str, make_app: Callable[..., BoxOfficeApp], answers: Answers
) -> None:
    async with on_the_house(make_app, house_db, answers) as (app, pilot):
        await pilot.press("b")
        assert isinstance(app.screen, FormScreen)
        await pilot.press(*"dee", "enter")
        assert (await answers.next(pilot)).text == "Booked: seat 4 for dee"
        await until(pilot, lambda: "dee" in app.main.roster.shown_actors, "dee's row")
        assert cell(app, "dee", "state") == "✔ CONFIRMED"
        assert cell(app, "dee", "operator") == "tester"
        await answers.notice(pilot, "Booked: seat 4 for dee")
        assert app.ledger is not None
        assert await app.ledger.seat_state(SHOW, "dee") == "confirmed"


async def test_book_refusals_already_and_full(
    house_db: str, make_app: Callable[..., BoxOfficeApp], answers: Answers
) -> None:
    async with on_the_house(make_app, house_db, answers) as (app, pilot):
        for n, actor in enumerate(["ada", "dee", "eve", "fay"], start=1):
            await pilot.press("b")
            await fill(pilot, actor=actor)
            await pilot.press("enter")
            await answers.next(pilot, n)
        assert answers.texts == [
            "Already holds seat 1: ada",
            "Booked: seat 4 for dee",
            "Booked: seat 5 for eve",
            f"Full: capacity {CAPACITY}",
        ]
        assert [m.ok for m in answers.seen] == [False, True, True, False]
        await until(pilot, lambda: house_cell(app, SHOW, "left") == "SOLD OUT", "SOLD OUT")


async def test_invalid_actor_is_shown_in_the_form_and_writes_nothing(
    house_db: str, make_app: Callable[..., BoxOfficeApp], answers: Answers
) -> None:
    async with on_the_house(make_app, house_db, answers) as (app, pilot):
        before = await last_seq(app)
        await pilot.press("b")
        await fill(pilot, actor="   ")
        await pilot.press("enter")
        assert isinstance(app.screen, FormScreen), "the form stays open"
        assert "must not be empty" in error_of(app, "actor")
        await fill(pilot, actor="bell\x07here")
        await pilot.press("enter")
        assert "control" in error_of(app, "actor")
        await pilot.press("escape")
        assert not isinstance(app.screen, FormScreen)
        await pilot.pause()
        assert answers.seen == []
        assert await last_seq(app) == before


async def test_hold_with_a_ttl_and_a_bad_ttl(
    house_db: str, make_app: Callable[..., BoxOfficeApp], answers: Answers, clock: Any
) -> None:
    async with on_the_house(make_app, house_db, answers) as (app, pilot):
        before = await last_seq(app)
        await pilot.press("h")
        await fill(pilot, actor="gil", ttl="soon")
        await pilot.press("enter")
        assert "use a number with s, m, h or d" in error_of(app, "ttl")
        assert await last_seq(app) == before
        # issue 12 rows 2 and 3: refused inline, and the app stays up
        for too_long in ("99999999999d", "40000d", "9" * 5000 + "s"):
            await fill(pilot, ttl=too_long)
            await pilot.press("enter")
            assert "at most" in error_of(app, "ttl") and isinstance(app.screen, FormScreen)
        assert await last_seq(app) == before
        await fill(pilot, ttl="90s")
        await pilot.press("enter")
        assert (await answers.next(pilot)).text == "Held: seat 4 for gil until 19:01:30"
        await until(pilot, lambda: "gil" in app.main.roster.shown_actors, "gil's row")
        assert cell(app, "gil", "state") == "◷ HELD 1:30"
        clock.advance(seconds=30)
        app.tick()
        assert cell(app, "gil", "state") == "◷ HELD 1:00"


async def test_confirm_the_selected_row(
    house_db: str, make_app: Callable[..., BoxOfficeApp], answers: Answers
) -> None:
    async with on_the_house(make_app, house_db, answers) as (app, pilot):
        app.main.roster.focus()
        await pilot.press("down", "down")
        assert app.main.roster.selected_actor == "cy"
        await pilot.press("c")  # the roster has focus: a question naming cy, "no" focused
        assert isinstance(app.screen, ConfirmScreen)
        assert "cy" in str(app.screen.question) and "Opening Night" in str(app.screen.question)
        await pilot.press("enter")
        assert not isinstance(app.screen, ConfirmScreen)
        await answers.notice(pilot, "Nothing confirmed")
        assert cell(app, "cy", "state").startswith("◷ HELD")
        await pilot.press("c")
        await say_yes(pilot)
        assert (await answers.next(pilot)).text == "Confirmed: seat 3 for cy"
        await until(pilot, lambda: cell(app, "cy", "state") == "✔ CONFIRMED", "cy confirmed")
        assert app.main.roster.selected_actor == "cy"


async def test_confirm_a_lapsed_hold_says_so(
    house_db: str, make_app: Callable[..., BoxOfficeApp], answers: Answers, clock: Any
) -> None:
    async with on_the_house(make_app, house_db, answers) as (app, pilot):
        clock.advance(minutes=10)
        app.tick()
        await until(pilot, lambda: cell(app, "cy", "state") == "✖ LAPSED", "LAPSED badge")
        assert cell(app, "cy", "seat") == "—"
        await until(pilot, lambda: house_cell(app, SHOW, "left") == "3/5 left", "seat freed")
        await pilot.press("c")  # the house has focus: an empty form
        await fill(pilot, actor="cy")
        await pilot.press("enter")
        assert (await answers.next(pilot)).text == "Hold lapsed: not confirmed (cy)"


async def test_release_directly_and_through_the_form(
    house_db: str, make_app: Callable[..., BoxOfficeApp], answers: Answers
) -> None:
    async with on_the_house(make_app, house_db, answers) as (app, pilot):
        await pilot.press("u")  # from the house: a form, never prefilled with a guess
        assert app.screen.query_one("#actor", Input).value == ""
        await fill(pilot, actor="ada")
        await pilot.press("enter")
        assert (await answers.next(pilot)).text == "Not held: ada has no hold to act on"
        app.main.roster.focus()
        await pilot.press("down", "down")
        await pilot.press("u")  # from the roster: a question first
        assert isinstance(app.screen, ConfirmScreen)
        await say_yes(pilot)
        assert (await answers.next(pilot, 2)).text == "Released: cy's hold; the seat is free again"
        await until(pilot, lambda: "cy" not in app.main.roster.shown_actors, "cy gone")


async def test_cancel_asks_first_and_no_changes_nothing(
    house_db: str, make_app: Callable[..., BoxOfficeApp], answers: Answers
) -> None:
    async with on_the_house(make_app, house_db, answers) as (app, pilot):
        before = await last_seq(app)
        app.main.roster.focus()
        await pilot.press("down")
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await answers.notice(pilot, "Nothing cancelled")
        assert await last_seq(app) == before
        await pilot.press("d")
        await pilot.press("enter")  # the focused button is "Keep it"
        assert not isinstance(app.screen, ConfirmScreen)
        assert await last_seq(app) == before
        await pilot.press("d")
        await pilot.press("y")  # no letter answers yes
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("tab", "enter")
        assert (await answers.next(pilot)).text == "Cancelled: bob's seat; it is free again"
        await until(pilot, lambda: "bob" not in app.main.roster.shown_actors, "bob gone")
        assert cell(app, "cy", "seat") == "2"  # seats close up
        await pilot.press("d")
        await say_yes(pilot)
        assert (await answers.next(pilot, 2)).text.startswith("Cancelled: ")


async def test_cancel_of_someone_without_a_seat(
    house_db: str, make_app: Callable[..., BoxOfficeApp], answers: Answers
) -> None:
    async with on_the_house(make_app, house_db, answers) as (app, pilot):
        await pilot.press("d")
        await fill(pilot, actor="nobody")
        await pilot.press("enter")
        assert isinstance(app.screen, ConfirmScreen)
        await say_yes(pilot)
        assert (await answers.next(pilot)).text == "Not booked: nobody has no seat"


async def test_expire_records_lapsed_holds(
    house_db: str, make_app: Callable[..., BoxOfficeApp], answers: Answers, clock: Any
) -> None:
    async with on_the_house(make_app, house_db, answers) as (app, pilot):
        await pilot.press("e")  # asks first, "no" focused
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("enter")
        await answers.notice(pilot, "Nothing expired")
        await pilot.press("e")
        await say_yes(pilot)
        assert (await answers.next(pilot)).text == "No lapsed holds to expire"
        clock.advance(minutes=11)
        await pilot.press("e")
        await say_yes(pilot)
        assert (await answers.next(pilot, 2)).text == "Expired 1 lapsed hold: cy"
        await until(pilot, lambda: "cy" not in app.main.roster.shown_actors, "cy's row removed")


async def test_new_occurrence_with_errors_then_created_and_selected(
    house_db: str, make_app: Callable[..., BoxOfficeApp], answers: Answers
) -> None:
    async with on_the_house(make_app, house_db, answers) as (app, pilot):
        await pilot.press("n")
        await fill(pilot, key="bad key!", capacity="10")
        await pilot.press("enter")
        assert "ASCII letters" in error_of(app, "key")
        await fill(pilot, key="gala", capacity="ten")
        await pilot.press("enter")
        assert "whole number" in error_of(app, "capacity")
        assert error_of(app, "key") == ""
        await fill(pilot, capacity="10", starts_at="tomorrow")
        await pilot.press("enter")
        assert "2026-12-24 19:30" in error_of(app, "starts_at")
        await fill(pilot, title="Gala", starts_at="2026-12-24 19:30", hold_ttl="5m")
        await pilot.press("enter")
        assert (await answers.next(pilot)).text == "Created: capacity 10"
        await until(pilot, lambda: app.main.selected == "gala", "the new occurrence selected")
        assert house_cell(app, "gala", "when") == "24 Dec 19:30"
        assert app.main.house.lines["gala"].record.hold_ttl is not None
        await pilot.press("n")
        await fill(pilot, key="gala", capacity="3")
        await pilot.press("enter")
        assert (await answers.next(pilot, 2)).text == "Exists already: capacity 10"


async def test_capacity_form_and_over_capacity_in_words(
    house_db: str, make_app: Callable[..., BoxOfficeApp], answers: Answers
) -> None:
    async with on_the_house(make_app, house_db, answers) as (app, pilot):
        before = await last_seq(app)
        await pilot.press("k")
        assert app.screen.query_one("#capacity", Input).value == str(CAPACITY)
        await fill(pilot, capacity="-1")
        await pilot.press("enter")
        assert "0 or more" in error_of(app, "capacity")
        await fill(pilot, capacity="2.5")
        await pilot.press("enter")
        assert "whole number" in error_of(app, "capacity")
        assert await last_seq(app) == before
        await fill(pilot, capacity="2")
        await pilot.press("enter")  # below the 3 seated: asked first, "keep" focused
        assert isinstance(app.screen, ConfirmScreen)
        assert "below the 3 seated" in str(app.screen.question)
        await pilot.press("enter")
        assert not isinstance(app.screen, (ConfirmScreen, FormScreen))
        assert await last_seq(app) == before
        await pilot.press("k")
        await fill(pilot, capacity="2")
        await pilot.press("enter")
        await say_yes(pilot)
        assert (await answers.next(pilot)).text == "Capacity set to 2"
        await until(
            pilot, lambda: house_cell(app, SHOW, "left") == "OVER CAPACITY +1", "over capacity"
        )


async def test_filter_narrows_the_roster_and_escape_restores_it(
    house_db: str, make_app: Callable[..., BoxOfficeApp]
) -> None:
    async with on_the_house(make_app, house_db) as (app, pilot):
        app.main.roster.focus()  # `/` in the house searches every show (tests/tui/test_search.py)
        await pilot.press("slash")
        await pilot.press("b")  # typed into the filter, not the book key
        assert not isinstance(app.screen, FormScreen)
        assert app.main.roster.shown_actors == ["bob"]
        assert "filter b: 1 shown" in str(app.main.roster.border_title)
        await pilot.press("enter")
        assert app.focused is app.main.roster
        await pilot.press("slash", "escape")
        assert app.main.roster.shown_actors == ["ada", "bob", "cy"]
        # Esc in the roster itself clears it too (the README says so)
        await pilot.press("slash", "c", "enter")
        assert app.focused is app.main.roster and app.main.roster.shown_actors == ["cy"]
        await pilot.press("escape")
        assert app.main.roster.shown_actors == ["ada", "bob", "cy"]
        assert "filter" not in str(app.main.roster.border_title)


async def test_help_lists_every_binding(
    house_db: str, make_app: Callable[..., BoxOfficeApp]
) -> None:
    async with on_the_house(make_app, house_db) as (app, pilot):
        await pilot.press("question_mark")
        from tui.screens.help import HelpScreen

        assert isinstance(app.screen, HelpScreen)
        ids = {row[3] for row in app.screen.rows}
        app_ids = {b.id for b in [*BoxOfficeApp.BINDINGS, *MainScreen.BINDINGS]}
        assert app_ids <= ids
        assert "filter.clear" in ids
        assert all(row[2] for row in app.screen.rows if row[3] in app_ids), "every key explained"
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("f1")
        assert isinstance(app.screen, HelpScreen)


async def test_bindings_can_be_remapped_by_id(
    house_db: str, make_app: Callable[..., BoxOfficeApp], answers: Answers
) -> None:
    async with on_the_house(make_app, house_db, answers) as (app, pilot):
        app.set_keymap({"book": "ctrl+b"})
        await pilot.press("ctrl+b")
        assert isinstance(app.screen, FormScreen)
        await pilot.press("escape")
        assert ("ctrl+b" in r[0] or "^b" in r[0] for r in app.help_rows() if r[3] == "book")


async def test_every_action_is_in_the_command_palette(
    house_db: str, make_app: Callable[..., BoxOfficeApp], answers: Answers
) -> None:
    async with on_the_house(make_app, house_db, answers) as (app, pilot):
        titles = {c.title for c in app.get_system_commands(app.screen)}
        for wanted in ("Book", "Hold", "Confirm", "Release", "Cancel seat", "Expire lapsed"):
            assert wanted in titles
        assert {"New occurrence", "Capacity", "Filter", "Event log", "Help"} <= titles
        await pilot.press("ctrl+p")
        await pilot.press(*"Expire lapsed")
        await until(
            pilot,
            lambda: (
                isinstance(app.screen, CommandPalette)
                and app.screen.query_one(CommandList).option_count > 0
            ),
            "palette hits",
        )
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await say_yes(pilot)
        assert (await answers.next(pilot)).text == "No lapsed holds to expire"


async def test_race_key(house_db: str, make_app: Callable[..., BoxOfficeApp], answers: Answers):
    async with on_the_house(make_app, house_db, answers) as (app, pilot):
        try:
            from tui.screens.race import RaceScreen
        except ImportError:
            await pilot.press("r")
            await answers.notice(pilot, "race panel not available")
        else:
            await pilot.press("r")
            await until(pilot, lambda: isinstance(app.screen, RaceScreen), "the race panel")


async def test_a_database_error_is_a_one_line_notice(
    house_db: str, make_app: Callable[..., BoxOfficeApp], answers: Answers
) -> None:
    async with on_the_house(make_app, house_db, answers) as (app, pilot):
        assert app.store is not None
        await app.store.close()  # the database goes away under the app
        await pilot.press("b", *"dee", "enter")
        notice = await answers.notice(pilot, "book: ")
        assert "\n" not in notice.message and "Traceback" not in notice.message
        assert notice.severity == "error"
        await until(pilot, lambda: "OFFLINE" in str(app.query_one("#header").render()), "OFFLINE")


async def test_tabs_in_a_burst_of_keys_move_between_fields(
    house_db: str, make_app: Callable[..., BoxOfficeApp]
) -> None:
    """Keys that arrive together (a scanner, a paste) are posted at once, as the driver does."""
    async with on_the_house(make_app, house_db) as (app, pilot):
        await pilot.press("n")
        assert isinstance(app.screen, FormScreen)
        for key in [*"aaa", "tab", *"bbb", "tab", "7", "tab", *"ddd"]:
            app.post_message(events.Key(key, "\t" if key == "tab" else key))
        await until(pilot, lambda: app.screen.query_one("#starts_at", Input).value, "the burst")
        values = {field.id: field.value for field in app.screen.query(Input)}
        assert values == {
            "key": "aaa",
            "title": "bbb",
            "capacity": "7",
            "starts_at": "ddd",
            "hold_ttl": "",
        }


async def test_a_demo_occurrence_is_marked_and_archived_in_one_step(
    house_db: str, make_app: Callable[..., BoxOfficeApp], answers: Answers, clock: Any
) -> None:
    async with open_store(house_db) as store:
        # on the app's clock: a write recorded hours ahead of it is marked CLOCK AHEAD
        seed = Ledger(store, clock=clock, operator="seed")
        await seed.create_occurrence("race-1", capacity=3, demo=True)
    app = make_app(house_db)
    async with app.run_test(size=SIZE, message_hook=answers) as pilot:
        await until(pilot, lambda: len(app.main.house.lines) == 2, "both occurrences")
        assert house_cell(app, "race-1", "show").startswith("DEMO ")
        app.main.house.move_cursor(row=app.main.house.get_row_index("race-1"))
        await until(pilot, lambda: app.main.selected == "race-1", "race-1 selected")
        await pilot.press("a")  # asks first, "Leave it" focused
        assert isinstance(app.screen, ConfirmScreen)
        await say_yes(pilot)
        assert (await answers.next(pilot)).text.startswith("Archived: ")
        # archived ones are hidden by default: the row leaves, the show left is selected
        await until(pilot, lambda: "race-1" not in app.main.house.lines, "race-1 hidden")
        assert app.main.selected == SHOW
        assert "1 archived hidden" in str(app.main.house.border_title)
        await pilot.press("v")  # shown again, marked
        assert "ARCHIVED" in house_cell(app, "race-1", "show")
        assert "archived shown" in str(app.main.house.border_title)
        assert app.ledger is not None
        assert [r.key for r in await app.ledger.occurrences()] == [SHOW]
