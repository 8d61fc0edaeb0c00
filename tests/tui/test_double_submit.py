"""A double Enter on a form acts once: each opened form carries its own request id (SPEC §4.6)."""

from __future__ import annotations

from collections.abc import Callable

from support.pilot import SHOW, Answers, until
from test_actions import fill, on_the_house
from textual import events

from tui.app import BoxOfficeApp
from tui.screens.party_forms import PartyForm


async def test_two_fast_enters_on_the_book_form_write_one_booking(
    house_db: str, make_app: Callable[..., BoxOfficeApp], answers: Answers
) -> None:
    async with on_the_house(make_app, house_db, answers) as (app, pilot):
        assert app.ledger is not None
        before = await app.ledger.events(SHOW)
        await pilot.press("b")
        assert isinstance(app.screen, PartyForm)
        await fill(pilot, actor="dee")
        # both keys arrive in one burst, before the form has handled the first: Textual
        # hands each to the field focused at arrival, so the form sees two submits
        app.post_message(events.Key("enter", "\r"))
        app.post_message(events.Key("enter", "\r"))
        await answers.next(pilot)
        await until(pilot, lambda: not isinstance(app.screen, PartyForm), "the form closed")
        await until(pilot, lambda: "dee" in app.main.roster.shown_actors, "the row")
        await pilot.pause()
        written = (await app.ledger.events(SHOW))[len(before) :]
        assert [(e.type, e.data["actor"]) for e in written] == [("booking", "dee")]
        assert all(t.startswith("Booked: seat 4 for dee") for t in answers.texts), answers.texts
        assert app.is_running
        # the write carried its form's request id: delivered again, it would act once more never
        rid = written[0].meta["request"]["id"]
        again = await app.ledger.book(SHOW, "dee", request_id=rid)
        assert again.replayed and len(await app.ledger.events(SHOW)) == len(before) + 1


async def test_each_opened_form_is_a_new_request(
    house_db: str, make_app: Callable[..., BoxOfficeApp], answers: Answers
) -> None:
    """Two bookings for two people, one form each: both are written (the id is per form)."""
    async with on_the_house(make_app, house_db, answers) as (app, pilot):
        assert app.ledger is not None
        for n, who in enumerate(("dee", "eve"), start=1):
            await pilot.press("b")
            await fill(pilot, actor=who)
            await pilot.press("enter")
            await answers.next(pilot, n)
        rows = {r.actor for r in (await app.ledger.view(SHOW)).rows}
        assert {"dee", "eve"} <= rows
        ids = [
            e.meta["request"]["id"] for e in await app.ledger.events(SHOW) if "request" in e.meta
        ]
        assert len(ids) == 2 and len(set(ids)) == 2
