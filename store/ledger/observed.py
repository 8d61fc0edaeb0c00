"""A single attempt judged on a caller's snapshot (the ``*_with_observed`` seams).

The caller's roster decides ``already`` and ``full``; the log decides the rest at
the moment of the append (SPEC §4.1). Since an offer derived at a lapse takes seats
without writing anything, a matching seq no longer proves the snapshot still has
room: the attempt is refused as ``conflict`` when the state the lane decides on,
played out to now, has no room for the party.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from store.ledger import party_input as p
from store.ledger import rules as v
from store.ledger.decide import Decide, Decision, closed, expiry, require
from store.ledger.fold import OccurrenceState
from store.ledger.outcomes import Outcome, SeatRecord, Status
from store.ledger.rules import InvalidInput


def observed_attempt(
    key: str,
    actor: str,
    observed_roster: Sequence[str | SeatRecord],
    expected_seq: int,
    kind: str,
    ttl: timedelta | None,
    seats: int,
) -> tuple[str, str, Decide]:
    """The checked key, actor and decision of one attempt: names are one seat, records theirs.

    Bad input raises ``InvalidInput`` before anything is queued.
    """
    key, actor = v.occurrence_key(key), v.actor(actor)
    ttl = v.ttl(ttl) if ttl is not None else None
    seats = p.party_size(seats)
    if type(expected_seq) is not int or expected_seq < 0:
        raise InvalidInput("expected_seq", "must be a whole number, 0 or more")
    observed = [(r, 1) if isinstance(r, str) else (r.actor, r.seats) for r in observed_roster]
    return key, actor, observed_acquire(key, actor, kind, observed, expected_seq, ttl, seats)


def observed_acquire(
    key: str,
    actor: str,
    kind: str,
    observed: list[tuple[str, int]],
    expected_seq: int,
    ttl: timedelta | None,
    seats: int,
) -> Decide:
    """A booking or hold written only at ``expected_seq`` and only if it fits right now."""

    def decide(state: OccurrenceState, now: datetime | None) -> Decision:
        require(state, key)
        if state.archived:
            return closed(actor), []
        first = 1
        for name, size in observed:
            if name == actor:
                return Outcome(Status.ALREADY, actor, seat=first, seats=size), []
            first += size
        if first - 1 + seats > state.capacity:
            left = max(0, state.capacity - (first - 1))
            return Outcome(Status.FULL, actor, capacity=state.capacity, seats_left=left), []
        occupied = state.occupied_at(now)
        if state.seq != expected_seq or occupied + seats > state.capacity:
            why = (
                f"the occurrence moved to seq {state.seq} since it was read"
                if state.seq != expected_seq
                else "the seats it saw free are taken now (a lapse or an offer since)"
            )
            return Outcome(Status.CONFLICT, actor, actual=state.seq, reason=why), []
        expires = expiry(now, ttl, state.hold_ttl_s) if kind == "hold" else None
        data: dict[str, Any] = {"actor": actor}
        if kind == "hold":
            data["expires_at"] = expires.isoformat() if expires else None
        if seats > 1:
            data["seats"] = seats
        status = Status.HELD if kind == "hold" else Status.BOOKED
        outcome = Outcome(
            status, actor, seat=occupied + 1, seats=seats, ref=state.seq + 1, expires_at=expires
        )
        return outcome, [(kind, data)]

    return decide
