"""A PostgreSQL server stopped and started under running clients: a cluster of the suite's own.

- ``boxoffice log KEY --follow`` rides out the outage: one line on stderr while
  the server is gone, then it resumes, printing every event once and none twice.

The cluster (``tests/support/pgcluster.py``) is created for this module on its own port
and dropped afterwards; the machine's ``main`` cluster is never touched.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Iterator

import pytest
from conftest import PG_REQUIRED
from support import pgcluster
from support.pgcluster import Cluster

from store import open_store
from store.booking import Ledger

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    problem = pgcluster.unavailable()
    if problem is not None:
        if PG_REQUIRED:
            pytest.fail(f"{problem} (BOXOFFICE_REQUIRE_PG is set)", pytrace=False)
        pytest.skip(problem)
    with pgcluster.own_cluster() as made:
        yield made


async def _hold(url: str, *actors: str) -> None:
    async with open_store(url) as store:
        ledger = Ledger(store, operator="box")
        for actor in actors:
            await ledger.hold("night", actor)


async def _line(stream: asyncio.StreamReader, timeout: float = 60) -> str:
    text = await asyncio.wait_for(stream.readline(), timeout)
    assert text, "the follower ended"
    return text.decode()


async def test_log_follow_rides_out_a_server_restart(cluster: Cluster) -> None:
    url = f"{cluster.url}?schema=bo_follow"
    async with open_store(url, create=True) as store:
        await Ledger(store, operator="box").create_occurrence("night", capacity=10)
    await _hold(url, "ada", "bea")
    follower = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tui.cli.main", "--db", url, "log", "night", "--follow",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert follower.stdout is not None and follower.stderr is not None
    try:
        printed = [await _line(follower.stdout) for _ in range(3)]
        await asyncio.to_thread(cluster.stop)
        outage = await _line(follower.stderr)
        assert "reconnecting" in outage and "still following" in outage
        await asyncio.to_thread(cluster.start)
        await _hold(url, "cy", "dee")  # committed before the follower is back
        printed += [await _line(follower.stdout) for _ in range(2)]
        await _hold(url, "eve")
        printed.append(await _line(follower.stdout))
        follower.send_signal(signal.SIGINT)
        rest, errors = await asyncio.wait_for(follower.communicate(), 60)
    finally:
        if follower.returncode is None:
            follower.kill()
            await follower.wait()
    assert follower.returncode == 0, errors
    assert rest == b"", "nothing printed twice or late"
    assert errors == b"", "one stderr line for the outage, and nothing else"
    seqs = [int(text.split()[0]) for text in printed]
    assert seqs == [1, 2, 3, 4, 5, 6], printed
    assert [text.split()[2] for text in printed] == ["created"] + ["hold"] * 5
    assert [t.split()[3].rstrip(",") for t in printed[1:]] == ["ada", "bea", "cy", "dee", "eve"]
