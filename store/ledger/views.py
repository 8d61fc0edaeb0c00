"""The read boundary: frozen views of an occurrence, built from the fold under its lock.

Screens and racers get these records, never the live folded state: the state
keeps changing after a read returns, and a reader that held on to it would see
half of a later command. A view is built in one pass while the lane lock is
held, so everything in it is true of one seq at one instant.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime, timedelta

from store.ledger.clock_check import ahead_of_now
from store.ledger.fold import (
    STREAM_PREFIX,
    OccurrenceState,
    SeatState,
    parse_time,
    stream_of,
)
from store.ledger.outcomes import OccurrenceRecord, SeatRecord, WaiterRecord
from store.ledger.seated import member_row, seat_records
from store.ledger.waiting import OfferMade as DerivedOffer

__all__ = [
    "STREAM_PREFIX",
    "Changes",
    "DerivedOffer",
    "OccurrenceView",
    "key_of",
    "occurrence_view",
    "offers_since",
    "parse_time",
    "record",
    "stream_of",
]

LAPSED = str(SeatState.LAPSED)


@dataclass(frozen=True, slots=True)
class OccurrenceView:
    """One occurrence as it stood at ``seq``, read at ``read_at``.

    ``rows`` is the roster in join order with, in their join places, the holds
    that lapsed but have no ``expire`` event yet (state ``"lapsed"``, seat None),
    so an operator can see why a customer lost a seat.
    """

    record: OccurrenceRecord
    rows: tuple[SeatRecord, ...]
    next_expiry: datetime | None  # the next live hold to lapse, None if none will
    seq: int
    read_at: datetime | None
    #: the latest ``recorded_at`` in the stream (the fold's T): ahead of now means a
    #: terminal's clock ran ahead (``store.ledger.clock_check``)
    recorded_until: datetime | None = None
    waiters: tuple[WaiterRecord, ...] = ()  # the waiting list in order (with the rows only)
    #: when each live hold lapses, soonest first: "how many lapse in the next 5 minutes"
    #: over the whole house is counted from the lines alone, without reading any roster
    expiries: tuple[datetime, ...] = ()

    def recorded_ahead_of(self, now: datetime) -> bool:
        """Recorded times run over 5 minutes ahead of ``now``: a terminal's clock ran ahead.

        (Not ``read_at``: a read is at the stream's latest time when that is later.)
        """
        return ahead_of_now(self.recorded_until, now)

    @property
    def roster(self) -> tuple[SeatRecord, ...]:
        """The seated rows only (held or confirmed), in seat order."""
        return tuple(r for r in self.rows if r.seat is not None)


@dataclass(frozen=True, slots=True)
class Changes:
    """What moved in the store since a position: resume the feed after ``position``."""

    position: int
    keys: frozenset[str]  # occurrences whose streams gained events


def key_of(stream: str) -> str | None:
    """The occurrence key of a booking stream, None for any other stream."""
    return stream[len(STREAM_PREFIX) :] if stream.startswith(STREAM_PREFIX) else None


def hold_expiries(state: OccurrenceState, now: datetime | None) -> tuple[datetime, ...]:
    """When each hold still live at ``now`` lapses, soonest first (``live_holds``: the
    holds' cost, not the roster's)."""
    return tuple(sorted(e[0] for e, _ in state.live_holds() if now is None or e[0] > now))


def waiter_records(state: OccurrenceState) -> list[WaiterRecord]:
    """The waiting list in order, with 1-based positions."""
    return [
        WaiterRecord(i, w.actor, w.seats, w.ref, w.joined_at, w.note, w.operator)
        for i, w in enumerate(state.waiting.in_order(), start=1)
    ]


def offers_since(state: OccurrenceState, after_seq: int) -> list[DerivedOffer]:
    """The offers derived after event ``after_seq`` or later (SPEC §4.5), in fold order.

    Those at the stream's last seq may be a read's own play-out to now (a later event
    recorded before that instant would change them), so a reader re-reads from there.
    The list is kept in seq order, so finding the start costs a bisection, not the history.
    """
    offers = state.offers
    start = bisect_left(offers, after_seq, key=lambda o: o.after_seq)
    return offers[start:]


def record(key: str, state: OccurrenceState, now: datetime | None) -> OccurrenceRecord:
    lapsing = sum(m.seats for m in state.lapsing(now))
    held = state.held - lapsing
    occupied = held + state.confirmed
    return OccurrenceRecord(
        key=key,
        title=state.title,
        starts_at=state.starts_at,
        capacity=state.capacity,
        hold_ttl=timedelta(seconds=state.hold_ttl_s) if state.hold_ttl_s is not None else None,
        occupied=occupied,
        held=held,
        confirmed=state.confirmed,
        seats_left=max(0, state.capacity - occupied),
        seq=state.seq,
        checked_in=state.checked_in,
        waiting=len(state.waiting),
        waiting_seats=state.waiting.seats,
        demo=state.demo,
        archived=state.archived,
        offer_ttl=timedelta(seconds=state.offer_ttl_s) if state.offer_ttl_s is not None else None,
    )


def occurrence_view(
    key: str, state: OccurrenceState, now: datetime | None, *, rows: bool = True
) -> OccurrenceView:
    """Everything a screen shows of one occurrence; ``rows=False`` skips the roster."""
    seated = seat_records(state, now) if rows else []
    lapsed = [member_row(None, m, LAPSED) for m in state.unrecorded_lapses(now)] if rows else []
    all_rows = sorted(seated + lapsed, key=lambda r: r.ref) if lapsed else seated
    waiters = tuple(waiter_records(state)) if rows and state.waiting else ()
    return OccurrenceView(
        record(key, state, now),
        tuple(all_rows),
        state.next_expiry(now),
        state.seq,
        now,
        state.high_water,
        waiters,
        hold_expiries(state, now),
    )
