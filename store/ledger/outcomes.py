"""What the ledger answers: statuses, outcomes and the records its reads return."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Status(StrEnum):
    """The word a command answers with; ``str(status)`` is the word itself."""

    CREATED = "created"
    EXISTS = "exists"
    CAPACITY_SET = "capacity-set"
    BOOKED = "booked"
    HELD = "held"
    ALREADY = "already"
    FULL = "full"
    CONFIRMED = "confirmed"
    ALREADY_CONFIRMED = "already-confirmed"
    NOT_HELD = "not-held"
    EXPIRED = "expired"
    RELEASED = "released"
    CANCELLED = "cancelled"
    NOT_BOOKED = "not-booked"
    CONFLICT = "conflict"
    # parties, notes and the door (SPEC §4.2, §4.3)
    CHECKED_IN = "checked-in"
    ALREADY_CHECKED_IN = "already-checked-in"
    NOT_CONFIRMED = "not-confirmed"
    NOTED = "noted"
    # the waiting list (SPEC §4.5)
    WAITING = "waiting"
    OFFERED = "offered"
    LEFT = "left"
    NOT_WAITING = "not-waiting"
    # looking after occurrences (SPEC §4.4)
    UPDATED = "updated"
    ARCHIVED = "archived"
    ALREADY_ARCHIVED = "already-archived"
    RESTORED = "restored"
    NOT_ARCHIVED = "not-archived"
    CLOSED = "closed"


#: Statuses that wrote (or, for `expired` from confirm, may have written) an event.
SUCCESSES = frozenset(
    {
        Status.CREATED,
        Status.CAPACITY_SET,
        Status.BOOKED,
        Status.HELD,
        Status.CONFIRMED,
        Status.RELEASED,
        Status.CANCELLED,
        Status.CHECKED_IN,
        Status.NOTED,
        Status.WAITING,
        Status.OFFERED,
        Status.LEFT,
        Status.UPDATED,
        Status.ARCHIVED,
        Status.RESTORED,
    }
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One command's answer.

    ``seat`` is set whenever the actor holds a seat after the command (the first
    seat of its party's block), and then ``seats`` (the party's size) and ``ref``
    (the seq it joined by) are too; ``attempts`` counts tries, so retries =
    attempts - 1.
    """

    status: Status
    actor: str | None = None
    seat: int | None = None
    capacity: int | None = None
    expires_at: datetime | None = None
    actual: int | None = None
    attempts: int = 1
    seats: int | None = None
    ref: int | None = None
    position: int | None = None
    seats_left: int | None = None
    #: why a ``conflict`` wrote nothing ("another process (pid 7262) has held the write
    #: turn for 5 s"); None for every other status
    reason: str | None = None
    #: the stream already held this request id's write: nothing new was written (SPEC §4.6)
    replayed: bool = False

    @property
    def ok(self) -> bool:
        return self.status in SUCCESSES


@dataclass(frozen=True, slots=True)
class SeatRecord:
    """One line of the roster: the one row type every reader gets (CLI, app, racers)."""

    seat: int | None  # None only for a lapsed hold in a view's rows (it has no seat)
    actor: str
    state: str  # "held" or "confirmed"; "lapsed" in a view's rows until the lapse is recorded
    joined_at: datetime | None
    expires_at: datetime | None
    operator: str | None
    ref: int = 0  # the seq of the event the actor joined by: never renumbered (SPEC §4.2)
    seats: int = 1  # the party's size; ``seat`` is the first seat of its block
    note: str | None = None
    checked_in_at: datetime | None = None
    offered: bool = False


@dataclass(frozen=True, slots=True)
class WaiterRecord:
    """One party on the waiting list, in list order (SPEC §4.5)."""

    position: int
    actor: str
    seats: int
    ref: int
    joined_at: datetime | None
    note: str | None
    operator: str | None = None


@dataclass(frozen=True, slots=True)
class OccurrenceRecord:
    """An occurrence as a list of occurrences shows it."""

    key: str
    title: str | None
    starts_at: str | None
    capacity: int
    hold_ttl: timedelta | None
    occupied: int
    held: int
    confirmed: int
    seats_left: int
    seq: int = 0
    checked_in: int = 0  # seats, like occupied, held and confirmed
    waiting: int = 0
    waiting_seats: int = 0
    demo: bool = False  # made for a demonstration (SPEC §4.4): racers aim here, not at a show
    archived: bool = False  # left out of occurrences() and find(); book and hold answer closed
    offer_ttl: timedelta | None = None  # how long a waiting-list offer lasts (None: hold_ttl)
