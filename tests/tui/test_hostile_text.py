"""Names that look like markup or carry terminal escapes are shown literally, everywhere.

Markup-looking names are valid input (brackets are fine in a name), so they
come in through the ledger; escape sequences are refused by validation today
but may sit in a database written by hand or by an older version, so they are
appended to the stream directly.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from support.pilot import Answers, say_yes, until
from textual.content import Content
from textual.widgets import Input, Static

from store import open_store
from store.booking import Ledger
from store.ledger.fold import stream_of
from store.ledger.provenance import event_meta
from tui.app import BoxOfficeApp
from tui.screens.confirm import ConfirmScreen
from tui.screens.forms import FormScreen

SIZE = (150, 36)
KEY = "hostile"
TITLE = "[@click=app.quit]Gala[/]"
MARKUP = ["[bold]x", "[/]", "[@click=app.quit]x", "[link=https://evil.example]pay[/link]"]
ESCAPES = ["\x1b[2J\x1b[31mred", "bell\x07 and\ttab", "\u202eevil"]
OPERATOR = "[red]op[/]"


def shown(text: str) -> str:
    """What the app shows for an old name: each hidden character as ``\\u{XXXX}``."""
    from tui.cli.safe_text import printable

    return printable(text)


async def seed_hostile(db: str, clock: Any) -> None:
    async with open_store(db, create=True) as store:
        ledger = Ledger(store, clock=clock, operator=OPERATOR)
        await ledger.create_occurrence(KEY, capacity=20, title=TITLE)
        for actor in MARKUP:
            await ledger.book(KEY, actor)
        for actor in ESCAPES:  # old data: written past today's validation
            await store.append(
                stream_of(KEY),
                "booking",
                {"actor": actor},
                event_meta("old\x1b[5mversion", clock()),
            )


@pytest.fixture
def hostile_db(tmp_path: Path, clock: Any) -> str:
    folder = tmp_path / "[bold]box"
    folder.mkdir()
    db = str(folder / "[@click=app.quit]h.db")
    asyncio.run(seed_hostile(db, clock))
    return db


def title_of(widget: Any) -> str:
    """A border title as drawn.

    The public getter hands it back as markup, and Textual's own escaping does
    not round-trip ``[/`` (a Textual quirk, not ours), so read the Content drawn.
    """
    title = widget._border_title
    return title.plain if title is not None else ""


def text_of(widget: Any) -> str:
    rendered = widget.render()
    return rendered.plain if isinstance(rendered, Content) else str(rendered)


async def test_hostile_names_in_every_widget(
    hostile_db: str, make_app: Callable[..., BoxOfficeApp], answers: Answers
) -> None:
    app = make_app(hostile_db, operator="[b]me[/b]")
    names = MARKUP + [shown(a) for a in ESCAPES]
    async with app.run_test(size=SIZE, message_hook=answers) as pilot:
        await until(pilot, lambda: len(app.main.roster.shown_actors) == 7, "the hostile roster")
        # roster: actor and operator cells are the literal text
        roster = app.main.roster
        assert [roster.get_cell(a, "actor").plain for a in roster.shown_actors] == names
        assert roster.get_cell("[/]", "operator").plain == OPERATOR
        assert roster.get_cell(ESCAPES[0], "operator").plain == shown("old\x1b[5mversion")
        # house: the title
        assert app.main.house.get_cell(KEY, "show").plain == f"{TITLE} {KEY}"
        assert TITLE in title_of(app.main.roster)
        # header: database path and operator
        header = text_of(app.query_one("#header"))
        assert "[b]me[/b]" in header and "[bold]box/[@click=app.quit]h.db" in header
        # event log
        await pilot.press("l")
        await until(pilot, lambda: app.main.log_table.last_seq == 8, "the log")
        log_actors = [app.main.log_table.get_cell(str(s), "actor").plain for s in range(2, 9)]
        assert log_actors == names
        assert TITLE in app.main.log_table.get_cell("1", "actor").plain
        # nothing on screen carries a raw escape, and the literal names are drawn
        svg = app.export_screenshot()
        assert "\x1b" not in svg and "\x07" not in svg
        for name in ("[bold]x", "[@click=app.quit]x", "\\u{001B}[2J"):
            assert name in svg

        # a form's heading shows the title literally
        app.main.house.focus()
        await pilot.press("b")
        assert isinstance(app.screen, FormScreen)
        assert TITLE in text_of(app.screen.query_one(".form-heading", Static))
        await pilot.press("escape")

        # acting on a hostile row: answers and the cancel question quote it literally
        roster.focus()
        roster.move_cursor(row=2)
        assert roster.selected_actor == "[@click=app.quit]x"
        await pilot.press("c")  # the question quotes it literally
        assert isinstance(app.screen, ConfirmScreen)
        assert "[@click=app.quit]x" in text_of(app.screen.query_one(".form-heading", Static))
        await say_yes(pilot)
        assert (await answers.next(pilot)).text == (
            "Already confirmed: seat 3 for [@click=app.quit]x"
        )
        notice = await answers.notice(pilot, "Already confirmed")
        assert notice.markup is False
        await pilot.press("d")
        assert isinstance(app.screen, ConfirmScreen)
        assert "[@click=app.quit]x" in text_of(app.screen.query_one(".form-heading", Static))
        await pilot.press("n")

        # clicking the name that looks like a quit link does nothing of the sort
        await pilot.click("#roster", offset=(12, 4))  # border, header, rows 0 and 1, then it
        assert roster.selected_actor == "[@click=app.quit]x"
        await pilot.pause()
        assert app.is_running and app.return_code is None
        await pilot.press("slash")
        app.query_one("#filter", Input).value = "[/"
        await pilot.pause()
        assert roster.shown_actors == ["[/]", MARKUP[3]]
        assert "filter [/: 2 shown" in title_of(roster)
