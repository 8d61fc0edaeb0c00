"""The history checker: it flags the histories SPEC §3 forbids, and passes the ledger's own.

Hand-written histories pin the four failures the checker exists for (an
oversell, a confirmed lapsed hold, a lost acknowledged hold, a confirm and a
release that both won) next to their honest twins, which must pass. Then the
real ``Ledger`` is driven by concurrent clients on a stepped clock and every
history it produces must be linearizable, while in a sequential history any one
changed reply must be caught.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from support import faultrun
from support.faultrun import EPOCH, TICK, Command

from store import open_store
from store.audit.history import Op, Recorder, Verdict, audit_stream, check_history, load
from store.booking import Ledger
from store.eventstore.events import Event

KEY = "k"


def op(
    n: int,
    kind: str,
    actor: str | None = None,
    *,
    at: tuple[int, int | None],
    ticks: tuple[int, int | None] = (0, 0),
    status: str | None = None,
    seat: int | None = None,
    expires: int | None = None,
    lapsed: Sequence[str] = (),
    value: int | None = None,
    ttl: int | None = None,
    seats: int | None = None,
    terminal: str = "host:1",
) -> Op:
    """One command; ``at`` is (invoke, reply) in real time, reply None for unknown."""
    return Op(
        id=f"op{n}",
        terminal=terminal,
        key=KEY,
        kind=kind,
        actor=actor,
        value=value,
        ttl=ttl,
        seats=seats,
        invoke=at[0],
        complete=at[1],
        clock_lo=ticks[0],
        clock_hi=ticks[1],
        status=status if at[1] is not None else None,
        seat=seat,
        expires_at=expires,
        lapsed=tuple(lapsed),
    )


def created(capacity: int, hold_ttl: int | None = None) -> Op:
    return op(0, "create", at=(0, 1), status="created", value=capacity, ttl=hold_ttl)


def verdict(ops: Sequence[Op], clock_end: int | None = None) -> Verdict:
    (only,) = check_history(ops, clock_end=clock_end)
    return only


# -- honest histories pass ----------------------------------------------------------------------


def test_a_sequential_history_of_every_command_is_linearizable() -> None:
    history = [
        created(2, hold_ttl=3),
        op(1, "hold", "ada", at=(2, 3), status="held", seat=1, expires=3),
        op(2, "book", "bob", at=(4, 5), status="booked", seat=2),
        op(3, "hold", "cy", at=(6, 7), status="full"),
        op(4, "hold", "ada", at=(8, 9), status="already", seat=1, expires=3),
        op(5, "confirm", "ada", at=(10, 11), status="confirmed", seat=1),
        op(6, "release", "ada", at=(12, 13), status="not-held", seat=1),  # keeps its seat
        op(7, "cancel", "ada", at=(14, 15), status="cancelled"),
        op(8, "hold", "cy", at=(16, 17), ticks=(1, 1), status="held", seat=2, expires=4),
        op(9, "expire", at=(18, 19), ticks=(4, 4), status="expired", lapsed=["cy"]),
        op(10, "confirm", "cy", at=(20, 21), ticks=(4, 4), status="expired", expires=4),
        op(11, "capacity", at=(22, 23), ticks=(4, 4), status="capacity-set", value=1),
        op(12, "book", "dee", at=(24, 25), ticks=(4, 4), status="full"),
    ]
    result = verdict(history)
    assert result.ok, result.problem
    assert result.order == [o.id for o in history]


def test_concurrent_holds_for_the_last_seat_may_be_ordered_either_way() -> None:
    history = [
        created(1),
        op(1, "hold", "ada", at=(2, 10), status="full"),
        op(2, "hold", "bob", at=(3, 9), status="held", seat=1),
    ]
    result = verdict(history)
    assert result.ok, result.problem
    # bob's reply came first, though ada was invoked first
    assert result.order == ["op0", "op2", "op1"]


# -- the four failures it exists to catch -------------------------------------------------------


def test_flags_an_oversell() -> None:
    history = [
        created(1),
        op(1, "hold", "ada", at=(2, 10), status="held", seat=1),
        op(2, "hold", "bob", at=(3, 9), status="held", seat=1),
    ]
    result = verdict(history)
    assert not result.ok
    assert "2 of 3 commands" in result.problem
    assert "'full'" in result.problem  # what the model would have answered


def test_flags_an_oversell_even_with_plausible_seat_numbers() -> None:
    history = [
        created(1),
        op(1, "book", "ada", at=(2, 10), status="booked", seat=1),
        op(2, "book", "bob", at=(3, 9), status="booked", seat=2),
    ]
    assert not verdict(history).ok


@pytest.mark.parametrize(
    ("confirm_ticks", "reply", "linearizable"),
    [
        ((3, 3), "confirmed", False),  # exactly at expires_at: lapsed (SPEC §2)
        ((4, 5), "confirmed", False),  # after it
        ((3, 3), "expired", True),
        ((2, 3), "confirmed", True),  # it may have decided at tick 2, before the lapse
        ((2, 2), "expired", False),  # not lapsed yet
    ],
)
def test_a_confirm_of_a_lapsed_hold_must_answer_expired(
    confirm_ticks: tuple[int, int], reply: str, linearizable: bool
) -> None:
    history = [
        created(1),
        op(1, "hold", "ada", at=(2, 3), ttl=3, status="held", seat=1, expires=3),
        op(
            2,
            "confirm",
            "ada",
            at=(4, 5),
            ticks=confirm_ticks,
            status=reply,
            seat=1 if reply == "confirmed" else None,
            expires=3 if reply == "expired" else None,
        ),
    ]
    assert verdict(history).ok is linearizable


def test_flags_a_lost_acknowledged_hold_that_freed_its_seat() -> None:
    history = [
        created(1),
        op(1, "hold", "ada", at=(2, 3), status="held", seat=1),
        op(2, "hold", "bob", at=(4, 5), status="held", seat=1),
    ]
    assert not verdict(history).ok


def test_flags_a_lost_acknowledged_hold_that_its_holder_cannot_confirm() -> None:
    history = [
        created(3),
        op(1, "hold", "ada", at=(2, 3), status="held", seat=1),
        op(2, "confirm", "ada", at=(4, 5), status="not-held"),
    ]
    assert not verdict(history).ok


@pytest.mark.parametrize(
    ("confirm", "release", "linearizable"),
    [
        ("confirmed", "released", False),  # both won: the fold keeps only one
        ("confirmed", "not-held", True),
        ("not-held", "released", True),
        ("not-held", "not-held", False),  # both lost: nobody took the hold away
    ],
)
def test_a_confirm_racing_a_release_has_exactly_one_winner(
    confirm: str, release: str, linearizable: bool
) -> None:
    won = 1 if confirm == "confirmed" else None
    history = [
        created(1),
        op(1, "hold", "ada", at=(2, 3), status="held", seat=1),
        op(2, "confirm", "ada", at=(4, 10), status=confirm, seat=won),
        # a release that finds the seat confirmed says which seat the actor keeps
        op(
            3,
            "release",
            "ada",
            at=(5, 9),
            status=release,
            seat=won if release == "not-held" else None,
        ),
    ]
    assert verdict(history).ok is linearizable


def test_real_time_order_is_respected() -> None:
    """A release answered before the confirm was sent must come first: the confirm lost."""
    history = [
        created(1),
        op(1, "hold", "ada", at=(2, 3), status="held", seat=1),
        op(2, "release", "ada", at=(4, 5), status="released"),
        op(3, "confirm", "ada", at=(6, 7), status="confirmed", seat=1),
    ]
    assert not verdict(history).ok


def test_a_hold_decided_outside_its_clock_window_is_flagged() -> None:
    """expires_at pins the decision tick: 5 - 2 = 3, but the command ran during ticks 0..1."""
    history = [
        created(1),
        op(1, "hold", "ada", at=(2, 3), ticks=(0, 1), ttl=2, status="held", seat=1, expires=5),
    ]
    assert not verdict(history).ok


def test_a_conflict_reply_wrote_nothing() -> None:
    history = [
        created(1),
        op(1, "hold", "ada", at=(2, 3), status="conflict"),
        op(2, "hold", "bob", at=(4, 5), status="held", seat=1),
    ]
    assert verdict(history).ok


# -- unknown commands (their process died) ------------------------------------------------------


def test_an_unknown_hold_may_have_taken_effect() -> None:
    history = [
        created(1),
        op(1, "hold", "ada", at=(2, None)),
        op(2, "hold", "bob", at=(4, 5), status="full"),
        op(3, "cancel", "ada", at=(6, 7), status="cancelled"),
    ]
    assert verdict(history).ok


def test_an_unknown_hold_may_never_have_happened() -> None:
    history = [
        created(1),
        op(1, "hold", "ada", at=(2, None)),
        op(2, "hold", "bob", at=(4, 5), status="held", seat=1),
        op(3, "cancel", "ada", at=(6, 7), status="not-booked"),
    ]
    assert verdict(history).ok


def test_an_unknown_hold_cannot_act_before_it_was_sent() -> None:
    history = [
        created(1),
        op(1, "hold", "bob", at=(2, 3), status="full"),
        op(2, "hold", "ada", at=(4, None)),
    ]
    assert not verdict(history).ok


def test_an_unknown_hold_lapses_from_whichever_tick_it_was_decided_at() -> None:
    """Sent at tick 0 with ttl 2, answered never: by tick 4 it has lapsed, whenever it ran."""
    history = [
        created(1),
        op(1, "hold", "ada", at=(2, None), ttl=2),
        op(2, "hold", "bob", at=(4, 5), ticks=(1, 1), status="full"),
        op(3, "hold", "cy", at=(6, 7), ticks=(9, 9), status="held", seat=1, expires=11, ttl=2),
    ]
    assert verdict(history, clock_end=9).ok
    late_full = [*history[:3], replace(history[3], status="full", seat=None, expires_at=None)]
    assert not verdict(late_full, clock_end=9).ok


# -- the log against the replies ----------------------------------------------------------------


def _event(seq: int, type_: str, actor: str | None, terminal: str = "host:1") -> Event:
    data = {"actor": actor} if actor is not None else {}
    return Event("booking:k", seq, seq, type_, data, {"terminal": terminal})


def test_audit_finds_a_lost_write_and_an_unexplained_one() -> None:
    history = [
        created(2),
        op(1, "hold", "ada", at=(2, 3), status="held", seat=1),
        op(2, "hold", "bob", at=(4, None)),
    ]
    events = [_event(1, "created", None), _event(2, "hold", "bob")]
    audit = audit_stream(history, events)
    assert len(audit.lost) == 1 and "ada" in audit.lost[0]
    assert not audit.unexplained  # bob's hold was unknown: it may have been written
    events.append(_event(3, "hold", "cy"))
    events.append(_event(4, "hold", "ada"))
    audit = audit_stream(history, events)
    assert not audit.lost
    assert len(audit.unexplained) == 1 and "cy" in audit.unexplained[0]


def test_an_unknown_expire_may_have_recorded_every_lapse_once() -> None:
    """``expire_holds`` writes one `expire` per unrecorded lapse, so a killed one may
    account for one per actor, not one in all (a PostgreSQL kill run was flagged
    "('host:1', 'expire', 'a4'): 1 in the log, at most 0 sent" for an expire_holds
    that recorded two lapses before its racer was killed); never two for one actor."""
    history = [
        created(2, hold_ttl=1),
        op(1, "hold", "a3", at=(2, 3), status="held", seat=1, expires=3),
        op(2, "hold", "a4", at=(4, 5), status="held", seat=2, expires=3),
        op(3, "expire", at=(6, None), ticks=(5, 5)),
    ]
    events = [
        _event(1, "created", None),
        _event(2, "hold", "a3"),
        _event(3, "hold", "a4"),
        _event(4, "expire", "a3"),
        _event(5, "expire", "a4"),
    ]
    audit = audit_stream(history, events)
    assert audit.ok, audit.unexplained
    events.append(_event(6, "expire", "a4"))  # one killed command cannot record a4 twice
    audit = audit_stream(history, events)
    assert len(audit.unexplained) == 1 and "a4" in audit.unexplained[0]


def test_audit_counts_per_terminal() -> None:
    history = [created(2), op(1, "hold", "ada", at=(2, 3), status="held", seat=1)]
    events = [_event(1, "created", None), _event(2, "hold", "ada", terminal="host:2")]
    audit = audit_stream(history, events)
    assert audit.lost and audit.unexplained


# -- the real ledger's histories ----------------------------------------------------------------


class LocalTicks:
    """The stepped clock of ``faultrun.Ticks``, in one process."""

    def __init__(self) -> None:
        self.value = 0

    def tick(self) -> int:
        return self.value

    def __call__(self) -> Any:
        return EPOCH + self.value * TICK


async def _record_ledger_run(
    seed: int, db: str, history: Path, *, waitlist: bool = False
) -> tuple[int, list[Op]]:
    """Concurrent clients on two ledgers (two connections) over one file, the clock stepping."""
    rng = random.Random(seed)
    plan = faultrun.plan_run(seed, waitlist=waitlist)
    ticks = LocalTicks()
    async with open_store(db, create=True) as one, open_store(db) as two:
        ledgers = [Ledger(s, clock=ticks, operator="t") for s in (one, two)]  # type: ignore[arg-type]
        setup = Recorder(history, "setup")
        first = setup.invoke(
            KEY, "create", clock=0, value=plan.capacity, ttl=plan.hold_ttl, offer_ttl=plan.offer_ttl
        )
        ttl = plan.hold_ttl * TICK if plan.hold_ttl else None
        offer = plan.offer_ttl * TICK if plan.offer_ttl else None
        out = await ledgers[0].create_occurrence(
            KEY, capacity=plan.capacity, hold_ttl=ttl, offer_ttl=offer
        )
        setup.complete(first, str(out.status), clock=0)
        clients: list[list[Command]] = [c for p in plan.racers for c in p]
        recorders = [Recorder(history, f"host:{n % 2}", f"c{n}") for n in range(len(clients))]

        async def client(n: int) -> None:
            for command in clients[n]:
                await faultrun.perform(ledgers[n % 2], recorders[n], ticks, KEY, command)  # type: ignore[arg-type]

        async def ticker() -> None:
            for _ in range(40):
                await asyncio.sleep(0)  # let the clients run; the clock steps between their awaits
                if rng.random() < 0.3:
                    ticks.value += 1

        await asyncio.gather(ticker(), *(client(n) for n in range(len(clients))))
    return ticks.value, load([history])


def test_every_history_of_the_real_ledger_is_linearizable(tmp_path: Path) -> None:
    statuses: set[str] = set()
    for seed in range(60):
        end, ops = asyncio.run(
            _record_ledger_run(seed, str(tmp_path / f"{seed}.db"), tmp_path / f"{seed}.jsonl")
        )
        assert all(o.complete is not None for o in ops)
        for result in check_history(ops, clock_end=end):
            assert result.ok, f"seed {seed}: {result.problem}"
        statuses |= {o.status or "" for o in ops}
    # the runs exercised lapses, refusals and successes alike, not only the easy path
    assert {"held", "booked", "full", "confirmed", "expired", "released", "cancelled"} <= statuses


def test_in_a_sequential_history_any_changed_reply_is_caught(tmp_path: Path) -> None:
    """One client, one tick per command: the model's answers are forced, so every lie shows."""

    async def run() -> list[Op]:
        ticks, history = LocalTicks(), tmp_path / "seq.jsonl"
        rng = random.Random(7)
        async with open_store(str(tmp_path / "seq.db"), create=True) as store:
            ledger = Ledger(store, clock=ticks, operator="t")  # type: ignore[arg-type]
            recorder = Recorder(history, "host:1")
            first = recorder.invoke(KEY, "create", clock=0, value=2, ttl=2)
            await ledger.create_occurrence(KEY, capacity=2, hold_ttl=2 * TICK)
            recorder.complete(first, "created", clock=0)
            for _ in range(40):
                kind = rng.choice(
                    ["hold", "hold", "book", "confirm", "release", "cancel", "expire"]
                )
                actor = None if kind == "expire" else rng.choice(["ada", "bob", "cy"])
                await faultrun.perform(ledger, recorder, ticks, KEY, (kind, actor, None))  # type: ignore[arg-type]
                ticks.value += rng.random() < 0.4
        return load([history])

    ops = asyncio.run(run())
    assert verdict(ops).ok
    lies: dict[str, dict[str, Any]] = {
        "held": dict(status="full", seat=None, expires_at=None),
        "booked": dict(status="full", seat=None),
        "full": dict(status="held", seat=1),
        "already": dict(status="booked"),
        "confirmed": dict(status="not-held", seat=None),
        "already-confirmed": dict(status="confirmed"),
        "not-held": dict(status="released"),
        "released": dict(status="not-held"),
        "cancelled": dict(status="not-booked"),
        "not-booked": dict(status="cancelled"),
        "expired": dict(status="not-held", expires_at=None, lapsed=()),
    }
    changed = 0
    for i, original in enumerate(ops[1:], start=1):
        assert original.status is not None
        if original.kind == "expire" and not original.lapsed:
            lie: dict[str, Any] = dict(lapsed=("ada",))
        else:
            lie = lies[original.status]
        forged = [*ops[:i], replace(original, **lie), *ops[i + 1 :]]
        assert not verdict(forged).ok, f"a changed reply to {original} went unnoticed"
        changed += 1
    assert changed == 40


# -- parties, check-in and notes (SPEC §4.1-§4.3) ------------------------------------------------


def test_a_history_of_parties_is_linearizable() -> None:
    history = [
        created(6, hold_ttl=3),
        op(1, "book", "smiths", at=(2, 3), status="booked", seat=1, seats=3),
        op(2, "hold", "jones", at=(4, 5), status="held", seat=4, expires=3, seats=2),
        op(3, "book", "lee", at=(6, 7), status="full", seats=2),
        op(4, "checkin", "jones", at=(8, 9), status="not-confirmed", seat=4, expires=3),
        op(5, "checkin", "smiths", at=(10, 11), status="checked-in", seat=1),
        op(6, "checkin", "smiths", at=(12, 13), status="already-checked-in", seat=1),
        op(7, "note", "jones", at=(14, 15), status="noted", seat=4, expires=3),
        op(8, "cancel", "smiths", at=(16, 17), status="cancelled", seat=1, seats=2),
        op(9, "book", "lee", at=(18, 19), status="booked", seat=4, seats=2),  # jones moved up
        op(10, "checkin", "jones", at=(20, 21), ticks=(3, 3), status="not-booked"),  # lapsed
        op(11, "note", "jones", at=(22, 23), ticks=(3, 3), status="not-booked"),
    ]
    result = verdict(history)
    assert result.ok, result.problem


def test_a_party_oversell_is_flagged() -> None:
    history = [
        created(4),
        op(1, "book", "smiths", at=(2, 3), status="booked", seat=1, seats=3),
        op(2, "book", "jones", at=(4, 5), status="booked", seat=4, seats=2),  # 5 of 4 seats
    ]
    result = verdict(history)
    assert not result.ok
    assert "jones" in result.problem and "full" in result.problem


def test_a_check_in_of_a_lapsed_hold_is_flagged() -> None:
    history = [
        created(4, hold_ttl=3),
        op(1, "hold", "ada", at=(2, 3), status="held", seat=1, expires=3, seats=2),
        op(2, "checkin", "ada", at=(4, 5), ticks=(5, 5), status="checked-in", seat=1),
    ]
    result = verdict(history)
    assert not result.ok
    assert "not-booked" in result.problem
