"""A folded state at a seq, as text: a cache so a long stream is not refolded from seq 1.

The snapshot is only ever a starting point: a reader loads it and then folds
every event after its seq, so it can never hide an event of the log. It is
written in a format with a version; a snapshot of another version, of another
stream, or one that fails to decode in any way is ``None`` (the caller folds from
the log), never a partial state. The waiting list's per-size queues are rebuilt from
the waiters, exactly as the fold would hold them; the expiry heap keeps only
its live entries (the fold skips stale ones, so dropping them changes nothing).

Format 2 keeps the parties and the request ids as sorted lines and the seat tree
as it stands, so a cold start on a stream of 100,000 parties decodes the few it
touches (``store.ledger.cold_rows``), not all of them; a row that turns out
damaged then makes the ledger fold that stream from its log. A small snapshot is
decoded eagerly, every row checked and the counters held against the parties.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from store.ledger.cold_rows import ColdLines, LazyDict, LazySeatIndex, line
from store.ledger.fold import OccurrenceState
from store.ledger.members import Member, SeatState
from store.ledger.requests import Written
from store.ledger.seat_index import SeatIndex
from store.ledger.waiting import OfferMade, Waiter

#: Bumped whenever the fold's state gains or changes a field: an older snapshot is rebuilt.
#: 2: parties and request ids as sorted lines, decoded on first use (``cold_rows``).
FORMAT = 2
#: Above this many parties and request ids, a cold start decodes them lazily.
LAZY_FROM = 2000

V = TypeVar("V")


def _t(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _d(value: Any) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("a time is not text")
    return datetime.fromisoformat(value)


_CODES = {SeatState.HELD: "h", SeatState.CONFIRMED: "c", SeatState.LAPSED: "l"}
_BY_CODE = {code: state for state, code in _CODES.items()}
#: A party's row after its first five fields, with the values most parties have: a row
#: stops at its last field that differs (a season of bookings: ~30 bytes a party).
_TAIL_DEFAULTS: tuple[Any, ...] = (1, None, None, None, False, False)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


class Rows:
    """How one snapshot spells its parties' rows, compactly (a cold start fetches them all).

    A UTC time (what the ledger stamps) is microseconds from ``base``, any other its
    ISO text with its own offset, kept as it was; an operator is its number in
    ``operators``. A snapshot written from a lazily loaded state keeps the lines it
    never touched verbatim, so it keeps their spelling: the same base and the same
    operators, new ones appended.
    """

    def __init__(self, base: int, operators: list[str]) -> None:
        self.base = base
        self.operators = operators
        self._numbers = {name: i for i, name in enumerate(operators)}

    def copy(self) -> Rows:
        return Rows(self.base, list(self.operators))

    def head(self) -> dict[str, Any]:
        return {"base": self.base, "operators": self.operators}

    @classmethod
    def of_head(cls, head: Any) -> Rows:
        base, operators = head["base"], head["operators"]
        if not isinstance(operators, list) or not all(isinstance(o, str) for o in operators):
            raise ValueError("operators are not a list of names")
        return cls(_int(base), operators)

    def ts(self, value: datetime | None) -> int | str | None:
        if value is None:
            return None
        if value.tzinfo is UTC:
            return (value - _EPOCH) // _MICRO - self.base
        return value.isoformat()

    def dt(self, value: Any) -> datetime | None:
        if type(value) is int:
            return _EPOCH + (self.base + value) * _MICRO
        return _d(value)

    def number(self, operator: str | None) -> int | None:
        if operator is None:
            return None
        found = self._numbers.get(operator)
        if found is None:
            found = self._numbers[operator] = len(self.operators)
            self.operators.append(operator)
        return found

    def name(self, value: Any) -> str | None:
        if value is None:
            return None
        if type(value) is not int or not 0 <= value < len(self.operators):
            raise ValueError("no such operator")
        return self.operators[value]

    def row(self, m: Member) -> list[Any]:
        row = [_CODES[m.state], m.join, m.ref, self.ts(m.joined_at), self.number(m.operator)]
        tail = [m.seats, self.ts(m.expires_at), m.note, self.ts(m.checked_in_at)]
        tail += [m.lapse_recorded, m.offered]
        while tail and tail[-1] == _TAIL_DEFAULTS[len(tail) - 1]:
            tail.pop()
        return row + tail

    def member(self, actor: str, row: list[Any]) -> Member:
        if not 5 <= len(row) <= 11:
            raise ValueError("a party's row has the wrong length")
        code, join, ref, joined, operator = row[:5]
        seats, expires, note, checked_in_at, lapse_recorded, offered = (
            *row[5:],
            *_TAIL_DEFAULTS[len(row) - 5 :],
        )
        return Member(
            actor,
            _BY_CODE[code],
            _int(join),
            self.dt(joined),
            self.dt(expires),
            self.name(operator),
            bool(lapse_recorded),
            _int(ref),
            _int(seats),
            note,
            self.dt(checked_in_at),
            bool(offered),
        )


def _rows_for(state: OccurrenceState) -> Rows:
    """The spelling a new snapshot of ``state`` uses: a lazy state's own, else a fresh one."""
    members = state.members
    if isinstance(members, LazyDict) and isinstance(members.context, Rows):
        return members.context.copy()
    high = state.high_water
    return Rows((high - _EPOCH) // _MICRO if high is not None and high.tzinfo is UTC else 0, [])


def _written(rid: str, row: list[Any]) -> Written:
    command, actor, first, last, answers = row[:5]
    return Written(command, actor, _int(first), _int(last), tuple(answers))


def _lines(found: dict[str, Any], row: Callable[[Any], list[Any]]) -> list[str]:
    """Sorted ``key\trow`` lines; a lazy map's untouched lines are kept as they were."""
    if isinstance(found, LazyDict):
        kept = found.cold_lines()
        fresh = [line(k, row(v)) for k, v in found.hot_items()]
        return sorted(kept + fresh)
    return sorted(line(k, row(v)) for k, v in found.items())


def encode(state: OccurrenceState) -> str:
    """The state as text; call it outside ``begin``/``rollback`` (a committed state).

    A JSON head (everything but the parties, the request ids and the seat tree),
    then those as blocks the head gives the lengths of: sorted lines for the two
    maps (``store.ledger.cold_rows``: a cold start decodes only the lines it
    touches) and the seat tree as a JSON list.
    """
    if state._journal is not None:
        raise ValueError("a snapshot of a tentative state would store undone decisions")
    rows = _rows_for(state)
    members = "\n".join(_lines(state.members, rows.row))
    requests = "\n".join(
        _lines(
            state.requests.written,
            lambda w: [w.command, w.actor, w.first, w.last, list(w.answers)],
        )
    )
    seats = state._seats
    tree = seats.tree_now() if isinstance(seats, LazySeatIndex) else seats.tree
    tree_text = json.dumps(tree, separators=(",", ":"))
    waiters = [
        [w.actor, w.seats, w.order, w.ref, _t(w.joined_at), w.operator, w.note]
        for w in state.waiting.waiters.values()
    ]
    offers = [
        [o.after_seq, _t(o.at), o.actor, o.seats, _t(o.expires_at), o.ref] for o in state.offers
    ]
    expiry = [[_t(e[0]), e[1], e[2]] for e, _ in state.live_holds()]
    head = {
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
        "expiry": expiry,
        "waiters": waiters,
        "offers": offers,
        "rows": rows.head(),
        "blocks": [len(members), len(requests), len(tree_text)],
        "lines": [members.count("\n") + bool(members), requests.count("\n") + bool(requests)],
    }
    text = json.dumps(head, separators=(",", ":"), ensure_ascii=False)
    return "\n".join((text, members, requests, tree_text))


def decode(text: str, stream: str, *, lazy: bool | None = None) -> OccurrenceState | None:
    """The state a snapshot holds, or None if it is of another format or stream, or damaged.

    ``lazy`` (default: when the snapshot holds over ``LAZY_FROM`` lines) leaves the
    parties and request ids as lines decoded on first use; an eager decode checks
    every row, and the counters against the parties.
    """
    try:
        end = text.find("\n")
        head = json.loads(text[:end] if end >= 0 else text)
        if not isinstance(head, dict) or head.get("format") != FORMAT:
            return None
        if head.get("stream") != stream:
            return None
        return _build(head, text, end + 1, stream, lazy)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        return None


def _int(value: Any) -> int:
    if type(value) is not int:
        raise ValueError("not a whole number")
    return value


def _build(
    head: dict[str, Any], text: str, start: int, stream: str, lazy: bool | None
) -> OccurrenceState:
    """The state from the head and the blocks after ``start`` (sliced once each, no copy
    of the whole body: a cold start's cost is the text's length, so it is paid once)."""
    sizes = [_int(n) for n in head["blocks"]]
    counts = [_int(n) for n in head["lines"]]
    if start <= 0 or len(sizes) != 3 or len(counts) != 2:
        raise ValueError("no blocks")
    second, third = start + sizes[0] + 1, start + sizes[0] + sizes[1] + 2
    if third + sizes[2] != len(text) or text[second - 1] != "\n" or text[third - 1] != "\n":
        raise ValueError("blocks do not add up to the text: a truncated or spliced snapshot")
    members_text = text[start : second - 1]
    requests_text = text[second : third - 1]
    tree_text = text[third:]
    state = OccurrenceState(stream)
    state.seq = _int(head["seq"])
    state.high_water = _d(head["high_water"])
    state.created = bool(head["created"])
    state.title = head["title"]
    state.starts_at = head["starts_at"]
    state.capacity = _int(head["capacity"])
    state.hold_ttl_s = head["hold_ttl_s"]
    state.demo = bool(head["demo"])
    state.offer_ttl_s = head["offer_ttl_s"]
    state.archived = bool(head["archived"])
    state._next_join = _int(head["next_join"])
    state.held = _int(head["held"])
    state.confirmed = _int(head["confirmed"])
    state.checked_in = _int(head["checked_in"])
    if lazy is None:
        lazy = sum(counts) > LAZY_FROM
    if lazy:
        rows = Rows.of_head(head["rows"])
        state.members = LazyDict(ColdLines(members_text), rows.member)
        state.members.context = rows
        state.requests.written = LazyDict(ColdLines(requests_text), _written)
        state._seats = LazySeatIndex(tree_text)
    else:
        state.members = _eager(members_text, Rows.of_head(head["rows"]).member)
        state.requests.written = _eager(requests_text, _written)
        seats = LazySeatIndex(tree_text)
        seats.tree_now()  # checked now: an eager decode leaves nothing to fail later
        state._seats = SeatIndex()
        state._seats.tree = seats.tree
        _sane(state)
    for when, join, actor in head["expiry"]:
        moment = _d(when)
        if moment is None or not isinstance(actor, str):
            raise ValueError("an expiry entry without a time or an actor")
        state._expiry.append((moment, _int(join), actor))
    heapq.heapify(state._expiry)
    waiters = []
    for row in head["waiters"]:
        actor, seats_, order, ref, joined, operator, note = row[:7]
        waiters.append(
            Waiter(actor, _int(seats_), _int(order), _int(ref), _d(joined), operator, note)
        )
    for waiter in sorted(waiters, key=lambda w: w.order):
        state.waiting.join(waiter)
    for row in head["offers"]:
        after, at, actor, seats_, expires, ref = row[:6]
        state.offers.append(OfferMade(_int(after), _d(at), actor, _int(seats_), _d(expires), ref))
    return state


def _eager(text: str, decode_row: Callable[[str, Any], V]) -> dict[str, V]:
    found: dict[str, V] = {}
    for raw in text.split("\n") if text else []:
        key, row = ColdLines.split_line(raw)
        found[key] = decode_row(key, row)
    return found


def _sane(state: OccurrenceState) -> None:
    """The counters agree with the members, or the snapshot is damaged (and not used)."""
    held = sum(m.seats for m in state.members.values() if m.state is SeatState.HELD)
    confirmed = sum(m.seats for m in state.members.values() if m.state is SeatState.CONFIRMED)
    if (held, confirmed) != (state.held, state.confirmed):
        raise ValueError("counters disagree with the members")
