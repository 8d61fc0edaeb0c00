"""What the clock check (issue 12, row 5) costs a write: holds with it on and off, interleaved.

One ledger checks its clock against the machine's (``/proc`` read per write batch),
the other does not (``clock_check=False``), on two occurrences of one file; the holds
alternate hold by hold, so both see the same machine load. Also the cost of one
``machine_now()`` read on its own.

    .venv/bin/python bench/clock_check.py [--holds 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import fresh_db, median, percentile, table
from store import open_store
from store.booking import Ledger
from store.ledger.clock_check import machine_now


async def run(holds: int) -> list[list[str]]:
    path = fresh_db(os.path.join(tempfile.mkdtemp(), "clock.db"))
    times: dict[bool, list[float]] = {True: [], False: []}
    async with open_store(path, create=True) as store:
        ledgers = {flag: Ledger(store, operator="bench", clock_check=flag) for flag in times}
        for flag, ledger in ledgers.items():
            await ledger.create_occurrence(f"house-{flag}", capacity=holds)
        for i in range(holds):
            for flag in (True, False) if i % 2 else (False, True):
                t0 = time.perf_counter()
                await ledgers[flag].hold(f"house-{flag}", f"a-{i}")
                times[flag].append(time.perf_counter() - t0)
    fresh_db(path)
    reads = []
    for _ in range(2000):
        t0 = time.perf_counter()
        machine_now()
        reads.append(time.perf_counter() - t0)
    off, on = median(times[False]), median(times[True])

    def ms(values: list[float], digits: int = 3) -> list[str]:
        return [f"{median(values) * 1e3:.{digits}f}", f"{percentile(values, 99) * 1e3:.{digits}f}"]

    return [
        ["hold, clock check off (baseline)", *ms(times[False]), "1.00"],
        ["hold, clock check on", *ms(times[True]), f"{on / off:.2f}"],
        ["machine_now() alone", *ms(reads, 4), ""],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--holds", type=int, default=2000)
    args = parser.parse_args()
    rows = asyncio.run(run(args.holds))
    print(f"load average {os.getloadavg()[0]:.1f}, {args.holds} holds each, interleaved")
    print(table(["what", "p50 ms", "p99 ms", "ratio to baseline"], rows))


if __name__ == "__main__":
    main()
