"""Parties from the app: a party size and a note in the book and hold forms, shown in the roster."""

from __future__ import annotations

from collections.abc import Callable

from support.pilot import SHOW, Answers, until
from test_actions import cell, error_of, fill, last_seq, on_the_house

from tui.app import BoxOfficeApp
from tui.screens.party_forms import PartyForm, PartyHoldForm

NOTE = "[bold]card[/] [@click=app.quit]1234"


async def test_book_a_party_with_a_note_shows_its_block_ref_and_note(
    house_db: str, make_app: Callable[..., BoxOfficeApp], answers: Answers
) -> None:
    async with on_the_house(make_app, house_db, answers) as (app, pilot):
        await pilot.press("b")
        assert isinstance(app.screen, PartyForm)
        await fill(pilot, actor="[bold]smiths[/]", seats="2", note=NOTE)
        await pilot.press("enter")
        await answers.next(pilot)
        await until(pilot, lambda: "[bold]smiths[/]" in app.main.roster.shown_actors, "the row")
        assert app.ledger is not None
        row = next(r for r in (await app.ledger.view(SHOW)).rows if r.seats == 2)
        assert (row.actor, row.seat, row.note) == ("[bold]smiths[/]", 4, NOTE)
        assert cell(app, row.actor, "seat") == "4-5"
        assert cell(app, row.actor, "ref") == f"#{row.ref}"
        assert cell(app, row.actor, "note") == NOTE
        assert cell(app, "ada", "seat") == "1" and cell(app, "ada", "note") == ""
        assert app.is_running


async def test_hold_a_party_the_default_is_one_seat(
    house_db: str, make_app: Callable[..., BoxOfficeApp], answers: Answers
) -> None:
    async with on_the_house(make_app, house_db, answers) as (app, pilot):
        await pilot.press("h")
        assert isinstance(app.screen, PartyHoldForm)
        await fill(pilot, actor="dee")
        await pilot.press("enter")
        await answers.next(pilot)
        assert app.ledger is not None
        row = next(r for r in (await app.ledger.view(SHOW)).rows if r.actor == "dee")
        assert (row.state, row.seats, row.note) == ("held", 1, None)


async def test_bad_party_size_is_said_under_the_field_and_writes_nothing(
    house_db: str, make_app: Callable[..., BoxOfficeApp]
) -> None:
    async with on_the_house(make_app, house_db) as (app, pilot):
        before = await last_seq(app)
        await pilot.press("b")
        for typed, words in [("0", "1 to 100"), ("101", "1 to 100"), ("two", "whole number")]:
            await fill(pilot, actor="dee", seats=typed)
            await pilot.press("enter")
            assert isinstance(app.screen, PartyForm)
            assert words in error_of(app, "seats")
        await fill(pilot, seats="1", note="tab\there")
        await pilot.press("enter")
        assert "control" in error_of(app, "note")
        assert await last_seq(app) == before


async def test_a_party_too_big_for_the_seats_left_is_full(
    house_db: str, make_app: Callable[..., BoxOfficeApp], answers: Answers
) -> None:
    async with on_the_house(make_app, house_db, answers) as (app, pilot):
        before = await last_seq(app)
        await pilot.press("b")
        await fill(pilot, actor="dee", seats="3")
        await pilot.press("enter")
        assert (await answers.next(pilot)).text.startswith("Full")
        assert await last_seq(app) == before
