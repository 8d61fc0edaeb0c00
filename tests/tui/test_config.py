"""The config file and the log: settings reach the app, bad ones are one line, writes are logged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from support.pilot import SHOW, Answers, opened, say_yes, until
from textual.widgets import Input

from store import open_store
from tui.app import BoxOfficeApp
from tui.config import Config, ConfigError, load, open_log
from tui.screens.forms import FormScreen, OperatorForm

SIZE = (140, 40)


def test_every_setting_is_read(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        'database = "/srv/box.db"\noperator = "Ines"\nzone = "Europe/Berlin"\n'
        'theme = "textual-light"\n[keymap]\nbook = "ctrl+b"\n'
    )
    config = load(path)
    assert config == Config(
        "/srv/box.db", "Ines", ZoneInfo("Europe/Berlin"), "textual-light", {"book": "ctrl+b"}
    )
    assert load(tmp_path / "missing.toml") == Config()


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ('zone = "Mars/Olympus"', "zone 'Mars/Olympus'"),
        ("operator = 3", "operator must be"),
        ('colour = "red"', "unknown setting 'colour'"),
        ("keymap = 1", "keymap must be"),
        ("operator = ", "config.toml"),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(tmp_path: Path, text: str, needle: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text + "\n")
    with pytest.raises(ConfigError) as raised:
        load(path)
    assert needle in str(raised.value) and "\n" not in str(raised.value)


async def test_zone_theme_and_keymap_are_applied_and_writes_logged(
    house_db: str, make_app: Callable[..., BoxOfficeApp], tmp_path: Path, answers: Answers
) -> None:
    log = open_log(tmp_path / "logs" / "boxoffice.log")
    config = Config(zone=ZoneInfo("Europe/Berlin"), theme="textual-light", keymap={"book": "x"})
    app = make_app(house_db, tz=None, config=config, log=log)
    async with app.run_test(size=SIZE, message_hook=answers) as pilot:
        await opened(pilot)
        assert app.theme == "textual-light"
        assert "20:00:00 Europe/Berlin" in str(app.main.header.render())  # 19:00 UTC
        await pilot.press("x")
        assert isinstance(app.screen, FormScreen)
        app.screen.query_one("#actor", Input).value = "dee"
        await pilot.press("enter")
        await answers.next(pilot)
        app.main.roster.focus()
        await pilot.press("d")
        await say_yes(pilot)
        await answers.next(pilot, 2)
    for handler in log.handlers:
        handler.flush()
    written = (tmp_path / "logs" / "boxoffice.log").read_text()
    assert "book show-1: Booked: seat 4 for dee" in written
    assert "cancel_seat show-1: Cancelled: ada's seat; it is free again" in written


async def test_a_database_error_shown_is_logged(
    house_db: str, make_app: Callable[..., BoxOfficeApp], tmp_path: Path, answers: Answers
) -> None:
    log = open_log(tmp_path / "errors.log")
    app = make_app(house_db, log=log)
    async with app.run_test(size=SIZE, message_hook=answers) as pilot:
        await opened(pilot)
        assert app.store is not None
        await app.store.close()
        await pilot.press("b", *"dee", "enter")
        await answers.notice(pilot, "book: ")
    for handler in log.handlers:
        handler.flush()
    assert "ERROR book: " in (tmp_path / "errors.log").read_text()


async def test_the_operator_is_asked_once_when_none_is_configured(
    house_db: str, make_app: Callable[..., BoxOfficeApp], answers: Answers
) -> None:
    app = make_app(house_db, operator=None, ask_operator=True)
    async with app.run_test(size=SIZE, message_hook=answers) as pilot:
        await until(pilot, lambda: isinstance(app.screen, OperatorForm), "the question")
        await pilot.press("escape")  # no skipping it
        assert isinstance(app.screen, OperatorForm)
        field = app.screen.query_one("#operator", Input)
        assert field.value == "" and "not the login" in field.placeholder  # a hint, no value
        await pilot.press("enter")  # an empty name is refused, the question stays
        assert isinstance(app.screen, OperatorForm)
        app.screen.query_one("#operator", Input).value = "Ines Night"
        await pilot.press("enter")
        await opened(pilot)
        assert "operator Ines Night" in str(app.main.header.render())
        await pilot.press("b", *"dee", "enter")
        await answers.next(pilot)
    async with open_store(house_db) as store:
        events = await store.read(f"booking:{SHOW}")
    assert events[-1].meta.get("operator") == "Ines Night"
