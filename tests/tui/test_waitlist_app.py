"""The waiting list in the app (SPEC §4.5): the pane, offered badges, the house, forms, the log.

The house starts as the shared seed (show-1: capacity 5, ada and bob confirmed,
cy held for 10 minutes) made sold out by two more bookings, so every waiter
waits. Offers are derived by the fold, so the tests that free seats check what
the screen shows without any event naming an offer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from support.pilot import SHOW, Answers, opened, say_yes, until
from test_actions import cell, fill, house_cell, last_seq
from textual.command import CommandList, CommandPalette
from textual.content import Content
from textual.pilot import Pilot

from store.booking import Ledger
from store.ledger.outcomes import OccurrenceRecord, SeatRecord
from tui.actions import Aim
from tui.app import BoxOfficeApp
from tui.screens.cancel_seats import SeatsToCancel, cancel_question
from tui.screens.confirm import ConfirmScreen
from tui.screens.waitlist_forms import WaiterForm
from tui.widgets.occurrences import availability
from tui.widgets.waitlist import waited_for

SIZE = (140, 40)
MARKUP = "[bold]zed[/] [@click=app.quit]x"


def ledger_of(app: BoxOfficeApp) -> Ledger:
    assert app.ledger is not None
    return app.ledger


async def offer_bobs_seat_to_solo(app: BoxOfficeApp, pilot: Pilot[Any]) -> None:
    """Solo and Next join the list of the sold-out show; bob cancels: Solo is offered."""
    ledger = ledger_of(app)
    await ledger.join_waitlist(SHOW, "Solo")
    await ledger.join_waitlist(SHOW, "Next")
    await ledger.cancel(SHOW, "bob")
    await until(pilot, lambda: "Solo" in app.main.roster.shown_actors, "Solo's offer")


@asynccontextmanager
async def sold_out(
    make_app: Callable[..., BoxOfficeApp], db: str, answers: Answers | None = None
) -> AsyncIterator[tuple[BoxOfficeApp, Pilot[Any]]]:
    """The seeded house with dee and eve booked too (5 of 5), the waiting list shown."""
    app = make_app(db)
    async with app.run_test(size=SIZE, message_hook=answers) as pilot:
        await opened(pilot)
        for actor in ("dee", "eve"):
            await ledger_of(app).book(SHOW, actor)
        await until(pilot, lambda: house_cell(app, SHOW, "left") == "SOLD OUT", "sold out")
        await pilot.press("w")
        assert app.main.waitlist.display and app.focused is app.main.waitlist
        yield app, pilot


def pane(app: BoxOfficeApp, actor: str) -> tuple[str, ...]:
    return app.main.waitlist.text_of(actor)


async def test_add_a_waiter_from_the_form_and_the_house_says_sold_out_n_waiting(
    house_db: str, make_app: Callable[..., BoxOfficeApp], answers: Answers
) -> None:
    async with sold_out(make_app, house_db, answers) as (app, pilot):
        await pilot.press("j")
        assert isinstance(app.screen, WaiterForm)
        await fill(pilot, actor="Grace", seats="2", note="07700 900123")
        await pilot.press("enter")
        assert (await answers.next(pilot)).text == "Waiting: Grace is number 1 on the list"
        await until(pilot, lambda: "Grace" in app.main.waitlist.shown_actors, "Grace's line")
        assert pane(app, "Grace") == ("1", "… WAITING", "Grace", "2", "0s", "#7", "07700 900123")
        await until(
            pilot, lambda: house_cell(app, SHOW, "left") == "SOLD OUT · 1 waiting", "the house"
        )
        await ledger_of(app).join_waitlist(SHOW, "Hal")
        await until(
            pilot, lambda: house_cell(app, SHOW, "left") == "SOLD OUT · 2 waiting", "two waiting"
        )
        assert app.main.waitlist.shown_actors == ["Grace", "Hal"]
        title = Content.from_markup(app.main.waitlist.border_title or "").plain
        assert title == "Waiting 2 (3 seats) · Offered 0"


async def test_bad_party_size_in_the_waiter_form_writes_nothing(
    house_db: str, make_app: Callable[..., BoxOfficeApp]
) -> None:
    async with sold_out(make_app, house_db) as (app, pilot):
        before = await last_seq(app)
        await pilot.press("j")
        await fill(pilot, actor="Grace", seats="0")
        await pilot.press("enter")
        assert isinstance(app.screen, WaiterForm), "the form stays open with the error"
        assert await last_seq(app) == before


async def test_places_close_up_when_a_party_ahead_leaves(
    house_db: str, make_app: Callable[..., BoxOfficeApp]
) -> None:
    async with sold_out(make_app, house_db) as (app, pilot):
        for actor in ("first", "second", "third"):
            await ledger_of(app).join_waitlist(SHOW, actor)
        await until(pilot, lambda: len(app.main.waitlist.shown_actors) == 3, "three waiting")
        assert [pane(app, a)[0] for a in ("first", "second", "third")] == ["1", "2", "3"]
        await ledger_of(app).leave_waitlist(SHOW, "first")
        await until(pilot, lambda: app.main.waitlist.shown_actors == ["second", "third"], "left")
        assert [pane(app, a)[0] for a in ("second", "third")] == ["1", "2"]


async def test_waited_for_ticks_with_the_clock(
    house_db: str, make_app: Callable[..., BoxOfficeApp], clock: Any
) -> None:
    async with sold_out(make_app, house_db) as (app, pilot):
        await ledger_of(app).join_waitlist(SHOW, "Grace")
        await until(pilot, lambda: "Grace" in app.main.waitlist.shown_actors, "Grace's line")
        clock.advance(minutes=12)
        app.tick()
        assert pane(app, "Grace")[4] == "12m"


async def test_cancel_frees_a_seat_and_the_first_fitting_waiter_is_offered(
    house_db: str, make_app: Callable[..., BoxOfficeApp], answers: Answers
) -> None:
    async with sold_out(make_app, house_db, answers) as (app, pilot):
        ledger = ledger_of(app)
        await ledger.join_waitlist(SHOW, "Party of 3", seats=3)
        await ledger.join_waitlist(SHOW, "Solo")
        await ledger.join_waitlist(SHOW, "Second solo")
        await until(pilot, lambda: len(app.main.waitlist.shown_actors) == 3, "three waiting")
        await pilot.press("l")  # the event log, to see the offer it derives
        app.main.roster.focus()
        app.main.roster.move_cursor(row=1)
        assert app.main.roster.selected_actor == "bob"
        await pilot.press("d")
        await say_yes(pilot)
        await answers.next(pilot)
        # one seat is free: the party of 3 does not fit and keeps its place; Solo is offered
        await until(pilot, lambda: "Solo" in app.main.roster.shown_actors, "Solo's offer")
        assert cell(app, "Solo", "state") == "✉ OFFERED 10:00"
        assert cell(app, "cy", "state") == "◷ HELD 10:00"  # a hold reads differently
        assert app.main.waitlist.shown_actors == ["Solo", "Party of 3", "Second solo"]
        assert pane(app, "Solo")[:3] == ("—", "✉ OFFERED 10:00", "Solo")
        assert pane(app, "Party of 3")[:2] == ("1", "… WAITING")
        await until(
            pilot, lambda: house_cell(app, SHOW, "left") == "SOLD OUT · 2 waiting", "the house"
        )
        log = app.main.log_table
        await until(pilot, lambda: len(log.offers) == 1, "the derived offer in the log")
        row = [str(c.plain) for c in log.get_row_at(log.row_count - 1)]
        assert row[1:] == ["19:00:00\nuntil 19:10", "✉ offer", "Solo · 1 seat", "(derived)"]
        events = await ledger.events(SHOW)
        assert events[-1].type == "cancel", "no event holds the offer"


async def drawn_log_with_an_offer(
    make_app: Callable[..., BoxOfficeApp], db: str, size: tuple[int, int]
) -> list[str]:
    """The event log's lines as drawn at ``size``, after the fold offered Solo bob's seat."""
    app = make_app(db)
    async with app.run_test(size=size) as pilot:
        await opened(pilot)
        ledger = ledger_of(app)
        for actor in ("dee", "eve"):
            await ledger.book(SHOW, actor)
        await ledger.join_waitlist(SHOW, "Solo")
        await ledger.cancel(SHOW, "bob")
        await pilot.press("l")
        log = app.main.log_table
        await until(pilot, lambda: len(log.offers) == 1, "the derived offer")
        await until(pilot, lambda: log.cursor_row == log.row_count - 1, "the log's end")
        await pilot.pause()
        return [log.render_line(y).text for y in range(log.size.height)]


async def test_an_offers_until_is_drawn_in_view_in_the_log_at_80x24_and_140x40(
    house_db: str, make_app: Callable[..., BoxOfficeApp]
) -> None:
    """The time an offer stands until was cut off the end of the Actor cell (issue 13)."""
    for size in ((80, 24), (140, 40)):
        drawn = await drawn_log_with_an_offer(make_app, house_db, size)
        assert any("until 19:10" in line for line in drawn), (size, drawn)
        assert any("✉ offer" in line for line in drawn), (size, drawn)


async def test_a_lapsed_offer_passes_on_without_a_write(
    house_db: str, make_app: Callable[..., BoxOfficeApp], clock: Any
) -> None:
    async with sold_out(make_app, house_db) as (app, pilot):
        await offer_bobs_seat_to_solo(app, pilot)
        await pilot.press("l")
        await until(pilot, lambda: len(app.main.log_table.offers) == 1, "the first offer")
        head = await last_seq(app)
        clock.advance(minutes=4)
        app.tick()
        assert cell(app, "Solo", "state") == "✉ OFFERED 6:00", "the countdown ticks"
        clock.advance(minutes=6)  # Solo's offer lapses: the fold passes it to Next
        app.tick()
        await until(pilot, lambda: "Next" in app.main.roster.shown_actors, "Next's offer")
        assert cell(app, "Next", "state") == "✉ OFFERED 10:00"
        assert cell(app, "Solo", "state") == "✖ LAPSED"
        await until(pilot, lambda: len(app.main.log_table.offers) == 2, "the second offer")
        assert [o.actor for o in app.main.log_table.offers] == ["Solo", "Next"]
        assert app.main.waitlist.shown_actors == ["Next"]
        assert await last_seq(app) == head, "time alone passed the offer on"


async def test_confirm_an_offer_from_the_waiting_list(
    house_db: str, make_app: Callable[..., BoxOfficeApp], answers: Answers
) -> None:
    async with sold_out(make_app, house_db, answers) as (app, pilot):
        ledger = ledger_of(app)
        await ledger.join_waitlist(SHOW, "Solo")
        await ledger.cancel(SHOW, "bob")
        await until(pilot, lambda: "Solo" in app.main.waitlist.shown_actors, "Solo's offer")
        app.main.waitlist.focus()
        await pilot.press("c")  # the offered line: the same question as a hold's
        assert isinstance(app.screen, ConfirmScreen) and "Solo" in str(app.screen.question)
        await say_yes(pilot)
        assert (await answers.next(pilot)).text == "Confirmed: seat 5 for Solo"
        await until(pilot, lambda: cell(app, "Solo", "state") == "✔ CONFIRMED", "confirmed")
        await until(pilot, lambda: not app.main.waitlist.shown_actors, "the offer leaves the pane")


async def ask_and_say_no(pilot: Pilot[Any], key: str) -> str:
    """Press ``key`` on the roster's selected row; the question's words, then "no"."""
    app = pilot.app
    await pilot.press(key)
    assert isinstance(app.screen, ConfirmScreen)
    words = str(app.screen.question)
    await pilot.press("escape")
    await until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "the question closed")
    return words


async def test_release_and_cancel_questions_say_the_waiting_list_comes_before_the_sale(
    house_db: str, make_app: Callable[..., BoxOfficeApp], clock: Any
) -> None:
    """SPEC §4.5: freed seats are offered to the first waiters that fit, else go on sale."""
    async with sold_out(make_app, house_db) as (app, pilot):
        ledger = ledger_of(app)
        await offer_bobs_seat_to_solo(app, pilot)  # Solo is offered bob's seat; Next waits
        await until(
            pilot, lambda: house_cell(app, SHOW, "left") == "SOLD OUT · 1 waiting", "the house"
        )
        before = await last_seq(app)
        roster = app.main.roster
        roster.focus()
        roster.move_cursor(row=roster.shown_actors.index("Solo"))
        on_offer = await ask_and_say_no(pilot, "u")
        assert "Solo declines the offer." in on_offer
        assert "goes to the first waiting party it fits (1 waiting), else back on sale" in on_offer
        assert "at once" not in on_offer
        cancel_offer = await ask_and_say_no(pilot, "d")
        assert "(1 waiting), else back on sale. This cannot be undone." in cancel_offer
        roster.move_cursor(row=roster.shown_actors.index("cy"))  # a plain hold, Next waiting
        on_hold = await ask_and_say_no(pilot, "u")
        assert "declines" not in on_hold and "(1 waiting), else back on sale" in on_hold
        assert await last_seq(app) == before, "no question answered yes"
        await ledger.leave_waitlist(SHOW, "Next")  # nobody waits: straight back on sale
        before += 1
        await until(pilot, lambda: house_cell(app, SHOW, "left") == "SOLD OUT", "nobody waits")
        assert "The seat goes back on sale at once." in await ask_and_say_no(pilot, "u")
        roster.move_cursor(row=roster.shown_actors.index("Solo"))
        last_offer = await ask_and_say_no(pilot, "u")
        assert "Solo declines the offer. The seat goes back on sale at once." in last_offer
        clock.advance(minutes=10)  # Solo's offer lapses: nothing to decline, nothing freed
        app.tick()
        await until(pilot, lambda: cell(app, "Solo", "state") == "✖ LAPSED", "the lapse")
        lapsed = await ask_and_say_no(pilot, "u")
        assert "declines" not in lapsed and "It has lapsed: its seats are free already" in lapsed
        assert "cannot be undone" not in await ask_and_say_no(pilot, "d")
        assert await last_seq(app) == before, "no question answered yes"


def test_a_partys_cancel_question_says_where_its_seats_go() -> None:
    party = SeatRecord(5, "Smiths", "confirmed", None, None, "op", ref=57, seats=4)
    aim = Aim("k", None, "Smiths", party, 0, None)

    def words(seats: int | None, waiting: int) -> str:
        return str(cancel_question(aim, SeatsToCancel("Smiths", seats), party, waiting).question)

    assert "All 4 seats go back on sale at once. This cannot" in words(None, 0)
    assert "All 4 seats go to the first waiting parties they fit (3 waiting)" in words(None, 3)
    assert "2 seats go back on sale at once; Smiths keeps 2 (same place, ref #57)" in words(2, 0)
    assert (
        "1 seat goes to the first waiting party it fits (2 waiting), else back on sale; "
        "Smiths keeps 3" in words(1, 2)
    )


async def test_leave_the_list_asks_naming_the_party_and_no_is_the_default(
    house_db: str, make_app: Callable[..., BoxOfficeApp], answers: Answers
) -> None:
    async with sold_out(make_app, house_db, answers) as (app, pilot):
        await ledger_of(app).join_waitlist(SHOW, "Grace", seats=2)
        await until(pilot, lambda: "Grace" in app.main.waitlist.shown_actors, "Grace's line")
        before = await last_seq(app)
        app.main.waitlist.focus()
        await pilot.press("x")
        assert isinstance(app.screen, ConfirmScreen)
        question = str(app.screen.question)
        assert "Grace" in question and "2 seats" in question and "1st in line" in question
        await pilot.press("enter")  # a stray Enter keeps the party waiting
        await answers.notice(pilot, "Still on the waiting list")
        assert await last_seq(app) == before
        await pilot.press("x")
        await say_yes(pilot)
        assert (await answers.next(pilot)).text == "Left the waiting list: Grace"
        await until(pilot, lambda: not app.main.waitlist.shown_actors, "Grace gone")
        assert await ledger_of(app).waitlist(SHOW) == []


async def test_hostile_names_are_literal_in_the_pane_the_roster_and_the_log(
    house_db: str, make_app: Callable[..., BoxOfficeApp]
) -> None:
    async with sold_out(make_app, house_db) as (app, pilot):
        ledger = ledger_of(app)
        await ledger.join_waitlist(SHOW, MARKUP, note="[red]call[/]")
        await until(pilot, lambda: MARKUP in app.main.waitlist.shown_actors, "the line")
        assert pane(app, MARKUP)[2] == MARKUP and pane(app, MARKUP)[6] == "[red]call[/]"
        await pilot.press("l")
        await ledger.cancel(SHOW, "bob")
        await until(pilot, lambda: MARKUP in app.main.roster.shown_actors, "the offer")
        assert cell(app, MARKUP, "actor") == MARKUP
        await until(pilot, lambda: len(app.main.log_table.offers) == 1, "the log's offer")
        log = app.main.log_table
        text = str(log.get_row_at(log.row_count - 1)[3].plain)
        assert text.startswith(MARKUP + " · 1 seat")
        assert app.is_running


async def test_the_waiting_list_commands_are_in_the_palette(
    house_db: str, make_app: Callable[..., BoxOfficeApp]
) -> None:
    async with sold_out(make_app, house_db) as (app, pilot):
        titles = {c.title for c in app.get_system_commands(app.screen)}
        assert {"Waiting list", "Join waiting list", "Leave waiting list"} <= titles
        await pilot.press("ctrl+p")
        await pilot.press(*"Join waiting list")
        await until(
            pilot,
            lambda: (
                isinstance(app.screen, CommandPalette)
                and app.screen.query_one(CommandList).option_count > 0
            ),
            "palette hits",
        )
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, WaiterForm), "the waiter form")


def test_the_house_words_and_the_waited_for_format() -> None:
    from store.ledger.outcomes import OccurrenceRecord

    def rec(occupied: int, capacity: int, waiting: int) -> OccurrenceRecord:
        left = max(0, capacity - occupied)
        return OccurrenceRecord(
            "k", None, None, capacity, None, occupied, 0, occupied, left, 0, 0, waiting
        )

    assert availability(rec(5, 5, 12)).plain == "SOLD OUT · 12 waiting"
    assert availability(rec(5, 5, 12), compact=True).plain == "FULL · 12 waiting"
    assert availability(rec(5, 5, 0)).plain == "SOLD OUT"
    assert availability(rec(3, 5, 2)).plain == "2/5 left · 2 waiting"  # parties too big
    assert availability(rec(7, 5, 1)).plain == "OVER +2 · 1 waiting"
    assert [waited_for(timedelta(seconds=s)) for s in (45, 720, 3900, 90000)] == [
        "45s",
        "12m",
        "1h05",
        "1d01h",
    ]
