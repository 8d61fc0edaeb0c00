"""How often a real race oversells: the seed's algorithm beside ours, same racers, same size.

Each race is ``boxoffice race --json`` on a fresh demo occurrence of a fresh
database, so nothing carries between races. The seed oversells only when a
write lands between its two reads at the moment the house fills, so a race
oversells or not by timing: the table gives the odds on this machine. The
certain case is ``tests/test_racers.py``'s interleaving test.

    python -m bench.seed_contrast [--races 6] [--racers 800] [--processes 4] [--capacity 200]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path


def race(db: str, algorithm: str, racers: int, processes: int, capacity: int) -> dict[str, object]:
    size = ["--racers", str(racers), "--processes", str(processes), "--capacity", str(capacity)]
    done = subprocess.run(
        [sys.executable, "-m", "tui.cli.main", "race", "--db", db, *size,
         "--algorithm", algorithm, "--json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode not in (0, 1):
        raise SystemExit(f"race exited {done.returncode}: {done.stderr.strip()}")
    out: dict[str, object] = json.loads(done.stdout)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--races", type=int, default=6)
    parser.add_argument("--racers", type=int, default=800)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--capacity", type=int, default=200)
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for algorithm in ("seed", "ours"):
            oversold_races, seats, seconds = 0, 0, 0.0
            for n in range(args.races):
                db = str(Path(tmp) / f"{algorithm}{n}.db")
                subprocess.run([sys.executable, "-m", "tui.cli.main", "init", "--db", db],
                               check=True, capture_output=True)  # fmt: skip
                out = race(db, algorithm, args.racers, args.processes, args.capacity)
                invariants = out["invariants"]
                assert isinstance(invariants, dict)
                over = int(invariants["oversold"])
                oversold_races += over > 0
                seats += over
                seconds += float(str(out["elapsed_s"]))
            rows.append((algorithm, args.races, oversold_races, seats, seconds / args.races))
    print(f"{args.racers} racers x {args.processes} processes on {args.capacity} seats")
    print(f"{'algorithm':<10}{'races':>7}{'oversold':>10}{'seats over':>12}{'s/race':>9}")
    for algorithm, races, over, seats, mean in rows:
        print(f"{algorithm:<10}{races:>7}{over:>10}{seats:>12}{mean:>9.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
