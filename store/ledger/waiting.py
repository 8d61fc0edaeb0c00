"""The waiting list of one occurrence (SPEC §4.5), kept so first fit costs O(party sizes).

Waiters are kept in join order, one queue per party size; the first waiter that
fits ``free`` seats is the earliest head among the queues of sizes <= ``free``,
so an offer never walks the list. A waiter who leaves is dropped from the dict
at once and from its queue lazily (its entry no longer matches). Changes are
journaled while a transaction is open, so a lost append undoes them.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Waiter:
    actor: str
    seats: int
    order: int  # the fold's join counter when it joined the list: list order, never reused
    ref: int  # the seq of its `wait` event (SPEC §4.2)
    joined_at: datetime | None
    operator: str | None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class OfferMade:
    """An offer the fold derived (SPEC §4.5): no event holds it, so the fold remembers it.

    ``after_seq`` is the last event folded when it was made: a lapse-driven offer comes
    before the next event (at the lapse's instant), an event-driven one right after it.
    The event log shows these between the events, marked as derived.
    """

    after_seq: int
    at: datetime | None  # the moment the seats became free
    actor: str
    seats: int
    expires_at: datetime | None
    ref: int  # the waiter's `wait` event


class WaitingList:
    def __init__(self) -> None:
        self.waiters: dict[str, Waiter] = {}
        self.seats = 0  # the waiting parties' seats
        self._queues: dict[int, deque[tuple[int, str]]] = {}
        self._journal: list[tuple[Any, ...]] | None = None

    def __len__(self) -> int:
        return len(self.waiters)

    def __contains__(self, actor: str) -> bool:
        return actor in self.waiters

    # -- transactions ----------------------------------------------------------------

    def begin(self) -> None:
        self._journal = []

    def commit(self) -> None:
        self._journal = None

    def rollback(self) -> None:
        journal = self._journal
        assert journal is not None, "rollback without begin"
        for entry in reversed(journal):
            kind = entry[0]
            if kind == "waiter":
                _, actor, old = entry
                current = self.waiters.pop(actor, None)
                if current is not None:
                    self.seats -= current.seats
                if old is not None:
                    self.waiters[actor] = old
                    self.seats += old.seats
            elif kind == "pushed":
                self._queues[entry[1]].pop()
            else:  # "popped": a stale or offered head goes back to the front
                self._queues[entry[1]].appendleft(entry[2])
        self._journal = None

    def _put(self, actor: str, waiter: Waiter | None) -> None:
        old = self.waiters.get(actor)
        if self._journal is not None:
            self._journal.append(("waiter", actor, old))
        if old is not None:
            self.seats -= old.seats
            del self.waiters[actor]
        if waiter is not None:
            self.waiters[actor] = waiter
            self.seats += waiter.seats

    # -- changes -------------------------------------------------------------------------

    def join(self, waiter: Waiter) -> None:
        self._put(waiter.actor, waiter)
        self._queues.setdefault(waiter.seats, deque()).append((waiter.order, waiter.actor))
        if self._journal is not None:
            self._journal.append(("pushed", waiter.seats))

    def leave(self, actor: str) -> Waiter | None:
        waiter = self.waiters.get(actor)
        if waiter is not None:
            self._put(actor, None)
        return waiter

    def annotate(self, actor: str, note: str | None) -> None:
        waiter = self.waiters.get(actor)
        if waiter is not None:
            self._put(actor, replace(waiter, note=note))

    def first_fit(self, free: int) -> Waiter | None:
        """The earliest waiter whose party fits ``free`` seats, taken off the list."""
        best: tuple[int, str] | None = None
        best_size = 0
        for size, queue in self._queues.items():
            if size > free:
                continue
            head = self._live_head(size, queue)
            if head is not None and (best is None or head < best):
                best, best_size = head, size
        if best is None:
            return None
        self._pop(best_size)
        return self.leave(best[1])

    def _live_head(self, size: int, queue: deque[tuple[int, str]]) -> tuple[int, str] | None:
        while queue:
            order, actor = queue[0]
            waiter = self.waiters.get(actor)
            if waiter is not None and waiter.order == order:
                return queue[0]
            self._pop(size)
        return None

    def _pop(self, size: int) -> None:
        entry = self._queues[size].popleft()
        if self._journal is not None:
            self._journal.append(("popped", size, entry))

    def in_order(self) -> list[Waiter]:
        return sorted(self.waiters.values(), key=lambda w: w.order)

    def position(self, actor: str) -> int | None:
        """1-based place in the list (a read that returns the list may cost the list)."""
        waiter = self.waiters.get(actor)
        if waiter is None:
            return None
        return 1 + sum(1 for w in self.waiters.values() if w.order < waiter.order)
