"""The season's catalog: the occurrences a search can answer from, kept current cheaply.

``find`` looks across every occurrence, but folding every stream to answer it
costs the whole history (201,000 events for 1,000 shows of 200 parties: 14 s
at load 9 in ``bench/find.py``, against 0.4 s for this). So the catalog
first asks the store which streams mention the text at all
(``EventStore.streams_mentioning``, one query the database answers) and folds
only those, keeping each folded state to catch up by seq next time; what is
archived and when a show starts is learnt from those states, never by folding
the rest. A search that names more than ``NARROW_AT_MOST`` streams (a letter,
say) folds the season once instead, after which the catalog tails ``read_all``
by position (SPEC §1: a reader that tails by position never skips a committed
event) and answers every later search from memory, one substring search per
occurrence. It keeps its own states,
apart from the write lanes, so a tentative decision is never seen here.
"""

from __future__ import annotations

import asyncio
import unicodedata
from collections.abc import Iterable
from datetime import datetime

from store.eventstore.contract import EventStore
from store.eventstore.events import Event
from store.ledger.casefolds import pieces
from store.ledger.fold import STREAM_PREFIX, Member, OccurrenceState, SeatState, parse_time
from store.ledger.outcomes import SeatRecord
from store.ledger.rules import KEY_PATTERN
from store.ledger.views import key_of, seat_records
from store.ledger.waiting import Waiter

#: Events read per round of catching up: bounded memory on a first, cold catch-up.
_PAGE = 5000
#: The event types by which a party joins a roster or a list: the ones naming its ref.
JOINS = ("booking", "hold", "wait")
#: Most streams a search folds one by one; past it the whole season is folded once.
NARROW_AT_MOST = 100

Found = list[tuple[str, OccurrenceState]]


class Catalog:
    """Folded states of the occurrences searches have needed, caught up on demand."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        #: True once every stream is folded; from then on ``position`` is tailed
        self.whole = False
        self.position = 0
        self.states: dict[str, OccurrenceState] = {}
        #: per occurrence: the seq it was made at, every name casefolded, every ref
        self._haystacks: dict[str, tuple[int, str, frozenset[int]]] = {}
        self._lock = asyncio.Lock()

    async def candidates(self, needle: Needle, *, include_archived: bool = False) -> Found:
        """The created occurrences that may hold a match, caught up, soonest first."""
        async with self._lock:
            if not self.whole:
                streams = await self.store.streams_mentioning(
                    STREAM_PREFIX, JOINS, "actor", needle.pieces, needle.ref
                )
                if len(streams) <= NARROW_AT_MOST:
                    keys = [k for s in streams if (k := _key(s)) is not None]
                    return _listed(
                        [(k, await self._fold_stream(k)) for k in keys], include_archived
                    )
            await self.catch_up()
            return _listed(
                ((k, s) for k, s in self.states.items() if self._may_match(k, s, needle)),
                include_archived,
            )

    def _may_match(self, key: str, state: OccurrenceState, needle: Needle) -> bool:
        """A cheap test before building rows: one substring search per occurrence.

        Every name the occurrence has seen, casefolded, in one string, remade only
        when the occurrence has moved; it holds lapsed and departed names too, so
        it can only say yes too often, never no wrongly.
        """
        seen = self._haystacks.get(key)
        if seen is None or seen[0] != state.seq:
            people: list[Member | Waiter] = [
                *state.members.values(),
                *state.waiting.waiters.values(),
            ]
            names = "\n".join(p.actor.casefold() for p in people)
            seen = self._haystacks[key] = (state.seq, names, frozenset(p.ref for p in people))
        return needle.folded in seen[1] or (needle.ref is not None and needle.ref in seen[2])

    async def _fold_stream(self, key: str) -> OccurrenceState:
        state = self.states.get(key)
        if state is None:
            state = self.states[key] = OccurrenceState(STREAM_PREFIX + key)
        for event in await self.store.read(state.stream, after_seq=state.seq):
            state.apply(event)
        return state

    async def catch_up(self) -> None:
        """Tail every stream by position (the first time: fold the season)."""
        while True:
            events = await self.store.read_all(self.position, _PAGE)
            for event in events:
                await self._apply(event)
            if events:
                self.position = events[-1].position
            if len(events) < _PAGE:
                self.whole = True
                return

    async def _apply(self, event: Event) -> None:
        key = _key(event.stream)
        if key is None:
            return
        state = self.states.get(key)
        if state is None:
            state = self.states[key] = OccurrenceState(event.stream)
        if event.seq == state.seq + 1:
            state.apply(event)
        elif event.seq > state.seq:  # never expected; refold the gap from the stream itself
            for missing in await self.store.read(event.stream, after_seq=state.seq):
                state.apply(missing)
        # a seq at or below the state's: already folded while searches were narrowed


def _key(stream: str) -> str | None:
    """The occurrence key of a stream, or None for another kind or a name no key can have."""
    key = key_of(stream)
    return key if key is not None and KEY_PATTERN.fullmatch(key) else None


def _listed(found: Iterable[tuple[str, OccurrenceState]], include_archived: bool) -> Found:
    """Created occurrences, soonest first; those with no start time last, then by key."""
    listed = [
        (key, state)
        for key, state in found
        if state.created and (include_archived or not state.archived)
    ]
    listed.sort(key=_start_order)
    return listed


def _start_order(item: tuple[str, OccurrenceState]) -> tuple[bool, float, str]:
    key, state = item
    start = parse_time(state.starts_at)
    return (start is None, start.timestamp() if start is not None else 0.0, key)


class Needle:
    """What ``find`` looks for: a piece of a name (case-insensitive, NFC) or a ref."""

    def __init__(self, text: str) -> None:
        normal = unicodedata.normalize("NFC", text).strip()
        self.folded = normal.casefold()
        digits = normal[1:] if normal.startswith("#") else normal
        self.ref = int(digits) if digits.isascii() and digits.isdigit() else None
        #: what every matching name holds one of (ASCII case aside): the store's filter
        self.pieces = pieces(self.folded)

    def rows(self, state: OccurrenceState, now: datetime | None) -> list[SeatRecord]:
        """The matching seated parties in roster order, then the matching waiters in order."""
        found = []
        if self.seated(state, now):
            found = [r for r in seat_records(state, now) if self.matches(state.members[r.actor])]
        for waiter in state.waiting.in_order():
            if self.matches(waiter):
                found.append(
                    SeatRecord(
                        None,
                        waiter.actor,
                        "waiting",
                        waiter.joined_at,
                        None,
                        waiter.operator,
                        waiter.ref,
                        waiter.seats,
                        waiter.note,
                    )
                )
        return found

    def matches(self, member: Member | Waiter) -> bool:
        if self.ref is not None and member.ref == self.ref:
            return True
        return self.folded in member.actor.casefold()  # actors are stored NFC (SPEC §2)

    def seated(self, state: OccurrenceState, now: datetime | None) -> bool:
        """Whether a party seated at ``now`` matches (a cheap test before building rows)."""
        return any(
            m.state is not SeatState.LAPSED
            and self.matches(m)
            and state.state_at(m.actor, now) is not SeatState.LAPSED
            for m in state.members.values()
        )
