"""The racers' waiting-list churn mode (``RacePlan.waitlist``, ``boxoffice race --waitlist``).

A small real race (spawned processes, one SQLite file): racers told full join the
waiting list and confirm the seat they are offered, each winner confirms or
cancels (a canceller first waits for the sell-out, so its seat returns to
waiters); the summary counts waits, offers and confirmed offers, and the
verification adds "every offer to the earliest fitting waiter". Then the verdict
is shown to fail on what a lying racer or an unfair fold would produce.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from store import open_store
from store.audit.verify import verify
from store.booking import Ledger
from store.eventstore.events import Event
from store.ledger.fold import stream_of
from store.ledger.waiting import Waiter, WaitingList
from store.racers import RacePlan, RacerRecord, prepare_occurrence, run_race

KEY = "wl-race"
FIRST_FIT = "every offer to the earliest fitting waiter"


async def test_a_waiting_list_race_offers_returned_seats_to_the_waiters(db_path: str) -> None:
    async with open_store(db_path, create=True):
        pass
    await prepare_occurrence(db_path, KEY, 6)
    plan = RacePlan(db_path, KEY, racers=24, processes=2, seed=7, waitlist=True)

    summary = await run_race(plan)

    assert summary.ok, summary.verdict.line()
    t = summary.tally
    checks = {i.name: i for i in summary.verdict.invariants}
    assert checks[FIRST_FIT].ok and f"{t.offers} offer" in checks[FIRST_FIT].detail
    # every racer told full waited; each waiter was offered a seat (and confirmed it) or left
    assert t.waits == t.full == sum(r.waited for r in t.racers) > 0
    assert t.offers >= 1 and t.offers_confirmed == t.offers
    assert t.waits == t.offers + t.left
    for record in t.racers:
        if not record.waited and record.seq is not None:  # a winner did as the seed chose
            wanted = "confirmed" if plan.churn_choice(record.racer) == "confirm" else "cancelled"
            assert record.state == wanted
    assert t.cancelled >= t.offers  # every offered seat was a winner's, given back
    async with open_store(db_path) as store:
        ledger = Ledger(store)
        roster = await ledger.roster(KEY)
        assert await ledger.waitlist(KEY) == []  # nobody left waiting
    assert set(roster) == {r.actor for r in t.racers if r.state == "confirmed"}
    totals = summary.to_json()["totals"]
    assert (totals["waits"], totals["offers"], totals["offers_confirmed"]) == (
        t.waits,
        t.offers,
        t.offers_confirmed,
    )


def test_the_command_line_flag_races_with_the_waiting_list(
    db_path: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from tui.cli.main import main

    assert main(["init", "--db", db_path]) == 0
    record = str(tmp_path / "run.jsonl")
    argv = ["race", "--db", db_path, "--racers", "12", "--processes", "2", "--capacity", "4"]
    capsys.readouterr()
    assert main([*argv, "--waitlist", "--record", record, "--json"]) == 0
    run = json.loads(capsys.readouterr().out)
    assert run["waitlist"] is True and run["invariants"]["ok"]
    assert FIRST_FIT in [c["name"] for c in run["invariants"]["checks"]]
    assert run["totals"]["waits"] == run["totals"]["full"] > 0
    # the recording plays back (no database) to the same counts, as text
    assert main(["race", "--play", record]) == 0
    text = capsys.readouterr().out
    totals = run["totals"]
    assert f"waiting list: {totals['waits']} waited · {totals['offers']} offered" in text
    assert "--waitlist" in text
    assert main(["race", "--db", db_path, "--waitlist", "--algorithm", "seed"]) == 2


# -- the verdict catches what a fair ledger would never do ----------------------------------------


async def _two_waiters_and_a_cancel(db_path: str) -> list[Event]:
    """One seat: ann holds it, bob then cy wait, ann cancels: the seat is bob's to confirm."""
    async with open_store(db_path, create=True) as store:
        ledger = Ledger(store)
        await ledger.create_occurrence(KEY, capacity=1)
        await ledger.hold(KEY, "ann")
        await ledger.join_waitlist(KEY, "bob")
        await ledger.join_waitlist(KEY, "cy")
        await ledger.cancel(KEY, "ann")
        await ledger.confirm(KEY, "bob")
        await ledger.leave_waitlist(KEY, "cy")
        return await store.read(stream_of(KEY))


def _records() -> list[RacerRecord]:
    ann = RacerRecord(0, "ann", 0, state="cancelled", attempts=1, seq=2)
    bob = RacerRecord(1, "bob", 0, state="confirmed", seq=3, waited=True, offered=True)
    cy = RacerRecord(2, "cy", 0, state="left", waited=True)
    return [ann, bob, cy]


async def test_verify_passes_an_honest_waiting_list_run(db_path: str) -> None:
    verdict = verify(await _two_waiters_and_a_cancel(db_path), _records(), start_seq=1)
    assert verdict.ok, verdict.line()
    assert FIRST_FIT in [i.name for i in verdict.invariants]


async def test_verify_fails_when_a_racer_claims_an_offer_the_log_does_not_explain(
    db_path: str,
) -> None:
    events = await _two_waiters_and_a_cancel(db_path)
    ann, bob, _ = _records()
    cy_claims = RacerRecord(2, "cy", 0, state="confirmed", seq=3, waited=True, offered=True)
    verdict = verify(events, [ann, bob, cy_claims], start_seq=1)
    failed = {i.name for i in verdict.invariants if not i.ok}
    assert failed == {"every success has its event", "final roster agrees"}


async def test_verify_fails_on_a_fold_that_skips_the_earliest_fitting_waiter(
    db_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A seeded fault: first fit takes the latest fitting waiter; the house is never oversold."""
    events = await _two_waiters_and_a_cancel(db_path)

    def last_fit(self: WaitingList, free: int) -> Waiter | None:
        fitting = [w for w in self.in_order() if w.seats <= free]
        return self.leave(fitting[-1].actor) if fitting else None

    monkeypatch.setattr(WaitingList, "first_fit", last_fit)
    verdict = verify(events, _records(), start_seq=1)
    failed = {i.name: i for i in verdict.invariants if not i.ok}
    assert FIRST_FIT in failed and failed[FIRST_FIT].first_seq == 5
    assert "never oversold" not in failed and verdict.oversold == 0
