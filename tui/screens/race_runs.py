"""The racers panel's live races: one house, or the seed's algorithm beside ours.

Why rounds: the seed's two-read algorithm oversells only when a write lands
between its reads just as the house fills, about one race in three at 800
racers × 4 processes on 200 seats (``bench/seed_contrast.py``). One race would
often show two green houses and prove nothing, so the demo races again (two
fresh demo occurrences each round, both algorithms) until the seed's house
oversells or ``MAX_ROUNDS`` have run, and says on screen which happened:
"round 2: no oversell this time — racing again", or that it held every round.

This module holds the workers' bodies (``race_one``, ``race_side_by_side``);
they talk to the screen only through the panel's messages
(``tui.screens.race_messages``).
"""

from __future__ import annotations

from collections.abc import Callable

from textual.message import Message

from store.racers import Race, RacePlan, RaceSummary, demo_key, new_seed, prepare_occurrence
from store.racers.pair import MAX_ROUNDS, RacePair, fresh_pair
from tui.screens.race_messages import (
    LanesEnded,
    LanesPlanned,
    LanesReleased,
    RacersMoved,
    RaceStarted,
    RoundNote,
)
from tui.widgets.race_settings import RaceSetup

Post = Callable[[Message], object]


async def race_one(
    setup: RaceSetup,
    store_url: str,
    operator: str,
    post: Post,
    on_race: Callable[[Race | None], None],
    on_warning: Callable[[str], object] | None = None,
) -> RaceSummary:
    """One house (the occurrence picked, or a fresh demo one), raced and verified.

    ``on_warning`` hears the watchdog's word on a racer process gone silent.
    """
    key = setup.key or demo_key()
    record = await prepare_occurrence(
        store_url, key, setup.capacity, operator=operator, allow_real=setup.real
    )
    plan = RacePlan(
        store_url,
        key,
        racers=setup.racers,
        processes=setup.processes,
        seed=new_seed(),
        churn=setup.churn,
        operator=operator,
        pace=setup.pace,
        shape=setup.shape,
    )
    post(LanesPlanned([plan], [record.capacity]))
    race = Race(plan, on_warning=on_warning)
    on_race(race)
    try:
        await race.start()
        post(LanesReleased([race.started_at or 0.0], race.pids))
        post(RaceStarted(race))
        async for batch in race.batches():
            post(RacersMoved(batch))
        summary = await race.summary()
    finally:
        await race.stop()  # cancelled by leaving the screen, or failed: reap all the same
        on_race(None)
    post(LanesEnded([summary]))
    return summary


def round_note(number: int, summaries: list[RaceSummary], rounds: int) -> tuple[str, str, bool]:
    """What one round showed, its state, and whether to race again."""
    seed, ours = summaries
    ours_said = f"ours oversold {ours.verdict.oversold}" + (" ✓" if ours.ok else " ✗")
    if seed.oversold_seqs:
        seqs = ", ".join(str(s) for s in seed.oversold_seqs[:8])
        text = (
            f"round {number}: the seed's house went OVER CAPACITY +{len(seed.oversold_seqs)} "
            f"(seq {seqs}); {ours_said}"
        )
        return text, "bad" if not ours.ok else "ok", False
    if number < rounds:
        text = f"round {number}: no oversell this time — racing again ({ours_said})"
        return text, "pending", True
    return (
        f"round {number} of {rounds}: the seed's house kept its capacity in every round this "
        f"time (it oversells by timing, about one race in three at 800×4 on 200 seats); "
        f"{ours_said}",
        "pending",
        False,
    )


async def race_side_by_side(
    setup: RaceSetup,
    store_url: str,
    operator: str,
    post: Post,
    on_pair: Callable[[RacePair | None], None],
    rounds: int = MAX_ROUNDS,
) -> list[RaceSummary]:
    """Race rounds until the seed oversells (or ``rounds`` ran); the last round's summaries.

    ``on_pair`` is told the round's pair (so the screen can show its phase and
    stop it) and None once it is reaped.
    """
    capacity = setup.capacity or 40
    seed = new_seed()
    summaries: list[RaceSummary] = []
    for number in range(1, rounds + 1):
        base = RacePlan(
            store_url,
            "side-by-side",
            racers=setup.racers,
            processes=setup.processes,
            seed=seed,
            churn=setup.churn,
            operator=operator,
            pace=setup.pace,
        )
        plans = await fresh_pair(base, capacity)
        note = f"round {number} of at most {rounds}: starting the racer processes…"
        post(LanesPlanned(plans, [capacity, capacity], note))
        pair = RacePair(plans)
        on_pair(pair)
        try:
            await pair.launch()
            pair.release()
            post(LanesReleased([r.started_at or 0.0 for r in pair.races], pair.pids))
            async for run, batch in pair.batches():
                post(RacersMoved(batch, run))
            summaries = await pair.summaries()
        finally:
            await pair.stop()
            on_pair(None)
        stopped = any(s.stopped for s in summaries)
        text, state, again = round_note(number, summaries, rounds)
        post(LanesEnded(list(summaries), note=f"round {number}"))
        post(RoundNote(text if not stopped else f"round {number}: stopped", state))
        if not again or stopped:
            break
        seed = new_seed()  # a fresh draw of the same size: same racers on both sides again
    return summaries
