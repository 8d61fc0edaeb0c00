"""An occurrence's line in the house, as versioned text: a cache so the house reads no stream.

The house (``Ledger.views()``, ``occurrences``, the app's list) shows per stream
only its record, its next lapse and when its live holds lapse. Folding 1,000
streams (or decoding 1,000 snapshots of 200 parties each) to learn that is what
made a season's house cost its history; a summary is a few hundred bytes.

It is a cache, trusted exactly as far as the log agrees: a reader uses it only
when its seq is the stream's last seq (asked in the same query), so an event
written after it, by any writer, is never hidden: that stream is folded instead
(from its snapshot) and its summary rewritten. What depends on the clock is not
frozen: the summary keeps every live hold's expiry and seats, and a read lapses
those due by its own instant, as the fold's ``advance`` would. The one thing a
summary cannot play out is a lapse that offers seats to waiters (first fit over
the list, SPEC §4.5): a stream with waiters and a lapse due answers None here and
is folded. ``store.audit.check`` refolds the log to the summary's seq and
compares. Another format, another stream or a damaged text decode to None.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from store.ledger.fold import OccurrenceState
from store.ledger.outcomes import OccurrenceRecord
from store.ledger.views import OccurrenceView

#: Bumped whenever the summary gains or changes a field: an older one is rebuilt.
FORMAT = 1


@dataclass(frozen=True, slots=True)
class Summary:
    """What the house needs of one stream, true of the committed state at ``seq``."""

    stream: str
    seq: int
    high_water: datetime | None
    created: bool
    title: str | None
    starts_at: str | None
    capacity: int
    hold_ttl_s: float | None
    offer_ttl_s: float | None
    demo: bool
    archived: bool
    held: int
    confirmed: int
    checked_in: int
    waiting: int
    waiting_seats: int
    #: every live hold with an expiry (offers included): (expires_at, seats), soonest first
    holds: tuple[tuple[datetime, int], ...]


def of_state(state: OccurrenceState) -> Summary:
    """The summary of a committed state (not inside ``begin``/``rollback``)."""
    if state._journal is not None:
        raise ValueError("a summary of a tentative state would store undone decisions")
    # the expiry heap's live entries: one per live hold with an expiry, so a lazily
    # loaded snapshot's other parties stay undecoded
    holds = sorted((m.expires_at, m.seats) for _, m in state.live_holds() if m.expires_at)
    return Summary(
        state.stream,
        state.seq,
        state.high_water,
        state.created,
        state.title,
        state.starts_at,
        state.capacity,
        state.hold_ttl_s,
        state.offer_ttl_s,
        state.demo,
        state.archived,
        state.held,
        state.confirmed,
        state.checked_in,
        len(state.waiting),
        state.waiting.seats,
        tuple(holds),
    )


def _t(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def encode(summary: Summary) -> str:
    body = {
        "format": FORMAT,
        "stream": summary.stream,
        "seq": summary.seq,
        "high_water": _t(summary.high_water),
        "created": summary.created,
        "title": summary.title,
        "starts_at": summary.starts_at,
        "capacity": summary.capacity,
        "hold_ttl_s": summary.hold_ttl_s,
        "offer_ttl_s": summary.offer_ttl_s,
        "demo": summary.demo,
        "archived": summary.archived,
        "held": summary.held,
        "confirmed": summary.confirmed,
        "checked_in": summary.checked_in,
        "waiting": summary.waiting,
        "waiting_seats": summary.waiting_seats,
        "holds": [[when.isoformat(), seats] for when, seats in summary.holds],
    }
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def decode(text: str, stream: str) -> Summary | None:
    """The summary a text holds, or None if it is of another format or stream, or damaged."""
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
    if type(value) is not int or value < 0:
        raise ValueError("not a whole number")
    return value


def _text(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ValueError("not text")
    return value


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    if type(value) not in (int, float):
        raise ValueError("not a duration")
    return value


def _time(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("a time is not text")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError("a time without a zone")
    return moment


def _build(body: dict[str, Any], stream: str) -> Summary:
    holds = []
    for row in body["holds"]:
        when, seats = row
        holds.append((_time(when), _int(seats)))
    if holds != sorted(holds):
        raise ValueError("holds out of order")
    summary = Summary(
        stream,
        _int(body["seq"]),
        _time(body["high_water"]) if body["high_water"] is not None else None,
        body["created"] is True,
        _text(body["title"]),
        _text(body["starts_at"]),
        _int(body["capacity"]),
        _seconds(body["hold_ttl_s"]),
        _seconds(body["offer_ttl_s"]),
        body["demo"] is True,
        body["archived"] is True,
        _int(body["held"]),
        _int(body["confirmed"]),
        _int(body["checked_in"]),
        _int(body["waiting"]),
        _int(body["waiting_seats"]),
        tuple(holds),
    )
    if sum(seats for _, seats in holds) > summary.held:
        raise ValueError("more seats on lapsing holds than held")
    return summary


def at(summary: Summary, now: datetime | None) -> datetime | None:
    """The instant a read happens at: max(now, T), as ``RosterViews.at``."""
    if now is None:
        return summary.high_water
    if summary.high_water is None or now > summary.high_water:
        return now
    return summary.high_water


def house_line(key: str, summary: Summary, clock: datetime | None) -> OccurrenceView | None:
    """The view ``occurrence_view(key, state, now, rows=False)`` gives, from the summary alone.

    None when only the fold can say: a hold lapses by now while parties wait (the
    lapse offers its seats down the list), or the stream has no ``created``.
    """
    if not summary.created:
        return None
    now = at(summary, clock)
    due = [seats for when, seats in summary.holds if now is not None and when <= now]
    if due and summary.waiting:
        return None
    live = tuple(when for when, _ in summary.holds[len(due) :])
    held = summary.held - sum(due)
    occupied = held + summary.confirmed
    record = OccurrenceRecord(
        key=key,
        title=summary.title,
        starts_at=summary.starts_at,
        capacity=summary.capacity,
        hold_ttl=_ttl(summary.hold_ttl_s),
        occupied=occupied,
        held=held,
        confirmed=summary.confirmed,
        seats_left=max(0, summary.capacity - occupied),
        seq=summary.seq,
        checked_in=summary.checked_in,
        waiting=summary.waiting,
        waiting_seats=summary.waiting_seats,
        demo=summary.demo,
        archived=summary.archived,
        offer_ttl=_ttl(summary.offer_ttl_s),
    )
    return OccurrenceView(
        record,
        (),
        live[0] if live else None,
        summary.seq,
        now,
        summary.high_water,
        (),
        live,
    )


def _ttl(seconds: float | None) -> timedelta | None:
    return timedelta(seconds=seconds) if seconds is not None else None
