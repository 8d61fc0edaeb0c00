"""Parties' rows for ``bench/ledger.py``: a hold with seats against a hold, and ``find``.

1. per-hold latency of a party of 4 against a party of 1, interleaved hold by hold
   on one occurrence with history (the seat index holds seats, so the ratio is ~1);
2. ``find`` over a season of 1,000 shows with 20 parties each: the first search of a
   fresh ledger (the store names the streams that mention the text and only those
   are folded) and then searches that each follow a booking somewhere.
   ``bench/find.py`` has the fuller table (10 vs 1,000 shows of 200 parties).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from bench.common import fresh_db, median, percentile
from bench.seasons import build_season
from bench.systems import bulk_book
from store import NewEvent, open_store
from store.booking import Ledger
from store.ledger.fold import stream_of
from store.ledger.provenance import event_meta


async def party_hold_cost(path: str, history: int, holds: int) -> dict[str, Any]:
    """Median latency of ``hold(seats=4)`` against ``hold(seats=1)`` on the same occurrence."""
    fresh_db(path)
    async with open_store(path, create=True) as store:
        await Ledger(store, operator="bench").create_occurrence("house", capacity=10 * history)
    await bulk_book("boxoffice", path, "house", [f"past-{i}" for i in range(history)], 5000)
    async with open_store(path) as store:
        ledger = Ledger(store, operator="bench")
        await ledger.seats_left("house")  # the one-time fold
        times: dict[int, list[float]] = {1: [], 4: []}
        for i in range(holds):
            for seats in (1, 4) if i % 2 else (4, 1):
                t0 = time.perf_counter()
                await ledger.hold("house", f"new-{seats}-{i}", seats=seats)
                times[seats].append(time.perf_counter() - t0)
        matches = await ledger.matches_full_fold("house")
    fresh_db(path)
    one, party = median(times[1]), median(times[4])
    return {
        "history_events": history + 1,
        "holds_each": holds,
        "one_p50_ms": one * 1e3,
        "party_p50_ms": party * 1e3,
        "party_p99_ms": percentile(times[4], 99) * 1e3,
        "ratio": party / one,
        "incremental_equals_full_fold": matches,
    }


async def find_cost(path: str, shows: int, parties: int, searches: int) -> dict[str, Any]:
    """``find`` on a season: the cold first search, then warm ones after a booking each."""
    fresh_db(path)
    await build_season(path, shows, parties)
    async with open_store(path) as store:
        ledger = Ledger(store, operator="bench")
        t0 = time.perf_counter()
        first = await ledger.find("guest 7-3")
        cold = time.perf_counter() - t0
        warm: list[float] = []
        hits = 0
        for i in range(searches):
            await ledger.book(f"show-{(i * 37) % shows}", f"walk-in {i}", seats=2)
            t0 = time.perf_counter()
            found = await ledger.find(f"walk-in {i}")
            warm.append(time.perf_counter() - t0)
            hits += len(found)
    fresh_db(path)
    return {
        "shows": shows,
        "parties_per_show": parties,
        "events": shows * (parties + 1),
        "cold_first_search_ms": cold * 1e3,
        "cold_hits": len(first),
        "warm_p50_ms": median(warm) * 1e3,
        "warm_p99_ms": percentile(warm, 99) * 1e3,
        "warm_hits": hits,
        "searches": searches,
    }


async def waitlist_hold_cost(path: str, waiters: int, history: int, holds: int) -> dict[str, Any]:
    """A hold on an occurrence with ``waiters`` waiting and ``history`` events, vs 100 events.

    The long occurrence's house is full of confirmed parties and its list holds
    parties too big for the seats each hold's release frees, so every hold and
    release walks the list (first fit over one queue per size, never the list).
    """
    fresh_db(path)
    meta = event_meta("bench", datetime.now(UTC))
    seated = history - waiters - 1
    async with open_store(path, create=True) as store:
        ledger = Ledger(store, operator="bench")
        await ledger.create_occurrence("short", capacity=10 * history)
        await ledger.create_occurrence("long", capacity=seated + 1)
    await bulk_book("boxoffice", path, "short", [f"past-{i}" for i in range(99)])
    await bulk_book("boxoffice", path, "long", [f"past-{i}" for i in range(seated)], 5000)
    async with open_store(path) as store:
        for i in range(0, waiters, 5000):
            batch = [
                NewEvent("wait", {"actor": f"waiter-{j}", "seats": 2 + j % 50}, meta)
                for j in range(i, min(i + 5000, waiters))
            ]
            await store.append_many(stream_of("long"), None, batch)
        ledger = Ledger(store, operator="bench")
        lengths = {key: await store.last_seq(stream_of(key)) for key in ("short", "long")}
        await ledger.seats_left("long")
        await ledger.seats_left("short")
        times: dict[str, list[float]] = {"short": [], "long": []}
        for i in range(holds):
            for key in ("short", "long") if i % 2 else ("long", "short"):
                t0 = time.perf_counter()
                outcome = await ledger.hold(key, f"new-{i}")
                times[key].append(time.perf_counter() - t0)
                assert outcome.ok, outcome
                if key == "long":
                    await ledger.release(key, f"new-{i}")  # the one seat is free again
        record = await ledger.occurrence("long")
        matches = await ledger.matches_full_fold("long")
    fresh_db(path)
    short, long = median(times["short"]), median(times["long"])
    return {
        "short_events": lengths["short"],
        "long_events": lengths["long"],
        "waiters": record.waiting,
        "holds_each": holds,
        "short_p50_ms": short * 1e3,
        "long_p50_ms": long * 1e3,
        "long_p99_ms": percentile(times["long"], 99) * 1e3,
        "ratio": long / short,
        "incremental_equals_full_fold": matches,
    }
