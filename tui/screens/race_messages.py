"""What the racers panel's workers tell it: plans, phases, events and endings, per lane.

Every source (a single live race, the side-by-side rounds, a played-back
recording) speaks these same messages, so the screen draws them the same way.
A lane is addressed by ``run``: 0 for a single race, 0 (the seed's) and 1
(ours) side by side, the recording's run numbers in playback.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.message import Message

from store.racers import Race, RacePlan, RacerEvent, RaceSummary
from tui.live import Reading


@dataclass
class FeedRead(Message, bubble=False):
    """The change feed read something: house lines (the occurrence list) or a roster."""

    reading: Reading


@dataclass
class LanesPlanned(Message, bubble=False):
    """A race (or round, or playback) is about to start: one plan and capacity per lane."""

    plans: list[RacePlan]
    capacities: list[int]
    note: str = ""


@dataclass
class RaceStarted(Message, bubble=False):
    """A live single race's processes are up and released."""

    race: Race


@dataclass
class LanesReleased(Message, bubble=False):
    """The barrier was released: ``starts[run]`` is the instant that lane's events count from."""

    starts: list[float]
    pids: list[int] = field(default_factory=list)


@dataclass
class RacersMoved(Message, bubble=False):
    """A batch of racer events for one lane."""

    events: list[RacerEvent]
    run: int = 0


@dataclass
class LanesEnded(Message, bubble=False):
    """Every lane's run finished, was stopped, or failed before it could start."""

    summaries: list[RaceSummary | None]
    error: str | None = None
    note: str = ""


@dataclass
class RoundNote(Message, bubble=False):
    """A line for the status bar (a round's outcome, what happens next)."""

    text: str
    state: str = "pending"  # pending, ok, bad
