"""The scripted racing engine's own promises (``store.racers.swarm``), on a real SQLite file.

The races it runs for the race and kill tests are judged there; here: a racer
holding in turn stops at ``full`` or at its budget, a crash is a reply only when
the script says so, and a child that cannot open its store fails the run with
one error naming it instead of leaving the others waiting at the barrier.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from support import workers

from store import open_store
from store.booking import Ledger, Status
from store.racers.clients import ledger_opener
from store.racers.errors import RaceError
from store.racers.script import Client, HoldInTurn, HoldOnce
from store.racers.swarm import perform, run_swarm


async def _occurrence(db: str, capacity: int) -> None:
    async with open_store(db, create=True) as store:
        created = await Ledger(store, operator="setup").create_occurrence("k", capacity=capacity)
        assert created.status is Status.CREATED


async def test_holding_in_turn_stops_each_racer_at_full(db_path: str) -> None:
    await _occurrence(db_path, 3)
    lists = (("a0", "a1", "a2", "a3"), ("b0", "b1", "b2", "b3"))
    script = HoldInTurn(lists, budget=60.0, stop_on_full=True)
    async with ledger_opener("t")(db_path, "k", 2) as clients:
        replies = await perform(script, clients)
    assert sum(r.status == "held" for r in replies) == 3
    # Each racer stops at its first `full`, so no racer hears `full` twice.
    fulls = [r.actor[0] for r in replies if r.status == "full"]
    assert sorted(fulls) == sorted(set(fulls)) and fulls
    assert all(r.ended >= r.started > 0 for r in replies)


class _Broken:
    """A client whose every hold raises."""

    async def warm(self) -> None:
        return None

    async def hold(self, actor: str, seats: int) -> tuple[str, int, int | None]:
        raise OSError("disk gone")

    async def confirm(self, actor: str) -> tuple[str, int, int | None]:
        raise NotImplementedError

    async def release(self, actor: str) -> tuple[str, int, int | None]:
        raise NotImplementedError

    def counters(self) -> dict[str, int]:
        return {}


@asynccontextmanager
async def _broken(url: str, key: str, racers: int) -> AsyncIterator[Sequence[Client]]:
    yield [_Broken()] * racers


async def test_a_crash_is_a_reply_only_when_the_script_says_so() -> None:
    async with _broken("", "k", 1) as clients:
        counted = await perform(HoldInTurn((("a", "b"),), 60.0, errors_as_replies=True), clients)
        assert [r.status for r in counted] == ["error: OSError: disk gone"] * 2
        with pytest.raises(OSError, match="disk gone"):
            await perform(HoldInTurn((("a", "b"),), 60.0), clients)


def test_a_child_that_fails_ends_the_run_without_the_others_waiting_it_out(
    tmp_path: Path,
) -> None:
    """Process 0 fails as it opens; process 1 is already at the barrier and must be let go."""
    db = str(tmp_path / "swarm.db")
    asyncio.run(_occurrence(db, 5))
    started = time.monotonic()
    scripts = [HoldOnce(("a", "b")), HoldOnce(("c",))]
    with pytest.raises(RaceError, match="process 0: RuntimeError: this process was told to fail"):
        run_swarm(db, "k", scripts, opener=workers.FailsForTwo("t"))
    # The barrier's own timeout is 60 s: ending well before it means the failure broke it.
    assert time.monotonic() - started < 30


def test_a_store_that_is_not_there_fails_the_run_and_creates_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    with pytest.raises(RaceError, match="StoreNotFound"):
        run_swarm(str(missing), "k", [HoldOnce(("a",))])
    assert not missing.exists()
