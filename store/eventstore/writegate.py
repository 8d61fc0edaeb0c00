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

The gate is pluggable (``WriteGate``): ``FairTurn`` is the above, ``OpenGate``
lets every writer straight through to SQLite's own lock (``fair_lock=False``, a
baseline for the benchmarks). An uncontended turn is two non-blocking ``flock``
calls; a contended one is waited for by one long-lived thread per turn, so an
abandoned wait (a timeout, a cancelled task) costs no thread.

The store takes its turn with ``take`` on the writer connection's own thread,
queued just before the write statement and released just after it: the turn
then passes from one process's commit straight to the next process's statement,
with no event loop in between (waking a loop busy with other racers, and a hop
back to the connection's thread, held every other process waiting: the hot race
ran at ~0.6 of a turn taken on the connection's thread). ``acquire`` is the same
turn awaited on an event loop.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import errno
import fcntl
import os
import queue
import threading
from dataclasses import dataclass, field

from store.eventstore.lock_holders import lock_holders


class WriteGate(abc.ABC):
    """Who may write next; held around each write transaction."""

    @abc.abstractmethod
    async def acquire(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the turn; False if it stayed taken.

        Cancellation while waiting leaves the turn not taken.
        """

    @abc.abstractmethod
    def take(self, timeout: float) -> bool:
        """``acquire``, blocking: for a thread that is not an event loop's."""

    @abc.abstractmethod
    def take_now(self) -> bool:
        """The turn if it is free this instant and nobody here is queued for it."""

    @abc.abstractmethod
    def release(self) -> None:
        """Give the turn back (only after an ``acquire`` or ``take`` that returned True)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release everything; a wait still in the kernel lets go when it is granted."""

    def holders(self) -> list[int]:
        """The pids of other processes holding the turn now, where the system says."""
        return []

    def awaited(self) -> bool:
        """Whether another writer is queued for the turn now (the holder asks)."""
        return False


class OpenGate(WriteGate):
    """No turn: every writer goes straight to SQLite's own (unfair) lock."""

    async def acquire(self, timeout: float) -> bool:
        return True

    def take(self, timeout: float) -> bool:
        return True

    def take_now(self) -> bool:
        return True

    def release(self) -> None:
        pass

    def close(self) -> None:
        pass


@dataclass(eq=False)
class _Request:
    """One blocking wait for the turn, run by the waiter thread.

    ``mutex`` settles the race between the thread being granted the turn and the
    asker giving up on it: exactly one of ``granted`` and ``abandoned`` wins. An
    event loop is told through ``future``; a thread waits on ``settled``.
    """

    loop: asyncio.AbstractEventLoop | None
    future: asyncio.Future[None] | None
    gate_held: bool  # the asker already holds the gate (its turn try failed)
    settled: threading.Event = field(default_factory=threading.Event)
    mutex: threading.Lock = field(default_factory=threading.Lock)
    granted: bool = False
    abandoned: bool = False
    done: threading.Event = field(default_factory=threading.Event)


class FairTurn(WriteGate):
    """The turn (``path``) behind a gate (``path.gate``), two ``flock``s on sidecar files."""

    def __init__(self, path: str, like: os.stat_result | None = None) -> None:
        self.path = path
        self._turn_fd = _sidecar(path, like)
        try:
            self._gate_fd = _sidecar(path + ".gate", like)
        except OSError:
            os.close(self._turn_fd)
            raise
        self._requests: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._waiter: threading.Thread | None = None
        #: the latest request handed to the waiter; until it is done, the waiter
        #: thread may hold (or be about to hold) our locks, so no fast path
        self._last: _Request | None = None
        self._closed = False

    async def acquire(self, timeout: float) -> bool:
        gate_held = self._try_turn()
        if gate_held is None:
            return True
        return await self._wait(gate_held, timeout)

    def take(self, timeout: float) -> bool:
        gate_held = self._try_turn()
        if gate_held is None:
            return True
        request = self._ask(_Request(None, None, gate_held))
        request.settled.wait(max(timeout, 0.0))
        with request.mutex:
            if request.granted:
                return True
            request.abandoned = True
        return False

    def take_now(self) -> bool:
        gate_held = self._try_turn()
        if gate_held:
            fcntl.flock(self._gate_fd, fcntl.LOCK_UN)  # not waiting after all
        return gate_held is None

    def _try_turn(self) -> bool | None:
        """None if the turn is ours at once, else whether the gate is (held while we wait)."""
        if self._closed:
            raise RuntimeError(f"{self.path}: the write turn is closed")
        if self._last is None or self._last.done.is_set():
            self._last = None
            if _try_lock(self._gate_fd):
                if _try_lock(self._turn_fd):
                    fcntl.flock(self._gate_fd, fcntl.LOCK_UN)
                    return None
                return True  # held while we wait for the turn: see the module's docstring
        return False

    def _ask(self, request: _Request) -> _Request:
        """Hand ``request`` to the waiter thread (started on the first contended turn)."""
        self._last = request
        if self._waiter is None:
            self._waiter = threading.Thread(
                target=self._serve, name=f"boxoffice-write-turn:{self.path}", daemon=True
            )
            self._waiter.start()
        self._requests.put(request)
        return request

    async def _wait(self, gate_held: bool, timeout: float) -> bool:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        request = self._ask(_Request(loop, future, gate_held))
        try:
            await asyncio.wait_for(asyncio.shield(future), max(timeout, 0.0))
            return True
        except TimeoutError:
            with request.mutex:
                if request.granted:
                    return True
                request.abandoned = True
            return False
        except asyncio.CancelledError:
            with request.mutex:
                granted = request.granted
                request.abandoned = True
            if granted:
                self.release()
            raise

    def _serve(self) -> None:
        """The waiter thread: takes each request's locks in turn, blocking in the kernel."""
        while True:
            request = self._requests.get()
            if request is None:
                self._close_files()
                return
            try:
                if not request.gate_held:
                    fcntl.flock(self._gate_fd, fcntl.LOCK_EX)
                fcntl.flock(self._turn_fd, fcntl.LOCK_EX)
                fcntl.flock(self._gate_fd, fcntl.LOCK_UN)  # the next waiter may queue now
                with request.mutex:
                    if not request.abandoned:
                        try:
                            if request.loop is not None and request.future is not None:
                                request.loop.call_soon_threadsafe(_grant, request.future)
                            request.granted = True
                        except RuntimeError:  # the loop is gone
                            request.abandoned = True
                    if request.abandoned:
                        fcntl.flock(self._turn_fd, fcntl.LOCK_UN)
            except OSError:  # the files were closed under us: the store is closing
                with request.mutex:
                    request.abandoned = True
            finally:
                request.settled.set()
                request.done.set()

    def release(self) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(self._turn_fd, fcntl.LOCK_UN)

    def holders(self) -> list[int]:
        return [] if self._closed else lock_holders(self._turn_fd)

    def awaited(self) -> bool:
        """A writer waiting for the turn holds the gate while it waits (see above)."""
        if self._closed or not _try_lock(self._gate_fd):
            return not self._closed
        fcntl.flock(self._gate_fd, fcntl.LOCK_UN)
        return False

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.release()
        last = self._last
        if last is not None:
            with last.mutex:
                last.abandoned = True  # a wait still in the kernel lets go when granted
            last.settled.set()  # a thread waiting in ``take`` gives up now
        if self._waiter is None:
            self._close_files()
        else:
            self._requests.put(None)  # the waiter closes the files once its waits are done

    def _close_files(self) -> None:
        os.close(self._turn_fd)
        os.close(self._gate_fd)


def _grant(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _sidecar(path: str, like: os.stat_result | None) -> int:
    """Open (or create) a lock file, never through a symlink, no wider than ``like``.

    A new sidecar gets the database file's owner and permission bits, so a lock
    file is never more writable than the database it guards (a 0666 lock next to
    a 0644 database let any local user stall every writer).
    """
    mode = 0o666 if like is None else like.st_mode & 0o666
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, mode)
    try:
        st = os.fstat(fd)
        if like is not None and st.st_size == 0:
            if os.geteuid() == 0 and (st.st_uid, st.st_gid) != (like.st_uid, like.st_gid):
                os.fchown(fd, like.st_uid, like.st_gid)
            if st.st_mode & 0o777 & ~mode:
                os.fchmod(fd, st.st_mode & mode)
    except OSError:
        os.close(fd)
        raise
    return fd


def write_gate(path: str, fair: bool, like: os.stat_result | None = None) -> WriteGate:
    """The gate for a SQLite file's writers; open if the sidecars cannot exist.

    ``like`` is the database file's status: the sidecars take its owner and mode.
    A sidecar that is a symlink is refused (``OSError`` ELOOP), not followed.
    """
    if not fair:
        return OpenGate()
    try:
        return FairTurn(path, like)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise
        # A read-only directory: writes will fail anyway, with SQLite's clearer error.
        return OpenGate()
