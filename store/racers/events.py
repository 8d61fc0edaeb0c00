"""What a racer reports, step by step, so a watcher sees each conflict and retry as it happens."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """What a racer just did or learned."""

    ATTEMPT = "attempt"
    CONFLICT = "conflict"
    RETRY = "retry"
    HELD = "held"
    FULL = "full"
    ALREADY = "already"
    GAVE_UP = "gave-up"
    CONFIRMED = "confirmed"
    RELEASED = "released"
    ERROR = "error"
    # the waiting list (``RacePlan.waitlist``)
    CANCELLED = "cancelled"  # a winner gave its seat back for the waiters
    WAIT_LISTED = "wait-listed"  # told full, it joined the waiting list
    OFFERED = "offered"  # the fold offered it seats (``seq``: the ref of its `wait`)
    LEFT = "left"  # it left the list unoffered once the house was quiet


@dataclass(frozen=True, slots=True)
class RacerEvent:
    """One step of one racer, reported as it happens.

    ``at`` is ``time.monotonic()`` in the racer's process; on Linux (and macOS)
    that clock is system-wide, so instants from different processes compare.
    """

    kind: Kind
    racer: int
    actor: str
    process: int
    at: float
    attempt: int = 0
    expected: int | None = None  # the seq the racer's snapshot had
    actual: int | None = None  # the stream's seq when the append was refused
    seq: int | None = None  # the seq of the event a success wrote
    seat: int | None = None
    delay: float | None = None  # the backoff before the next attempt
    detail: str | None = None
