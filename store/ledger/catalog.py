"""The season's catalog: every occurrence folded once and kept current by tailing the store.

``find`` looks across every occurrence, so it cannot afford to fold each stream
per call. The catalog tails ``read_all`` by position (SPEC §1: a reader that
tails by position never skips a committed event) and applies each event to
its stream's state, so a search costs the events since the last one plus a
scan of the seated parties, never the history. It keeps its own states,
apart from the write lanes, so a tentative decision is never seen here.
"""

from __future__ import annotations

import asyncio
import unicodedata
from collections.abc import Iterator
from datetime import datetime

from store.eventstore.contract import EventStore
from store.eventstore.events import Event
from store.ledger.fold import Member, OccurrenceState, SeatState, parse_time
from store.ledger.rules import KEY_PATTERN
from store.ledger.views import key_of

#: Events read per round of catching up: bounded memory on a first, cold catch-up.
_PAGE = 5000


class Catalog:
    """Folded states of every occurrence in a store, caught up on demand."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.position = 0
        self.states: dict[str, OccurrenceState] = {}
        self._lock = asyncio.Lock()

    async def catch_up(self) -> None:
        async with self._lock:
            while True:
                events = await self.store.read_all(self.position, _PAGE)
                for event in events:
                    await self._apply(event)
                if events:
                    self.position = events[-1].position
                if len(events) < _PAGE:
                    return

    async def _apply(self, event: Event) -> None:
        key = key_of(event.stream)
        if key is None or not KEY_PATTERN.fullmatch(key):
            return  # another kind of stream, or a name no occurrence can have
        state = self.states.get(key)
        if state is None:
            state = self.states[key] = OccurrenceState(event.stream)
        if event.seq == state.seq + 1:
            state.apply(event)
        elif event.seq > state.seq:  # never expected; refold the gap from the stream itself
            for missing in await self.store.read(event.stream, after_seq=state.seq):
                state.apply(missing)

    def occurrences(
        self, *, include_archived: bool = False
    ) -> Iterator[tuple[str, OccurrenceState]]:
        """Created occurrences, soonest first; those with no start time last, then by key."""
        found = [
            (key, state)
            for key, state in self.states.items()
            if state.created and (include_archived or not getattr(state, "archived", False))
        ]
        found.sort(key=_start_order)
        return iter(found)


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

    def matches(self, member: Member) -> bool:
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
