"""An older commit and this checkout, run in turns in one invocation, beside a baseline.

The machine is noisy (2 cores): a figure means something only beside another
taken in the same run. A benchmark script that can print its rows as JSON when
run with ``--child`` gets them here for this checkout and, with an older commit,
for a detached worktree of it (its own ``store`` on ``PYTHONPATH``, this run's
harness copied in), alternating ``rounds`` times with ``baseline()`` measured
before and after each round.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent


def run_checkout(
    script: Path, checkout: Path | None, passed: Sequence[str], harness: Sequence[str]
) -> dict[str, Any]:
    """``script --child passed...`` in this checkout or in ``checkout``, its JSON rows.

    ``harness``: the ``bench/`` files the script needs, copied into the old checkout
    (this run's versions: the rows must be measured the same way on both).
    """
    env, cwd = dict(os.environ), HERE
    if checkout is not None:
        env["PYTHONPATH"] = str(checkout)
        cwd = checkout
        for name in {script.name, *harness}:
            shutil.copy(script.with_name(name), checkout / "bench" / name)
        script = checkout / "bench" / script.name
    command = [sys.executable, str(script), "--child", *passed]
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{checkout or 'new'} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def alternate(
    old: str | None,
    rounds: int,
    rows: Callable[[Path | None], dict[str, Any]],
    baseline: Callable[[], float],
) -> tuple[dict[str, list[dict[str, Any]]], list[float]]:
    """``rows(None)`` (and ``rows(worktree of old)``) ``rounds`` times, baseline around each.

    Returns the rows of each round by commit (``"new"``, ``"old"``) and every baseline.
    """
    seen: dict[str, list[dict[str, Any]]] = {"new": []}
    raws: list[float] = []
    tmp = tempfile.mkdtemp()
    tree = Path(tmp) / "old"
    if old:
        seen["old"] = []
        subprocess.run(["git", "worktree", "add", "-q", "--detach", str(tree), old],
                       cwd=HERE, check=True)  # fmt: skip
    try:
        for n in range(rounds):
            raws.append(baseline())
            if old:
                seen["old"].append(rows(tree))
            seen["new"].append(rows(None))
            raws.append(baseline())
            print(f"round {n + 1} of {rounds} done", file=sys.stderr, flush=True)
    finally:
        if old:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=HERE,
                           check=False)  # fmt: skip
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps({"raw": raws, **seen}), file=sys.stderr)
    return seen, raws


def without(argv: Sequence[str], *options: str) -> list[str]:
    """``argv`` without ``options`` and their values (``--old X`` and ``--old=X`` alike)."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a in options:
            skip = True
        elif not any(a.startswith(o + "=") for o in options):
            out.append(a)
    return out
