"""The workloads, each a function of (system, database path, size) returning plain figures.

Rates are taken from the clock around the work only (setup and verification are
outside it), and every run ends by recounting the stored log for oversell.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from bench.common import RawWriter, fresh_db, median, percentile
from bench.systems import bulk_book, create, open_client, verify
from store.racers.script import Client, HoldInTurn, Reply
from store.racers.swarm import counters_of, perform, run_swarm

KEY = "bench"


def _won(status: str) -> bool:
    return status in ("held", "booked")


def _retries(replies: list[Reply]) -> dict[str, Any]:
    wins = [r for r in replies if _won(r.status)]
    conflicts = sum(r.attempts - 1 for r in replies)
    return {
        "wins": len(wins),
        "conflicts": conflicts,
        "conflicts_per_win": conflicts / len(wins) if wins else None,
        "max_retries": max((r.attempts - 1 for r in replies), default=0),
    }


# -- fill: one writer books seat after seat ------------------------------------------------


async def fill(
    system: str, path: str, n: int, budget: float, window: int = 200, sample: int = 20
) -> dict[str, Any]:
    """One writer books ``n`` seats one by one; per-op time at the start and at the end.

    Per-op time is the median of the first and of the last ``window`` bookings.
    A system whose per-op cost grows with the stream would take far longer than
    ``budget`` seconds: once the budget is spent, its stream is grown in bulk to
    five sample points and ``sample`` real bookings are timed at each (the last
    ones end at ``n``), and the rest of the fill is projected by linear
    interpolation between them (the result says ``projected``).
    """
    fresh_db(path)
    await create(system, path, KEY, n)
    per_op: list[tuple[int, float]] = []  # (stream length before the op, seconds)
    done = 0
    client = await open_client(system, path, KEY, n)
    try:
        await client.warm()
        start = time.perf_counter()
        while done < n and time.perf_counter() - start < budget:
            await _timed_booking(system, client, done, per_op)
            done += 1
        measured = time.perf_counter() - start
    finally:
        await client.close()
    projected = done < n
    if projected:
        step = max(1, n // 5)
        points = sorted({min(n - sample, p) for p in range(done + step, n + step, step)})
        for point in points:
            if point > done:
                await bulk_book(system, path, KEY, [f"actor-{i}" for i in range(done, point)])
                done = point
            client = await open_client(system, path, KEY, n)
            try:
                await client.warm()
                for _ in range(min(sample, n - done)):
                    await _timed_booking(system, client, done, per_op)
                    done += 1
            finally:
                await client.close()
    start_ms = median([s for _, s in per_op[:window]]) * 1e3
    end_ms = median([s for _, s in per_op[-(sample if projected else window) :]]) * 1e3
    total = measured if not projected else _integrate(per_op, n)
    checked = await verify(system, path, KEY)
    fresh_db(path)
    return {
        "ops": n,
        "ops_per_s": n / total,
        "seconds": total,
        "projected": projected,
        "timed_ops": len(per_op),
        "start_ms": start_ms,
        "end_ms": end_ms,
        "end_over_start": end_ms / start_ms,
        **checked,
    }


async def _timed_booking(
    system: str, client: Any, length: int, per_op: list[tuple[int, float]]
) -> None:
    t0 = time.perf_counter()
    status, _ = await client.acquire(f"actor-{length}", "booking")
    per_op.append((length, time.perf_counter() - t0))
    if not _won(status):
        raise RuntimeError(f"{system}: fill booking {length} answered {status}")


def _integrate(per_op: list[tuple[int, float]], n: int) -> float:
    """Total time of a fill from timed ops at some stream lengths, interpolating between."""
    timed = dict(per_op)
    # per-length medians over runs of consecutive timed ops: robust anchor points
    anchors: list[tuple[float, float]] = []
    run: list[tuple[int, float]] = []
    for length, seconds in sorted(per_op):
        if run and length != run[-1][0] + 1:
            anchors.append(_anchor(run))
            run = []
        run.append((length, seconds))
        if len(run) == 50:
            anchors.append(_anchor(run))
            run = []
    if run:
        anchors.append(_anchor(run))
    total = 0.0
    for length in range(n):
        if length in timed:
            total += timed[length]
        else:
            total += _interpolate(anchors, length)
    return total


def _anchor(run: list[tuple[int, float]]) -> tuple[float, float]:
    return (sum(length for length, _ in run) / len(run), median([s for _, s in run]))


def _interpolate(anchors: list[tuple[float, float]], x: float) -> float:
    if x <= anchors[0][0]:
        return anchors[0][1]
    for (x0, y0), (x1, y1) in itertools.pairwise(anchors):
        if x0 <= x <= x1:
            return y0 + (y1 - y0) * (x - x0) / (x1 - x0) if x1 > x0 else y1
    return anchors[-1][1]


# -- one uncontended writer, interleaved with the raw limit --------------------------------


async def single_writers(
    systems: list[str], workdir: str, *, slice_s: float = 0.5, slices: int = 6
) -> dict[str, dict[str, Any]]:
    """One writer per system holding seat after seat, and the raw one-row limit.

    The writers take turns in short slices (raw, system A, system B, ..., raw, ...)
    so that a change in the machine's load hits them all alike; each figure is
    its own ops over its own time. ``raw`` is one-row INSERT + COMMIT.
    """
    capacity = 1_000_000
    writers: dict[str, Any] = {"raw": await RawWriter(f"{workdir}/single-raw.db").open()}
    paths = {}
    for system in systems:
        paths[system] = fresh_db(f"{workdir}/single-{system}.db")
        await create(system, paths[system], KEY, capacity)
        writers[system] = await open_client(system, paths[system], KEY, capacity)
        await writers[system].warm()
    spent = dict.fromkeys(writers, 0.0)
    latencies: dict[str, list[float]] = {name: [] for name in writers}
    try:
        for _ in range(slices):
            for name, writer in writers.items():
                start = time.perf_counter()
                while time.perf_counter() - start < slice_s:
                    t0 = time.perf_counter()
                    if name == "raw":
                        await writer.transaction()
                    else:
                        await writer.acquire(f"actor-{len(latencies[name])}", "hold")
                    latencies[name].append(time.perf_counter() - t0)
                spent[name] += time.perf_counter() - start
    finally:
        for writer in writers.values():
            await writer.close()
    results = {}
    for name, values in latencies.items():
        results[name] = {
            "ops": len(values),
            "ops_per_s": len(values) / spent[name],
            "p50_ms": median(values) * 1e3,
            "p99_ms": percentile(values, 99) * 1e3,
        }
        if name != "raw":
            results[name].update(await verify(name, paths[name], KEY))
            fresh_db(paths[name])
    return results


# -- racers: shared by the hot race (several processes) and the burst (one) ------------------


class _SystemClient:
    """A benchmark system's client seen as a racer's ``Client`` (it holds; nothing else)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    async def warm(self) -> None:
        await self.client.warm()

    async def hold(self, actor: str, seats: int) -> tuple[str, int, int | None]:
        status, attempts = await self.client.acquire(actor, "hold")
        return status, attempts, None

    async def confirm(self, actor: str) -> tuple[str, int, int | None]:
        raise NotImplementedError("the cross-system race only holds")

    async def release(self, actor: str) -> tuple[str, int, int | None]:
        raise NotImplementedError("the cross-system race only holds")

    def counters(self) -> dict[str, int]:
        counted: dict[str, int] = self.client.counters()
        return counted


class SystemOpener:
    """Opens one ``system`` client per process, shared by its racers (picklable)."""

    def __init__(self, system: str, capacity: int) -> None:
        self.system = system
        self.capacity = capacity

    @contextlib.asynccontextmanager
    async def __call__(self, url: str, key: str, racers: int) -> AsyncIterator[Sequence[Client]]:
        client = await open_client(self.system, url, key, self.capacity, concurrency=racers)
        try:
            yield [_SystemClient(client)] * racers
        finally:
            await client.close()


def _script(actor_lists: list[list[str]], budget: float) -> HoldInTurn:
    """Racers each holding their own actors in turn until the budget ends; a crash is a reply."""
    return HoldInTurn(tuple(map(tuple, actor_lists)), budget, errors_as_replies=True)


def _deal(actors: int, racers: int) -> list[list[str]]:
    """Actor i goes to racer i mod racers: every racer has its own actors."""
    lists: list[list[str]] = [[] for _ in range(racers)]
    for i in range(actors):
        lists[i % racers].append(f"actor-{i}")
    return lists


def _summary(
    replies: list[Reply], capacity: int, processes: int, elapsed_cap: float
) -> dict[str, Any]:
    start = min(r.started for r in replies)
    wins = [r for r in replies if _won(r.status)]
    sold_out = max((r.ended for r in wins), default=start) - start
    last = max(r.ended for r in replies) - start
    seconds = sold_out if len(wins) >= capacity else min(last, elapsed_cap)
    latencies = [r.ended - r.started for r in replies]
    win_latencies = [r.ended - r.started for r in wins]
    per_process = [sum(1 for r in wins if r.process == p) for p in range(processes)]
    # A process the machine scheduled late misses the start of a short race; the
    # shares among commands issued once every process was racing show starvation.
    firsts = [
        min((r.started for r in replies if r.process == p), default=start) for p in range(processes)
    ]
    all_in = max(firsts)
    racing = [
        sum(1 for r in wins if r.process == p and r.started >= all_in) for p in range(processes)
    ]
    failed = [r.status for r in replies if r.status.startswith("error")]
    errors = sorted(set(failed))
    return {
        "commands": len(replies),
        "sold_out": len(wins) >= capacity,
        "seconds": seconds,
        "holds_per_s": len(wins) / seconds if seconds > 0 else 0.0,
        "p50_ms": median(latencies) * 1e3,
        "p99_ms": percentile(latencies, 99) * 1e3,
        "win_p50_ms": median(win_latencies) * 1e3,
        "win_p99_ms": percentile(win_latencies, 99) * 1e3,
        "wins_per_process": per_process,
        "win_shares": [w / len(wins) if wins else 0.0 for w in per_process],
        "first_start_ms": [(f - start) * 1e3 for f in firsts],
        "wins_all_racing": racing,
        "win_shares_all_racing": [w / sum(racing) if sum(racing) else 0.0 for w in racing],
        "errors": errors[:3],
        "failed_commands": len(failed),
        **_retries(replies),
    }


def hot_race(
    system: str,
    path: str,
    *,
    processes: int = 4,
    racers: int = 16,
    capacity: int = 500,
    actors: int = 2000,
    budget: float = 60.0,
) -> dict[str, Any]:
    """``processes`` spawned processes x ``racers`` each, on one occurrence, real file."""
    fresh_db(path)
    asyncio.run(create(system, path, KEY, capacity))
    lists = _deal(actors, processes * racers)
    scripts = [_script(lists[p::processes], budget) for p in range(processes)]
    opener = SystemOpener(system, capacity)
    result = run_swarm(path, KEY, scripts, opener=opener, timeout=budget + 120)
    replies, counters = result.replies, result.counters
    summary = _summary(replies, capacity, processes, budget)
    checked = asyncio.run(verify(system, path, KEY))
    fresh_db(path)
    lost = summary["wins"] - checked["acquisitions"]
    return {**summary, **counters, **checked, "acknowledged_not_in_log": lost}


async def burst(
    system: str,
    path: str,
    *,
    tasks: int = 64,
    capacity: int = 2000,
    actors: int = 2560,
    budget: float = 60.0,
) -> dict[str, Any]:
    """``tasks`` concurrent callers sharing one store object in one process."""
    fresh_db(path)
    await create(system, path, KEY, capacity)
    async with SystemOpener(system, capacity)(path, KEY, tasks) as clients:
        replies = await perform(_script(_deal(actors, tasks), budget), clients)
        counters = counters_of(clients)
    summary = _summary(replies, capacity, 1, budget)
    checked = await verify(system, path, KEY)
    fresh_db(path)
    lost = summary["wins"] - checked["acquisitions"]
    return {**summary, **counters, **checked, "acknowledged_not_in_log": lost}


def cpu_count() -> int:
    return os.cpu_count() or 1
