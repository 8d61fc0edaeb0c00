"""What the app's workers tell the screen: past-tense facts, as small dataclasses.

Workers do the I/O and post these; handlers only touch widgets, so the screen
never waits on the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from textual.message import Message

from store.eventstore.events import Event
from tui.widgets.occurrences import HouseLine
from tui.widgets.roster import RosterRow


@dataclass
class StreamAdvanced(Message):
    """Events were committed (here or anywhere else) on these occurrences."""

    keys: set[str]
    position: int

    def can_replace(self, message: Message) -> bool:
        # A burst collapses to one refresh: the newer message takes our keys along.
        if isinstance(message, StreamAdvanced):
            message.keys |= self.keys
            message.position = max(message.position, self.position)
            return True
        return False


@dataclass
class HouseRead(Message):
    """Fresh lines for the occurrence list (only the occurrences that were read)."""

    lines: list[HouseLine]


@dataclass
class RosterRead(Message):
    """The selected occurrence's roster at ``now``, as of stream seq ``seq``."""

    key: str
    seq: int
    now: datetime | None
    rows: list[RosterRow]


@dataclass
class LogRead(Message):
    """Events of ``key``'s stream; ``reset`` when they start from seq 1."""

    key: str
    events: list[Event]
    reset: bool = False


@dataclass
class RosterRecalled(Message):
    """The roster as it stood at ``seq`` (time travel), refolded from the log."""

    key: str
    seq: int
    at: datetime | None
    rows: list[RosterRow]


@dataclass
class LiveChanged(Message):
    """The live feed is (or is no longer) reaching the database."""

    live: bool
    detail: str = ""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, LiveChanged)


@dataclass
class CommandAnswered(Message):
    """The ledger answered an operator's command; ``text`` says what happened, in words."""

    action: str
    key: str | None
    text: str
    ok: bool
    touched: set[str] = field(default_factory=set)


@dataclass
class HouseOpened(Message):
    """The store is open; ``empty`` when it holds no events at all (a first run)."""

    empty: bool
    demo_refused: bool = False  # --demo on a database that already has events
