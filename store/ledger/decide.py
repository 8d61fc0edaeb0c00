"""The ledger's decisions: pure functions of the folded state and the instant.

A decision returns the command's answer and the events to append; it reads the
state and never changes it (the write path applies the events tentatively and
undoes them if the append loses a race), so each one is testable without a store.
"""

from __future__ import annotations

from collections.abc import Callable
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


def acquire(key: str, actor: str, kind: str, ttl: timedelta | None) -> Decide:
    """A booking or hold: `already` if seated, `full` if no seat is free at ``now``."""

    def decide(state: OccurrenceState, now: datetime | None) -> Decision:
        require(state, key)
        if state.archived:
            return closed(actor), []
        seat_state = state.state_at(actor, now)
        if seat_state in (SeatState.HELD, SeatState.CONFIRMED):
            member = state.members[actor]
            return Outcome(
                Status.ALREADY, actor, seat=state.seat_at(actor, now), expires_at=member.expires_at
            ), []
        occupied = state.occupied_at(now)
        if occupied >= state.capacity:
            return Outcome(Status.FULL, actor, capacity=state.capacity), []
        if kind == "booking":
            return Outcome(Status.BOOKED, actor, seat=occupied + 1), [("booking", {"actor": actor})]
        expires = expiry(now, ttl, state.hold_ttl_s)
        data = {"actor": actor, "expires_at": expires.isoformat() if expires else None}
        return Outcome(Status.HELD, actor, seat=occupied + 1, expires_at=expires), [("hold", data)]

    return decide


def confirm(key: str, actor: str) -> Decide:
    def decide(state: OccurrenceState, now: datetime | None) -> Decision:
        require(state, key)
        seat_state = state.state_at(actor, now)
        member = state.members.get(actor)
        if seat_state is SeatState.HELD:
            seat = state.seat_at(actor, now)
            return Outcome(Status.CONFIRMED, actor, seat=seat), [("confirm", {"actor": actor})]
        if seat_state is SeatState.CONFIRMED:
            return Outcome(Status.ALREADY_CONFIRMED, actor, seat=state.seat_at(actor, now)), []
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
        # a confirmed actor keeps its seat (it gives it up with cancel), and says so
        seat = state.seat_at(actor, now) if seat_state is SeatState.CONFIRMED else None
        return Outcome(Status.NOT_HELD, actor, seat=seat), []

    return decide


def cancel(key: str, actor: str) -> Decide:
    def decide(state: OccurrenceState, now: datetime | None) -> Decision:
        require(state, key)
        if state.state_at(actor, now) in (SeatState.HELD, SeatState.CONFIRMED):
            return Outcome(Status.CANCELLED, actor), [("cancel", {"actor": actor})]
        return Outcome(Status.NOT_BOOKED, actor), []

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
