"""Refold a stream from its log and verify the capacity contract (SPEC §3).

Used by ``boxoffice check``, by the racers after a run, and by the fault suite:
it trusts nothing but the events, so a writer that bypassed the ledger is caught.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from store.eventstore.events import Event
from store.ledger.fold import OccurrenceState, SeatState
from store.ledger.requests import read_request

ACQUISITIONS = ("booking", "hold")


@dataclass(frozen=True, slots=True)
class Violation:
    stream: str
    seq: int
    problem: str

    def __str__(self) -> str:
        return f"{self.stream} seq {self.seq}: {self.problem}"


@dataclass(slots=True)
class StreamReport:
    """What refolding one stream found."""

    stream: str
    events: int = 0
    acquisitions: int = 0
    capacity: int = 0
    occupied: int = 0
    max_occupied: int = 0
    violations: list[Violation] = field(default_factory=list)
    state: OccurrenceState | None = None

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def oversold(self) -> int:
        """How many acquisitions found the house already full."""
        return sum(1 for v in self.violations if v.problem.startswith("oversold"))


def check_stream(events: Iterable[Event], stream: str | None = None) -> StreamReport:
    """Fold ``events`` one by one; occupied <= capacity after every acquisition that
    joined and right after every offer to a waiter.

    Each acquisition is judged at its own ``recorded_at`` (the fold's high-water
    mark), as the writer that decided it saw the house. Offers are written nowhere
    (SPEC §4.5), so this check learns of them from the fold itself: it verifies
    the house after each offer the fold derives, and cannot tell whether that
    offer went to the right waiter (the history checker's own model does that).
    """
    report = StreamReport(stream or "")
    state: OccurrenceState | None = None
    current = 0  # the seq of the event being applied, for offers derived inside it

    def after_offer(actor: str) -> None:
        assert state is not None
        occupied = state.held + state.confirmed
        report.max_occupied = max(report.max_occupied, occupied)
        if occupied > state.capacity:
            report.violations.append(
                Violation(
                    report.stream,
                    current,
                    f"oversold: occupied {occupied} > capacity {state.capacity} "
                    f"after an offer to {actor!r}",
                )
            )

    for event in events:
        if state is None:
            report.stream = stream or event.stream
            state = OccurrenceState(report.stream)
            state.offer_watch = after_offer
        current = event.seq
        report.events += 1
        if event.seq != state.seq + 1:
            report.violations.append(
                Violation(report.stream, event.seq, f"gap: expected seq {state.seq + 1}")
            )
            break
        actor = event.data.get("actor") if isinstance(event.data, dict) else None
        before = state.members.get(actor) if isinstance(actor, str) else None
        state.apply(event)
        again = _request_written_again(state, event)
        if again is not None:
            report.violations.append(Violation(report.stream, event.seq, again))
        if event.type not in ACQUISITIONS or not isinstance(actor, str):
            continue
        report.acquisitions += 1
        after = state.members.get(actor)
        joined = after is not None and after is not before and after.state is not SeatState.LAPSED
        occupied = state.occupied_at(state.high_water)
        report.max_occupied = max(report.max_occupied, occupied)
        if joined and occupied > state.capacity:
            report.violations.append(
                Violation(
                    report.stream,
                    event.seq,
                    f"oversold: occupied {occupied} > capacity {state.capacity} "
                    f"after {event.type} by {actor!r}",
                )
            )
    if state is not None:
        report.capacity = state.capacity
        report.occupied = state.occupied_at(state.high_water)
        report.state = state
    return report


def _request_written_again(state: OccurrenceState, event: Event) -> str | None:
    """A request id (SPEC §4.6) on an event that is not part of that request's first write:
    a retry acted twice."""
    found = read_request(event.meta)
    if found is None:
        return None
    request = found[0]
    written = state.requests.written.get(request.id)
    if written is None or written.first <= event.seq <= written.last:
        return None
    return (
        f"request {request.id!r} written again by {event.type} "
        f"(its write was seq {written.first}): a retry acted twice"
    )
