"""Refold a stream from its log and verify the capacity contract (SPEC §3).

Used by ``boxoffice check``, by the racers after a run, and by the fault suite:
it trusts nothing but the events, so a writer that bypassed the ledger is caught.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from store.audit.model import Offer, offers_in_log
from store.eventstore.events import Event
from store.ledger import summary as house
from store.ledger.fold import OccurrenceState, SeatState, fold
from store.ledger.requests import read_request
from store.ledger.snapshot import FORMAT, decode

ACQUISITIONS = ("booking", "hold")
#: How a violation of the waiting list's first fit starts (SPEC §4.5).
FIRST_FIT = "first fit"


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
    offers: list[Offer] = field(default_factory=list)  # as the fold derived them

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def gap(self) -> bool:
        """Seqs did not run 1, 2, 3...: the refold stopped at the gap."""
        return any(v.problem.startswith("gap") for v in self.violations)

    @property
    def oversold(self) -> int:
        """How many acquisitions found the house already full."""
        return sum(1 for v in self.violations if v.problem.startswith("oversold"))


def malformed(event: Event, part: str, value: object) -> str:
    """Why an event's ``data`` or ``meta`` is not what every writer writes: a JSON object.

    The fold reads such a part as empty (no actor, no time, no operator), so the
    event is still folded; the log was written by hand or by a broken writer.
    """
    kind = "null" if value is None else _JSON_NAMES.get(type(value), type(value).__name__)
    return f"malformed: {event.type} event's {part} is a JSON {kind}, not an object"


_JSON_NAMES = {list: "array", str: "string", int: "number", float: "number", bool: "boolean"}


def check_stream(events: Iterable[Event], stream: str | None = None) -> StreamReport:
    """Fold ``events`` one by one; occupied <= capacity after every acquisition that
    joined and right after every offer to a waiter.

    Each acquisition is judged at its own ``recorded_at`` (the fold's high-water
    mark), as the writer that decided it saw the house. Offers are written nowhere
    (SPEC §4.5), so this check learns of them from the fold itself and verifies
    the house after each; then, on a stream with a `wait` in it, it replays the
    log through SPEC's own model (``store.audit.model``, no code shared with the
    fold) and holds every offer the fold made against the model's: the same
    waiter, during the same event, from the same instant. So an offer that skipped
    a fitting earlier waiter is caught even when the house was never over capacity.
    """
    events = list(events)
    report = StreamReport(stream or "")
    state: OccurrenceState | None = None
    current = 0  # the seq of the event being applied, for offers derived inside it

    def after_offer(actor: str) -> None:
        assert state is not None
        report.offers.append(Offer(current, actor, state.members[actor].joined_at))
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
                Violation(
                    report.stream,
                    event.seq,
                    f"gap: seq {event.seq} follows seq {state.seq} "
                    f"(expected seq {state.seq + 1}; nothing after it is checked)",
                )
            )
            break
        for part in ("data", "meta"):
            value = getattr(event, part)
            if not isinstance(value, dict):
                report.violations.append(
                    Violation(report.stream, event.seq, malformed(event, part, value))
                )
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
    if report.ok and any(e.type == "wait" for e in events):
        report.violations += _offers_against_the_model(report, events)
    if state is not None:
        report.capacity = state.capacity
        report.occupied = state.occupied_at(state.high_water)
        report.state = state
    return report


def _offers_against_the_model(report: StreamReport, events: list[Event]) -> list[Violation]:
    """The first offer where the fold and SPEC's model part ways, if they do."""
    made, due = report.offers, offers_in_log(events)
    for found, wanted in zip(made, due, strict=False):
        if found != wanted:
            seq = min(found.seq, wanted.seq)
            return [
                Violation(
                    report.stream,
                    seq,
                    f"{FIRST_FIT}: offer to {found.actor!r} (seq {found.seq}, from {found.at}); "
                    f"the model offers {wanted.actor!r} (seq {wanted.seq}, from {wanted.at})",
                )
            ]
    if len(made) > len(due):
        extra = made[len(due)]
        problem = f"{FIRST_FIT}: offer to {extra.actor!r} that the model never makes"
        return [Violation(report.stream, extra.seq, problem)]
    if len(due) > len(made):
        missing = due[len(made)]
        problem = f"{FIRST_FIT}: no offer to {missing.actor!r}, whom the model offers seats"
        return [Violation(report.stream, missing.seq, problem)]
    return []


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


def snapshot_problem(found: tuple[int, str] | None, events: list[Event], stream: str) -> str | None:
    """What is wrong with the stream's stored snapshot, refolded from the log to its seq.

    A snapshot of another format is not a problem (the ledger ignores and rebuilds
    it); one of this format that does not decode, that claims a seq the log does
    not hold, or whose state differs from the log's fold at its seq is: the ledger
    would start a new terminal from it.
    """
    if found is None:
        return None
    seq, text = found
    state = decode(text, stream, lazy=False)  # every row checked, as a lazy load may not
    if state is None:
        if f'"format":{FORMAT},' not in text:
            return None
        return f"snapshot at seq {seq} does not decode (the ledger ignores it and rebuilds)"
    if state.seq != seq or seq > len(events) or events[seq - 1].seq != seq:
        return f"snapshot at seq {seq} claims seq {state.seq}, which the log does not hold"
    full = fold(events[:seq], stream)
    if full.canonical() != state.canonical() or full.offers != state.offers:
        return f"snapshot at seq {seq} differs from the log's fold at seq {seq}"
    return None


def summary_problem(found: tuple[int, str] | None, events: list[Event], stream: str) -> str | None:
    """What is wrong with the stream's stored house summary, refolded from the log to its seq.

    As with snapshots, one of another format is not a problem (the house ignores and
    rebuilds it), and neither is one behind the log (the house folds that stream and
    writes it again); one that does not decode, that claims a seq the log does not
    hold, or that differs from the log's fold at its seq is: the house would show it.
    """
    if found is None:
        return None
    seq, text = found
    summary = house.decode(text, stream)
    if summary is None:
        if f'"format":{house.FORMAT},' not in text:
            return None
        return f"house summary at seq {seq} does not decode (the house ignores it and rebuilds)"
    if summary.seq != seq or seq > len(events) or events[seq - 1].seq != seq:
        return f"house summary at seq {seq} claims seq {summary.seq}, which the log does not hold"
    if house.of_state(fold(events[:seq], stream)) != summary:
        return f"house summary at seq {seq} differs from the log's fold at seq {seq}"
    return None
