"""What every benchmark shares: fresh database files, the machine, percentiles, tables.

The raw SQLite limit lives here too, because each benchmark measures it again in
the same run: on a shared machine only ratios taken minutes apart mean anything.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiosqlite

RESULTS = Path(__file__).resolve().parent / "results"


def fresh_db(path: str | Path) -> str:
    """Remove a database file and its WAL, shared-memory and lock sidecars."""
    path = str(path)
    for suffix in ("", "-wal", "-shm", "-journal", ".lock", ".lock.gate"):
        with contextlib.suppress(FileNotFoundError):
            os.remove(path + suffix)
    return path


def machine() -> dict[str, Any]:
    """The facts a reader needs to judge the figures: cores, CPU, disk, versions, load."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    disk = "unknown"
    if shutil.which("findmnt"):
        try:
            found = subprocess.run(
                ["findmnt", "-no", "FSTYPE,SOURCE", "--target", tempfile.gettempdir()],
                capture_output=True,
                text=True,
                timeout=5,
            ).stdout.split()
            if len(found) == 2:
                disk = f"{found[0]} on {found[1]}"
        except (OSError, subprocess.SubprocessError):
            pass
    try:
        load = os.getloadavg()
    except OSError:
        load = (0.0, 0.0, 0.0)
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "disk": disk,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "load_1m_at_start": round(load[0], 2),
    }


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A Markdown table, so the same text goes to the terminal and into the README."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    rule = "| " + " | ".join("-" * w for w in widths) + " |"
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def write_json(name: str, payload: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = RESULTS / f"{name}-{stamp}.json"
    path.write_text(json.dumps(payload, indent=2, default=str))
    return path


_RAW_SCHEMA = """CREATE TABLE IF NOT EXISTS events (
    position INTEGER PRIMARY KEY AUTOINCREMENT,
    stream   TEXT    NOT NULL,
    seq      INTEGER NOT NULL,
    type     TEXT    NOT NULL,
    data     TEXT    NOT NULL,
    meta     TEXT    NOT NULL,
    UNIQUE (stream, seq)
)"""

_RAW_META = json.dumps(
    {"operator": "bench", "terminal": "host:1", "recorded_at": "2026-12-01T19:00:00+00:00"}
)


class RawWriter:
    """One-row (or n-row) INSERT + COMMIT transactions through aiosqlite: the raw limit.

    The same driver, journal mode, ``synchronous`` setting and row shape as the
    event store, with none of its work: the disk's and the driver's limit.
    """

    def __init__(self, path: str, *, rows_per_txn: int = 1, synchronous: str = "FULL") -> None:
        self.path, self.rows_per_txn, self.synchronous = path, rows_per_txn, synchronous
        self.seq = 0

    async def open(self) -> RawWriter:
        fresh_db(self.path)
        self.conn = await aiosqlite.connect(self.path, isolation_level=None)
        await self.conn.execute("PRAGMA journal_mode = WAL")
        await self.conn.execute(f"PRAGMA synchronous = {self.synchronous}")
        await self.conn.execute(_RAW_SCHEMA)
        return self

    async def transaction(self) -> int:
        """One transaction; returns the rows it wrote."""
        await self.conn.execute("BEGIN IMMEDIATE")
        for _ in range(self.rows_per_txn):
            self.seq += 1
            await self.conn.execute(
                "INSERT INTO events (stream, seq, type, data, meta) VALUES (?, ?, ?, ?, ?)",
                (
                    "booking:raw",
                    self.seq,
                    "hold",
                    json.dumps({"actor": f"a-{self.seq}"}),
                    _RAW_META,
                ),
            )
        await self.conn.execute("COMMIT")
        return self.rows_per_txn

    async def close(self) -> None:
        await self.conn.close()
        fresh_db(self.path)


async def raw_limit(
    path: str, *, rows_per_txn: int, seconds: float = 3.0, synchronous: str = "FULL"
) -> dict[str, float]:
    """Rows/s and transactions/s of plain INSERT + COMMIT, for ``seconds``."""
    writer = await RawWriter(path, rows_per_txn=rows_per_txn, synchronous=synchronous).open()
    txns = rows = 0
    try:
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            rows += await writer.transaction()
            txns += 1
        elapsed = time.perf_counter() - start
    finally:
        await writer.close()
    return {"rows_per_s": rows / elapsed, "txns_per_s": txns / elapsed, "rows": rows}
