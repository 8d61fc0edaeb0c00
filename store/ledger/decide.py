"""The ledger's decisions: pure functions of the folded state and the instant.

A decision returns the command's answer and the events to append; it reads the
state and never changes it (the write path applies the events tentatively and
undoes them if the append loses a race), so each one is testable without a store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from store.ledger.fold import OccurrenceState, SeatState
from store.ledger.outcomes import Outcome, Status

Decision = tuple[Any, list[tuple[str, dict[str, Any]]]]
Decide = Callable[[OccurrenceState, "datetime | None"], Decision]


class UnknownOccurrence(LookupError):
    """No occurrence has that key (nothing was written)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"no occurrence {key!r}")
        self.key = key


def require(state: OccurrenceState, key: str) -> None:
    if not state.created:
        raise UnknownOccurrence(key)


def expiry(now: datetime | None, ttl: timedelta | None, default_s: float | None) -> datetime | None:
    """When a hold made at ``now`` lapses: its own ttl, else the occurrence's, else never."""
    if now is None:
        return None
    length = ttl if ttl is not None else None
    if length is None and default_s is not None:
        length = timedelta(seconds=default_s)
    if length is None:
        return None
    try:
        return now + length
    except OverflowError:  # a log whose clock ran to the calendar's end: never, in effect
        return datetime.max.replace(tzinfo=now.tzinfo)


def create(
    key: str,
    capacity: int,
    title: str | None,
    starts: str | None,
    ttl: timedelta | None,
    *,
    demo: bool = False,
) -> Decide:
    def decide(state: OccurrenceState, now: datetime | None) -> Decision:
        if state.created:
            return Outcome(Status.EXISTS, capacity=state.capacity), []
        data = {
            "title": title,
            "starts_at": starts,
            "capacity": capacity,
            "hold_ttl_s": ttl.total_seconds() if ttl is not None else None,
        }
        if demo:  # only when set: a real occurrence writes exactly the §2 shape
            data["demo"] = True
        return Outcome(Status.CREATED, capacity=capacity), [("created", data)]

    return decide


def set_capacity(key: str, capacity: int) -> Decide:
    def decide(state: OccurrenceState, now: datetime | None) -> Decision:
        require(state, key)
        return (
            Outcome(Status.CAPACITY_SET, capacity=capacity),
            [("capacity", {"capacity": capacity})],
        )

    return decide


def seated(
    status: Status, state: OccurrenceState, actor: str, now: datetime | None, **extra: Any
) -> Outcome:
    """An answer for an actor who holds seats after the command: seat, seats, ref (SPEC §4.2)."""
    member = state.members[actor]
    return Outcome(
        status,
        actor,
        seat=state.seat_at(actor, now),
        seats=member.seats,
        ref=member.ref,
        expires_at=member.expires_at if member.state is SeatState.HELD else None,
        **extra,
    )


def acquire(
    key: str,
    actor: str,
    kind: str,
    ttl: timedelta | None,
    seats: int = 1,
    note: str | None = None,
) -> Decide:
    """A booking or hold: `already` if seated, `full` if the party does not fit at ``now``."""

    def decide(state: OccurrenceState, now: datetime | None) -> Decision:
        require(state, key)
        if state.archived:
            return closed(actor), []
        if state.state_at(actor, now) in (SeatState.HELD, SeatState.CONFIRMED):
            return seated(Status.ALREADY, state, actor, now), []
        occupied = state.occupied_at(now)
        if occupied + seats > state.capacity:
            left = max(0, state.capacity - occupied)
            return Outcome(Status.FULL, actor, capacity=state.capacity, seats_left=left), []
        data: dict[str, Any] = {"actor": actor}
        expires = expiry(now, ttl, state.hold_ttl_s) if kind == "hold" else None
        if kind == "hold":
            data["expires_at"] = expires.isoformat() if expires else None
        if seats > 1:
            data["seats"] = seats  # a party of one writes exactly the SPEC §2 shape
        if note is not None:
            data["note"] = note
        status = Status.BOOKED if kind == "booking" else Status.HELD
        outcome = Outcome(
            status, actor, seat=occupied + 1, seats=seats, ref=state.seq + 1, expires_at=expires
        )
        return outcome, [(kind, data)]

    return decide


def confirm(key: str, actor: str) -> Decide:
    def decide(state: OccurrenceState, now: datetime | None) -> Decision:
        require(state, key)
        seat_state = state.state_at(actor, now)
        member = state.members.get(actor)
        if seat_state is SeatState.HELD:
            outcome = replace(seated(Status.CONFIRMED, state, actor, now), expires_at=None)
            return outcome, [("confirm", {"actor": actor})]
        if seat_state is SeatState.CONFIRMED:
            return seated(Status.ALREADY_CONFIRMED, state, actor, now), []
        if seat_state is SeatState.LAPSED and member is not None:
            outcome = Outcome(Status.EXPIRED, actor, expires_at=member.expires_at)
            if member.state is SeatState.LAPSED and member.lapse_recorded:
                return outcome, []
            return outcome, [("expire", {"actor": actor})]
        return Outcome(Status.NOT_HELD, actor), []

    return decide


def release(key: str, actor: str) -> Decide:
    def decide(state: OccurrenceState, now: datetime | None) -> Decision:
        require(state, key)
        seat_state = state.state_at(actor, now)
        if seat_state is SeatState.HELD:
            return Outcome(Status.RELEASED, actor), [("release", {"actor": actor})]
        if seat_state is SeatState.CONFIRMED:
            # a confirmed party keeps its seats (it gives them up with cancel), and says so
            return seated(Status.NOT_HELD, state, actor, now), []
        return Outcome(Status.NOT_HELD, actor), []

    return decide


def cancel(key: str, actor: str, seats: int | None = None) -> Decide:
    """The whole party leaves, or with 1 <= seats < its size it shrinks in place (SPEC §4.1)."""

    def decide(state: OccurrenceState, now: datetime | None) -> Decision:
        require(state, key)
        if state.state_at(actor, now) not in (SeatState.HELD, SeatState.CONFIRMED):
            return Outcome(Status.NOT_BOOKED, actor), []
        member = state.members[actor]
        if seats is None or seats >= member.seats:
            return Outcome(Status.CANCELLED, actor), [("cancel", {"actor": actor})]
        outcome = replace(seated(Status.CANCELLED, state, actor, now), seats=member.seats - seats)
        return outcome, [("cancel", {"actor": actor, "seats": seats})]

    return decide


def check_in(key: str, actor: str) -> Decide:
    """At the door: a confirmed party once; a held one must pay (confirm) first."""

    def decide(state: OccurrenceState, now: datetime | None) -> Decision:
        require(state, key)
        seat_state = state.state_at(actor, now)
        if seat_state is SeatState.CONFIRMED:
            if state.members[actor].checked_in_at is not None:
                return seated(Status.ALREADY_CHECKED_IN, state, actor, now), []
            return seated(Status.CHECKED_IN, state, actor, now), [("checkin", {"actor": actor})]
        if seat_state is SeatState.HELD:
            return seated(Status.NOT_CONFIRMED, state, actor, now), []
        return Outcome(Status.NOT_BOOKED, actor), []

    return decide


def annotate(key: str, actor: str, note: str) -> Decide:
    """Replace a seated party's note (an empty note clears it)."""

    def decide(state: OccurrenceState, now: datetime | None) -> Decision:
        require(state, key)
        if state.state_at(actor, now) not in (SeatState.HELD, SeatState.CONFIRMED):
            return Outcome(Status.NOT_BOOKED, actor), []
        outcome = seated(Status.NOTED, state, actor, now)
        return outcome, [("note", {"actor": actor, "note": note})]

    return decide


def expire_holds(key: str) -> Decide:
    """One `expire` event per lapse not yet recorded, in join order."""

    def decide(state: OccurrenceState, now: datetime | None) -> Decision:
        require(state, key)
        lapses = state.unrecorded_lapses(now)
        outcomes = [Outcome(Status.EXPIRED, m.actor, expires_at=m.expires_at) for m in lapses]
        return outcomes, [("expire", {"actor": m.actor}) for m in lapses]

    return decide


# -- looking after occurrences (SPEC §4.4) ---------------------------------------------


def closed(actor: str) -> Outcome:
    """What an acquisition on an archived occurrence answers: nothing is written."""
    return Outcome(Status.CLOSED, actor)


def update(key: str, fields: dict[str, Any]) -> Decide:
    """An ``updated`` event with exactly the fields given (validated by the caller)."""

    def decide(state: OccurrenceState, now: datetime | None) -> Decision:
        require(state, key)
        return Outcome(Status.UPDATED), [("updated", dict(fields))]

    return decide


def archive(key: str) -> Decide:
    def decide(state: OccurrenceState, now: datetime | None) -> Decision:
        require(state, key)
        if state.archived:
            return Outcome(Status.ALREADY_ARCHIVED), []
        return Outcome(Status.ARCHIVED), [("archived", {})]

    return decide


def restore(key: str) -> Decide:
    def decide(state: OccurrenceState, now: datetime | None) -> Decision:
        require(state, key)
        if not state.archived:
            return Outcome(Status.NOT_ARCHIVED), []
        return Outcome(Status.RESTORED), [("restored", {})]

    return decide
