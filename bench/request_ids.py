"""Request ids (SPEC §4.6): what a replay costs, and what the index adds to a fold.

1. a replayed ``book`` (its request id is in the stream) against a plain ``book`` of a
   seated party (``already``: the same lane, read and decision, no id), interleaved
   one by one on one occurrence, at two history lengths: the replay is a dict
   lookup in the fold's index, so neither figure should grow with the stream;
2. the one-time fold of a stream whose every booking carries a request id against
   the same stream without ids (the index is built event by event as it folds).

Run: ``python bench/request_ids.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench.common import fresh_db, machine, median, table
from store import NewEvent, open_store
from store.booking import Ledger, Outcome, Status
from store.ledger.fold import fold, stream_of
from store.ledger.provenance import event_meta
from store.ledger.requests import Request, request_meta

KEY = "house"


def _events(history: int, with_ids: bool) -> list[NewEvent]:
    meta = event_meta("bench", datetime(2026, 12, 1, 19, 0, tzinfo=UTC))
    created = NewEvent(
        "created", {"title": "T", "starts_at": None, "capacity": history, "hold_ttl_s": None}, meta
    )
    events = [created]
    for i in range(history):
        actor, own = f"guest-{i}", meta
        if with_ids:
            answer = Outcome(Status.BOOKED, actor, seat=i + 1, seats=1, ref=i + 2)
            own = {**meta, "request": request_meta(Request(f"r-{i}", "book", actor), answer)}
        events.append(NewEvent("booking", {"actor": actor}, own))
    return events


async def replay_cost(path: str, history: int, calls: int) -> dict[str, Any]:
    """Median latency of a replayed book against a plain `already` book, same stream."""
    fresh_db(path)
    async with open_store(path, create=True) as store:
        events = _events(history, with_ids=True)
        for start in range(0, len(events), 5000):
            expected = start if start else None
            await store.append_many(stream_of(KEY), expected, events[start : start + 5000])
    async with open_store(path) as store:
        ledger = Ledger(store, operator="bench")
        await ledger.seats_left(KEY)  # the one-time fold
        times: dict[str, list[float]] = {"replay": [], "already": []}
        for n in range(calls):
            i = (n * 7919) % history
            for kind in ("replay", "already") if n % 2 else ("already", "replay"):
                rid = f"r-{i}" if kind == "replay" else None
                t0 = time.perf_counter()
                outcome = await ledger.book(KEY, f"guest-{i}", request_id=rid)
                times[kind].append(time.perf_counter() - t0)
                assert outcome.replayed == (kind == "replay"), outcome
        head = await store.last_seq(stream_of(KEY))
    fresh_db(path)
    assert head == history + 1, "a replay or an `already` wrote something"
    replay, already = median(times["replay"]), median(times["already"])
    return {"history": history, "replay_ms": replay * 1e3, "already_ms": already * 1e3}


def fold_cost(history: int, rounds: int) -> dict[str, Any]:
    """The full fold of ``history`` bookings with and without request ids (best of rounds)."""
    from store import Event

    def as_log(new: list[NewEvent]) -> list[Event]:
        return [Event(stream_of(KEY), n, n, e.type, e.data, e.meta) for n, e in enumerate(new, 1)]

    logs = {ids: as_log(_events(history, ids)) for ids in (False, True)}
    best = {False: float("inf"), True: float("inf")}
    for _ in range(rounds):
        for ids in (False, True):
            t0 = time.perf_counter()
            state = fold(logs[ids], stream_of(KEY))
            best[ids] = min(best[ids], time.perf_counter() - t0)
            assert len(state.requests.written) == (history if ids else 0)
    return {"history": history, "plain_ms": best[False] * 1e3, "ids_ms": best[True] * 1e3}


async def main(quick: bool) -> None:
    sizes = (100, 2_000) if quick else (100, 20_000)
    calls = 40 if quick else 400
    print(f"machine: {machine()}")
    path = os.path.join(tempfile.mkdtemp(prefix="bo-reqid-"), "bench.db")
    rows = [await replay_cost(path, size, calls) for size in sizes]
    small = rows[0]["replay_ms"]
    print(f"\n1. a replayed book vs a plain `already` book, {calls} of each, interleaved (p50)")
    print(
        table(
            ["events", "replay ms", "already ms", "replay / already", "replay / replay@100"],
            [
                [
                    r["history"] + 1,
                    f"{r['replay_ms']:.3f}",
                    f"{r['already_ms']:.3f}",
                    f"{r['replay_ms'] / r['already_ms']:.2f}",
                    f"{r['replay_ms'] / small:.2f}",
                ]
                for r in rows
            ],
        )
    )
    folds = [fold_cost(size, 3 if quick else 9) for size in sizes]
    print("\n2. the full fold, every booking with a request id vs none (best of rounds)")
    print(
        table(
            ["events", "no ids ms", "with ids ms", "with / without"],
            [
                [
                    f["history"] + 1,
                    f"{f['plain_ms']:.1f}",
                    f"{f['ids_ms']:.1f}",
                    f"{f['ids_ms'] / f['plain_ms']:.2f}",
                ]
                for f in folds
            ],
        )
    )
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    asyncio.run(main(parser.parse_args().quick))
