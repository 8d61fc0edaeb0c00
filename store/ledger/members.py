"""Members of an occurrence and the views of its roster at an instant (never mutating).

``OccurrenceState`` (``store.ledger.fold``) keeps the members; the views here look
at them as of a later instant without changing anything, because a read's clock
is not in the log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from store.ledger.seat_index import SeatIndex


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
    offered: bool = False  # held by an offer to a waiter, derived by the fold (SPEC §4.5)


class RosterViews:
    """The roster's reads at an instant, over the state ``OccurrenceState`` keeps."""

    members: dict[str, Member]
    held: int
    confirmed: int
    high_water: datetime | None
    _seats: SeatIndex
    _expiry: list[tuple[datetime, int, str]]

    def _is_live_entry(self, entry: tuple[datetime, int, str]) -> Member | None:
        member = self.members.get(entry[2])
        if member is not None and member.state is SeatState.HELD and member.join == entry[1]:
            return member
        return None

    def live_holds(self) -> list[tuple[tuple[datetime, int, str], Member]]:
        """The expiry heap's live entries with their members, in heap order.

        One per live hold with an expiry (pushed when it joined), so it costs the
        holds, not the roster, and decodes no other party of a lazy snapshot.
        """
        found = []
        for entry in self._expiry:
            member = self._is_live_entry(entry)
            if member is not None:
                found.append((entry, member))
        return found

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
        heap = self._expiry
        if now is None or not heap or heap[0][0] > now:
            return []  # the heap's first entry is its soonest: nothing has lapsed
        found, stack = [], [0]
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
