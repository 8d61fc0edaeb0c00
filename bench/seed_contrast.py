"""How often a real race oversells: the seed's algorithm beside ours, same racers, same size.

Each race is ``boxoffice race --json`` on a fresh demo occurrence of a fresh
database, so nothing carries between races. The seed oversells only when a
write lands between its two reads at the moment the house fills, so a race
oversells or not by timing: the table gives the odds on this machine. The
certain case is ``tests/test_racers.py``'s interleaving test.

    python -m bench.seed_contrast [--races 6] [--racers 800] [--processes 4] [--capacity 200]
        [--pg postgresql://user@host/db]   # also race on PostgreSQL, a fresh schema a race

On PostgreSQL the seed's two reads are two round trips to the server, so the
window a write can land in is wider than on SQLite's local file: the table
then gives both backends' odds from the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit


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


def _schema_url(base: str, schema: str) -> str:
    parts = urlsplit(base)
    query = f"{parts.query}&schema={schema}" if parts.query else f"schema={schema}"
    return urlunsplit(parts._replace(query=query))


async def _drop_schemas(base: str, schemas: list[str]) -> None:
    import asyncpg

    parts = urlsplit(base)
    conn = await asyncpg.connect(urlunsplit(parts._replace(query="")), timeout=5)
    try:
        for schema in schemas:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--races", type=int, default=6)
    parser.add_argument("--racers", type=int, default=800)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--capacity", type=int, default=200)
    parser.add_argument("--pg", metavar="URL", help="also race on this PostgreSQL server")
    parser.add_argument("--skip-sqlite", action="store_true", help="race on PostgreSQL only")
    args = parser.parse_args(argv)
    backends = ([] if args.skip_sqlite else ["sqlite"]) + (["postgresql"] if args.pg else [])
    rows = []
    schemas: list[str] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for backend in backends:
                for algorithm in ("seed", "ours"):
                    oversold_races, seats, seconds = 0, 0, 0.0
                    for n in range(args.races):
                        if backend == "sqlite":
                            db = str(Path(tmp) / f"{algorithm}{n}.db")
                        else:
                            schemas.append(f"bo_contrast_{uuid.uuid4().hex[:12]}")
                            db = _schema_url(args.pg, schemas[-1])
                        subprocess.run([sys.executable, "-m", "tui.cli.main", "init", "--db", db],
                                       check=True, capture_output=True)  # fmt: skip
                        out = race(db, algorithm, args.racers, args.processes, args.capacity)
                        invariants = out["invariants"]
                        assert isinstance(invariants, dict)
                        over = int(invariants["oversold"])
                        oversold_races += over > 0
                        seats += over
                        seconds += float(str(out["elapsed_s"]))
                    rows.append(
                        (
                            backend,
                            algorithm,
                            args.races,
                            oversold_races,
                            seats,
                            seconds / args.races,
                        )
                    )
    finally:
        if schemas:
            asyncio.run(_drop_schemas(args.pg, schemas))
    print(f"{args.racers} racers x {args.processes} processes on {args.capacity} seats")
    head = f"{'backend':<12}{'algorithm':<10}{'races':>7}{'oversold':>10}{'seats over':>12}"
    print(head + f"{'s/race':>9}")
    for backend, algorithm, races, over, seats, mean in rows:
        print(f"{backend:<12}{algorithm:<10}{races:>7}{over:>10}{seats:>12}{mean:>9.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
