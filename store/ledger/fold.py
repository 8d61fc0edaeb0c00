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
import operator
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from store.eventstore.errors import StoreCorrupt
from store.eventstore.events import Event
from store.ledger.log_values import (
    duration_s,
    parse_time,
    party_note,
    party_size,
    start_time,
    whole,
)
from store.ledger.members import Member, RosterViews, SeatState
from store.ledger.requests import RequestIndex
from store.ledger.seat_index import SeatIndex
from store.ledger.waiting import OfferMade, Waiter, WaitingList

STREAM_PREFIX = "booking:"
#: Actors noted as touched before a roster read stops naming them (a writer that never
#: reads rows would otherwise keep every actor name it ever folded).
_TOUCHED_CAP = 4096
#: Events that look after the occurrence itself rather than a seat (SPEC §4.4).
_LOOKING_AFTER = frozenset({"updated", "archived", "restored"})


def stream_of(key: str) -> str:
    return STREAM_PREFIX + key


class OccurrenceState(RosterViews):
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
        #: actors whose member was set or undone since the last roster read (``seated``);
        #: None: too many to be worth naming (a fold nobody reads rows of)
        self.touched: set[str] | None = set()
        self._next_join = 0
        self.held = 0  # seats of held members not lapsed at high_water
        self.confirmed = 0  # seats of confirmed members
        self.checked_in = 0  # seats of confirmed members checked in at the door
        self._seats = SeatIndex()
        self._expiry: list[tuple[datetime, int, str]] = []  # heap; stale entries are skipped
        self._journal: list[tuple[Any, ...]] | None = None
        self._saved: tuple[Any, ...] | None = None
        self.waiting = WaitingList()
        # every offer derived so far, in fold order (the event log shows them; not in canonical)
        self.offers: list[OfferMade] = []
        self.requests = RequestIndex()  # request id -> its write (SPEC §4.6)
        # told of each derived offer as it is made (the refold check verifies capacity there)
        self.offer_watch: Callable[[str], None] | None = None

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

    #: one C call for the thirteen (``begin`` runs once a batch, and once a read)
    _GET_SCALARS = operator.attrgetter(*_SCALARS)

    def begin(self) -> None:
        self._journal = []
        self.waiting.begin()
        self._saved = self._GET_SCALARS(self)

    def commit(self) -> None:
        self._journal = None
        self._saved = None
        self.waiting.commit()
        if len(self._expiry) > 2 * self.held + 64:
            self._compact_expiry()

    def rollback(self) -> None:
        journal, saved = self._journal, self._saved
        assert journal is not None and saved is not None, "rollback without begin"
        for entry in reversed(journal):
            kind = entry[0]
            if kind == "member":
                _, actor, old = entry
                self._touch(actor)
                if old is None:
                    self.members.pop(actor, None)
                else:
                    self.members[actor] = old
            elif kind == "seat":
                self._seats.add(entry[1], -entry[2])
            elif kind == "offer":  # an offer played out by a read (or a lost append) is undone
                self.offers.pop()
            elif kind == "request":
                self.requests.undo(entry[1], entry[2])
            else:  # "expiry": an entry popped by a lapse goes back on the heap
                heapq.heappush(self._expiry, entry[1])
        for name, value in zip(self._SCALARS, saved, strict=True):
            setattr(self, name, value)
        self._journal = None
        self._saved = None
        self.waiting.rollback()

    def _touch(self, actor: str) -> None:
        touched = self.touched
        if touched is not None:
            touched.add(actor)
            if len(touched) > _TOUCHED_CAP:
                self.touched = None  # the next roster read builds every row

    def _set(self, actor: str, member: Member | None) -> None:
        self._touch(actor)
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
        # every live hold with an expiry has exactly one live entry (pushed when it
        # joined), so dropping the stale ones costs the heap, never the whole roster
        self._expiry = [e for e, _ in self.live_holds()]
        heapq.heapify(self._expiry)

    # -- the fold -------------------------------------------------------------------

    def apply(self, event: Event) -> None:
        """Fold one event; seqs must follow on (a gap is a damaged log, ``StoreCorrupt``).

        A ``data`` or ``meta`` that is not a JSON object (tampering, or a bug in
        another writer) folds as an empty one, as a missing field does: a ``meta``
        list is an event with no time and no operator. ``store.audit.check`` flags
        such events; no reader fails on them (issue 12 row 11).
        """
        self.apply_next(event.seq, event.type, event.data, event.meta)

    def apply_next(self, seq: int, kind: str, data: Any, meta: Any) -> None:
        """``apply`` of an event given by its parts: a batch's tentative decisions are
        folded as they are made, before the store has made them ``Event``s."""
        if seq != self.seq + 1:
            raise StoreCorrupt(
                f"{self.stream}: damaged: seq {seq} follows seq {self.seq} "
                "(`boxoffice check` names it)"
            )
        meta = meta if isinstance(meta, dict) else {}
        recorded = parse_time(meta.get("recorded_at"))
        if recorded is not None and (self.high_water is None or recorded > self.high_water):
            self.high_water = recorded
        if self.high_water is not None:
            self._lapse(self.high_water)
        self.seq = seq
        self._fold_event(seq, kind, data if isinstance(data, dict) else {}, meta, recorded)
        if "request" in meta:  # most events are asked without an id (SPEC §4.6)
            noted = self.requests.note(seq, meta)
            if noted is not None and self._journal is not None:
                self._journal.append(("request", *noted))
        if self.waiting.waiters:  # whatever the event freed goes to the waiters first (SPEC §4.5)
            self._walk(self.high_water)

    def _fold_event(
        self,
        seq: int,
        kind: str,
        data: dict[str, Any],
        meta: dict[str, Any],
        recorded: datetime | None,
    ) -> None:
        if kind == "created":
            if not self.created:
                self.created = True
                self.title = data.get("title") if isinstance(data.get("title"), str) else None
                self.starts_at = start_time(data.get("starts_at"))
                self.capacity = whole(data.get("capacity")) or 0
                self.hold_ttl_s = duration_s(data.get("hold_ttl_s"))
                self.offer_ttl_s = duration_s(data.get("offer_ttl_s"))
                self.demo = data.get("demo") is True
            return
        if kind in _LOOKING_AFTER:
            self._look_after(kind, data)
            return
        if kind == "capacity":
            capacity = whole(data.get("capacity"))
            if capacity is not None:
                self.capacity = capacity
            return
        actor = data.get("actor")
        if not isinstance(actor, str):
            return
        member = self.members.get(actor)
        state = member.state if member is not None else None
        if kind in ("wait", "unwait") or (kind == "note" and actor in self.waiting):
            self._fold_waiter(kind, actor, data, seq, meta)
            return
        if kind in ("booking", "hold"):
            if state is SeatState.HELD or state is SeatState.CONFIRMED:
                return
            self.waiting.leave(actor)  # a waiter who books or holds leaves the list
            # A fresh join number even across a rollback: a heap entry left by an undone
            # tentative hold must never match a later member (pushes are not journaled).
            join = self._next_join
            self._next_join += 1
            operator = meta.get("operator")
            expires = parse_time(data.get("expires_at")) if kind == "hold" else None
            seats = party_size(data.get("seats"))
            self._set(
                actor,
                Member(
                    actor,
                    SeatState.HELD if kind == "hold" else SeatState.CONFIRMED,
                    join,
                    self.high_water,
                    expires,
                    operator if isinstance(operator, str) else None,
                    ref=seq,
                    seats=seats,
                    note=party_note(data.get("note")),
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
                confirmed = replace(
                    member, state=SeatState.CONFIRMED, expires_at=None, offered=False
                )
                self._set(actor, confirmed)
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
                self._set(actor, replace(member, note=party_note(data.get("note"))))
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

    def _fold_waiter(
        self, kind: str, actor: str, data: dict[str, Any], seq: int, meta: dict[str, Any]
    ) -> None:
        """`wait` joins the list unless seated or waiting; `unwait` leaves; `note` re-notes."""
        if kind == "unwait":
            self.waiting.leave(actor)
        elif kind == "note":
            self.waiting.annotate(actor, party_note(data.get("note")))
        elif actor not in self.waiting and self.state_at(actor, None) not in (
            SeatState.HELD,
            SeatState.CONFIRMED,
        ):
            operator = meta.get("operator")
            order = self._next_join
            self._next_join += 1
            self.waiting.join(
                Waiter(
                    actor,
                    party_size(data.get("seats")),
                    order,
                    seq,
                    self.high_water,
                    operator if isinstance(operator, str) else None,
                    party_note(data.get("note")),
                )
            )

    def _walk(self, at: datetime | None) -> None:
        """Offer the free seats to every waiter that fits, first fit in join order."""
        free = self.capacity - self.held - self.confirmed
        while free > 0:
            waiter = self.waiting.first_fit(free)
            if waiter is None:
                return
            self._offer(waiter, at)
            free -= waiter.seats

    def _offer(self, waiter: Waiter, at: datetime | None) -> None:
        ttl = self.offer_ttl_s if self.offer_ttl_s is not None else self.hold_ttl_s
        expires = at + timedelta(seconds=ttl) if at is not None and ttl is not None else None
        join = self._next_join
        self._next_join += 1
        offer = Member(
            waiter.actor,
            SeatState.HELD,
            join,
            at,
            expires,
            waiter.operator,
            ref=waiter.ref,
            seats=waiter.seats,
            note=waiter.note,
            offered=True,
        )
        self._set(waiter.actor, offer)
        self._seat(join, waiter.seats)
        self.held += waiter.seats
        if expires is not None:
            heapq.heappush(self._expiry, (expires, join, waiter.actor))
        self.offers.append(OfferMade(self.seq, at, waiter.actor, waiter.seats, expires, waiter.ref))
        if self._journal is not None:
            self._journal.append(("offer",))
        if self.offer_watch is not None:
            self.offer_watch(waiter.actor)

    def advance(self, now: datetime | None) -> None:
        """Play lapses and offers out up to ``now`` (inside ``begin``/``rollback`` for a read).

        A read's clock is not in the log, so a caller that is not about to append at
        ``now`` must roll this back: the log alone decides what the state is.
        """
        if now is not None:
            self._lapse(now)

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

    def _lapse(self, now: datetime) -> None:
        """Lapses in time order; at each instant seats freed go to the waiters (SPEC §4.5)."""
        heap = self._expiry
        while heap and heap[0][0] <= now:
            instant, freed = heap[0][0], False
            while heap and heap[0][0] == instant:  # holds and offers due together lapse together
                entry = heapq.heappop(heap)
                if self._journal is not None:
                    self._journal.append(("expiry", entry))
                member = self._is_live_entry(entry)
                if member is not None:
                    self._leave_lapsed(member, recorded=False)
                    freed = True
            if freed and self.waiting:
                self._walk(instant)

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
                    *(m.lapse_recorded, m.seats, m.note, m.checked_in_at, m.offered),
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
            self.waiting.seats,
            tuple(
                (w.actor, w.seats, w.ref, w.joined_at, w.operator, w.note)
                for w in self.waiting.in_order()
            ),
            self.requests.canonical(),
        )


def fold(events: Iterable[Event], stream: str | None = None) -> OccurrenceState:
    """Fold a whole stream from nothing: the pure reference the incremental state equals."""
    state: OccurrenceState | None = None
    for event in events:
        if state is None:
            state = OccurrenceState(stream or event.stream)
        state.apply(event)
    return state if state is not None else OccurrenceState(stream or "")
