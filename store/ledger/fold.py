"""The fold: a booking stream's events, in order, into the occurrence's live state.

The fold is total and deterministic from the log alone. An event that does not
fit the actor's current state changes nothing, so no log, however written, can
fold into an impossible state. ``fold(events)`` is the pure function (what a
checker refolds from scratch); ``OccurrenceState.apply`` is the same fold kept
incrementally, so a command costs the same on the 10th event as on the 100,000th.

Time: each event is applied at T, the latest ``recorded_at`` seen so far (a
high-water mark, so a clock stepping back never revives a hold), and every hold
with ``expires_at`` <= T lapses before it. Views ``*_at(t)`` look at the state as
of a later instant without changing it, because a read's clock is not in the log.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from store.eventstore.events import Event
from store.ledger.seat_index import SeatIndex

STREAM_PREFIX = "booking:"
#: Events that look after the occurrence itself rather than a seat (SPEC §4.4).
_LOOKING_AFTER = frozenset({"updated", "archived", "restored"})


def stream_of(key: str) -> str:
    return STREAM_PREFIX + key


class SeatState(StrEnum):
    HELD = "held"
    CONFIRMED = "confirmed"
    LAPSED = "lapsed"  # not on the roster; remembered so a late confirm answers `expired`


@dataclass(frozen=True, slots=True)
class Member:
    """One actor the stream has seen join, in its latest state."""

    actor: str
    state: SeatState
    join: int  # increases with every join: roster order
    joined_at: datetime | None
    expires_at: datetime | None
    operator: str | None
    lapse_recorded: bool = False  # an `expire` event is in the log for this lapse
    ref: int = 0  # the seq of the event it joined by (SPEC §4.2): never renumbered
    seats: int = 1  # the party's size (SPEC §4.1): a log without `seats` means 1
    note: str | None = None  # the latest note kept with the party (SPEC §4.2)
    checked_in_at: datetime | None = None  # the `checkin` event's recorded_at (SPEC §4.3)


_EARLIEST_START = datetime(1900, 1, 1, tzinfo=UTC)
_LATEST_START = datetime(9000, 1, 1, tzinfo=UTC)
#: Two days inside the calendar's ends: any instant between them can be shown in any
#: zone (offsets are under a day) and compared, so no stored time makes a reader fail.
_FIRST = datetime.min.replace(tzinfo=UTC) + timedelta(days=2)
_LAST = datetime.max.replace(tzinfo=UTC) - timedelta(days=2)


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 instant from the log; naive times are UTC, garbage is None.

    An instant at the calendar's very ends (``0001-01-01``, ``9999-12-31``, only in
    an old or tampered log) is moved two days inwards: its order against every
    real time is kept, and showing it in a zone can no longer overflow.
    """
    if not isinstance(value, str) or not value.isascii():
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=UTC)
    if moment < _FIRST:
        return _FIRST
    if moment > _LAST:
        return _LAST
    return moment


#: The longest duration a log may set (rules.MAX_TTL, 100 years, in seconds); beyond it a
#: tampered or old value would overflow a reader's ``timedelta`` (issue 12 row 1).
MAX_DURATION_S = 36525 * 86400.0


def duration_s(value: Any) -> float | None:
    """A hold or offer length from the log: positive, finite and at most 100 years, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or not 0 < value <= MAX_DURATION_S:
        return None
    return float(value)


def start_time(value: Any) -> str | None:
    """A start time from the log, kept only when any reader can show it (1900-9000, aware)."""
    moment = parse_time(value)
    if moment is None or not isinstance(value, str):
        return None
    if not _EARLIEST_START <= moment <= _LATEST_START:
        return None
    return value


def _whole(value: Any) -> int | None:
    return value if type(value) is int and value >= 0 else None


def _party(value: Any) -> int:
    """A party's size from the log: a missing or malformed `seats` is one seat."""
    return value if type(value) is int and value >= 1 else 1


def _note(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


class OccurrenceState:
    """The folded state of one occurrence's stream, kept up to date event by event.

    A group-committing writer applies its decisions tentatively between
    ``begin()`` and ``commit()``/``rollback()``; the journal undoes them if the
    append lost a race, without refolding the stream.
    """

    def __init__(self, stream: str) -> None:
        self.stream = stream
        self.seq = 0
        self.high_water: datetime | None = None
        self.created = False
        self.title: str | None = None
        self.starts_at: str | None = None
        self.capacity = 0
        self.hold_ttl_s: float | None = None
        self.demo = False
        self.offer_ttl_s: float | None = None
        self.archived = False
        self.members: dict[str, Member] = {}
        self._next_join = 0
        self.held = 0  # seats of held members not lapsed at high_water
        self.confirmed = 0  # seats of confirmed members
        self.checked_in = 0  # seats of confirmed members checked in at the door
        self._seats = SeatIndex()
        self._expiry: list[tuple[datetime, int, str]] = []  # heap; stale entries are skipped
        self._journal: list[tuple[Any, ...]] | None = None
        self._saved: tuple[Any, ...] | None = None

    # -- tentative application ----------------------------------------------------

    _SCALARS = (
        "seq",
        "high_water",
        "created",
        "title",
        "starts_at",
        "capacity",
        "hold_ttl_s",
        "demo",
        "offer_ttl_s",
        "archived",
        "held",
        "confirmed",
        "checked_in",
    )

    def begin(self) -> None:
        self._journal = []
        self._saved = tuple(getattr(self, name) for name in self._SCALARS)

    def commit(self) -> None:
        self._journal = None
        self._saved = None
        if len(self._expiry) > 2 * self.held + 64:
            self._compact_expiry()

    def rollback(self) -> None:
        journal, saved = self._journal, self._saved
        assert journal is not None and saved is not None, "rollback without begin"
        for entry in reversed(journal):
            kind = entry[0]
            if kind == "member":
                _, actor, old = entry
                if old is None:
                    self.members.pop(actor, None)
                else:
                    self.members[actor] = old
            elif kind == "seat":
                self._seats.add(entry[1], -entry[2])
            else:  # "expiry": an entry popped by a lapse goes back on the heap
                heapq.heappush(self._expiry, entry[1])
        for name, value in zip(self._SCALARS, saved, strict=True):
            setattr(self, name, value)
        self._journal = None
        self._saved = None

    def _set(self, actor: str, member: Member | None) -> None:
        if self._journal is not None:
            self._journal.append(("member", actor, self.members.get(actor)))
        if member is None:
            self.members.pop(actor, None)
        else:
            self.members[actor] = member

    def _seat(self, join: int, delta: int) -> None:
        self._seats.add(join, delta)
        if self._journal is not None:
            self._journal.append(("seat", join, delta))

    def _compact_expiry(self) -> None:
        self._expiry = [
            (m.expires_at, m.join, m.actor)
            for m in self.members.values()
            if m.state is SeatState.HELD and m.expires_at is not None
        ]
        heapq.heapify(self._expiry)

    # -- the fold -------------------------------------------------------------------

    def apply(self, event: Event) -> None:
        if event.seq != self.seq + 1:
            raise ValueError(f"{self.stream}: expected seq {self.seq + 1}, got {event.seq}")
        recorded = parse_time(event.meta.get("recorded_at"))
        if recorded is not None and (self.high_water is None or recorded > self.high_water):
            self.high_water = recorded
        if self.high_water is not None:
            self._lapse(self.high_water)
        self.seq = event.seq
        data = event.data if isinstance(event.data, dict) else {}
        kind = event.type
        if kind == "created":
            if not self.created:
                self.created = True
                self.title = data.get("title") if isinstance(data.get("title"), str) else None
                self.starts_at = start_time(data.get("starts_at"))
                self.capacity = _whole(data.get("capacity")) or 0
                self.hold_ttl_s = duration_s(data.get("hold_ttl_s"))
                self.offer_ttl_s = duration_s(data.get("offer_ttl_s"))
                self.demo = data.get("demo") is True
            return
        if kind in _LOOKING_AFTER:
            self._look_after(kind, data)
            return
        if kind == "capacity":
            capacity = _whole(data.get("capacity"))
            if capacity is not None:
                self.capacity = capacity
            return
        actor = data.get("actor")
        if not isinstance(actor, str):
            return
        member = self.members.get(actor)
        state = member.state if member is not None else None
        if kind in ("booking", "hold"):
            if state is SeatState.HELD or state is SeatState.CONFIRMED:
                return
            # A fresh join number even across a rollback: a heap entry left by an undone
            # tentative hold must never match a later member (pushes are not journaled).
            join = self._next_join
            self._next_join += 1
            operator = event.meta.get("operator")
            expires = parse_time(data.get("expires_at")) if kind == "hold" else None
            seats = _party(data.get("seats"))
            self._set(
                actor,
                Member(
                    actor,
                    SeatState.HELD if kind == "hold" else SeatState.CONFIRMED,
                    join,
                    self.high_water,
                    expires,
                    operator if isinstance(operator, str) else None,
                    ref=event.seq,
                    seats=seats,
                    note=_note(data.get("note")),
                ),
            )
            self._seat(join, seats)
            if kind == "hold":
                self.held += seats
                if expires is not None:
                    heapq.heappush(self._expiry, (expires, join, actor))
            else:
                self.confirmed += seats
        elif kind == "confirm":
            if member is not None and state is SeatState.HELD:
                self._set(actor, replace(member, state=SeatState.CONFIRMED, expires_at=None))
                self.held -= member.seats
                self.confirmed += member.seats
        elif kind == "release":
            if member is not None and state is SeatState.HELD:
                self._leave(member)
        elif kind == "cancel":
            if member is not None and state in (SeatState.HELD, SeatState.CONFIRMED):
                fewer = data.get("seats")
                if type(fewer) is int and 1 <= fewer < member.seats:
                    self._shrink(member, fewer)
                else:
                    self._leave(member)
        elif kind == "checkin":
            if member is not None and state is SeatState.CONFIRMED and member.checked_in_at is None:
                self._set(actor, replace(member, checked_in_at=recorded or self.high_water))
                self.checked_in += member.seats
        elif kind == "note":
            if member is not None and state in (SeatState.HELD, SeatState.CONFIRMED):
                self._set(actor, replace(member, note=_note(data.get("note"))))
        elif kind == "expire":
            if member is not None and state is SeatState.HELD:
                self._leave_lapsed(member, recorded=True)
            elif member is not None and state is SeatState.LAPSED and not member.lapse_recorded:
                self._set(actor, replace(member, lapse_recorded=True))

    def _look_after(self, kind: str, data: dict[str, Any]) -> None:
        """SPEC §4.4: ``updated`` sets the fields it holds (null clears); archive, restore."""
        if not self.created:
            return
        if kind == "archived":
            self.archived = True
        elif kind == "restored":
            self.archived = False
        else:
            if "title" in data:
                title = data["title"]
                self.title = title if isinstance(title, str) else None
            if "starts_at" in data:
                self.starts_at = start_time(data["starts_at"])
            if "hold_ttl_s" in data:
                self.hold_ttl_s = duration_s(data["hold_ttl_s"])
            if "offer_ttl_s" in data:
                self.offer_ttl_s = duration_s(data["offer_ttl_s"])

    def _leave_lapsed(self, member: Member, *, recorded: bool) -> None:
        self._set(member.actor, replace(member, state=SeatState.LAPSED, lapse_recorded=recorded))
        self._seat(member.join, -member.seats)
        self.held -= member.seats

    def _leave(self, member: Member) -> None:
        """A held or confirmed party gives up every seat (release or cancel)."""
        self._set(member.actor, None)
        self._seat(member.join, -member.seats)
        if member.state is SeatState.HELD:
            self.held -= member.seats
        else:
            self.confirmed -= member.seats
            if member.checked_in_at is not None:
                self.checked_in -= member.seats

    def _shrink(self, member: Member, fewer: int) -> None:
        """A partial cancel: the party keeps its place with ``fewer`` seats less."""
        self._set(member.actor, replace(member, seats=member.seats - fewer))
        self._seat(member.join, -fewer)
        if member.state is SeatState.HELD:
            self.held -= fewer
        else:
            self.confirmed -= fewer
            if member.checked_in_at is not None:
                self.checked_in -= fewer

    def _is_live_entry(self, entry: tuple[datetime, int, str]) -> Member | None:
        member = self.members.get(entry[2])
        if member is not None and member.state is SeatState.HELD and member.join == entry[1]:
            return member
        return None

    def _lapse(self, now: datetime) -> None:
        heap = self._expiry
        while heap and heap[0][0] <= now:
            entry = heapq.heappop(heap)
            if self._journal is not None:
                self._journal.append(("expiry", entry))
            member = self._is_live_entry(entry)
            if member is not None:
                self._leave_lapsed(member, recorded=False)

    # -- views at an instant (never mutate) ----------------------------------------------

    def at(self, now: datetime | None) -> datetime | None:
        """The instant a read or a decision happens at: max(now, T)."""
        if now is None:
            return self.high_water
        if self.high_water is None or now > self.high_water:
            return now
        return self.high_water

    def lapsing(self, now: datetime | None) -> list[Member]:
        """Held members whose hold has lapsed by ``now`` (not yet folded as lapsed)."""
        if now is None:
            return []
        heap, found, stack = self._expiry, [], [0]
        while stack:
            i = stack.pop()
            if i < len(heap) and heap[i][0] <= now:
                member = self._is_live_entry(heap[i])
                if member is not None:
                    found.append(member)
                stack.extend((2 * i + 1, 2 * i + 2))
        found.sort(key=lambda m: m.join)
        return found

    def next_expiry(self, now: datetime | None) -> datetime | None:
        """When the next live hold lapses after ``now`` (None if none will).

        A walk of the expiry heap that stops under the first live entry of each
        branch, so it costs the lapsed and stale entries, not the roster.
        """
        heap, best, stack = self._expiry, None, [0]
        while stack:
            i = stack.pop()
            if i >= len(heap):
                continue
            when = heap[i][0]
            if best is not None and when >= best:
                continue
            if (now is None or when > now) and self._is_live_entry(heap[i]) is not None:
                best = when
                continue
            stack.extend((2 * i + 1, 2 * i + 2))
        return best

    def state_at(self, actor: str, now: datetime | None) -> SeatState | None:
        member = self.members.get(actor)
        if member is None:
            return None
        if (
            member.state is SeatState.HELD
            and member.expires_at is not None
            and now is not None
            and member.expires_at <= now
        ):
            return SeatState.LAPSED
        return member.state

    def occupied_at(self, now: datetime | None) -> int:
        """Seats occupied at ``now``: the held and confirmed parties' seats, less lapses."""
        return self.held + self.confirmed - sum(m.seats for m in self.lapsing(now))

    def seat_at(self, actor: str, now: datetime | None) -> int | None:
        """The first seat of the actor's block at ``now`` (1 + every seat before it), or None."""
        member = self.members.get(actor)
        state = self.state_at(actor, now)
        if member is None or state not in (SeatState.HELD, SeatState.CONFIRMED):
            return None
        earlier_lapses = sum(m.seats for m in self.lapsing(now) if m.join < member.join)
        return self._seats.prefix(member.join) - member.seats + 1 - earlier_lapses

    def roster_at(self, now: datetime | None) -> list[Member]:
        """Occupying members in join order."""
        gone = {m.actor for m in self.lapsing(now)}
        return sorted(
            (
                m
                for m in self.members.values()
                if m.state is not SeatState.LAPSED and m.actor not in gone
            ),
            key=lambda m: m.join,
        )

    def unrecorded_lapses(self, now: datetime | None) -> list[Member]:
        """Lapses with no `expire` event yet, in join order."""
        folded = [
            m for m in self.members.values() if m.state is SeatState.LAPSED and not m.lapse_recorded
        ]
        return sorted(folded + self.lapsing(now), key=lambda m: m.join)

    # -- comparison with a full refold ---------------------------------------------------

    def canonical(self) -> tuple[Any, ...]:
        """Everything the fold means, without bookkeeping (join numbers, heap order)."""
        members = sorted(self.members.values(), key=lambda m: m.join)
        return (
            self.stream,
            self.seq,
            self.high_water,
            self.created,
            self.title,
            self.starts_at,
            self.capacity,
            self.hold_ttl_s,
            self.demo,
            self.offer_ttl_s,
            self.archived,
            self.held,
            self.confirmed,
            self.checked_in,
            tuple(
                (
                    *(m.actor, m.state, m.ref, m.joined_at, m.expires_at, m.operator),
                    *(m.lapse_recorded, m.seats, m.note, m.checked_in_at),
                )
                for m in members
                if m.state is not SeatState.LAPSED
            ),
            tuple(
                sorted(
                    (m.actor, m.expires_at, m.lapse_recorded)
                    for m in members
                    if m.state is SeatState.LAPSED
                )
            ),
        )


def fold(events: Iterable[Event], stream: str | None = None) -> OccurrenceState:
    """Fold a whole stream from nothing: the pure reference the incremental state equals."""
    state: OccurrenceState | None = None
    for event in events:
        if state is None:
            state = OccurrenceState(stream or event.stream)
        state.apply(event)
    return state if state is not None else OccurrenceState(stream or "")
