"""The values an event store hands out: events and append conflicts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Event:
    """One committed entry of a stream.

    ``seq`` numbers the stream's events from 1 with no gaps; ``position`` orders
    every stream's events by commit, so a reader tailing by position never skips
    a committed event.
    """

    stream: str
    seq: int
    position: int
    type: str
    data: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Conflict:
    """The stream moved since the writer looked: nothing was written.

    Returned, not raised, because a conflict is the normal outcome of a race and
    the caller's next step (re-read, re-decide, retry) is ordinary control flow.
    """

    expected: int
    actual: int


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event not yet appended: what a writer hands to ``append_many_expect``."""

    type: str
    data: dict[str, Any]
    meta: dict[str, Any] = field(default_factory=dict)
