"""The fault suite on PostgreSQL: the same harness (``tests/support/faultrun.py``) as on SQLite.

- Races: spawned racer processes, each run its own schema on the shared server.
- ``kill -9`` of a racer mid-command.
- Connection kills: ``pg_terminate_backend`` of this run's own connections (found
  by an ``application_name`` unique to the run) at a random command.
- Server restarts: a cluster of the suite's own (``tests/support/pgcluster.py``, its own
  port) restarted mid-run; the ``main`` cluster is never touched.

Every run: oversold 0, no acknowledged write lost, nothing unexplained, every
history linearizable. ``BOXOFFICE_FAULT_SEED`` replays the plans.
"""

from __future__ import annotations

import asyncio
import dataclasses
import random
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncpg
import pytest
from conftest import PG_REQUIRED, PG_URL
from support import fault_fixtures, faultrun, pgcluster
from support.faultrun import RunResult

from store.eventstore.postgres import split_url
from store.racers.pool import SwarmPool

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

RACE_RUNS = 12
KILL_RUNS = 8
TERMINATE_RUNS = 8
RESTART_RUNS = 3


pool = fault_fixtures.racer_pool()
base_seed = fault_fixtures.printed_seed("PostgreSQL fault suite")


@pytest.fixture(scope="module")
def cluster() -> Iterator[pgcluster.Cluster]:
    problem = pgcluster.unavailable()
    if problem is not None:
        if PG_REQUIRED:
            pytest.fail(f"{problem} (BOXOFFICE_REQUIRE_PG is set)", pytrace=False)
        pytest.skip(problem)
    with pgcluster.own_cluster() as made:
        yield made


async def _execute(server: str, sql: str, *args: object) -> object:
    conn = await asyncpg.connect(split_url(server)[0], timeout=10)
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


def _runs(
    pool: SwarmPool,
    workdir: Path,
    seed: int,
    count: int,
    *,
    server: str = PG_URL,
    kill: bool = False,
    fault: Callable[[str], Callable[[], None]] | None = None,
) -> list[RunResult]:
    """``count`` runs, each in a fresh schema of ``server`` (dropped after it)."""
    rng = random.Random(seed)
    results = []
    for n in range(count):
        plan = faultrun.plan_run(rng.randrange(2**32), kill=kill or fault is not None)
        if fault is not None and plan.kill is not None:
            # The parent learns of a racer's commands from a pipe it may be behind
            # on, so a late kill moment can come after every racer has finished and
            # closed its connections: a server fault lands within the first two.
            victim, after, delay = plan.kill
            plan = dataclasses.replace(plan, kill=(victim, min(after, 2), delay))
        schema = f"bo_fault_{uuid.uuid4().hex[:12]}"
        sep = "&" if "?" in server else "?"
        url = f"{server}{sep}schema={schema}&application_name={schema}"
        try:
            result = faultrun.execute(
                pool, plan, workdir / f"run{n}", db=url, fault=fault(schema) if fault else None
            )
        finally:
            asyncio.run(_execute(server, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        assert result.ok, result.failure()
        results.append(result)
    return results


def _summary(name: str, results: list[RunResult]) -> str:
    statuses: Counter[str] = Counter()
    for r in results:
        statuses.update(r.statuses)
    return (
        f"postgres {name}: {len(results)} runs, {sum(r.killed for r in results)} faults, "
        f"{sum(r.ops for r in results)} commands ({sum(r.unknown for r in results)} unknown, "
        f"{sum(r.retried for r in results)} retried), {sum(r.histories for r in results)} "
        f"histories checked, 0 oversold, 0 lost, 0 violations, 0 crashes"
    )


def test_race_runs(pool: SwarmPool, base_seed: int, tmp_path: Path) -> None:
    results = _runs(pool, tmp_path, base_seed, RACE_RUNS)
    print(_summary("race", results))
    assert sum(r.retried for r in results) > 0, "no command ever lost a race"
    assert all(r.histories == 1 for r in results)


def test_kill_runs(pool: SwarmPool, base_seed: int, tmp_path: Path) -> None:
    results = _runs(pool, tmp_path, base_seed + 1, KILL_RUNS, kill=True)
    print(_summary("kill -9", results))
    assert all(r.killed for r in results)


async def _terminate_once_connected(tag: str, within: float = 2.0) -> int:
    """End the run's connections; if none is open this instant, wait for one (bounded).

    A racer between its pool's connections has none open: terminating then would
    be a fault that never happened, so poll ``pg_stat_activity`` until one exists.
    """
    conn = await asyncpg.connect(split_url(PG_URL)[0], timeout=10)
    try:
        loop = asyncio.get_running_loop()
        give_up = loop.time() + within
        while True:
            ended = int(
                await conn.fetchval(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE application_name = $1",
                    tag,
                )
            )
            if ended or loop.time() >= give_up:
                return ended
            await asyncio.sleep(0.01)  # polling the server for a condition, not a wait for time
    finally:
        await conn.close()


def test_connection_kill_runs(pool: SwarmPool, base_seed: int, tmp_path: Path) -> None:
    ended: list[int] = []

    def terminate(tag: str) -> Callable[[], None]:
        def fault() -> None:
            ended.append(asyncio.run(_terminate_once_connected(tag)))

        return fault

    results = _runs(pool, tmp_path, base_seed + 2, TERMINATE_RUNS, fault=terminate)
    print(_summary("pg_terminate_backend", results) + f"; connections ended {sum(ended)}")
    assert all(r.killed for r in results)
    assert len(ended) == TERMINATE_RUNS
    # A run of a few fast commands can be over before the parent reads the racer's
    # first invoke (1 of 24 runs here): most runs must have cut live connections.
    assert sum(n > 0 for n in ended) >= TERMINATE_RUNS // 2, ended


def test_server_restart_runs(
    pool: SwarmPool, base_seed: int, tmp_path: Path, cluster: pgcluster.Cluster
) -> None:
    def restart(tag: str) -> Callable[[], None]:
        return cluster.restart

    results = _runs(pool, tmp_path, base_seed + 3, RESTART_RUNS, server=cluster.url, fault=restart)
    print(_summary("server restart", results))
    assert all(r.killed for r in results)
