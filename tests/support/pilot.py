"""Helpers for the app's tests: the seeded house, waiting for a condition, answers seen.

Waiting is always for a condition, through ``pilot.pause()``, bounded by a
deadline: never a bare sleep standing in for synchronisation.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from textual.message import Message
from textual.notifications import Notification, Notify
from textual.pilot import Pilot

from store import open_store
from store.booking import Ledger
from tui.app import BoxOfficeApp
from tui.messages import CommandAnswered

Clock = Any  # tests/conftest.py's ManualClock: call it for now, .advance() to move it

#: The house every app test starts from (hostile tests add their own).
SHOW = "show-1"
CAPACITY = 5
DEADLINE = 10.0


async def seed_house(db: str, clock: Clock) -> None:
    """``show-1``: capacity 5, ada and bob confirmed, cy held for 10 minutes."""
    async with open_store(db, create=True) as store:
        ledger = Ledger(store, clock=clock, operator="seed")
        await ledger.create_occurrence(
            SHOW,
            capacity=CAPACITY,
            title="Opening Night",
            starts_at=clock() + timedelta(days=1),
            hold_ttl=timedelta(minutes=10),
        )
        await ledger.book(SHOW, "ada")
        await ledger.book(SHOW, "bob")
        await ledger.hold(SHOW, "cy")


async def until(pilot: Pilot[Any], condition: Callable[[], object], what: str) -> None:
    """Let the app run until ``condition()`` holds; fail after DEADLINE seconds."""
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.02)


async def opened(pilot: Pilot[Any], key: str = SHOW) -> BoxOfficeApp:
    """Wait for the house to be read and ``key``'s roster on screen."""
    app = pilot.app
    assert isinstance(app, BoxOfficeApp)
    await until(pilot, lambda: app.main.selected == key and app.main.roster.total > 0, "the roster")
    return app


class Answers:
    """Answers and notices the app posted, collected by ``run_test(message_hook=...)``."""

    def __init__(self) -> None:
        self.seen: list[CommandAnswered] = []
        self.notices: list[Notification] = []

    def __call__(self, message: Message) -> None:
        if isinstance(message, CommandAnswered):
            self.seen.append(message)
        elif isinstance(message, Notify):
            self.notices.append(message.notification)

    async def notice(self, pilot: Pilot[Any], needle: str) -> Notification:
        """Wait for a notification whose text contains ``needle``."""

        def found() -> Notification | None:
            return next((n for n in self.notices if needle in n.message), None)

        await until(pilot, found, f"a notice saying {needle!r}")
        notice = found()
        assert notice is not None
        return notice

    @property
    def texts(self) -> list[str]:
        return [m.text for m in self.seen]

    async def next(self, pilot: Pilot[Any], count: int = 1) -> CommandAnswered:
        await until(pilot, lambda: len(self.seen) >= count, f"answer #{count}")
        return self.seen[count - 1]


async def say_yes(pilot: Pilot[Any]) -> None:
    """Answer the open question yes, as an operator must: with the button (no letter does it)."""
    app = pilot.app

    def button_drawn() -> bool:
        found = app.screen.query("#yes")
        return bool(found) and found.first().region.area > 0

    await until(pilot, button_drawn, "the question's yes button")
    await pilot.click("#yes")
