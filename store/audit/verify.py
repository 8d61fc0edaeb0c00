"""Judging a run from its stream alone, against what each racer was told.

Nothing the racers or the ledger say about themselves is trusted: a writer
that bypassed the ledger, or a ledger that lied to a racer, is caught here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from store.audit.check import ACQUISITIONS, StreamReport, check_stream
from store.eventstore.events import Event
from store.ledger.fold import OccurrenceState, SeatState

#: What a racer was told when it won a seat (later confirmed or released under churn).
_WON = ("held", "confirmed", "released")


class RacerRecord(Protocol):
    """What a client told one racer (the racers' tally satisfies it; audit imports no client)."""

    @property
    def actor(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def seq(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class Invariant:
    name: str
    ok: bool
    detail: str
    first_seq: int | None = None  # the first offending event, where one is to blame


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the stream says about a run."""

    capacity: int
    occupied: int
    oversold: int
    invariants: list[Invariant]
    report: StreamReport

    @property
    def ok(self) -> bool:
        return all(i.ok for i in self.invariants)

    @property
    def first_seq(self) -> int | None:
        seqs = [i.first_seq for i in self.invariants if not i.ok and i.first_seq is not None]
        return min(seqs) if seqs else None

    def line(self) -> str:
        """``capacity 40 · occupied 40 · oversold 0 ✓``, or the failure and its first seq."""
        head = f"capacity {self.capacity} · occupied {self.occupied} · oversold {self.oversold}"
        if self.ok:
            return head + " ✓"
        failed = next(i for i in self.invariants if not i.ok)
        where = f" at seq {self.first_seq}" if self.first_seq is not None else ""
        return f"{head} ✗ {failed.name}{where}: {failed.detail}"


def verify(
    events: Sequence[Event],
    racers: Sequence[RacerRecord],
    *,
    start_seq: int,
    roster_before: Sequence[str] = (),
    settled: bool = True,
) -> Verdict:
    """Check a run against its stream alone (a writer that bypassed the ledger is caught).

    - never oversold: refolding, occupied <= capacity after every acquisition
      (``store.audit.check.check_stream``), and no seq gaps;
    - each winner exactly once: a racer told ``held`` has exactly one hold in the
      run, a racer told ``full`` or ``gave-up`` has none, and no hold in the run
      is by anyone but a racer;
    - every success has its event: the seq a racer was told holds its hold, and
      a confirm or release it was told of is in the log after it;
    - the final roster agrees with what each racer was told.

    ``settled=False`` is for a run that was stopped or lost a process: a racer
    stopped mid-command may have had its command committed without hearing so
    (the contract covers replies given), so a winner whose confirm or release
    was cut short may be found held, confirmed or gone.
    """
    report = check_stream(events)
    state = report.state or OccurrenceState("")
    invariants = [
        _never_oversold(report),
        _winners_once(events, racers, start_seq, roster_before),
        _successes_logged(events, racers),
        _roster_agrees(state, racers, settled),
    ]
    return Verdict(report.capacity, report.occupied, report.oversold, invariants, report)


def _never_oversold(report: StreamReport) -> Invariant:
    name = "never oversold"
    if report.ok:
        return Invariant(
            name,
            True,
            f"{report.acquisitions} acquisitions, at most {report.max_occupied} "
            f"of {report.capacity} seats occupied",
        )
    first = report.violations[0]
    return Invariant(name, False, first.problem, first.seq)


def _winners_once(
    events: Sequence[Event],
    racers: Sequence[RacerRecord],
    start_seq: int,
    roster_before: Sequence[str],
) -> Invariant:
    name = "each winner exactly once"
    acquisitions: dict[str, list[int]] = {}
    for event in events:
        if event.seq > start_seq and event.type in ACQUISITIONS:
            actor = event.data.get("actor")
            acquisitions.setdefault(str(actor), []).append(event.seq)
    by_actor = {r.actor: r for r in racers}
    before = set(roster_before)
    problems: list[tuple[int, str]] = []
    for actor, seqs in acquisitions.items():
        if actor not in by_actor:
            problems.append((seqs[0], f"a hold by {actor!r}, who is not a racer"))
    for record in racers:
        seqs = acquisitions.get(record.actor, [])
        told_won = record.state in _WON
        told_lost = record.state in ("full", "gave-up")
        if told_won and len(seqs) != 1:
            where = seqs[1] if len(seqs) > 1 else (record.seq or 0)
            problems.append((where, f"{record.actor!r} won but has {len(seqs)} holds"))
        elif told_lost and seqs:
            problems.append((seqs[0], f"{record.actor!r} was told {record.state} but holds"))
        elif record.state == "already" and (seqs or record.actor not in before):
            problems.append(
                (seqs[0] if seqs else 0, f"{record.actor!r} was told already but was not seated")
            )
        elif record.state in ("waiting", "retrying", "error") and len(seqs) > 1:
            problems.append((seqs[1], f"{record.actor!r} has {len(seqs)} holds"))
    winners = sum(1 for r in racers if r.state in _WON)
    return _invariant(name, problems, f"{winners} winners, one hold each")


def _successes_logged(events: Sequence[Event], racers: Sequence[RacerRecord]) -> Invariant:
    name = "every success has its event"
    by_seq = {e.seq: e for e in events}
    problems: list[tuple[int, str]] = []
    checked = 0
    for record in racers:
        if record.state not in _WON:
            continue
        checked += 1
        event = by_seq.get(record.seq or 0)
        if event is None or event.type != "hold" or event.data.get("actor") != record.actor:
            found = f"{event.type} by {event.data.get('actor')!r}" if event else "nothing"
            problems.append(
                (record.seq or 0, f"{record.actor!r} was told seq {record.seq}; log has {found}")
            )
            continue
        if record.state in ("confirmed", "released"):
            kind = "confirm" if record.state == "confirmed" else "release"
            later = [
                e.seq
                for e in events
                if e.seq > event.seq and e.type == kind and e.data.get("actor") == record.actor
            ]
            if len(later) != 1:
                problems.append(
                    (event.seq, f"{record.actor!r} was told {record.state}; {len(later)} {kind}s")
                )
    return _invariant(name, problems, f"{checked} holds found where their racers were told")


def _roster_agrees(
    state: OccurrenceState, racers: Sequence[RacerRecord], settled: bool
) -> Invariant:
    name = "final roster agrees"
    problems: list[tuple[int, str]] = []
    held: set[SeatState | None] = {SeatState.HELD, SeatState.LAPSED}
    if not settled:
        held |= {SeatState.CONFIRMED, None}  # a confirm or release cut short by the stop
    expected: dict[str, set[SeatState | None]] = {
        "held": held,
        "confirmed": {SeatState.CONFIRMED},
        "released": {None},
        "full": {None},
        "gave-up": {None},
    }
    for record in racers:
        wanted = expected.get(record.state)
        if wanted is None:
            continue
        member = state.members.get(record.actor)
        found = member.state if member is not None else None
        if found not in wanted:
            problems.append((record.seq or 0, f"{record.actor!r} was told {record.state}; {found}"))
    return _invariant(name, problems, f"{state.held} held, {state.confirmed} confirmed at the end")


def _invariant(name: str, problems: list[tuple[int, str]], fine: str) -> Invariant:
    if not problems:
        return Invariant(name, True, fine)
    problems.sort()
    seq, detail = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return Invariant(name, False, detail + more, seq or None)
