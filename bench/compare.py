"""boxoffice against the seed's algorithm, the `eventsourcing` library and the disk's limit.

Every system runs every workload in this one invocation, on this machine, so the
ratios are what to read (absolute figures move with the machine's load):

- **single writer**: one writer holding seat after seat; the writers and the raw
  one-row INSERT + COMMIT limit take turns in half-second slices;
- **fill**: one writer books 10,000 seats one by one; per-op time at the start and
  at the end (a system slower than the budget is sampled along the way and its
  total projected, marked ``≈``);
- **hot race**: 4 spawned processes x 16 racers on one occurrence of 500 seats,
  2,000 distinct actors; holds/s until sold out, conflicts, the most retries one
  racer needed, p50/p99 latency of every command, each process's share of wins;
- **burst**: 64 tasks sharing one store object in one process (threads sharing one
  application for `eventsourcing`), 5,000 seats, 6,400 actors (100 each);
- the raw limit: one row per transaction, and 100 rows per transaction;
- issue 16's rows (``bench/scale_rows.py``; ``--no-scale`` skips them): every racer
  its own store on SQLite and PostgreSQL, the rush, PostgreSQL's parallel
  occurrences and a season's house, each against its baseline in this run.

After every run the stored log is recounted (``store.audit.check.check_stream`` for
boxoffice and the seed, the library's own table for `eventsourcing`): oversold
acquisitions, actors seated twice, and successes reported but not in the log.

Run: ``.venv/bin/python bench/compare.py [--quick]`` (JSON in ``bench/results/``).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_db, machine, raw_limit, table, write_json
from bench.es_occurrence import SNAPSHOT_INTERVAL, open_app, synchronous_setting
from bench.pg_parallel import DEFAULT_PG
from bench.scale_rows import SCALE_HEADERS, scale_results, scale_rows
from bench.systems import SYSTEMS
from bench.workloads import burst, fill, hot_race, single_writers

RACERS = ["boxoffice", "boxoffice-unfair", "seed", "es-plain", "es-snapshots", "es-cache"]
WRITERS = ["boxoffice", "seed", "es-plain", "es-snapshots", "es-cache"]


def _guard(name: str, run: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """A system that crashes is reported as such; the rest of the run goes on."""
    started = time.perf_counter()
    print(f"  {name} ...", end="", flush=True)
    try:
        result = run()
    except Exception as exc:
        traceback.print_exc()
        result = {"failed": f"{type(exc).__name__}: {exc}"}
    print(f" {time.perf_counter() - started:.0f} s", flush=True)
    return result


def _rate(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"


def _times(ours: float, theirs: float) -> str:
    if not theirs:
        return "—"
    ratio = ours / theirs
    return f"{ratio:,.1f}×" if ratio < 100 else f"{ratio:,.0f}×"


def _checked(result: dict[str, Any]) -> str:
    if "failed" in result:
        return "run failed"
    notes = [str(result.get("oversold", "?"))]
    if result.get("duplicates"):
        notes.append(f"{result['duplicates']} seated twice")
    if result.get("acknowledged_not_in_log"):
        notes.append(f"{result['acknowledged_not_in_log']} acks not in log")
    if result.get("errors"):
        kinds = sorted({e.removeprefix("error: ").split(":")[0] for e in result["errors"]})
        notes.append(f"{result.get('failed_commands', '?')} commands raised {', '.join(kinds)}")
    return ", ".join(notes)


def run_all(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    quick = args.quick
    n_fill = 2000 if quick else 10_000
    fill_budget = 8.0 if quick else 30.0
    race_seats, race_actors = (200, 800) if quick else (500, 2000)
    burst_seats, burst_actors = (1000, 1280) if quick else (5000, 6400)
    budget = 20.0 if quick else 60.0
    db = str(workdir / "compare.db")
    results: dict[str, Any] = {"single": {}, "fill": {}, "race": {}, "burst": {}}

    print("single writers and the raw limit (interleaved) ...", flush=True)
    results["single"] = asyncio.run(
        single_writers(args.systems_writers, str(workdir), slices=3 if quick else 8)
    )
    results["raw100"] = asyncio.run(raw_limit(db, rows_per_txn=100, seconds=2.0))
    results["eventsourcing_synchronous"] = eventsourcing_synchronous(str(workdir / "es-probe.db"))

    print(f"fill {n_fill:,} (budget {fill_budget:g} s each, then sampled) ...", flush=True)
    for system in args.systems_writers:
        results["fill"][system] = _guard(
            system, lambda s=system: asyncio.run(fill(s, db, n_fill, fill_budget))
        )

    print(f"hot race: 4 processes x 16 racers, {race_seats} seats ...", flush=True)
    results["race_rounds"] = {}
    for system in args.systems_racers:
        # boxoffice's races last a fraction of a second: one round says little about
        # fairness on a loaded machine, so those run several times, all reported
        rounds = args.rounds if system.startswith("boxoffice") else 1
        runs = [
            _guard(
                f"{system} (round {i + 1})" if rounds > 1 else system,
                lambda s=system: hot_race(
                    s, db, capacity=race_seats, actors=race_actors, budget=budget
                ),
            )
            for i in range(rounds)
        ]
        results["race"][system] = runs[0]
        results["race_rounds"][system] = runs

    print(f"burst: 64 tasks on one store, {burst_seats} seats ...", flush=True)
    # the raw limit again, just before and just after boxoffice's burst: its baseline
    raw_before = asyncio.run(raw_limit(db, rows_per_txn=1, seconds=1.5))
    for system in args.systems_writers:
        results["burst"][system] = _guard(
            system,
            lambda s=system: asyncio.run(
                burst(s, db, capacity=burst_seats, actors=burst_actors, budget=budget)
            ),
        )
        if system == "boxoffice":
            raw_after = asyncio.run(raw_limit(db, rows_per_txn=1, seconds=1.5))
            results["burst_raw"] = {
                "before_txns_per_s": raw_before["txns_per_s"],
                "after_txns_per_s": raw_after["txns_per_s"],
                "txns_per_s": (raw_before["txns_per_s"] + raw_after["txns_per_s"]) / 2,
            }
    results["sizes"] = {
        "fill": n_fill,
        "fill_budget_s": fill_budget,
        "race_seats": race_seats,
        "race_actors": race_actors,
        "burst_seats": burst_seats,
        "burst_actors": burst_actors,
        "budget_s": budget,
    }
    return results


def eventsourcing_synchronous(path: str) -> str:
    """What ``PRAGMA synchronous`` the library's own connections run with."""
    app = open_app(fresh_db(path), "plain")
    try:
        return synchronous_setting(app)
    finally:
        app.close()
        fresh_db(path)


def rows(results: dict[str, Any]) -> list[list[str]]:
    out: list[list[str]] = []
    single, fills, races, bursts = (results[k] for k in ("single", "fill", "race", "burst"))
    bo_single = single.get("boxoffice", {}).get("ops_per_s", 0.0)
    for name, r in single.items():
        label = "raw SQLite, 1 row per commit" if name == "raw" else SYSTEMS[name]
        out.append(
            [
                "single writer",
                label,
                f"{_rate(r['ops_per_s'])} {'txn' if name == 'raw' else 'holds'}/s",
                "—" if name == "boxoffice" else _times(bo_single, r["ops_per_s"]),
                f"p50 {r['p50_ms']:.2f}",
                "",
                "",
                "" if name == "raw" else _checked(r),
            ]
        )
    raw100 = results["raw100"]
    out.append(
        [
            "single writer",
            "raw SQLite, 100 rows per commit",
            f"{_rate(raw100['rows_per_s'])} rows/s",
            _times(bo_single, raw100["rows_per_s"]),
            "",
            "",
            "",
            "",
        ]
    )
    bo_fill = fills.get("boxoffice", {}).get("ops_per_s", 0.0)
    for name, r in fills.items():
        if "failed" in r:
            out.append(["fill", SYSTEMS[name], "failed", "", "", "", "", r["failed"]])
            continue
        mark = "≈" if r["projected"] else ""
        out.append(
            [
                f"fill {r['ops']:,}",
                SYSTEMS[name],
                f"{mark}{_rate(r['ops_per_s'])} bookings/s",
                "—" if name == "boxoffice" else _times(bo_fill, r["ops_per_s"]),
                f"{r['start_ms']:.2f} → {r['end_ms']:.2f} per op ({r['end_over_start']:.2f}×)",
                "",
                "",
                _checked(r),
            ]
        )
    bo_race = races.get("boxoffice", {}).get("holds_per_s", 0.0)
    raced = [
        (name, i, r)
        for name in races
        for i, r in enumerate(results.get("race_rounds", {}).get(name, [races[name]]))
    ]
    for name, i, r in raced:
        label = SYSTEMS[name] + (f", round {i + 1}" if i else "")
        if "failed" in r:
            out.append(["hot race", label, "failed", "", "", "", "", r["failed"]])
            continue
        out.append(
            [
                f"hot race {r.get('capacity', '')} seats",
                label,
                f"{_rate(r['holds_per_s'])} holds/s" + ("" if r["sold_out"] else " (not sold out)"),
                "—" if name == "boxoffice" else _times(bo_race, r["holds_per_s"]),
                f"p50 {r['p50_ms']:.1f}, p99 {r['p99_ms']:.1f}",
                _conflicts(r),
                " / ".join(f"{s:.0%}" for s in r["win_shares"]),
                _checked(r),
            ]
        )
    bo_burst = bursts.get("boxoffice", {}).get("holds_per_s", 0.0)
    for name, r in bursts.items():
        if "failed" in r:
            out.append(["burst", SYSTEMS[name], "failed", "", "", "", "", r["failed"]])
            continue
        out.append(
            [
                "burst, 64 tasks",
                SYSTEMS[name],
                f"{_rate(r['holds_per_s'])} holds/s" + ("" if r["sold_out"] else " (not sold out)"),
                "—" if name == "boxoffice" else _times(bo_burst, r["holds_per_s"]),
                f"p50 {r['p50_ms']:.1f}, p99 {r['p99_ms']:.1f}",
                _conflicts(r),
                "",
                _checked(r),
            ]
        )
    around = results.get("burst_raw")
    if around:
        out.append(
            [
                "burst, 64 tasks",
                "raw SQLite, 1 row per commit",
                f"{_rate(around['txns_per_s'])} txn/s",
                _times(bo_burst, around["txns_per_s"]),
                "measured just before and after boxoffice's burst",
                "",
                "",
                "",
            ]
        )
    return out


def _conflicts(r: dict[str, Any]) -> str:
    """Lost appends per hold won, command retries per hold won, most retries by one racer."""
    wins = max(r["wins"], 1)
    lost = r.get("txn_conflicts", r["conflicts"])  # one lost append per retry without batching
    return f"{lost / wins:.2f} / {r['conflicts'] / wins:.2f} / {r['max_retries']}"


def _unfairness(shares: list[float]) -> float:
    """How far the most unequal process is from a fair share, as a factor (1.0 = fair)."""
    fair = 1 / len(shares)
    return max(max(s / fair, fair / s if s else float("inf")) for s in shares)


def targets(results: dict[str, Any]) -> list[list[str]]:
    """Each target of issue 8, with the ratio measured in this run."""
    single, fills, races, bursts = (results[k] for k in ("single", "fill", "race", "burst"))
    checks: list[tuple[str, float | None, float, str]] = []

    def ratio(a: dict[str, Any], b: dict[str, Any], key: str) -> float | None:
        if "failed" in a or "failed" in b or not b.get(key):
            return None
        return float(a[key]) / float(b[key])

    bo = fills.get("boxoffice", {})
    for other, need in (("es-plain", 10.0), ("es-snapshots", 3.0)):
        if other in fills:
            checks.append(
                (
                    f"fill: boxoffice / {SYSTEMS[other]}",
                    ratio(bo, fills[other], "ops_per_s"),
                    need,
                    "≥",
                )
            )
    if "end_over_start" in bo:
        checks.append(("fill: boxoffice end / start per op", bo["end_over_start"], 1.5, "≤"))
    race = races.get("boxoffice", {})
    for other, need in (("seed", 5.0), ("es-cache", 2.0)):
        if other in races:
            checks.append(
                (
                    f"hot race: boxoffice / {SYSTEMS[other]}",
                    ratio(race, races[other], "holds_per_s"),
                    need,
                    "≥",
                )
            )
    if "wins" in race:
        ours = race["txn_conflicts"] / max(race["wins"], 1)
        for other in ("seed", "es-cache"):
            theirs = races.get(other, {})
            if "wins" in theirs:
                lost = theirs.get("txn_conflicts", theirs["conflicts"]) / max(theirs["wins"], 1)
                checks.append(
                    (
                        f"hot race: lost appends per hold, boxoffice / {SYSTEMS[other]}",
                        ours / lost if lost else 0.0,
                        1.0,
                        "<",
                    )
                )
                per_cmd = theirs["conflicts"] / max(theirs["wins"], 1)
                checks.append(
                    (
                        f"hot race: retries per hold, boxoffice / {SYSTEMS[other]}",
                        (race["conflicts"] / max(race["wins"], 1)) / per_cmd if per_cmd else 0.0,
                        1.0,
                        "<",
                    )
                )
    for system, label in (("boxoffice", "boxoffice"), ("boxoffice-unfair", "fair lock off")):
        runs = [r for r in results.get("race_rounds", {}).get(system, []) if "win_shares" in r]
        if not runs:
            continue
        n = f"{len(runs)} round{'s' if len(runs) > 1 else ''}"
        checks.append(
            (
                f"hot race, {label}: p99 latency, ms (worst of {n})",
                max(r["p99_ms"] for r in runs),
                100.0,
                "≤",
            )
        )
        checks.append(
            (
                f"hot race, {label}: worst process share / fair share (worst of {n})",
                max(_unfairness(r["win_shares"]) for r in runs),
                2.0,
                "≤",
            )
        )
    b = bursts.get("boxoffice", {})
    if "holds_per_s" in b:
        raw_around = results.get("burst_raw", {}).get("txns_per_s") or single["raw"]["ops_per_s"]
        checks.append(
            ("burst: boxoffice / raw 1-row commits", b["holds_per_s"] / raw_around, 5.0, "≥")
        )
        checks.append(("burst: boxoffice oversold", float(b["oversold"]), 0.0, "≤"))
    if "boxoffice" in single:
        checks.append(
            (
                "single writer: boxoffice / raw 1-row commits",
                single["boxoffice"]["ops_per_s"] / single["raw"]["ops_per_s"],
                0.5,
                "≥",
            )
        )

    out = []
    for name, value, need, op in checks:
        if value is None:
            out.append([name, "n/a", f"{op} {need:g}", "—"])
            continue
        ok = {"≥": value >= need, "≤": value <= need, "<": value < need}[op]
        verdict = "met" if ok else "MISSED"
        if "fair lock off" in name:  # the baseline that shows why the lock exists: no target
            verdict = "baseline: within" if ok else "baseline: beyond"
        out.append([name, f"{value:,.2f}", f"{op} {need:g}", verdict])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a short run: smaller sizes, budgets")
    parser.add_argument("--dir", default=None, help="where the database files go (default: temp)")
    parser.add_argument(
        "--systems", default=",".join(RACERS), help=f"comma-separated subset of {','.join(RACERS)}"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="hot-race rounds for boxoffice (default 3)"
    )
    parser.add_argument(
        "--no-scale", action="store_true", help="skip issue 16's rows (bench/scale_rows.py)"
    )
    parser.add_argument("--pg", default=DEFAULT_PG, help="PostgreSQL for issue 16's rows")
    args = parser.parse_args()
    chosen = [s for s in args.systems.split(",") if s]
    unknown = sorted(set(chosen) - set(RACERS))
    if unknown:
        parser.error(f"unknown systems: {', '.join(unknown)}")
    args.systems_racers = [s for s in RACERS if s in chosen]
    args.systems_writers = [s for s in WRITERS if s in chosen]
    workdir = Path(args.dir or tempfile.mkdtemp(prefix="boxoffice-compare-"))
    workdir.mkdir(parents=True, exist_ok=True)
    facts = machine()
    command = " ".join(["python", "bench/compare.py", *sys.argv[1:]])
    print(
        f"machine: {facts['nproc']} cores, {facts['cpu']}, disk {facts['disk']}, "
        f"load {facts['load_1m_at_start']}; SQLite {facts['sqlite']}, WAL, synchronous=FULL; "
        f"eventsourcing snapshots every {SNAPSHOT_INTERVAL} events",
        flush=True,
    )
    started = time.perf_counter()
    results = run_all(args, workdir)
    if "boxoffice" in chosen and not args.no_scale:
        print("issue 16's rows: own stores, the rush, PostgreSQL, a season ...", flush=True)
        results["scale"] = scale_results(args.quick, args.pg)
    elapsed = time.perf_counter() - started
    headers = [
        "workload",
        "system",
        "rate",
        "boxoffice is",
        "latency, ms",
        "lost appends / retries per hold / max retries",
        "wins per process",
        "oversold",
    ]
    print()
    print(table(headers, rows(results)))
    print()
    print(table(["target (issue 8)", "measured", "target", ""], targets(results)))
    if "scale" in results:
        print()
        print(table(SCALE_HEADERS, scale_rows(results["scale"])))
    path = write_json(
        "compare",
        {
            "machine": facts,
            "command": command,
            "elapsed_s": elapsed,
            "results": results,
            "targets": targets(results),
        },
    )
    print(
        f"\neventsourcing's connections ran with synchronous={results['eventsourcing_synchronous']}"
    )
    print(f"{elapsed:.0f} s; JSON: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
