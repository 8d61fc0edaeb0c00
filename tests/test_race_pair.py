"""Two races released together (the side-by-side demo's headless seam), on real processes."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest

from store import open_store
from store.booking import Ledger
from store.racers import RacePlan
from store.racers.pair import RacePair, fresh_pair, run_pair
from store.racers.recording import Recorder, load, replay_summaries

pytestmark = pytest.mark.slow


async def test_a_pair_races_both_algorithms_with_the_same_racers_and_records_both(
    db_path: str, tmp_path: Path
) -> None:
    async with open_store(db_path, create=True):
        pass
    base = RacePlan(db_path, "pair", racers=16, processes=1, seed=11, operator="tester")
    plans = await fresh_pair(base, capacity=4)
    assert [p.algorithm for p in plans] == ["seed", "ours"]
    assert plans[0].occurrence != plans[1].occurrence
    assert [p.actor(3) for p in plans] == [base.actor(3)] * 2  # the same racers on both sides
    path = tmp_path / "pair.jsonl"
    recorder = Recorder(path)
    try:
        seed, ours = await run_pair(plans, recorder)
    finally:
        recorder.close()
    assert ours.ok and ours.verdict.oversold == 0 and ours.tally.held == 4
    assert seed.tally.held == seed.verdict.occupied >= 4  # whatever it oversold, named by seq
    assert len(seed.oversold_seqs) == seed.verdict.oversold
    # both sides were released within one loop turn of each other
    assert seed.started_at is not None and ours.started_at is not None
    assert abs(seed.started_at - ours.started_at) < 0.05
    async with open_store(db_path) as store:
        records = {r.key: r for r in await Ledger(store).occurrences()}
    assert all(records[p.occurrence].demo for p in plans)
    # the recording holds both runs and plays back to what was found from the streams
    runs = load(path)
    assert [r.plan.algorithm for r in runs] == ["seed", "ours"]
    played = await replay_summaries(runs)
    for live, again in zip((seed, ours), played, strict=True):
        assert again.verdict.line() == live.verdict.line()
        assert (again.tally.attempts, again.tally.held) == (live.tally.attempts, live.tally.held)
    assert not multiprocessing.active_children()


async def test_a_pair_says_how_its_start_is_going(db_path: str) -> None:
    async with open_store(db_path, create=True):
        pass
    base = RacePlan(db_path, "pair", racers=4, processes=2, seed=5, operator="tester")
    pair = RacePair(await fresh_pair(base, capacity=2))
    assert pair.phase == "spawning 4 racer processes"
    async with pair:
        await pair.launch()
        assert pair.phase == "4 of 4 processes ready"
        pair.release()
        assert pair.phase == "barrier released: racing"
        async for _ in pair.batches():
            pass
    assert not multiprocessing.active_children()
