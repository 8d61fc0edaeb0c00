"""The ledger against a plain model of SPEC §2, driven by Hypothesis.

The model below is written from the SPEC's words, not from ``store/fold.py``: a
dict of members per occurrence, a high-water mark moved only by written
events, and reads taken at max(clock, high-water). Random sequences of
commands and clock moves (backwards too) run against a real SQLite file; after
every step the ledger's answers, roster and counts must be the model's, and
its incremental state must equal a refold of the stream.

``BOXOFFICE_MODEL_PROFILE=derandomized`` replays the same examples on every run
(for CI bisection); the default explores fresh ones and replays remembered
failures first (Hypothesis's example database, ``.hypothesis/``).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import unicodedata
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from store import open_store
from store.audit.check import check_stream
from store.booking import Ledger, Outcome, Status, UnknownOccurrence

#: Mostly one occurrence, so most steps act on shared state; "beta" starts uncreated.
KEYS = ["alpha", "alpha", "alpha", "beta"]
#: Spellings as an operator might type them: three actors, "Zoë" composed and decomposed.
SPELLINGS = ["ada", "bob", "Zoë", "Zoe\u0308", "  ada\u3000"]
START = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)

keys = st.sampled_from(KEYS)
actors = st.sampled_from(SPELLINGS)
capacities = st.integers(min_value=0, max_value=3)
ttls = st.sampled_from([None, 5, 10])
#: Holds last 5 or 10 minutes, so steps of 5 land exactly on expiry instants.
clock_steps = st.sampled_from([-10, -5, 1, 5, 5, 10])
#: Minutes that pass just before a command: time moves often without costing a step.
lateness = st.sampled_from([0, 0, 0, 5, 10])

settings.register_profile(
    "boxoffice-model",
    max_examples=120,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "boxoffice-model-derandomized",
    parent=settings.get_profile("boxoffice-model"),
    derandomize=True,
    database=None,
)


def canonical(spelling: str) -> str:
    return unicodedata.normalize("NFC", spelling).strip()


# -- the model -------------------------------------------------------------------------------


@dataclass
class Seat:
    state: str  # "held", "confirmed" or "lapsed"
    join: int
    joined_at: datetime
    expires_at: datetime | None
    recorded: bool = False  # an `expire` event is in the log for this lapse


@dataclass
class Occurrence:
    capacity: int
    hold_ttl: timedelta | None
    high_water: datetime
    members: dict[str, Seat] = field(default_factory=dict)
    joins: int = 0

    def at(self, clock: datetime) -> datetime:
        """Commands decide, and reads look, at max(now, T)."""
        return max(clock, self.high_water)

    def view(self, actor: str, t: datetime) -> str:
        seat = self.members.get(actor)
        if seat is None:
            return "none"
        if seat.state == "held" and seat.expires_at is not None and seat.expires_at <= t:
            return "lapsed"
        return seat.state

    def roster(self, t: datetime) -> list[str]:
        joined = sorted(self.members.items(), key=lambda item: item[1].join)
        return [a for a, _ in joined if self.view(a, t) in ("held", "confirmed")]

    def write(self, t: datetime) -> None:
        """An event recorded at ``t``: the high-water mark moves, due holds lapse for good."""
        self.high_water = t
        for seat in self.members.values():
            if seat.state == "held" and seat.expires_at is not None and seat.expires_at <= t:
                seat.state, seat.recorded = "lapsed", False

    def join(self, actor: str, state: str, t: datetime, expires_at: datetime | None) -> None:
        self.write(t)
        self.members[actor] = Seat(state, self.joins, t, expires_at)
        self.joins += 1


@dataclass(frozen=True)
class Expected:
    status: Status
    seat: int | None = None
    capacity: int | None = None
    expires_at: datetime | None = None
    check_expiry: bool = False


# -- the machine ------------------------------------------------------------------------------


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = START
        self.model: dict[str, Occurrence] = {}
        self.directory = tempfile.mkdtemp(prefix="boxoffice-model-")
        self.runner = asyncio.Runner()
        self.exits = AsyncExitStack()
        path = os.path.join(self.directory, "model.db")
        # durability is not under test here; fsync would only make the search slower
        store = self.run(
            self.exits.enter_async_context(open_store(path, create=True, synchronous="OFF"))
        )
        self.store = store
        # no rival writer exists here, so any retry is a bug: give up fast instead of 5 s
        self.ledger = Ledger(store, clock=lambda: self.clock, operator="model", deadline=0.5)

    def run(self, coro: Any) -> Any:
        return self.runner.run(coro)

    def teardown(self) -> None:
        try:
            for key in self.model:
                report = check_stream(self.run(self.store.read("booking:" + key)))
                assert report.ok, [str(v) for v in report.violations]
            self.run(self.exits.aclose())
        finally:
            self.runner.close()
            shutil.rmtree(self.directory, ignore_errors=True)

    # -- driving the ledger -------------------------------------------------------------------

    def command(self, key: str, call: Any) -> Any:
        """Run a command; on an unknown occurrence it must raise and write nothing."""
        if key not in self.model:
            head = self.run(self.store.head_position())
            with pytest.raises(UnknownOccurrence):
                self.run(call)
            assert self.run(self.store.head_position()) == head
            return None
        return self.run(call)

    def expect(self, outcome: Outcome, actor: str | None, want: Expected) -> None:
        got = (outcome.status, outcome.actor)
        assert got == (want.status, actor), f"{got} != {(want.status, actor)}"
        assert outcome.seat == want.seat, (outcome, want)
        if want.capacity is not None:
            assert outcome.capacity == want.capacity, (outcome, want)
        if want.check_expiry:
            assert outcome.expires_at == want.expires_at, (outcome, want)
        assert outcome.attempts == 1  # one ledger, no rival: nothing to retry

    def acquired(self, key: str) -> None:
        """Right after an acquisition, the house is not over capacity."""
        record = self.run(self.ledger.occurrence(key))
        assert record.occupied <= record.capacity, record

    # -- rules --------------------------------------------------------------------------------

    @initialize(
        capacity=st.integers(min_value=1, max_value=3), hold_ttl=st.sampled_from([None, 10])
    )
    def open_house(self, capacity: int, hold_ttl: int | None) -> None:
        self.create("alpha", capacity, hold_ttl)

    @rule(key=keys, capacity=capacities, hold_ttl=st.sampled_from([None, 10]))
    def create(self, key: str, capacity: int, hold_ttl: int | None) -> None:
        ttl = hold_ttl * MINUTE if hold_ttl is not None else None
        outcome = self.run(self.ledger.create_occurrence(key, capacity=capacity, hold_ttl=ttl))
        occ = self.model.get(key)
        if occ is not None:
            self.expect(outcome, None, Expected(Status.EXISTS, capacity=occ.capacity))
            return
        self.model[key] = Occurrence(capacity, ttl, self.clock)
        self.expect(outcome, None, Expected(Status.CREATED, capacity=capacity))

    @rule(key=keys, capacity=capacities, later=lateness)
    def set_capacity(self, key: str, capacity: int, later: int) -> None:
        self.clock += later * MINUTE
        outcome = self.command(key, self.ledger.set_capacity(key, capacity))
        if outcome is None:
            return
        occ = self.model[key]
        occ.write(occ.at(self.clock))
        occ.capacity = capacity
        self.expect(outcome, None, Expected(Status.CAPACITY_SET, capacity=capacity))

    @rule(key=keys, spelling=actors, later=lateness)
    def book(self, key: str, spelling: str, later: int) -> None:
        self.clock += later * MINUTE
        outcome = self.command(key, self.ledger.book(key, spelling))
        if outcome is None:
            return
        actor = canonical(spelling)
        self.expect(outcome, actor, acquire(self.model[key], self.clock, actor, "booking", None))
        if outcome.status is Status.BOOKED:
            self.acquired(key)

    @rule(key=keys, spelling=actors, ttl=ttls, later=lateness)
    def hold(self, key: str, spelling: str, ttl: int | None, later: int) -> None:
        self.clock += later * MINUTE
        delta = ttl * MINUTE if ttl is not None else None
        outcome = self.command(key, self.ledger.hold(key, spelling, ttl=delta))
        if outcome is None:
            return
        actor = canonical(spelling)
        self.expect(outcome, actor, acquire(self.model[key], self.clock, actor, "hold", delta))
        if outcome.status is Status.HELD:
            self.acquired(key)

    @rule(key=keys, spelling=actors, later=lateness)
    def confirm(self, key: str, spelling: str, later: int) -> None:
        self.clock += later * MINUTE
        outcome = self.command(key, self.ledger.confirm(key, spelling))
        if outcome is None:
            return
        actor, occ = canonical(spelling), self.model[key]
        t = occ.at(self.clock)
        view, seat = occ.view(actor, t), occ.members.get(actor)
        if view == "held":
            want = Expected(Status.CONFIRMED, seat=occ.roster(t).index(actor) + 1)
            occ.write(t)
            occ.members[actor] = Seat("confirmed", seat.join, seat.joined_at, None)  # type: ignore[union-attr]
        elif view == "confirmed":
            want = Expected(Status.ALREADY_CONFIRMED, seat=occ.roster(t).index(actor) + 1)
        elif view == "lapsed":
            assert seat is not None
            want = Expected(Status.EXPIRED, expires_at=seat.expires_at, check_expiry=True)
            if not (seat.state == "lapsed" and seat.recorded):
                occ.write(t)  # the `expire` event records the lapse
                seat.state, seat.recorded = "lapsed", True
        else:
            want = Expected(Status.NOT_HELD)
        self.expect(outcome, actor, want)

    @rule(key=keys, spelling=actors, later=lateness)
    def release(self, key: str, spelling: str, later: int) -> None:
        self.clock += later * MINUTE
        outcome = self.command(key, self.ledger.release(key, spelling))
        if outcome is None:
            return
        actor, occ = canonical(spelling), self.model[key]
        t = occ.at(self.clock)
        if occ.view(actor, t) == "held":
            occ.write(t)
            del occ.members[actor]
            want = Expected(Status.RELEASED)
        else:
            roster = occ.roster(t)  # a confirmed actor keeps its seat, and is told which
            want = Expected(
                Status.NOT_HELD, seat=roster.index(actor) + 1 if actor in roster else None
            )
        self.expect(outcome, actor, want)

    @rule(key=keys, spelling=actors, later=lateness)
    def cancel(self, key: str, spelling: str, later: int) -> None:
        self.clock += later * MINUTE
        outcome = self.command(key, self.ledger.cancel(key, spelling))
        if outcome is None:
            return
        actor, occ = canonical(spelling), self.model[key]
        t = occ.at(self.clock)
        if occ.view(actor, t) in ("held", "confirmed"):
            occ.write(t)
            del occ.members[actor]
            want = Expected(Status.CANCELLED)
        else:
            want = Expected(Status.NOT_BOOKED)
        self.expect(outcome, actor, want)

    @rule(key=keys, later=lateness)
    def expire_holds(self, key: str, later: int) -> None:
        self.clock += later * MINUTE
        outcomes = self.command(key, self.ledger.expire_holds(key))
        if outcomes is None:
            return
        occ = self.model[key]
        t = occ.at(self.clock)
        due = sorted(
            (
                (seat.join, actor)
                for actor, seat in occ.members.items()
                if occ.view(actor, t) == "lapsed" and not (seat.state == "lapsed" and seat.recorded)
            ),
        )
        expected = [(actor, occ.members[actor].expires_at) for _, actor in due]
        if due:
            occ.write(t)
            for _, actor in due:
                occ.members[actor].state, occ.members[actor].recorded = "lapsed", True
        assert [(o.actor, o.expires_at) for o in outcomes] == expected
        for outcome in outcomes:
            self.expect(outcome, outcome.actor, Expected(Status.EXPIRED))

    @rule(minutes=clock_steps)
    def move_clock(self, minutes: int) -> None:
        self.clock += minutes * MINUTE

    # -- after every step -----------------------------------------------------------------------

    @invariant()
    def ledger_agrees_with_the_model(self) -> None:
        everyone = sorted({canonical(s) for s in SPELLINGS})
        for key, occ in self.model.items():
            t = occ.at(self.clock)
            roster = occ.roster(t)
            want = [
                (i, actor, occ.view(actor, t), occ.members[actor].joined_at)
                for i, actor in enumerate(roster, start=1)
            ]
            want_expiry = [occ.members[actor].expires_at for actor in roster]
            records = self.run(self.ledger.seats(key))
            assert [(r.seat, r.actor, r.state, r.joined_at) for r in records] == want
            assert [r.expires_at for r in records if r.state == "held"] == [
                e for a, e in zip(roster, want_expiry, strict=True) if occ.view(a, t) == "held"
            ]
            assert all(r.operator == "model" for r in records)
            # the seat number every outcome reports, asked of each actor at this instant
            seat_of = {r.actor: r.seat for r in self.run(self.ledger.view(key)).roster}
            seats = [seat_of.get(a) for a in everyone]
            assert seats == [roster.index(a) + 1 if a in roster else None for a in everyone]
            held = sum(1 for a in roster if occ.view(a, t) == "held")
            record = self.run(self.ledger.occurrence(key))
            assert (record.capacity, record.occupied, record.held, record.confirmed) == (
                occ.capacity,
                len(roster),
                held,
                len(roster) - held,
            )
            assert record.seats_left == max(0, occ.capacity - len(roster))
            assert self.run(self.ledger.matches_full_fold(key))


def acquire(
    occ: Occurrence, clock: datetime, actor: str, kind: str, ttl: timedelta | None
) -> Expected:
    """``book`` or ``hold`` in the model: already, full, or a join at the end."""
    t = occ.at(clock)
    roster = occ.roster(t)
    if occ.view(actor, t) in ("held", "confirmed"):
        return Expected(Status.ALREADY, seat=roster.index(actor) + 1)
    if len(roster) >= occ.capacity:
        return Expected(Status.FULL, capacity=occ.capacity)
    if kind == "booking":
        occ.join(actor, "confirmed", t, None)
        return Expected(Status.BOOKED, seat=len(roster) + 1)
    lifetime = ttl if ttl is not None else occ.hold_ttl
    expires = t + lifetime if lifetime is not None else None
    occ.join(actor, "held", t, expires)
    return Expected(Status.HELD, seat=len(roster) + 1, expires_at=expires, check_expiry=True)


_PROFILE = "boxoffice-model"
if os.environ.get("BOXOFFICE_MODEL_PROFILE") == "derandomized":
    _PROFILE += "-derandomized"
LedgerMachine.TestCase.settings = settings.get_profile(_PROFILE)
TestLedgerModel = LedgerMachine.TestCase
