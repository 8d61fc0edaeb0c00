"""Is this commit slower than an older one? ``bench/compare.py`` on both, alternating, same run.

The machine is noisy (2 cores), so one run of each proves nothing: this runs the
boxoffice rows of ``compare.py`` for the old commit (a detached worktree) and for
this checkout in turns, ``--rounds`` times each, normalises every rate by the raw
SQLite commit rate measured beside it in the same run, and prints the median of
each row for both and their ratio (new / old; below 0.90 is more than 10 % worse).

    python bench/against_commit.py dbe8b88 [--rounds 6] [--full]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent


def run_compare(checkout: Path, full: bool) -> dict[str, Any]:
    command = [sys.executable, "bench/compare.py", "--systems", "boxoffice"]
    if (checkout / "bench" / "scale_rows.py").exists():
        command.append("--no-scale")  # the first wave's rows only: the ones both commits have
    if not full:
        command.append("--quick")
    done = subprocess.run(command, cwd=checkout, capture_output=True, text=True, check=True)
    path = re.search(r"JSON: (\S+)", done.stdout)
    if path is None:
        raise SystemExit(f"compare.py printed no JSON path:\n{done.stdout[-2000:]}")
    result: dict[str, Any] = json.loads((checkout / path.group(1)).read_text())["results"]
    return result


def rows(results: dict[str, Any]) -> dict[str, float]:
    """Each boxoffice rate over the raw 1-row commit rate of the same run."""
    raw = results["single"]["raw"]["ops_per_s"]
    races = [r["holds_per_s"] for r in results["race_rounds"]["boxoffice"]]
    return {
        "single writer / raw": results["single"]["boxoffice"]["ops_per_s"] / raw,
        "fill / raw": results["fill"]["boxoffice"]["ops_per_s"] / raw,
        "hot race (median round) / raw": statistics.median(races) / raw,
        "burst / raw beside it": results["burst"]["boxoffice"]["holds_per_s"]
        / results["burst_raw"]["txns_per_s"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", help="the older commit")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--full", action="store_true", help="compare.py's full sizes")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "old"
        subprocess.run(["git", "worktree", "add", "-q", "--detach", str(old), args.old],
                       cwd=HERE, check=True)  # fmt: skip
        try:
            seen: dict[str, dict[str, list[float]]] = {"old": {}, "new": {}}
            for n in range(args.rounds):
                for name, checkout in (("old", old), ("new", HERE)):
                    for row, value in rows(run_compare(checkout, args.full)).items():
                        seen[name].setdefault(row, []).append(value)
                print(f"round {n + 1} of {args.rounds} done", file=sys.stderr, flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(old)], cwd=HERE,
                           check=False)  # fmt: skip
    load = Path("/proc/loadavg").read_text().split()[0]
    print(f"{args.rounds} alternating rounds of compare.py per commit; load at the end {load}")
    print(f"{'row':<34}{'old ' + args.old[:8]:>16}{'new':>10}{'new/old':>9}  spread new")
    for row in seen["new"]:
        o, n = statistics.median(seen["old"][row]), statistics.median(seen["new"][row])
        spread = f"{min(seen['new'][row]):.2f}-{max(seen['new'][row]):.2f}"
        print(f"{row:<34}{o:>16.2f}{n:>10.2f}{n / o:>9.2f}  {spread}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
