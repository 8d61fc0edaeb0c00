"""The parent's watchdog over its racer processes: a child that goes silent is named.

A racer process that is stopped (``SIGSTOP``, a debugger, a laptop lid) sends
nothing and never exits, so without a watchdog the parent waits for it for
ever, with no word: the other processes may be waiting too, for the write turn
the stopped one holds. Every child therefore says it is alive at least every
``HEARTBEAT_S`` (``store.racers.child``), from its event loop, while its racers
run: a child merely waiting on a busy database still does, a stopped or hung
one does not. The parent warns once a child has been silent for ``quiet_after``
seconds and ends the run, naming it, at ``stuck_after``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: How often a racing child says it is alive when it has nothing else to send.
HEARTBEAT_S = 0.5
#: Silent this long: the parent says so (the run goes on).
QUIET_S = 10.0
#: Silent this long: the parent ends the run with an error naming the process.
STUCK_S = 30.0


@dataclass(slots=True)
class Watchdog:
    """When each still-racing child was last heard from, and what to say about silence.

    Times are the caller's monotonic clock, passed in, so the rules can be tested
    without waiting and the engine decides when to look.
    """

    quiet_after: float = QUIET_S
    stuck_after: float = STUCK_S
    _heard: dict[int, float] = field(default_factory=dict)
    _warned: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        if not 0 < self.quiet_after <= self.stuck_after:
            raise ValueError("watchdog: need 0 < quiet_after <= stuck_after")

    def watch(self, index: int, now: float) -> None:
        """Start watching child ``index`` (as if just heard from)."""
        self._heard[index] = now

    def heard(self, index: int, now: float) -> None:
        """Child ``index`` sent something: it is alive."""
        if index in self._heard:
            self._heard[index] = now
            self._warned.discard(index)

    def done(self, index: int) -> None:
        """Child ``index`` finished or its pipe closed: silence from it is no news."""
        self._heard.pop(index, None)
        self._warned.discard(index)

    def look(self, now: float, pids: list[int]) -> tuple[list[str], tuple[int, str] | None]:
        """New warnings (each said once per silence), and the stuck child and the line that
        ends the run, if one is due."""
        warnings: list[str] = []
        for index, heard in sorted(self._heard.items()):
            silent = now - heard
            who = f"racer process {index} (pid {pids[index]})"
            if silent >= self.stuck_after:
                return warnings, (
                    index,
                    f"{who} sent nothing for {self.stuck_after:g} s: stopped or hung; "
                    "the run was ended and every racer process stopped",
                )
            if silent >= self.quiet_after and index not in self._warned:
                self._warned.add(index)
                warnings.append(f"{who} has sent nothing for {self.quiet_after:g} s: stopped?")
        return warnings, None

    def next_look(self) -> float:
        """Seconds between two looks: often enough to say each limit within a tenth of it."""
        return max(0.05, self.quiet_after / 10)
