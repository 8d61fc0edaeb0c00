"""What the app's workers tell the screen: past-tense facts, as small dataclasses.

Workers do the I/O and post these; handlers only touch widgets, so the screen
never waits on the database.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from store.ledger.views import OccurrenceView
from tui.live import Reading


@dataclass
class FeedRead(Message, bubble=False):
    """The live feed read what changed (or what the screen asked for)."""

    reading: Reading


@dataclass
class RosterRecalled(Message, bubble=False):
    """The occurrence as it stood at ``seq`` (time travel), refolded from the log."""

    key: str
    seq: int
    view: OccurrenceView


@dataclass
class LiveChanged(Message, bubble=False):
    """The live feed is (or is no longer) reaching the database."""

    live: bool
    detail: str = ""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, LiveChanged)


@dataclass
class DatabaseGone(Message, bubble=False):
    """The database file was replaced or removed under the app: nothing more goes to it."""

    detail: str


@dataclass
class CommandAnswered(Message, bubble=False):
    """The ledger answered an operator's command; ``text`` says what happened, in words."""

    action: str
    key: str | None
    text: str
    ok: bool


@dataclass
class HouseOpened(Message):
    """The store is open; ``empty`` when it holds no events at all (a first run)."""

    empty: bool
    demo_refused: bool = False  # --demo on a database that already has events
