"""One backoff policy for everything the event store waits out.

A busy SQLite file, a PostgreSQL server turning connections away, a pool that
cannot open yet: each is retried until the caller's deadline with the same
growing pause, so "how long does boxoffice keep trying, and how often" has one
answer. (The ledger's retry after a lost race is a different thing: a decision
is made again, with jitter, and lives in ``store.ledger.lanes``.)
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

#: First pause after a failed try, and the longest: short enough that a lock freed
#: a moment later is taken within a few ms, long enough not to spin on a held one.
FIRST_PAUSE = 0.005
LONGEST_PAUSE = 0.1


@dataclass(slots=True)
class Deadline:
    """A wait of ``wait`` seconds from now, paused out in doubling steps.

    Usage::

        deadline = Deadline(timeout)
        while True:
            try:
                return await attempt()
            except Busy:
                if deadline.passed():
                    raise
                await deadline.pause()
    """

    wait: float
    until: float = 0.0
    _pause: float = FIRST_PAUSE

    def __post_init__(self) -> None:
        self.wait = max(self.wait, 0.0)
        self.until = time.monotonic() + self.wait

    def remaining(self) -> float:
        return max(self.until - time.monotonic(), 0.0)

    def passed(self) -> bool:
        return time.monotonic() >= self.until

    async def pause(self) -> None:
        """Sleep for the next step (never past the deadline), then lengthen the step."""
        await asyncio.sleep(min(self._pause, self.remaining()))
        self._pause = min(self._pause * 2, LONGEST_PAUSE)
