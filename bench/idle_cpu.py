"""Idle CPU of the real app in a real terminal (tmux), this tree against an older one.

The app sits open on the demo house (holds counting down, nothing written) for
``--seconds``; its CPU time is read from ``/proc/<pid>/stat`` before and after,
so the figure is the whole process as an operator's machine would see it
(rendering, the 1 s clock, the live feed's tail), not a headless test. The
baseline is the same app from ``--base`` (a git revision, unpacked with ``git
archive``) on a demo house seeded the same way, in the same run, one after the
other, so a shared machine's load hits both alike; the ratio is what to read.

Run: ``.venv/bin/python bench/idle_cpu.py [--seconds 60] [--base main]``
(needs tmux; sizes 80x24 and 140x40).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import table

HERE = Path(__file__).resolve().parent.parent
SIZES = ((80, 24), (140, 40))
TICKS = os.sysconf("SC_CLK_TCK")


def unpack(rev: str, into: Path) -> Path:
    """The tree at ``rev`` (tracked files only) in ``into``."""
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(HERE), "archive", rev], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


async def seed(db: str) -> None:
    from store import open_store
    from store.booking import Ledger
    from store.demo import seed_demo

    async with open_store(db, create=True) as store:
        ledger = Ledger(store, operator="bench")
        await seed_demo(ledger, await ledger.now())


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def capture(session: str) -> str:
    return subprocess.run(
        ["tmux", "capture-pane", "-p", "-t", session], capture_output=True, text=True
    ).stdout


def measure(tree: Path, db: str, size: tuple[int, int], seconds: float, name: str) -> float:
    """Percent of a core the app in ``tree`` used while idle for ``seconds``."""
    session = f"idle-cpu-{os.getpid()}-{name}"
    command = (
        f"cd {tree} && exec env PYTHONPATH={tree} XDG_CONFIG_HOME={tree}/.no-config "
        f"{sys.executable} -c 'from tui.cli.main import main; main()' "
        f"--db {db} --operator bench"
    )
    width, height = size
    subprocess.run(
        ["tmux", "new-session", "-d", "-s", session, "-x", str(width), "-y", str(height), command],
        check=True,
    )
    try:
        pid = int(
            subprocess.run(
                ["tmux", "display-message", "-p", "-t", session, "#{pane_pid}"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        deadline = time.monotonic() + 60
        while "LIVE" not in capture(session) or "Ada Lovelace" not in capture(session):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name}: the app did not open:\n{capture(session)}")
            time.sleep(0.2)  # polling the screen for a condition
        time.sleep(2.0)  # let the first frames and reads finish: idleness is what is measured
        cpu, wall = cpu_seconds(pid), time.monotonic()
        time.sleep(seconds)  # the measurement itself: the app left alone
        used, elapsed = cpu_seconds(pid) - cpu, time.monotonic() - wall
        return used / elapsed * 100
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--base", default="main", help="git revision to compare with")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        sys.exit("idle_cpu: needs tmux")
    with tempfile.TemporaryDirectory() as folder:
        base = unpack(args.base, Path(folder) / "base")
        rows = []
        for size in SIZES:
            label = f"{size[0]}x{size[1]}"
            figures = []
            for tree, name in ((base, "base"), (HERE, "this")):
                # a fresh demo house each time: every run sees the same holds at the same
                # moments (the demo's 90 s hold lapses inside each window alike)
                db = str(Path(folder) / f"{name}-{label}.db")
                asyncio.run(seed(db))
                figures.append(measure(tree, db, size, args.seconds, f"{name}-{label}"))
            before, after = figures
            rows.append(
                (
                    f"idle {args.seconds:.0f} s on the demo house, {label}",
                    f"{before:.1f} %",
                    f"{after:.1f} %",
                    f"{after / before:.2f}x" if before else "—",
                    "< 5 %",
                )
            )
    print(table(["measure", f"base ({args.base})", "this tree", "ratio", "target"], rows))
    print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the end)")


if __name__ == "__main__":
    main()
