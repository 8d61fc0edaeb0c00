"""Two races released at the same instant: the seed's algorithm beside ours, same racers.

Why: a demonstration of safety needs a contrast an audience can see. The seed's
algorithm (``store.racers.seed``) oversells only when a write lands between its
two reads just as the house fills, so one race oversells about a third of the
time; the side-by-side demo therefore races in *rounds* (fresh demo occurrences
each time, both algorithms again) until the seed's house oversells or the
rounds run out, and says honestly which happened.

Both races of a round are launched (every process spawned and ready) before
either is released, so neither gets a head start; their batches are merged
into one stream of ``(run, batch)`` pairs, ``run`` 0 for the first plan.
Nothing here imports a user interface.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace

from store.racers.engine import Race
from store.racers.plan import RacePlan
from store.racers.prepare import demo_key, prepare_occurrence
from store.racers.recording import Recorder
from store.racers.summary import RaceSummary

#: The seed's side first, then ours: the order the panel lays them out in.
SIDE_BY_SIDE = ("seed", "ours")
#: Rounds a side-by-side demo races at most while the seed's house keeps its capacity.
MAX_ROUNDS = 5


async def fresh_pair(plan: RacePlan, capacity: int) -> list[RacePlan]:
    """Two fresh demo occurrences of ``capacity`` seats and a plan for each algorithm.

    The plans differ only in occurrence and algorithm: same seed, so the same
    actors are placed on the same processes in the same order on both sides.
    """
    plans = []
    for algorithm in SIDE_BY_SIDE:
        key = demo_key("seed-demo" if algorithm == "seed" else "race-demo")
        await prepare_occurrence(plan.store_url, key, capacity, operator=plan.operator)
        plans.append(replace(plan, occurrence=key, algorithm=algorithm, shape="terminals"))
    return plans


class RacePair:
    """Races run at once: ``launch()`` all, ``release()`` all, then ``batches()``.

    Leaving ``async with`` stops and reaps every process of every race.
    """

    def __init__(self, plans: Sequence[RacePlan]) -> None:
        self.races = [Race(p) for p in plans]

    @property
    def phase(self) -> str:
        """What to show while the processes come up (the slower side's phase)."""
        ready = sum(r.ready for r in self.races)
        total = sum(r.plan.workers for r in self.races)
        if any(r.started_at is not None for r in self.races):
            return "barrier released: racing"
        if ready == 0:
            return f"spawning {total} racer processes"
        return f"{ready} of {total} processes ready"

    @property
    def pids(self) -> list[int]:
        return [pid for r in self.races for pid in r.pids]

    async def __aenter__(self) -> RacePair:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def launch(self) -> None:
        """Spawn every race's processes and wait until all of them are ready."""
        await asyncio.gather(*(r.launch() for r in self.races))

    def release(self) -> None:
        """Fire every race at once (one loop turn: no side gets a head start)."""
        for race in self.races:
            race.release()

    async def batches(self) -> AsyncIterator[tuple[int, list]]:
        """``(run, batch)`` as any race's children report, until every race is done."""
        queue: asyncio.Queue[tuple[int, list] | None] = asyncio.Queue()

        async def pump(run: int, race: Race) -> None:
            try:
                async for batch in race.batches():
                    queue.put_nowait((run, batch))
            finally:
                queue.put_nowait(None)

        tasks = [asyncio.ensure_future(pump(i, r)) for i, r in enumerate(self.races)]
        try:
            open_runs = len(tasks)
            while open_runs:
                item = await queue.get()
                if item is None:
                    open_runs -= 1
                else:
                    yield item
            for task in tasks:
                task.result()  # a race that failed fails the pair
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def summaries(self) -> list[RaceSummary]:
        return [await r.summary() for r in self.races]

    async def stop(self) -> None:
        await asyncio.gather(*(r.stop() for r in self.races))


async def run_pair(
    plans: Sequence[RacePlan],
    recorder: Recorder | None = None,
    on_batch: Callable[[int, list], object] | None = None,
) -> list[RaceSummary]:
    """Run races side by side headless, verified each from its own stream (and recorded)."""
    async with RacePair(plans) as pair:
        await pair.launch()
        pair.release()
        if recorder is not None:
            for run, race in enumerate(pair.races):
                recorder.start(run, race.plan, race.started_at or 0.0, race.capacity)
        async for run, batch in pair.batches():
            if recorder is not None:
                recorder.events(run, batch)
            if on_batch is not None:
                on_batch(run, batch)
    summaries = await pair.summaries()
    if recorder is not None:
        for run, summary in enumerate(summaries):
            recorder.finish(run, summary)
    return summaries
