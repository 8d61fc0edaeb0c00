"""The app when its database file is replaced or removed under it (issue 12, row 6).

The open store still reaches the old inode, which no other terminal sees. The app
must not crash, must write nothing more, and must say so for good: a banner that
stays, the header offline, and every later write refused with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from support.pilot import SHOW, Answers, opened, until

from store import open_store
from store.ledger.fold import stream_of
from tui.app import BoxOfficeApp
from tui.screens.forms import FormScreen
from tui.widgets.header import OFFLINE

SIZE = (100, 30)


async def _replace(house_db: str, tmp_path: Path) -> None:
    fresh = str(tmp_path / "fresh.db")
    async with open_store(fresh, create=True):
        pass
    os.replace(fresh, house_db)


async def test_the_live_feed_notices_a_replaced_file_and_writes_are_refused(
    make_app: Callable[..., BoxOfficeApp], house_db: str, tmp_path: Path, answers: Answers
) -> None:
    app = make_app(house_db)
    async with app.run_test(size=SIZE, message_hook=answers) as pilot:
        await opened(pilot)
        await _replace(house_db, tmp_path)
        # nobody writes: the feed itself finds the file gone (it looks once a second)
        await until(pilot, lambda: app.main.gone is not None, "the feed to notice")
        banner = str(app.main.gone_banner.render())
        assert app.main.gone_banner.display
        assert "DATABASE GONE" in banner and "replaced or removed" in banner
        assert app.main.header.status == OFFLINE
        await answers.notice(pilot, "the database file was replaced or removed")

        app.main.roster.focus()
        await pilot.press("b")  # no form: the write is refused before it is asked for
        assert not isinstance(app.screen, FormScreen)
        await answers.notice(pilot, "Not written: ")
        assert app.is_running
        assert app.main.gone_banner.display  # it stays
    async with open_store(house_db) as replacement:
        assert await replacement.read(stream_of(SHOW)) == []


async def test_a_write_into_a_replaced_file_is_refused_and_said_for_good(
    make_app: Callable[..., BoxOfficeApp], house_db: str, tmp_path: Path, answers: Answers
) -> None:
    app = make_app(house_db)
    async with app.run_test(size=SIZE, message_hook=answers) as pilot:
        await opened(pilot)
        assert app.store is not None
        before = await app.store.last_seq(stream_of(SHOW))
        await pilot.press("b")
        assert isinstance(app.screen, FormScreen)
        await pilot.press(*"dee")
        await _replace(house_db, tmp_path)  # between the form and its Enter
        await pilot.press("enter")
        notice = await answers.notice(pilot, "nothing was written")
        assert "the database file was replaced or removed" in notice.message
        assert "\n" not in notice.message
        await until(pilot, lambda: app.main.gone is not None, "the banner")
        assert app.main.gone_banner.display and app.is_running
        assert answers.seen == []  # no answer: nothing was booked
        # the old file got nothing either (read through the app's own open store)
        assert await app.store.last_seq(stream_of(SHOW)) == before
