"""The database file replaced or removed under ``boxoffice log KEY --follow`` (issue 12, row 6).

A real follower process on a real file: the file at its path is replaced by
another database (a restore, a careless ``mv``) or removed. The follower's open
connection still reads the old inode, where nothing more will ever land, so
before this it followed a dead file for ever, in silence. It now ends: exit 3,
one line on stderr.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from store import open_store
from store.booking import Ledger

KEY = "live"


async def _house(path: str) -> None:
    async with open_store(path, create=True) as store:
        await Ledger(store, operator="box").create_occurrence(KEY, capacity=3)


@pytest.mark.parametrize("how", ["replaced", "removed"])
def test_a_follower_stops_with_one_line_when_its_file_is_replaced(tmp_path: Path, how: str) -> None:
    db = str(tmp_path / "box.db")
    asyncio.run(_house(db))
    follower = subprocess.Popen(
        [sys.executable, "-m", "tui.cli.main", "--db", db, "log", KEY, "--follow", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert follower.stdout is not None
        first = json.loads(follower.stdout.readline())  # the log so far is printed: following
        assert (first["seq"], first["type"]) == (1, "created")
        if how == "replaced":
            fresh = str(tmp_path / "fresh.db")
            asyncio.run(_house(fresh))
            os.replace(fresh, db)
        else:
            os.remove(db)
        code = follower.wait(timeout=30)  # before the fix: still following a dead file here
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()
    assert follower.stderr is not None
    err = follower.stderr.read()
    assert code == 3, err
    assert err.count("\n") == 1, err
    assert err.startswith(f"boxoffice: {db}: the database file was replaced or removed; ")
    assert "stopped following" in err
