"""Judging a run from its stream alone, against what each racer was told.

Nothing the racers or the ledger say about themselves is trusted: a writer
that bypassed the ledger, or a ledger that lied to a racer, is caught here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from store.audit.check import ACQUISITIONS, FIRST_FIT, StreamReport, check_stream
from store.eventstore.events import Event
from store.ledger.fold import OccurrenceState, SeatState

#: What a racer was told when it won a seat (later confirmed, released or cancelled).
_WON = ("held", "confirmed", "released", "cancelled")
#: What a winner's churn writes, by what it was told.
_CHURN = {"confirmed": "confirm", "released": "release", "cancelled": "cancel"}


class RacerRecord(Protocol):
    """What a client told one racer (the racers' tally satisfies it; audit imports no client)."""

    @property
    def actor(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def seq(self) -> int | None: ...
    @property
    def waited(self) -> bool: ...  # told full, it joined the waiting list
    @property
    def offered(self) -> bool: ...  # the fold offered it seats; ``seq`` is its `wait`'s


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
    - the final roster agrees with what each racer was told;
    - with waiters: every offer went to the earliest fitting waiter (the fold's
      offers against the checkers' own model replaying the log), and a racer told
      it was offered seats has its `wait` in the log (and its confirm, if told so).

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
    if any(e.type == "wait" for e in events):
        invariants.insert(1, _offers_first_fit(report))
    return Verdict(report.capacity, report.occupied, report.oversold, invariants, report)


def _never_oversold(report: StreamReport) -> Invariant:
    name = "never oversold"
    violations = [v for v in report.violations if not v.problem.startswith(FIRST_FIT)]
    if not violations:
        return Invariant(
            name,
            True,
            f"{report.acquisitions} acquisitions, at most {report.max_occupied} "
            f"of {report.capacity} seats occupied",
        )
    first = violations[0]
    return Invariant(name, False, first.problem, first.seq)


def _offers_first_fit(report: StreamReport) -> Invariant:
    name = "every offer to the earliest fitting waiter"
    wrong = [v for v in report.violations if v.problem.startswith(FIRST_FIT)]
    if wrong:
        return Invariant(name, False, wrong[0].problem, wrong[0].seq)
    if not report.ok:  # the refold stopped short (a gap, an oversell): offers unchecked
        return Invariant(name, False, "not checked: the refold found another violation first")
    offers = len(report.offers)
    plural = "s" if offers != 1 else ""
    return Invariant(name, True, f"{offers} offer{plural}, each as the model derives it")


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
        if record.waited:  # told full, so no hold of its own: a seat comes by an offer
            if seqs:
                problems.append((seqs[0], f"{record.actor!r} was told full but holds"))
            continue
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
    winners = sum(1 for r in racers if r.state in _WON and not r.waited)
    return _invariant(name, problems, f"{winners} winners, one hold each")


def _successes_logged(events: Sequence[Event], racers: Sequence[RacerRecord]) -> Invariant:
    name = "every success has its event"
    by_seq = {e.seq: e for e in events}
    problems: list[tuple[int, str]] = []
    checked = 0
    for record in racers:
        if record.offered:
            checked += 1
            problems += _offer_logged(by_seq, events, record)
            continue
        if record.state not in _WON or record.waited:
            continue
        checked += 1
        event = by_seq.get(record.seq or 0)
        if event is None or event.type != "hold" or event.data.get("actor") != record.actor:
            found = f"{event.type} by {event.data.get('actor')!r}" if event else "nothing"
            problems.append(
                (record.seq or 0, f"{record.actor!r} was told seq {record.seq}; log has {found}")
            )
            continue
        if record.state in _CHURN:
            kind = _CHURN[record.state]
            later = [
                e.seq
                for e in events
                if e.seq > event.seq and e.type == kind and e.data.get("actor") == record.actor
            ]
            if len(later) != 1:
                problems.append(
                    (event.seq, f"{record.actor!r} was told {record.state}; {len(later)} {kind}s")
                )
    offers = sum(1 for r in racers if r.offered)
    what = f"{checked - offers} holds and {offers} offers" if offers else f"{checked} holds"
    return _invariant(name, problems, f"{what} found where their racers were told")


def _offer_logged(
    by_seq: dict[int, Event], events: Sequence[Event], record: RacerRecord
) -> list[tuple[int, str]]:
    """An offered racer's `wait` is at the seq it was told (its ref); a confirm follows if told."""
    event = by_seq.get(record.seq or 0)
    if event is None or event.type != "wait" or event.data.get("actor") != record.actor:
        found = f"{event.type} by {event.data.get('actor')!r}" if event else "nothing"
        return [(record.seq or 0, f"{record.actor!r} was offered by seq {record.seq}; {found}")]
    if record.state == "confirmed":
        later = [
            e.seq
            for e in events
            if e.seq > event.seq and e.type == "confirm" and e.data.get("actor") == record.actor
        ]
        if len(later) != 1:
            return [(event.seq, f"{record.actor!r} confirmed its offer; {len(later)} confirms")]
    return []


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
        "cancelled": {None},
        "full": {None},
        "gave-up": {None},
        "offered": held,
        "left": {None},
    }
    for record in racers:
        wanted = expected.get(record.state)
        if wanted is None:
            continue
        member = state.members.get(record.actor)
        found = member.state if member is not None else None
        if record.state == "left" and record.actor in state.waiting:
            problems.append((record.seq or 0, f"{record.actor!r} left but is still waiting"))
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
