"""A folded state at a seq, as text: a cache so a long stream is not refolded from seq 1.

The snapshot is only ever a starting point: a reader loads it and then folds
every event after its seq, so it can never hide an event of the log. It is
written in a format with a version; a snapshot of another version, of another
stream, or one that fails to decode in any way is ``None`` (the caller folds from
the log), never a partial state. What is derivable is not stored: the expiry
heap and the seat index are rebuilt from the members, and the waiting list's
per-size queues from the waiters, exactly as the fold would hold them (stale
heap entries are skipped by the fold, so dropping them changes nothing).
"""

from __future__ import annotations

import heapq
import json
from datetime import datetime
from typing import Any

from store.ledger.fold import OccurrenceState
from store.ledger.members import Member, SeatState
from store.ledger.requests import Written
from store.ledger.seat_index import SeatIndex
from store.ledger.waiting import OfferMade, Waiter

_STATES = {str(s): s for s in SeatState}

#: Bumped whenever the fold's state gains or changes a field: an older snapshot is rebuilt.
FORMAT = 1


def _t(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _d(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("a time is not text")
    return datetime.fromisoformat(value)


def encode(state: OccurrenceState) -> str:
    """The state as JSON text; call it outside ``begin``/``rollback`` (a committed state)."""
    if state._journal is not None:
        raise ValueError("a snapshot of a tentative state would store undone decisions")
    members = [
        [
            *(m.actor, str(m.state), m.join, _t(m.joined_at), _t(m.expires_at), m.operator),
            *(m.lapse_recorded, m.ref, m.seats, m.note, _t(m.checked_in_at), m.offered),
        ]
        for m in state.members.values()
    ]
    waiters = [
        [w.actor, w.seats, w.order, w.ref, _t(w.joined_at), w.operator, w.note]
        for w in state.waiting.waiters.values()
    ]
    offers = [
        [o.after_seq, _t(o.at), o.actor, o.seats, _t(o.expires_at), o.ref] for o in state.offers
    ]
    requests = [
        [rid, w.command, w.actor, w.first, w.last, list(w.answers)]
        for rid, w in state.requests.written.items()
    ]
    body = {
        "format": FORMAT,
        "stream": state.stream,
        "seq": state.seq,
        "high_water": _t(state.high_water),
        "created": state.created,
        "title": state.title,
        "starts_at": state.starts_at,
        "capacity": state.capacity,
        "hold_ttl_s": state.hold_ttl_s,
        "demo": state.demo,
        "offer_ttl_s": state.offer_ttl_s,
        "archived": state.archived,
        "next_join": state._next_join,
        "held": state.held,
        "confirmed": state.confirmed,
        "checked_in": state.checked_in,
        "members": members,
        "waiters": waiters,
        "offers": offers,
        "requests": requests,
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def decode(text: str, stream: str) -> OccurrenceState | None:
    """The state a snapshot holds, or None if it is of another format or stream, or damaged."""
    try:
        body = json.loads(text)
        if not isinstance(body, dict) or body.get("format") != FORMAT:
            return None
        if body.get("stream") != stream:
            return None
        return _build(body, stream)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return None


def _int(value: Any) -> int:
    if type(value) is not int:
        raise ValueError("not a whole number")
    return value


def _build(body: dict[str, Any], stream: str) -> OccurrenceState:
    state = OccurrenceState(stream)
    state.seq = _int(body["seq"])
    state.high_water = _d(body["high_water"])
    state.created = bool(body["created"])
    state.title = body["title"]
    state.starts_at = body["starts_at"]
    state.capacity = _int(body["capacity"])
    state.hold_ttl_s = body["hold_ttl_s"]
    state.demo = bool(body["demo"])
    state.offer_ttl_s = body["offer_ttl_s"]
    state.archived = bool(body["archived"])
    state._next_join = _int(body["next_join"])
    state.held = _int(body["held"])
    state.confirmed = _int(body["confirmed"])
    state.checked_in = _int(body["checked_in"])
    counts: dict[int, int] = {}
    members, expiry = state.members, state._expiry
    for row in body["members"]:
        actor, kind, join, joined, expires, operator = row[:6]
        lapse_recorded, ref, seats, note, checked_in_at, offered = row[6:12]
        member = Member(
            actor,
            _STATES[kind],
            _int(join),
            _d(joined),
            _d(expires),
            operator,
            bool(lapse_recorded),
            _int(ref),
            _int(seats),
            note,
            _d(checked_in_at),
            bool(offered),
        )
        members[actor] = member
        if member.state is not SeatState.LAPSED:
            counts[member.join] = member.seats
            if member.state is SeatState.HELD and member.expires_at is not None:
                expiry.append((member.expires_at, member.join, actor))
    state._seats = SeatIndex.of_counts(counts)
    heapq.heapify(state._expiry)
    waiters = []
    for row in body["waiters"]:
        actor, seats, order, ref, joined, operator, note = row[:7]
        waiters.append(
            Waiter(actor, _int(seats), _int(order), _int(ref), _d(joined), operator, note)
        )
    for waiter in sorted(waiters, key=lambda w: w.order):
        state.waiting.join(waiter)
    for row in body["offers"]:
        after, at, actor, seats, expires, ref = row[:6]
        state.offers.append(OfferMade(_int(after), _d(at), actor, _int(seats), _d(expires), ref))
    for row in body["requests"]:
        rid, command, actor, first, last, answers = row[:6]
        state.requests.written[rid] = Written(
            command, actor, _int(first), _int(last), tuple(answers)
        )
    _sane(state)
    return state


def _sane(state: OccurrenceState) -> None:
    """The counters agree with the members, or the snapshot is damaged (and not used)."""
    held = sum(m.seats for m in state.members.values() if m.state is SeatState.HELD)
    confirmed = sum(m.seats for m in state.members.values() if m.state is SeatState.CONFIRMED)
    if (held, confirmed) != (state.held, state.confirmed):
        raise ValueError("counters disagree with the members")
