"""A fair turn at SQLite's write lock, shared by every process on one file.

SQLite waits for its write lock by sleeping and polling, so with several
processes one of them can take nearly every lock while the others sleep through
their chances (measured here: starved writers waited a median ~2 s per commit).
Taking a blocking OS lock on a sidecar file first makes waiting writers wake as
soon as the lock is released; SQLite's own lock is then almost always free.
The OS drops the lock when its holder dies, so a ``kill -9`` never leaves it held.

Waking is not enough on a busy machine: ``flock`` wakes its waiters but hands
the lock to whoever asks first, and the writer that just released it, still on
a CPU, asks again long before a woken waiter is scheduled (measured: one of 4
racing processes took 84% of the seats). So a writer passes a gate first and
holds it while it waits for the turn: the releasing writer, wanting the turn
again, must pass the gate, held by the waiter, and the turn goes to the waiter.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time


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


class _Lock:
    """One exclusive ``flock`` on one file, waited for without polling, within a timeout."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        self.held: int | None = None

    def acquire(self, timeout: float) -> bool:
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.held = self.fd
            return True
        except BlockingIOError:
            pass
        waiter = _Waiter(self.path)
        threading.Thread(target=waiter.run, name="boxoffice-write-turn", daemon=True).start()
        if waiter.claim(max(timeout, 0.0)):
            self.held = waiter.fd
            return True
        return False

    def release(self) -> None:
        held, self.held = self.held, None
        if held is None:
            return
        fcntl.flock(held, fcntl.LOCK_UN)
        if held != self.fd:
            os.close(held)

    def close(self) -> None:
        self.release()
        os.close(self.fd)


class WriteTurn:
    """The turn (``path``) behind a gate (``path.gate``); a no-op if they can't exist."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._turn: _Lock | None = None
        self._gate: _Lock | None = None
        try:
            self._turn = _Lock(path)
            self._gate = _Lock(path + ".gate")
        except OSError:
            # A read-only directory: writes will fail anyway, with SQLite's clearer error.
            self.close()

    def acquire(self, timeout: float) -> bool:
        """Take the turn within ``timeout`` seconds; called on a worker thread, never the loop.

        Returns False when the turn stayed taken (a writer stopped mid-transaction).
        """
        turn, gate = self._turn, self._gate
        if turn is None or gate is None:
            return True
        deadline = time.monotonic() + timeout
        if not gate.acquire(timeout):
            return False
        try:
            return turn.acquire(deadline - time.monotonic())
        finally:
            gate.release()  # the turn is ours (or lost): the next waiter may queue for it

    def release(self) -> None:
        if self._turn is not None:
            self._turn.release()

    def close(self) -> None:
        for lock in (self._turn, self._gate):
            if lock is not None:
                lock.close()
        self._turn = self._gate = None
