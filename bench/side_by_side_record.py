"""Record a side-by-side race (the seed's algorithm beside ours) until the seed oversells.

The panel's snapshot tests play such a recording back, so their pictures are
deterministic and still show a real race: this is how the committed fixture
(``tests/tui/fixtures/side_by_side.jsonl``) was made, and how to make another.
It prints one line per round (the seed's oversold seats, ours) and keeps the
recording of the first round in which the seed oversold.

    python -m bench.side_by_side_record OUT.jsonl [--racers 120] [--processes 2] [--capacity 30]
        [--db postgresql://...]   # on PostgreSQL the seed's two reads are two round trips
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
from pathlib import Path

from store import open_store
from store.racers import RacePlan, new_seed
from store.racers.pair import fresh_pair, run_pair
from store.racers.recording import Recorder


async def rounds(
    out: Path, racers: int, processes: int, capacity: int, most: int, url: str | None
) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        db = url or str(Path(tmp) / "pair.db")
        async with open_store(db, create=True):
            pass
        for number in range(1, most + 1):
            base = RacePlan(db, "pair", racers=racers, processes=processes, seed=new_seed())
            plans = await fresh_pair(base, capacity)
            path = Path(tmp) / f"round{number}.jsonl"
            recorder = Recorder(path)
            try:
                seed, ours = await run_pair(plans, recorder)
            finally:
                recorder.close()
            print(
                f"round {number}: seed oversold {seed.verdict.oversold} "
                f"(seqs {seed.oversold_seqs}), ours oversold {ours.verdict.oversold}",
                flush=True,
            )
            if seed.oversold_seqs:
                shutil.copy(path, out)
                return 0
    print(f"the seed kept its capacity in {most} rounds; nothing written")
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--racers", type=int, default=120)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--capacity", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--db", help="a database URL (default: a fresh SQLite file)")
    args = parser.parse_args(argv)
    return asyncio.run(
        rounds(args.out, args.racers, args.processes, args.capacity, args.rounds, args.db)
    )


if __name__ == "__main__":
    raise SystemExit(main())
