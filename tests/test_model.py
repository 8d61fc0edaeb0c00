"""The ledger against a plain model of SPEC §2 and §4.1-§4.3, driven by Hypothesis.

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
from store.booking import InvalidInput, Ledger, Outcome, Status, UnknownOccurrence

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
#: Party sizes around a capacity of 1-3, so parties both fit and fail to fit.
party_sizes = st.sampled_from([1, 1, 2, 3])
#: Seats a partial cancel gives back; None frees the whole party.
cancel_sizes = st.sampled_from([None, None, 1, 2])
notes = st.sampled_from(["", "07700 900123", "paid"])

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
    seats: int = 1  # the party's size (SPEC §4.1)
    checked_in: bool = False
    note: str | None = None


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

    def occupied(self, t: datetime) -> int:
        """Seats, not actors: the sum of the seated parties' sizes."""
        return sum(self.members[a].seats for a in self.roster(t))

    def first_seat(self, actor: str, t: datetime) -> int | None:
        """1 + every seat of the parties before ``actor`` on the roster, or None."""
        roster = self.roster(t)
        if actor not in roster:
            return None
        return 1 + sum(self.members[a].seats for a in roster[: roster.index(actor)])

    def write(self, t: datetime) -> None:
        """An event recorded at ``t``: the high-water mark moves, due holds lapse for good."""
        self.high_water = t
        for seat in self.members.values():
            if seat.state == "held" and seat.expires_at is not None and seat.expires_at <= t:
                seat.state, seat.recorded = "lapsed", False

    def join(
        self,
        actor: str,
        state: str,
        t: datetime,
        expires_at: datetime | None,
        seats: int = 1,
        note: str | None = None,
    ) -> None:
        self.write(t)
        self.members[actor] = Seat(state, self.joins, t, expires_at, seats=seats, note=note)
        self.joins += 1


@dataclass(frozen=True)
class Expected:
    status: Status
    seat: int | None = None
    seats: int | None = None
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
        # SPEC §4.6: requests that wrote (key, id, command, actor, answer), and book requests
        # that wrote nothing (key, id, spelling, seats, note), to be repeated later
        self.requests: list[tuple[str, str, str, str, Outcome]] = []
        self.unwritten: list[tuple[str, str, str, int, str]] = []
        self.ids = 0

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
        if want.seats is not None:
            assert outcome.seats == want.seats, (outcome, want)
        assert (outcome.seat is None) == (outcome.ref is None), outcome
        if want.capacity is not None:
            assert outcome.capacity == want.capacity, (outcome, want)
        if want.check_expiry:
            assert outcome.expires_at == want.expires_at, (outcome, want)
        assert not outcome.replayed  # only a repeated request id replays
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

    def fresh_id(self, wanted: bool) -> str | None:
        if not wanted:
            return None
        self.ids += 1
        return f"req-{self.ids}"

    @rule(
        key=keys, spelling=actors, later=lateness, seats=party_sizes, note=notes, ided=st.booleans()
    )
    def book(self, key: str, spelling: str, later: int, seats: int, note: str, ided: bool) -> None:
        self.booking(key, spelling, later, seats, note, self.fresh_id(ided))

    def booking(
        self, key: str, spelling: str, later: int, seats: int, note: str, rid: str | None
    ) -> None:
        self.clock += later * MINUTE
        call = self.ledger.book(key, spelling, seats=seats, note=note, request_id=rid)
        outcome = self.command(key, call)
        if outcome is None:
            return
        actor = canonical(spelling)
        want = acquire(self.model[key], self.clock, actor, "booking", None, seats, note)
        self.expect(outcome, actor, want)
        if outcome.status is Status.BOOKED:
            self.acquired(key)
        if rid is not None and outcome.status is Status.BOOKED:
            self.requests.append((key, rid, "book", actor, outcome))
        elif rid is not None:  # wrote nothing: a repeat decides again (SPEC §4.6)
            self.unwritten.append((key, rid, spelling, seats, note))

    @rule(
        key=keys, spelling=actors, ttl=ttls, later=lateness, seats=party_sizes, ided=st.booleans()
    )
    def hold(
        self, key: str, spelling: str, ttl: int | None, later: int, seats: int, ided: bool
    ) -> None:
        self.clock += later * MINUTE
        delta = ttl * MINUTE if ttl is not None else None
        rid = self.fresh_id(ided)
        call = self.ledger.hold(key, spelling, ttl=delta, seats=seats, request_id=rid)
        outcome = self.command(key, call)
        if outcome is None:
            return
        actor = canonical(spelling)
        want = acquire(self.model[key], self.clock, actor, "hold", delta, seats, None)
        self.expect(outcome, actor, want)
        if outcome.status is Status.HELD:
            self.acquired(key)
            if rid is not None:
                self.requests.append((key, rid, "hold", actor, outcome))

    @rule(data=st.data(), how=st.sampled_from(["same", "same", "other-command", "other-actor"]))
    def repeat_a_request(self, data: st.DataObject, how: str) -> None:
        """A written request's id again: its answer as written, or refused; nothing is written."""
        if not self.requests:
            return
        key, rid, command, actor, first = data.draw(st.sampled_from(self.requests))
        head = self.run(self.store.head_position())
        if how == "same":
            again: Outcome = self.run(
                self.ledger.book(key, actor, request_id=rid)
                if command == "book"
                else self.ledger.hold(key, actor, request_id=rid)
            )
            said = ("status", "actor", "seat", "seats", "ref", "expires_at")
            assert [getattr(again, f) for f in said] == [getattr(first, f) for f in said]
            assert again.replayed and not first.replayed
        else:
            other = ("bob" if actor != "bob" else "ada") if how == "other-actor" else actor
            use_book = (command == "book") == (how == "other-actor")
            with pytest.raises(InvalidInput) as caught:
                self.run(
                    self.ledger.book(key, other, request_id=rid)
                    if use_book
                    else self.ledger.hold(key, other, request_id=rid)
                )
            assert caught.value.field == "request_id"
        assert self.run(self.store.head_position()) == head

    @rule(data=st.data(), later=lateness)
    def repeat_an_unwritten_book(self, data: st.DataObject, later: int) -> None:
        """A book that wrote nothing (`full`, `already`) left nothing to replay: it decides."""
        if not self.unwritten:
            return
        chosen = data.draw(st.sampled_from(self.unwritten))
        self.unwritten.remove(chosen)
        key, rid, spelling, seats, note = chosen
        self.booking(key, spelling, later, seats, note, rid)

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
            assert seat is not None
            want = Expected(Status.CONFIRMED, seat=occ.first_seat(actor, t), seats=seat.seats)
            occ.write(t)
            seat.state, seat.expires_at = "confirmed", None
        elif view == "confirmed":
            want = Expected(Status.ALREADY_CONFIRMED, seat=occ.first_seat(actor, t))
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
        else:  # a confirmed actor keeps its seat, and is told which
            want = Expected(Status.NOT_HELD, seat=occ.first_seat(actor, t))
        self.expect(outcome, actor, want)

    @rule(key=keys, spelling=actors, later=lateness, seats=cancel_sizes)
    def cancel(self, key: str, spelling: str, later: int, seats: int | None) -> None:
        self.clock += later * MINUTE
        outcome = self.command(key, self.ledger.cancel(key, spelling, seats=seats))
        if outcome is None:
            return
        actor, occ = canonical(spelling), self.model[key]
        t = occ.at(self.clock)
        party = occ.members.get(actor)
        if occ.view(actor, t) not in ("held", "confirmed") or party is None:
            want = Expected(Status.NOT_BOOKED)
        elif seats is not None and seats < party.seats:  # shrinks, keeping its place
            occ.write(t)
            party.seats -= seats
            want = Expected(Status.CANCELLED, seat=occ.first_seat(actor, t), seats=party.seats)
        else:
            occ.write(t)
            del occ.members[actor]
            want = Expected(Status.CANCELLED)
        self.expect(outcome, actor, want)

    @rule(key=keys, spelling=actors, later=lateness)
    def check_in(self, key: str, spelling: str, later: int) -> None:
        self.clock += later * MINUTE
        outcome = self.command(key, self.ledger.check_in(key, spelling))
        if outcome is None:
            return
        actor, occ = canonical(spelling), self.model[key]
        t = occ.at(self.clock)
        view, party = occ.view(actor, t), occ.members.get(actor)
        if view == "confirmed" and party is not None and not party.checked_in:
            want = Expected(Status.CHECKED_IN, seat=occ.first_seat(actor, t), seats=party.seats)
            occ.write(t)
            party.checked_in = True
        elif view == "confirmed":
            want = Expected(Status.ALREADY_CHECKED_IN, seat=occ.first_seat(actor, t))
        elif view == "held":
            want = Expected(Status.NOT_CONFIRMED, seat=occ.first_seat(actor, t))
        else:
            want = Expected(Status.NOT_BOOKED)
        self.expect(outcome, actor, want)

    @rule(key=keys, spelling=actors, later=lateness, note=notes)
    def annotate(self, key: str, spelling: str, later: int, note: str) -> None:
        self.clock += later * MINUTE
        outcome = self.command(key, self.ledger.annotate(key, spelling, note))
        if outcome is None:
            return
        actor, occ = canonical(spelling), self.model[key]
        t = occ.at(self.clock)
        party = occ.members.get(actor)
        if occ.view(actor, t) in ("held", "confirmed") and party is not None:
            want = Expected(Status.NOTED, seat=occ.first_seat(actor, t), seats=party.seats)
            occ.write(t)
            party.note = note or None
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
                (occ.first_seat(actor, t), actor, occ.view(actor, t), occ.members[actor].joined_at)
                for actor in roster
            ]
            parties = [
                (occ.members[a].seats, occ.members[a].note, occ.members[a].checked_in)
                for a in roster
            ]
            want_expiry = [occ.members[actor].expires_at for actor in roster]
            records = self.run(self.ledger.seats(key))
            assert [(r.seat, r.actor, r.state, r.joined_at) for r in records] == want
            assert [(r.seats, r.note, r.checked_in_at is not None) for r in records] == parties
            assert [r.expires_at for r in records if r.state == "held"] == [
                e for a, e in zip(roster, want_expiry, strict=True) if occ.view(a, t) == "held"
            ]
            assert all(r.operator == "model" for r in records)
            # the seat number every outcome reports, asked of each actor at this instant
            seat_of = {r.actor: r.seat for r in self.run(self.ledger.view(key)).roster}
            seats = [seat_of.get(a) for a in everyone]
            assert seats == [occ.first_seat(a, t) for a in everyone]
            # the seat a decision answers with (the seat index), asked by a command that
            # writes nothing: `already` for every seated party
            for actor in roster:
                again = self.run(self.ledger.book(key, actor))
                assert (again.status, again.seat) == (Status.ALREADY, occ.first_seat(actor, t))
            occupied = occ.occupied(t)
            held = sum(occ.members[a].seats for a in roster if occ.view(a, t) == "held")
            checked_in = sum(occ.members[a].seats for a in roster if occ.members[a].checked_in)
            record = self.run(self.ledger.occurrence(key))
            assert (record.capacity, record.occupied, record.held, record.confirmed) == (
                occ.capacity,
                occupied,
                held,
                occupied - held,
            )
            assert record.checked_in == checked_in
            assert record.seats_left == max(0, occ.capacity - occupied)
            assert self.run(self.ledger.matches_full_fold(key))


def acquire(
    occ: Occurrence,
    clock: datetime,
    actor: str,
    kind: str,
    ttl: timedelta | None,
    seats: int,
    note: str | None,
) -> Expected:
    """``book`` or ``hold`` in the model: already, full (counted in seats), or a join at the end."""
    t = occ.at(clock)
    occupied = occ.occupied(t)
    if occ.view(actor, t) in ("held", "confirmed"):
        return Expected(Status.ALREADY, seat=occ.first_seat(actor, t))
    if occupied + seats > occ.capacity:
        return Expected(Status.FULL, capacity=occ.capacity)
    if kind == "booking":
        occ.join(actor, "confirmed", t, None, seats, note or None)
        return Expected(Status.BOOKED, seat=occupied + 1, seats=seats)
    lifetime = ttl if ttl is not None else occ.hold_ttl
    expires = t + lifetime if lifetime is not None else None
    occ.join(actor, "held", t, expires, seats, note or None)
    return Expected(
        Status.HELD, seat=occupied + 1, seats=seats, expires_at=expires, check_expiry=True
    )


_PROFILE = "boxoffice-model"
if os.environ.get("BOXOFFICE_MODEL_PROFILE") == "derandomized":
    _PROFILE += "-derandomized"
LedgerMachine.TestCase.settings = settings.get_profile(_PROFILE)
TestLedgerModel = LedgerMachine.TestCase
