"""Who holds a lock on a file, from Linux's ``/proc/locks``: so a lost turn can say who.

A writer that waited its whole deadline for the write turn answered ``conflict``
with no word of why (issue 12 row 9): a read-only local user running ``flock -s
box.db.lock sleep 15`` stalls every writer. The kernel lists every lock with the
holder's pid and the file's device and inode, so the error can name the process.
Best effort: elsewhere than Linux, or in another pid namespace, nobody is named.
"""

from __future__ import annotations

import os

#: The byte of SQLite's ``-shm`` file whose POSIX write lock is the WAL write lock.
WAL_WRITE_LOCK = 120


def lock_holders(file: int | str, kind: str = "FLOCK", byte: int | None = None) -> list[int]:
    """The pids, other than ours, holding a ``kind`` lock on ``file`` (an fd or a path).

    ``kind`` is ``FLOCK`` (``flock``) or ``POSIX`` (``fcntl``, SQLite's own); with
    ``byte``, only a POSIX WRITE lock covering that byte counts (SQLite's WAL
    write lock is byte 120 of the ``-shm`` file). Empty when nothing can be read.
    """
    try:
        st = os.fstat(file) if isinstance(file, int) else os.stat(file)
        with open("/proc/locks", encoding="ascii", errors="replace") as locks:
            lines = locks.read().splitlines()
    except OSError:
        return []
    wanted = f"{os.major(st.st_dev):02x}:{os.minor(st.st_dev):02x}:{st.st_ino}"
    found: set[int] = set()
    for line in lines:
        fields = line.split()
        if "->" in fields:  # a waiter ("1: -> FLOCK ..."), not a holder
            continue
        if len(fields) < 8 or fields[1] != kind or fields[5] != wanted:
            continue
        if byte is not None and not _covers(fields[3], fields[6], fields[7], byte):
            continue
        try:
            pid = int(fields[4])
        except ValueError:
            continue
        if pid > 0 and pid != os.getpid():
            found.add(pid)
    return sorted(found)


def _covers(access: str, start: str, end: str, byte: int) -> bool:
    try:
        return access == "WRITE" and int(start) <= byte and (end == "EOF" or byte <= int(end))
    except ValueError:
        return False


def who(pids: list[int]) -> str:
    """``another process (pid 7262)``, or just ``another process`` when none is known."""
    if not pids:
        return "another process"
    if len(pids) == 1:
        return f"another process (pid {pids[0]})"
    return f"other processes (pids {', '.join(map(str, pids[:5]))})"


def seconds(value: float) -> str:
    """A wait as people read it: ``5``, ``4.9``, ``0.2`` (not ``4.99873``)."""
    return f"{round(value, 1):g}"
