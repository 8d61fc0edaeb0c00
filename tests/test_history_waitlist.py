"""The checkers' own model of the waiting list (SPEC §4.5) catches wrong offers.

Offers are written nowhere, so these tests pin what only a model that derives
offers itself can see. The history search: a reply that only a wrong offer
explains fits no order (an offer that skipped a fitting earlier waiter, an offer
while seats were short, a lapsed offer confirmed), while an honest history of
waits, offers, lapses and passes-on fits one. The log check: the fold's offers,
replayed from a real ledger's log, are the model's; a fold seeded with a
wrong first fit is caught even when the house is never over capacity.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from support import faultrun
from test_history import LocalTicks, _record_ledger_run

from store import EventStore, open_store
from store.audit.check import check_stream
from store.audit.history import Op, Recorder, Verdict, check_history, load
from store.audit.model import offers_in_log
from store.booking import Ledger
from store.ledger.waiting import Waiter, WaitingList

KEY = "k"
MIN = timedelta(minutes=1)


def op(n: int, kind: str, actor: str | None = None, *, tick: int = 0, **reply: Any) -> Op:
    """One command, sequential in real time (invoked at 10n, answered at 10n+1) at one tick."""
    fields = {k: reply.pop(k) for k in ("seats", "value", "ttl", "offer_ttl") if k in reply}
    return Op(
        id=f"op{n}",
        terminal="host:1",
        key=KEY,
        kind=kind,
        actor=actor,
        invoke=10 * n,
        complete=10 * n + 1,
        clock_lo=tick,
        clock_hi=tick,
        status=reply.pop("status"),
        seat=reply.pop("seat", None),
        expires_at=reply.pop("expires", None),
        lapsed=tuple(reply.pop("lapsed", ())),
        position=reply.pop("position", None),
        **fields,
    )


def created(capacity: int, *, hold_ttl: int | None = None, offer_ttl: int | None = None) -> Op:
    return op(0, "create", status="created", value=capacity, ttl=hold_ttl, offer_ttl=offer_ttl)


def verdict(ops: Sequence[Op]) -> Verdict:
    (only,) = check_history(ops)
    return only


# -- the history search -------------------------------------------------------------------------


def test_an_honest_history_of_waits_offers_and_lapses_is_linearizable() -> None:
    history = [
        created(2, hold_ttl=3, offer_ttl=2),
        op(1, "hold", "ada", seats=2, status="held", seat=1, expires=3),
        op(2, "wait", "bob", seats=2, status="waiting", position=1),
        op(3, "wait", "cy", status="waiting", position=2),
        op(4, "wait", "dee", status="waiting", position=3),
        op(5, "wait", "cy", status="already", position=2),
        op(6, "note", "dee", status="noted", position=3),
        op(7, "cancel", "ada", tick=1, status="cancelled"),  # both seats go to bob, until 3
        op(8, "confirm", "cy", tick=1, status="not-held"),  # cy still waits
        op(9, "unwait", "bob", tick=1, status="not-waiting"),  # an offer declines by release
        op(10, "hold", "bob", tick=2, status="already", seat=1, expires=3),
        # tick 3: bob's offer lapses; from that moment cy and dee are offered a seat each
        op(11, "confirm", "bob", tick=3, status="expired", expires=3),
        op(12, "hold", "dee", tick=4, status="already", seat=2, expires=5),
        op(13, "confirm", "cy", tick=4, status="confirmed", seat=1),
        op(14, "release", "dee", tick=4, status="released"),  # declined: nobody waits
        op(15, "wait", "eve", tick=4, status="offered", seat=2, expires=6),  # seated at once
        op(16, "cancel", "eve", tick=4, seats=None, status="cancelled"),
        op(17, "wait", "fay", seats=3, tick=4, status="waiting", position=1),  # never fits
        op(18, "checkin", "fay", tick=4, status="not-booked"),
        op(19, "unwait", "fay", tick=4, status="left"),
        op(20, "expire", tick=6, status="expired", lapsed=[]),
    ]
    result = verdict(history)
    assert result.ok, result.problem
    assert result.order == [o.id for o in history]


def _after_a_cancel(first: str, second: str) -> list[Op]:
    """One seat; bob then cy wait for it; ada's cancel frees it: bob, the earliest, is offered."""
    return [
        created(1),
        op(1, "book", "ada", status="booked", seat=1),
        op(2, "wait", "bob", status="waiting", position=1),
        op(3, "wait", "cy", status="waiting", position=2),
        op(4, "cancel", "ada", status="cancelled"),
        op(5, "confirm", "bob", status=first, seat=1 if first == "confirmed" else None),
        op(6, "confirm", "cy", status=second, seat=1 if second == "confirmed" else None),
    ]


def test_flags_an_offer_that_skipped_a_fitting_earlier_waiter() -> None:
    assert verdict(_after_a_cancel("confirmed", "not-held")).ok
    skipped = verdict(_after_a_cancel("not-held", "confirmed"))
    assert not skipped.ok
    assert "op5 confirm 'bob'" in skipped.problem and "'confirmed'" in skipped.problem


def test_a_party_too_big_keeps_its_place_and_a_smaller_one_behind_it_is_offered() -> None:
    history = [
        created(3),
        op(1, "book", "ada", seats=2, status="booked", seat=1),
        op(2, "book", "ann", status="booked", seat=3),
        op(3, "wait", "bob", seats=3, status="waiting", position=1),
        op(4, "wait", "cy", seats=2, status="waiting", position=2),
        op(5, "cancel", "ada", status="cancelled"),  # 2 free: bob's 3 do not fit, cy's 2 do
        op(6, "confirm", "cy", status="confirmed", seat=2),
        op(7, "unwait", "bob", status="left"),
    ]
    assert verdict(history).ok
    wrong = [*history[:6], op(6, "confirm", "cy", status="not-held")]
    assert not verdict(wrong).ok


@pytest.mark.parametrize("how", ["joined", "cancelled-some"])
def test_flags_an_offer_while_seats_were_short(how: str) -> None:
    """A pair offered one free seat: at the wait itself, or after a cancel freed too few."""
    history = [created(3), op(1, "book", "ada", seats=2, status="booked", seat=1)]
    if how == "joined":
        honest = op(2, "wait", "bob", seats=2, status="waiting", position=1)
        forged = op(2, "wait", "bob", seats=2, status="offered", seat=3)
        assert verdict([*history, honest]).ok
        result = verdict([*history, forged])
    else:
        history += [
            op(2, "book", "ann", status="booked", seat=3),
            op(3, "wait", "bob", seats=2, status="waiting", position=1),
            op(4, "cancel", "ada", seats=1, status="cancelled", seat=1),  # one seat free
        ]
        assert verdict([*history, op(5, "confirm", "bob", status="not-held")]).ok
        result = verdict([*history, op(5, "confirm", "bob", status="confirmed", seat=2)])
    assert not result.ok
    assert "bob" in result.problem


@pytest.mark.parametrize(
    ("tick", "status", "ok"),
    [
        (2, "confirmed", True),  # the offer runs from tick 1 (the cancel) to 3
        (3, "confirmed", False),  # lapsed at its expiry: a confirm must answer expired
        (3, "expired", True),
        (2, "expired", False),
    ],
)
def test_flags_a_confirm_of_a_lapsed_offer(tick: int, status: str, ok: bool) -> None:
    history = [
        created(1, hold_ttl=9, offer_ttl=2),
        op(1, "book", "ada", status="booked", seat=1),
        op(2, "wait", "bob", status="waiting", position=1),
        op(3, "cancel", "ada", tick=1, status="cancelled"),
        op(
            4,
            "confirm",
            "bob",
            tick=tick,
            status=status,
            seat=1 if status == "confirmed" else None,
            expires=3 if status == "expired" else None,
        ),
    ]
    assert verdict(history).ok is ok


def test_a_lapsed_offer_passes_on_from_the_moment_it_lapsed() -> None:
    """bob's offer lapses at 3 with nobody writing; cy's runs from 3, not from when it was read."""
    history = [
        created(1, offer_ttl=2),
        op(1, "book", "ada", status="booked", seat=1),
        op(2, "wait", "bob", status="waiting", position=1),
        op(3, "wait", "cy", status="waiting", position=1 + 1),
        op(4, "cancel", "ada", tick=1, status="cancelled"),
        op(5, "hold", "cy", tick=4, status="already", seat=1, expires=5),
    ]
    assert verdict(history).ok
    late = [*history[:5], op(5, "hold", "cy", tick=4, status="already", seat=1, expires=6)]
    assert not verdict(late).ok


def test_a_walk_up_cannot_take_seats_a_waiter_fits() -> None:
    history = [
        created(1),
        op(1, "book", "ada", status="booked", seat=1),
        op(2, "wait", "bob", status="waiting", position=1),
        op(3, "cancel", "ada", status="cancelled"),
        op(4, "book", "zed", status="full"),
    ]
    assert verdict(history).ok
    assert not verdict([*history[:4], op(4, "book", "zed", status="booked", seat=1)]).ok


# -- the real ledger's histories -------------------------------------------------------------------


def test_every_history_of_the_real_ledger_with_waiters_is_linearizable(tmp_path: Path) -> None:
    """Concurrent clients (two connections, one file) hold, cancel, wait, leave and confirm.

    The plans are seeded but the interleavings are the scheduler's, so which answers
    occur is chance: 40 histories at least, more (up to 120) until every answer the
    list can give has occurred at least once, or the test proved too little.
    """
    wanted = {"waiting", "offered", "left", "not-waiting", "confirmed", "cancelled"}
    statuses: set[str] = set()
    for seed in range(120):
        if seed >= 40 and wanted <= statuses:
            break
        db, history = str(tmp_path / f"{seed}.db"), tmp_path / f"{seed}.jsonl"
        end, ops = asyncio.run(_record_ledger_run(seed, db, history, waitlist=True))
        for result in check_history(ops, clock_end=end):
            assert result.ok, f"seed {seed}: {result.problem}"
        statuses |= {o.status or "" for o in ops}
    assert wanted <= statuses


LIES: dict[str, dict[str, Any]] = {
    "held": dict(status="full", seat=None, expires_at=None),
    "booked": dict(status="full", seat=None),
    "full": dict(status="held", seat=1),
    "confirmed": dict(status="not-held", seat=None),
    "already-confirmed": dict(status="confirmed"),
    "not-held": dict(status="released"),
    "released": dict(status="not-held"),
    "cancelled": dict(status="not-booked"),
    "not-booked": dict(status="cancelled"),
    "expired": dict(status="not-held", expires_at=None, lapsed=()),
    "waiting": dict(status="offered", seat=1, position=None),
    "offered": dict(status="waiting", seat=None, expires_at=None, position=1),
    "left": dict(status="not-waiting"),
    "not-waiting": dict(status="left"),
}


def test_in_a_sequential_history_with_waiters_any_changed_reply_is_caught(
    tmp_path: Path,
) -> None:
    """One client, one tick per command: every answer is forced, so every lie must show."""

    async def run() -> list[Op]:
        ticks, history = LocalTicks(), tmp_path / "seq.jsonl"
        rng = random.Random(11)
        async with open_store(str(tmp_path / "seq.db"), create=True) as store:
            ledger = Ledger(store, clock=ticks, operator="t")  # type: ignore[arg-type]
            recorder = Recorder(history, "host:1")
            first = recorder.invoke(KEY, "create", clock=0, value=2, ttl=3, offer_ttl=2)
            await ledger.create_occurrence(
                KEY, capacity=2, hold_ttl=3 * faultrun.TICK, offer_ttl=2 * faultrun.TICK
            )
            recorder.complete(first, "created", clock=0)
            kinds = ["hold", "book", "wait", "wait", "wait", "unwait", "unwait", "confirm"]
            kinds += ["release", "cancel", "expire"]
            for _ in range(60):
                kind = rng.choice(kinds)
                actor = None if kind == "expire" else rng.choice(["ada", "bob", "cy", "dee"])
                arg = rng.choice([1, 1, 2]) if kind == "wait" else None
                await faultrun.perform(ledger, recorder, ticks, KEY, (kind, actor, arg))  # type: ignore[arg-type]
                ticks.value += rng.random() < 0.3
        return load([history])

    ops = asyncio.run(run())
    assert verdict(ops).ok
    replied = {o.status for o in ops}
    assert {"waiting", "offered", "confirmed", "expired", "left"} <= replied, replied
    for i, original in enumerate(ops[1:], start=1):
        assert original.status is not None
        if original.kind == "expire" and not original.lapsed:
            lie: dict[str, Any] = dict(lapsed=("ada",))
        elif original.status == "already":  # seated: a seat number; waiting: a place
            lie = dict(status="waiting" if original.kind == "wait" else "booked")
        elif original.status == "noted":
            lie = dict(status="not-booked", seat=None, position=None)
        else:
            lie = LIES[original.status]
        forged = [*ops[:i], replace(original, **lie), *ops[i + 1 :]]
        assert not verdict(forged).ok, f"a changed reply to {original} went unnoticed"


# -- the log check --------------------------------------------------------------------------------


async def _a_night_of_waiting(ledger: Ledger, clock: Any) -> None:
    made = await ledger.create_occurrence(KEY, capacity=3, hold_ttl=10 * MIN, offer_ttl=5 * MIN)
    assert made.ok
    await ledger.hold(KEY, "ada", seats=2)
    await ledger.book(KEY, "ann")
    await ledger.join_waitlist(KEY, "bob", seats=3)
    await ledger.join_waitlist(KEY, "cy", seats=2)
    await ledger.join_waitlist(KEY, "dee")
    clock.advance(minutes=10)  # ada lapses: bob's 3 do not fit the 2 free, cy's 2 do
    await ledger.cancel(KEY, "ann")  # ann's seat: bob's 3 still do not fit, dee's 1 does
    clock.advance(minutes=5)  # cy's and dee's offers lapse together; one walk: bob fits all 3
    await ledger.expire_holds(KEY)
    await ledger.confirm(KEY, "bob")


async def test_the_fold_offers_what_the_model_derives_from_the_log(
    ledger: Ledger, store: EventStore, clock: Any
) -> None:
    await _a_night_of_waiting(ledger, clock)
    events = await store.read("booking:" + KEY)
    report = check_stream(events)
    assert report.ok, report.violations
    derived = [(o.seq, o.actor) for o in offers_in_log(events)]
    assert [(o.seq, o.actor) for o in report.offers] == derived
    # cy at ada's lapse (played out before the cancel, seq 7) and dee after the cancel;
    # bob once cy and dee lapsed together (played out before the first expire, seq 8)
    assert derived == [(7, "cy"), (7, "dee"), (8, "bob")]
    assert [s.actor for s in await ledger.seats(KEY)] == ["bob"]


async def test_the_log_check_flags_a_fold_that_skips_a_fitting_earlier_waiter(
    ledger: Ledger, store: EventStore, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A seeded fault: first fit takes the latest fitting waiter. The house is never oversold."""
    assert (await ledger.create_occurrence(KEY, capacity=1)).ok
    await ledger.book(KEY, "ada")
    await ledger.join_waitlist(KEY, "bob")
    await ledger.join_waitlist(KEY, "cy")
    await ledger.cancel(KEY, "ada")
    events = await store.read("booking:" + KEY)
    assert check_stream(events).ok

    def last_fit(self: WaitingList, free: int) -> Waiter | None:
        fitting = [w for w in self.in_order() if w.seats <= free]
        return self.leave(fitting[-1].actor) if fitting else None

    monkeypatch.setattr(WaitingList, "first_fit", last_fit)
    report = check_stream(events)
    assert report.max_occupied <= report.capacity  # no oversell to give it away
    assert [(v.seq, v.problem.split(";")[0]) for v in report.violations] == [
        (5, "first fit: offer to 'cy' (seq 5, from " + str(report.offers[0].at) + ")")
    ]
    assert "the model offers 'bob'" in report.violations[0].problem


def test_boxoffice_check_names_the_first_wrong_offer(
    db_path: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``boxoffice check`` refolds with the fold it ships; seeded with a last fit, it exits 1."""
    from tui.cli.main import main

    async def night() -> None:
        async with open_store(db_path, create=True) as store:
            ledger = Ledger(store)
            await ledger.create_occurrence(KEY, capacity=1)
            await ledger.book(KEY, "ada")
            await ledger.join_waitlist(KEY, "bob")
            await ledger.join_waitlist(KEY, "cy")
            await ledger.cancel(KEY, "ada")

    asyncio.run(night())
    assert main(["check", "--db", db_path]) == 0
    capsys.readouterr()

    def last_fit(self: WaitingList, free: int) -> Waiter | None:
        fitting = [w for w in self.in_order() if w.seats <= free]
        return self.leave(fitting[-1].actor) if fitting else None

    monkeypatch.setattr(WaitingList, "first_fit", last_fit)
    assert main(["check", "--db", db_path]) == 1
    out = capsys.readouterr()
    assert "first fit: offer to 'cy'" in out.out + out.err
    assert "the model offers 'bob'" in out.out + out.err
