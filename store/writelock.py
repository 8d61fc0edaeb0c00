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
import threading


class _Waiter:
    """A blocking ``flock`` on its own file description, which its caller may abandon.

    ``flock`` has no timeout, so the blocking call runs on a thread of its own; a
    caller that gives up marks it abandoned, and the waiter lets go at once when
    it finally gets the lock.
    """

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        self.got_it = threading.Event()
        self._mutex = threading.Lock()
        self._abandoned = False

    def run(self) -> None:
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        with self._mutex:
            if self._abandoned:
                fcntl.flock(self.fd, fcntl.LOCK_UN)
                os.close(self.fd)
                return
            self.got_it.set()

    def claim(self, timeout: float) -> bool:
        """Wait up to ``timeout``; True if the lock is now ours."""
        self.got_it.wait(timeout)
        with self._mutex:
            if self.got_it.is_set():
                return True
            self._abandoned = True
            return False


class WriteTurn:
    """Exclusive ``flock`` on ``path``, waited for without polling; a no-op if it can't exist."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        self._held: int | None = None
        try:
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError:
            # A read-only directory: writes will fail anyway, with SQLite's clearer error.
            self._fd = None

    def acquire(self, timeout: float) -> bool:
        """Take the turn within ``timeout`` seconds; called on a worker thread, never the loop.

        Returns False when the turn stayed taken (a writer stopped mid-transaction).
        """
        if self._fd is None:
            return True
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self._held = self._fd
            return True
        except BlockingIOError:
            pass
        waiter = _Waiter(self.path)
        threading.Thread(target=waiter.run, name="boxoffice-write-turn", daemon=True).start()
        if waiter.claim(max(timeout, 0.0)):
            self._held = waiter.fd
            return True
        return False

    def release(self) -> None:
        held, self._held = self._held, None
        if held is None:
            return
        fcntl.flock(held, fcntl.LOCK_UN)
        if held != self._fd:
            os.close(held)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
