"""The event log, and the roster as it stood at a selected seq until the operator returns."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from support.pilot import SHOW, Answers, opened, until
from test_live import other_terminal
from textual.widgets import Static

from tui.app import BoxOfficeApp

SIZE = (140, 36)


def title(app: BoxOfficeApp) -> str:
    return str(app.main.roster.border_title)


def header(app: BoxOfficeApp) -> str:
    return str(app.main.header.render())


def banner(app: BoxOfficeApp) -> str:
    widget = app.query_one("#banner", Static)
    return str(widget.render()) if widget.display else ""


async def test_selecting_an_event_shows_the_roster_then(
    house_db: str, make_app: Callable[..., BoxOfficeApp], clock: Any, answers: Answers
) -> None:
    app = make_app(house_db)
    async with app.run_test(size=SIZE, message_hook=answers) as pilot:
        await opened(pilot)
        await pilot.press("l")
        log = app.main.log_table
        await until(pilot, lambda: log.last_seq == 4, "the log")
        assert [str(log.get_cell("3", c).plain) for c in ("type", "actor", "operator")] == [
            "booking",
            "bob",
            "seed",
        ]
        assert "capacity 5" in str(log.get_cell("1", "actor").plain)
        clock.advance(minutes=30)  # cy's hold has lapsed by now...
        app.tick()
        await until(
            pilot, lambda: app.main.roster.get_cell("cy", "state").plain == "✖ LAPSED", "lapse"
        )

        log.move_cursor(row=1)
        await pilot.press("enter")  # seq 2: only ada had booked
        await until(pilot, lambda: app.main.travel_seq == 2, "time travel")
        assert app.main.roster.shown_actors == ["ada"]
        assert "seq 2" in banner(app) and "Esc returns to live" in banner(app)
        # the headline is the past one: the title's count and the header's marker
        assert "1/5 seated" in title(app) and "then" in title(app)
        assert "PAST seq 2" in header(app) and "LIVE" not in header(app)

        log.move_cursor(row=3)
        await pilot.press("enter")  # seq 4: ...but at seq 4 it was a fresh 10-minute hold
        await until(pilot, lambda: app.main.travel_seq == 4, "seq 4")
        assert app.main.roster.shown_actors == ["ada", "bob", "cy"]
        assert app.main.roster.get_cell("cy", "state").plain == "◷ HELD 10:00"
        app.tick()  # countdowns are frozen in the past
        assert app.main.roster.get_cell("cy", "state").plain == "◷ HELD 10:00"

        # the live world moves on; the past stays put, the log grows
        assert await other_terminal(house_db, clock, "book", "dee") == "booked"
        await until(pilot, lambda: log.last_seq == 5, "the log grows")
        assert "dee" not in app.main.roster.shown_actors
        assert "seq 4" in banner(app)

        await pilot.press("b")  # commands wait until the operator is back in the present
        await answers.notice(pilot, "press Esc to return to live")
        await pilot.press("escape")
        assert app.main.travel_seq is None and banner(app) == ""
        assert "LIVE" in header(app) and "PAST" not in header(app)
        await until(pilot, lambda: "dee" in app.main.roster.shown_actors, "live again")
        assert "3/5 seated" in title(app) and "then" not in title(app)
        assert app.main.roster.get_cell("cy", "state").plain == "✖ LAPSED"
        assert app.main.selected == SHOW


async def test_time_travel_ends_when_another_occurrence_is_selected(
    house_db: str, make_app: Callable[..., BoxOfficeApp], clock: Any
) -> None:
    app = make_app(house_db)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        assert app.ledger is not None
        await app.ledger.create_occurrence("other", capacity=3, title="Matinee")
        await until(pilot, lambda: "other" in app.main.house.lines, "the new occurrence")
        await pilot.press("l")
        await until(pilot, lambda: app.main.log_table.last_seq == 4, "the log")
        app.main.log_table.move_cursor(row=0)
        await pilot.press("enter")
        await until(pilot, lambda: app.main.travel_seq == 1, "seq 1")
        assert app.main.roster.shown_actors == []
        app.main.house.focus()
        await pilot.press("down")
        await until(pilot, lambda: app.main.selected == "other", "selected other")
        assert app.main.travel_seq is None and banner(app) == ""
        await until(pilot, lambda: app.main.log_table.key == "other", "other's log")
        assert app.main.log_table.last_seq == 1
