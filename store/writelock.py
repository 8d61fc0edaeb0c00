"""A fair turn at SQLite's write lock, shared by every process on one file.

SQLite waits for its write lock by sleeping and polling, so with several
processes one of them can take nearly every lock while the others sleep through
their chances (measured here: starved writers waited a median ~2 s per commit).
Taking a blocking OS lock on a sidecar file first makes waiting writers wake as
soon as the lock is released; SQLite's own lock is then almost always free.
The OS drops the lock when its holder dies, so a ``kill -9`` never leaves it held.
"""

from __future__ import annotations

import fcntl
import os


class WriteTurn:
    """Blocking exclusive ``flock`` on ``path``; a no-op where it cannot be created."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        try:
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError:
            # A read-only directory: writes will fail anyway, with SQLite's clearer error.
            self._fd = None

    def acquire(self, timeout: float) -> None:
        """Wait for the turn; called on a worker thread, never on the event loop.

        ``timeout`` is not enforced here: the turn is held only for the length of
        one transaction and is released by the OS if its holder dies, while SQLite's
        busy timeout still bounds the wait for the database lock itself.
        """
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_EX)

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
