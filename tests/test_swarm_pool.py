"""The pooled engine's own promises (``store.racers.pool``, ``store.racers.mix``).

The fault suites judge the races it runs; here, with clients that touch no store:
every command's start is heard before its reply, a client that raises is a crash
reply while the others race on, a process killed mid-command leaves the pool whole
for the next run, and a process that cannot open its clients fails the run with
one error and does not poison the pool.
"""

from __future__ import annotations

import pytest
from support.fault_fixtures import racer_pool
from support.workers import EchoMix

from store.racers.errors import RaceError
from store.racers.mix import perform_mix
from store.racers.pool import Started, SwarmPool
from store.racers.script import FaultMix

pool = racer_pool()


async def test_a_client_that_raises_is_a_crash_and_the_others_race_on() -> None:
    first = (("hold", "a", None), ("raise", "a", None), ("book", "a", None))
    second = (("hold", "b", None), ("expire", None, None), ("cancel", "b", None))
    script = FaultMix((first, second))
    heard: list[int] = []
    async with EchoMix()("", "k", 2) as clients:
        replies = await perform_mix(script, clients, on_start=heard.append)
    assert sorted(heard) == [0, 0, 1, 1, 1]  # client 0 never sent its book
    by_actor = {actor: [r.status for r in replies if r.actor == actor] for actor in "ab"}
    assert by_actor == {"a": ["hold", "crash"], "b": ["hold", "cancel"]}
    assert [r.status for r in replies if r.actor == ""] == ["expire"]
    (crash,) = [r for r in replies if r.error is not None]
    assert crash.status == "crash" and "OSError: disk gone" in (crash.error or "")


def test_a_process_killed_mid_command_is_replaced_for_the_next_run(pool: SwarmPool) -> None:
    hangs = FaultMix(((("hold", "a", None), ("hang", "a", None), ("book", "a", None)),))
    runs = FaultMix(((("hold", "b", None), ("confirm", "b", None)),))
    starts: list[Started] = []

    def on_start(start: Started) -> None:
        starts.append(start)
        if start.process == 0 and start.number == 2:  # process 0 is hanging in its command
            pool.kill(0)

    run = pool.run("", "k", [hangs, runs], [EchoMix()] * 2, on_start=on_start)
    assert run.killed == {0} and not run.crashes
    assert [r.status for r in run.per_process[0]] == []  # its replies died with it
    assert [r.status for r in run.per_process[1]] == ["hold", "confirm"]
    assert [(s.process, s.number) for s in starts if s.process == 0] == [(0, 1), (0, 2)]
    again = pool.run("", "k", [runs, runs], [EchoMix()] * 2)
    assert not again.killed and not again.crashes
    assert [[r.status for r in p] for p in again.per_process] == [["hold", "confirm"]] * 2


def test_a_process_that_cannot_open_fails_the_run_and_not_the_pool(pool: SwarmPool) -> None:
    runs = FaultMix(((("hold", "b", None),),))
    told = "racer 1 failed to start: RuntimeError: this process was told to fail"
    with pytest.raises(RaceError, match=told) as caught:
        pool.run("", "k", [runs, runs], [EchoMix(), EchoMix(fails=True)])
    assert str(caught.value) == told  # one line; the traceback rides along as a note
    after = pool.run("", "k", [runs, runs], [EchoMix()] * 2)
    assert [[r.status for r in p] for p in after.per_process] == [["hold"]] * 2
