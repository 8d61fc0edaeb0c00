"""The second wave's rows of ``bench/compare.py``: clients that scale, and a season's house.

Each row is measured in the same run as its baseline and reported as a ratio with
the target of issue 16:

- the raw SQLite limit of 4 processes committing 1-row transactions into one file
  (``bench/pg_parallel.raw_writers``), measured before and after the races: the
  races' baseline;
- every racer its own store and ``Ledger`` (``bench/own_store.race``): 4 processes x
  8 racers on SQLite (>= 0.5 of the raw limit) and on PostgreSQL (>= 0.25), and the
  rush, 8 x 64 racers on 2,000 seats with 8,000 actors (>= 0.30, p99 <= 250 ms, no
  racer without a seat);
- PostgreSQL, 8 occurrences x 8 clients against 1 occurrence x 8 clients
  (``bench/pg_parallel.race``): >= 4x the holds/s;
- a season's house (``bench/season_open``): ``Ledger.views``, ``boxoffice
  occurrences`` and the app's house painted on 1,000 shows x 200 bookings against
  10 shows (<= 3x), and a new terminal's first hold on a 100,000-event stream
  (< 50 ms).

``--quick`` shrinks them (1,000 rush seats, 200 shows, a 20,000-event stream).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import tempfile
from typing import Any

from bench.own_store import _pg_schema_url, race
from bench.pg_parallel import _drop, raw_writers
from bench.pg_parallel import race as pg_race
from bench.season_open import app_house, build_long, cli_occurrences, first_hold, house
from bench.seasons import build_season


def pg_available(pg: str) -> bool:
    import asyncpg

    async def probe() -> bool:
        try:
            conn = await asyncpg.connect(pg, timeout=5)
        except (OSError, asyncpg.PostgresError):
            return False
        await conn.close()
        return True

    return asyncio.run(probe())


def _own_store(pg: str | None, backend: str, shape: tuple[int, int, int, int]) -> dict[str, Any]:
    p, r, seats, per_seat = shape
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            return race(os.path.join(tmp, "own.db"), p, r, seats, per_seat)
    assert pg is not None
    url, schema = _pg_schema_url(pg)
    try:
        return race(url, p, r, seats, per_seat)
    finally:
        asyncio.run(_drop(pg, schema))


async def _season(shows: int, events: int, rounds: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        urls = {k: os.path.join(tmp, f"{k}.db") for k in ("long", "small", "big")}
        await build_long(urls["long"], events)
        await build_season(urls["small"], 10, 200)
        await build_season(urls["big"], shows, 200)
        await first_hold(urls["long"], True)  # the cold start that leaves the snapshot
        await house(urls["small"], True), await house(urls["big"], True)  # leave summaries
        await app_house(urls["small"], 10)  # the first app of the process pays Textual's imports
        times: dict[str, list[float]] = {}
        for _ in range(rounds):
            times.setdefault("hold", []).append(await first_hold(urls["long"], True))
            times.setdefault("small", []).append(await house(urls["small"], True))
            times.setdefault("big", []).append(await house(urls["big"], True))
            times.setdefault("cli small", []).append(cli_occurrences(urls["small"]))
            times.setdefault("cli big", []).append(cli_occurrences(urls["big"]))
            times.setdefault("app small", []).append(await app_house(urls["small"], 10))
            times.setdefault("app big", []).append(await app_house(urls["big"], shows))
    return {k: statistics.median(v) * 1000 for k, v in times.items()}


def scale_results(quick: bool, pg: str | None) -> dict[str, Any]:
    """Every row's figures; the PostgreSQL rows only when ``pg`` answers."""
    rush = (8, 64, 1000 if quick else 2000, 4)
    hot = (4, 8, 300 if quick else 500, 2)
    spread_seats = 150 if quick else 250
    raws = [raw_writers(4, 2.0 if quick else 3.0)]
    out: dict[str, Any] = {
        "sqlite hot": _own_store(pg, "sqlite", hot),
        "sqlite rush": _own_store(pg, "sqlite", rush),
    }
    if pg is not None and pg_available(pg):
        out["postgres hot"] = _own_store(pg, "postgres", hot)
        out["postgres one"] = pg_race(pg, 4, 2, 1, spread_seats)
        out["postgres spread"] = pg_race(pg, 4, 16, 8, spread_seats)
    raws.append(raw_writers(4, 2.0 if quick else 3.0))
    out["raw"] = statistics.median(raws)
    shows, events = (200, 20_000) if quick else (1000, 100_000)
    out["season"] = {"shows": shows, "events": events, **asyncio.run(_season(shows, events, 3))}
    out["sizes"] = {"hot": hot, "rush": rush, "spread_seats": spread_seats}
    return out


def _verdict(value: float, need: float, op: str) -> str:
    return "met" if (value >= need if op == "≥" else value <= need) else "MISSED"


def scale_rows(r: dict[str, Any]) -> list[list[str]]:
    """One line per row: what, measured, its baseline, the ratio, the target, the verdict."""
    raw = r["raw"]
    rows: list[list[str]] = [["raw SQLite, 4 writers, 1-row commits", f"{raw:,.0f} txn/s",
                              "", "", "", "the baseline"]]  # fmt: skip
    hot, rush = r["sizes"]["hot"], r["sizes"]["rush"]
    labels = {
        "sqlite hot": (f"own store, SQLite, {hot[0]} x {hot[1]}, {hot[2]} seats", 0.5),
        "sqlite rush": (f"rush, SQLite, {rush[0]} x {rush[1]}, {rush[2]} seats", 0.30),
        "postgres hot": (f"own store, PostgreSQL, {hot[0]} x {hot[1]}, {hot[2]} seats", 0.25),
    }
    for key, (label, need) in labels.items():
        if key not in r:
            continue
        f = r[key]
        checked = f"oversold {f['oversold']}, verified {f['verified']}, p99 {f['p99_ms']:.0f} ms"
        ratio = f["holds_per_s"] / raw
        ok = _verdict(ratio, need, "≥") == "met" and f["verified"] and not f["oversold"]
        if key == "sqlite rush":
            checked += f", racers without a seat {f['seatless']}"
            ok = ok and f["p99_ms"] <= 250 and f["seatless"] == 0
        rows.append([label, f"{f['holds_per_s']:,.0f} holds/s ({checked})", "raw",
                     f"{ratio:.3f}", f"≥ {need}" + (", p99 ≤ 250, 0 seatless"
                                                    if key == "sqlite rush" else ""),
                     "met" if ok else "MISSED"])  # fmt: skip
    if "postgres spread" in r:
        one, spread = r["postgres one"], r["postgres spread"]
        ratio = spread["holds_per_s"] / one["holds_per_s"]
        rows.append([f"PostgreSQL, 8 occurrences x 8 clients ({spread['cpu_busy']:.0%} CPU)",
                     f"{spread['holds_per_s']:,.0f} holds/s",
                     f"1 occurrence x 8: {one['holds_per_s']:,.0f}", f"{ratio:.2f}", "≥ 4",
                     _verdict(ratio, 4, "≥")])  # fmt: skip
    s = r["season"]
    big = f"{s['shows']:,} shows"
    rows += [
        [f"house (Ledger.views), {big} x 200 bookings", f"{s['big']:.1f} ms",
         f"10 shows: {s['small']:.1f} ms", f"{s['big'] / s['small']:.1f}", "≤ 3",
         _verdict(s["big"] / s["small"], 3, "≤")],
        [f"`boxoffice occurrences`, {big}", f"{s['cli big']:.0f} ms",
         f"10 shows: {s['cli small']:.0f} ms", f"{s['cli big'] / s['cli small']:.2f}", "≤ 3",
         _verdict(s["cli big"] / s["cli small"], 3, "≤")],
        [f"the app's house painted, {big}", f"{s['app big']:.0f} ms",
         f"10 shows: {s['app small']:.0f} ms", f"{s['app big'] / s['app small']:.2f}", "≤ 3",
         _verdict(s["app big"] / s["app small"], 3, "≤")],
        [f"new terminal's first hold, {s['events']:,}-event stream", f"{s['hold']:.1f} ms",
         "", "", "< 50 ms", _verdict(s["hold"], 50, "≤")],
    ]  # fmt: skip
    return rows


SCALE_HEADERS = ["row (issue 16)", "measured", "against", "ratio", "target", ""]
