"""The roster's rows at an instant, kept between reads so that a read costs what moved.

A live screen reads a 10,000-seat roster after every commit. Building every row
afresh, or even walking every member to find the ones that changed, was 10-30 ms
a read, most of what a commit cost the app. The fold notes each actor whose
member it sets or undoes (``OccurrenceState.touched``), so a read starts from
the rows it handed out last time: the rows before the first place a touched
actor (or a hold lapsing at this instant) sits are the very same objects, and
after it only the rows whose member or seat number moved are built again.

The rows are a cache of the fold, never a second truth: a state whose members
were replaced wholesale (a snapshot loaded), or with most of its roster touched,
is built from its members again, and ``test_seated`` checks every read against
that full build.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from store.ledger.members import Member, SeatState
from store.ledger.outcomes import SeatRecord

if TYPE_CHECKING:
    from store.ledger.fold import OccurrenceState

__all__ = ["member_row", "seat_records", "seat_records_afresh"]

_JOIN = attrgetter("join")


def member_row(seat: int | None, member: Member, state: str) -> SeatRecord:
    return SeatRecord(
        seat,
        member.actor,
        state,
        member.joined_at,
        member.expires_at,
        member.operator,
        member.ref,
        member.seats,
        member.note,
        member.checked_in_at,
        member.offered,
    )


@dataclass(frozen=True, slots=True)
class _Kept:
    """The rows one read handed out, and what they were built from."""

    members: object  # the state's members mapping (a snapshot load replaces it)
    order: list[Member]  # the seated members, in join order
    joins: list[int]  # their join numbers, to find a place by bisection
    rows: list[SeatRecord]  # one per member of ``order``, seat numbers counted
    place: dict[str, int]  # each seated actor's index in ``order``
    gone: frozenset[str]  # actors left out as lapsed at that read's instant


_KEPT: WeakKeyDictionary[OccurrenceState, _Kept] = WeakKeyDictionary()


def seat_records_afresh(state: OccurrenceState, now: datetime | None) -> list[SeatRecord]:
    """The roster at ``now`` built from every member (what the kept rows must equal)."""
    return list(_build(state, now, _lapsing(state, now)).rows)


def seat_records(state: OccurrenceState, now: datetime | None) -> list[SeatRecord]:
    """The roster at ``now``, party by party; each row's seat is the first of its block.

    An unchanged party at an unmoved seat is handed over as the same object as
    last time, so a screen can tell what changed by identity.
    """
    gone = _lapsing(state, now)
    touched, state.touched = state.touched, set()
    kept = _KEPT.get(state)
    if (
        kept is None
        or touched is None
        or kept.members is not state.members
        or len(touched) > len(kept.order) // 4
    ):
        kept = _build(state, now, gone)
    else:
        kept = _update(state, kept, touched | gone | kept.gone, gone)
    _KEPT[state] = kept
    return list(kept.rows)


def _lapsing(state: OccurrenceState, now: datetime | None) -> frozenset[str]:
    return frozenset(m.actor for m in state.lapsing(now))


def _build(state: OccurrenceState, now: datetime | None, gone: frozenset[str]) -> _Kept:
    order = state.roster_at(now)
    rows, first = [], 1
    for member in order:
        rows.append(member_row(first, member, str(member.state)))
        first += member.seats
    return _Kept(
        state.members,
        order,
        [m.join for m in order],
        rows,
        {m.actor: i for i, m in enumerate(order)},
        gone,
    )


def _update(
    state: OccurrenceState, kept: _Kept, changed: set[str] | frozenset[str], gone: frozenset[str]
) -> _Kept:
    """``kept`` with the ``changed`` actors placed again, from the first place one moved."""
    if not changed:
        return kept  # nothing set, undone or lapsing since: the same rows (a second reader)
    members, place = state.members, kept.place
    first = len(kept.order)
    fresh = []  # the changed actors that are seated now
    for actor in changed:
        at = place.get(actor)
        if at is not None and at < first:
            first = at
        member = members.get(actor)
        if member is not None and member.state is not SeatState.LAPSED and actor not in gone:
            fresh.append(member)
    if fresh:
        fresh.sort(key=_JOIN)
        # a join older than the first change (an undone lapse) goes back where it was
        first = min(first, bisect_left(kept.joins, fresh[0].join))
    tail = [m for m in kept.order[first:] if m.actor not in changed]
    if fresh and tail and fresh[0].join < tail[-1].join:
        tail = sorted(tail + fresh, key=_JOIN)
    else:
        tail += fresh  # joins come at the end: the usual case
    rows = kept.rows
    seat = rows[first - 1].seat + rows[first - 1].seats if first else 1  # type: ignore[operator]
    new_rows = rows[:first]
    new_place = dict(place)
    for actor in changed:
        new_place.pop(actor, None)
    for index, member in enumerate(tail, start=first):
        at = place.get(member.actor)
        row = rows[at] if at is not None and kept.order[at] is member else None
        if row is None or row.seat != seat:
            row = member_row(seat, member, str(member.state))
        new_rows.append(row)
        new_place[member.actor] = index
        seat += member.seats
    order = kept.order[:first] + tail
    return _Kept(
        state.members,
        order,
        kept.joins[:first] + [m.join for m in tail],
        new_rows,
        new_place,
        gone,
    )
