"""Clock sanity: a write whose clock runs ahead of the database's sense of now is refused.

Why: every event is stamped with the writer's clock and the fold decides at the
latest ``recorded_at`` of its stream (SPEC §2). One terminal whose clock is years
ahead (``faketime``, a dead RTC battery) therefore lapses every live hold on the
occurrence at once, and every hold after it lasts years, for every terminal: the
log is append-only, so the damage stays. Refusing the write costs one clear error.

What "now" is, per backend:

- **PostgreSQL**: the server's clock. A ledger without an injected clock already
  decides by it (``server_now``), so it is never skewed and is not checked.
- **SQLite**: the terminals share one machine, so the machine's clock as the kernel
  keeps it: on Linux the boot time (``btime``, ``/proc/stat``) plus the time since
  boot (``/proc/uptime``), read as files, which a process whose clock calls are faked
  (``LD_PRELOAD=libfaketime``) cannot move; elsewhere ``time.time()``. Good to a
  second, against a tolerance of minutes.

The rule: a write stamped more than ``CLOCK_LEAD`` (5 minutes) ahead of that now is
refused with ``ClockSkew`` and nothing is written. A clock *behind* is not refused:
the fold's high-water mark already decides such a write at the stream's latest time
(a hold can only be longer, never revive one). Recorded times that already run ahead
(written before this rule, or by a tool that bypassed it) are flagged by
``boxoffice check``, ``doctor`` and the app (``ahead_of_now``).

A ledger given its own clock (tests, the fault harness's stepped clock) has chosen
its time on purpose and is checked only when asked (``Ledger(clock_check=True)``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from store.eventstore.contract import EventStore
from store.eventstore.errors import StoreError
from store.eventstore.events import Event
from store.ledger.log_values import parse_time

#: How far ahead of the database's now a write's clock may run.
CLOCK_LEAD = timedelta(minutes=5)
#: How long the boot time read from /proc/stat is reused (it moves only when the clock is set).
_BTIME_FOR_S = 10.0

_btime: tuple[float, float] | None = None  # (monotonic when read, btime)
#: How long one reading of ``/proc/uptime`` stands in for the next (carried by monotonic).
_UPTIME_FOR_S = 1.0
_uptime: tuple[float, float] | None = None  # (monotonic when read, the machine's epoch s)


class ClockSkew(StoreError):
    """This terminal's clock runs ahead of the database's; nothing was written."""

    def __init__(self, clock: datetime, reference: datetime, source: str) -> None:
        self.clock = clock
        self.reference = reference
        self.ahead = clock - reference
        super().__init__(
            f"clock: this terminal's clock says {_stamp(clock)}, {spell(self.ahead)} ahead of "
            f"{source} ({_stamp(reference)}); nothing was written "
            "(set this terminal's clock right: a write stamped ahead would lapse every hold)"
        )


async def checked_now(store: EventStore, clock: Callable[[], datetime] | None) -> datetime:
    """A write's clock (``clock``, else the server's, else the machine's), checked.

    The server's clock is not checked: it is the reference itself.
    """
    if clock is None and (server := await store.server_now()) is not None:
        return server
    moment = clock() if clock is not None else datetime.now(UTC)
    moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    reference, source = await database_now(store)
    check(moment, reference, source)
    return moment


def check(clock: datetime, reference: datetime, source: str, lead: timedelta = CLOCK_LEAD) -> None:
    """Raise ``ClockSkew`` when ``clock`` runs more than ``lead`` ahead of ``reference``."""
    if clock - reference > lead:
        raise ClockSkew(clock, reference, source)


def ahead_of_now(recorded: datetime | None, now: datetime, lead: timedelta = CLOCK_LEAD) -> bool:
    """Whether a recorded time runs more than ``lead`` ahead of ``now`` (a clock ran ahead)."""
    return recorded is not None and recorded - now > lead


async def database_now(store: EventStore) -> tuple[datetime, str]:
    """The database's sense of now, and whose clock that is (for messages)."""
    server = await store.server_now()
    if server is not None:
        return server, "the database server's clock"
    return machine_now(), "this machine's clock"


def first_ahead(
    events: Iterable[Event], now: datetime, lead: timedelta = CLOCK_LEAD
) -> tuple[int, datetime] | None:
    """The first event recorded more than ``lead`` ahead of ``now``: its seq and time."""
    for event in events:
        meta = event.meta if isinstance(event.meta, dict) else {}
        recorded = parse_time(meta.get("recorded_at"))
        if ahead_of_now(recorded, now, lead):
            assert recorded is not None
            return event.seq, recorded
    return None


def machine_now() -> datetime:
    """The machine's clock as the kernel keeps it (see the module's docstring).

    ``/proc`` is read at most once a second (every write asks, and two file reads
    cost more than the rest of the check); in between, the process's monotonic
    clock carries the reading forward: a shift of the process's clocks (what
    ``faketime`` does) moves a monotonic clock's readings, not their differences,
    and the check's tolerance is minutes.
    """
    global _uptime
    tick = time.monotonic()
    if _uptime is not None and 0.0 <= tick - _uptime[0] < _UPTIME_FOR_S:
        return datetime.fromtimestamp(_uptime[1] + (tick - _uptime[0]), UTC)
    try:
        with open("/proc/uptime", "rb") as uptime:
            since_boot = float(uptime.read().split()[0])
        seconds = _boot_time() + since_boot
        _uptime = (tick, seconds)
    except (OSError, ValueError, IndexError):
        seconds = time.time()  # not Linux (or no /proc): the process's own clock
    return datetime.fromtimestamp(seconds, UTC)


def _boot_time() -> float:
    global _btime
    if _btime is not None and time.monotonic() - _btime[0] < _BTIME_FOR_S:
        return _btime[1]
    with open("/proc/stat", "rb") as stat:
        for row in stat:
            if row.startswith(b"btime "):
                _btime = (time.monotonic(), float(row.split()[1]))
                return _btime[1]
    raise ValueError("no btime in /proc/stat")


def spell(delta: timedelta) -> str:
    """``1,096 days``, ``5 h 2 min``, ``7 min``: a skew as a person reads it (rounded)."""
    seconds = abs(delta.total_seconds())
    if seconds >= 2 * 86_400:
        return f"{round(seconds / 86_400):,} days"
    minutes = round(seconds / 60)
    if minutes >= 60:
        return f"{minutes // 60} h {minutes % 60} min"
    if minutes >= 1:
        return f"{minutes} min"
    return f"{seconds:.0f} s"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
