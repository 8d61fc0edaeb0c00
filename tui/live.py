"""The live feed: what a screen needs to stay current, read without blocking it.

A screen says what it wants to see (a :class:`ReadRequest`); the feed merges
requests that arrive while a read is on its way into one, so a burst of
commits costs one read, not one each. Its *tail* follows ``Ledger.changes``
and turns every commit anywhere (this process or another terminal) into a
request for the occurrences it touched, with the rosters and logs the screen
follows. Readings go to one callback; a screen turns them into a message.

The feed knows no Textual: it is two asyncio loops and a little state, so a
test can drive it with a ledger and a list.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from store.booking import Ledger, UnknownOccurrence
from store.eventstore.errors import StoreReplaced
from store.eventstore.events import Event
from store.ledger.rules import InvalidInput
from store.ledger.views import DerivedOffer, OccurrenceView
from tui.cli.safe_text import printable

#: Seconds one ``changes`` call may wait before the tail loops (and notices a
#: closed store); a commit wakes it at once either way.
TAIL_WAIT = 5.0
#: Most events the tail reads in one go (a burst is read in several).
TAIL_BATCH = 5000
#: Seconds between attempts while the database cannot be reached.
RETRY_S = 1.0


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """What to read next; two requests merge into one that wants both."""

    everything: bool = False  # every occurrence's line (a first read, or after an outage)
    lines: frozenset[str] = frozenset()  # occurrences whose line (no rows) to read
    rosters: frozenset[str] = frozenset()  # occurrences to read whole (rows included)
    logs: frozenset[str] = frozenset()  # occurrences whose new events to read

    def __or__(self, other: ReadRequest) -> ReadRequest:
        return ReadRequest(
            self.everything or other.everything,
            self.lines | other.lines,
            self.rosters | other.rosters,
            self.logs | other.logs,
        )

    def __bool__(self) -> bool:
        return bool(self.everything or self.lines or self.rosters or self.logs)


@dataclass(frozen=True, slots=True)
class LogSlice:
    """Events of one occurrence's stream; ``reset`` when they start from its first event."""

    key: str
    events: list[Event]
    reset: bool
    # the offers the fold derived after the slice's first seq - 1 or later, up to its last
    # event (or to the moment of the read): they replace those the log shows from there on
    offers: list[DerivedOffer] = field(default_factory=list)
    offers_after: int = 0


@dataclass(frozen=True, slots=True)
class Reading:
    """What one read found: house lines, whole views, new log events."""

    everything: bool = False  # ``lines`` holds every occurrence
    lines: list[OccurrenceView] = field(default_factory=list)
    rosters: list[OccurrenceView] = field(default_factory=list)
    logs: list[LogSlice] = field(default_factory=list)


class LiveFeed:
    """Follows the store for one screen: ``request`` what to read, ``follow`` what to keep.

    ``on_read`` gets every reading; ``on_health`` hears (False, why) when the
    database stops answering and (True, "") when it answers again, after which
    everything is read afresh. ``on_gone`` hears, once, that the database file was
    replaced or removed under the store (``StoreReplaced``): that is not an outage
    to wait out, so the feed stops reading. ``pace`` is the least time between two
    reads (a panel that redraws at 5 Hz need not read more often).
    """

    def __init__(
        self,
        ledger: Ledger,
        on_read: Callable[[Reading], object],
        *,
        on_health: Callable[[bool, str], object] | None = None,
        on_gone: Callable[[str], object] | None = None,
        position: int = 0,
        pace: float = 0.0,
        retry: float = RETRY_S,
    ) -> None:
        self.ledger = ledger
        self.position = position
        self._on_read = on_read
        self._on_health = on_health or (lambda live, why: None)
        self._on_gone = on_gone or (lambda why: None)
        self.gone: str | None = None  # why the feed stopped for good
        self._pace = pace
        self._retry = retry
        self._wanted = ReadRequest()
        self._kick = asyncio.Event()
        self._rosters: frozenset[str] = frozenset()
        self._logs: dict[str, int] = {}  # followed logs: the last seq read of each
        self._failing: set[str] = set()  # which loops cannot reach the database

    # -- what the screen wants ------------------------------------------------------------

    def request(self, request: ReadRequest) -> None:
        """Read this soon (merged with whatever else is waiting)."""
        self._wanted = self._wanted | request
        if self._wanted:
            self._kick.set()

    def refresh(self, keys: Iterable[str] = ()) -> None:
        """Read the lines of ``keys`` and whatever of them is followed."""
        keys = frozenset(keys)
        self.request(ReadRequest(lines=keys, rosters=keys & self._rosters, logs=keys & self.logs))

    def refresh_all(self) -> None:
        """Read every line and everything followed."""
        self.request(ReadRequest(True, rosters=self._rosters, logs=self.logs))

    def follow(self, rosters: Iterable[str] = (), logs: Iterable[str] = ()) -> None:
        """Keep these rosters and logs current; a newly followed one is read at once.

        A log followed afresh is read from its first event (a reset reading).
        """
        rosters, wanted_logs = frozenset(rosters), frozenset(logs)
        fresh_rosters = rosters - self._rosters
        fresh_logs = wanted_logs - self.logs
        self._rosters = rosters
        self._logs = {k: self._logs.get(k, 0) for k in wanted_logs}
        self.request(ReadRequest(rosters=fresh_rosters, logs=fresh_logs))

    @property
    def logs(self) -> frozenset[str]:
        return frozenset(self._logs)

    # -- the two loops -------------------------------------------------------------------

    async def run(self) -> None:
        """Tail and read until cancelled (a database hiccup is retried, never fatal)."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self._tail())
            group.create_task(self._reader())

    async def _tail(self) -> None:
        while True:
            try:
                changes = await self.ledger.changes(
                    self.position, timeout=TAIL_WAIT, limit=TAIL_BATCH
                )
            except StoreReplaced as error:
                self._stop_for_good(error)
                return
            except Exception as error:  # the feed must outlive a database hiccup
                self._health("tail", error)
                await asyncio.sleep(self._retry)
                continue
            self._health("tail", None)
            if changes.position != self.position:
                self.position = changes.position
                if changes.keys:
                    self.refresh(changes.keys)

    async def _reader(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._kick.wait()
            self._kick.clear()
            request, self._wanted = self._wanted, ReadRequest()
            if not request:
                continue
            started = loop.time()
            try:
                reading = await self.read(request)
            except StoreReplaced as error:
                self._stop_for_good(error)
                return
            except Exception as error:  # put the work back and say so; try again shortly
                self._wanted = request | self._wanted
                self._health("reader", error)
                await asyncio.sleep(self._retry)
                self._kick.set()
                continue
            self._health("reader", None)
            self._on_read(reading)
            rest = self._pace - (loop.time() - started)
            if rest > 0:
                await asyncio.sleep(rest)  # the pace asked for: later requests pile up

    def _stop_for_good(self, error: StoreReplaced) -> None:
        if self.gone is None:
            self.gone = one_line(error)
            self._on_health(False, "database file replaced or removed")
            self._on_gone(self.gone)

    def _health(self, loop_name: str, error: BaseException | None) -> None:
        was_failing = bool(self._failing)
        if error is not None:
            self._failing.add(loop_name)
            self._on_health(False, one_line(error))
        elif loop_name in self._failing:
            self._failing.discard(loop_name)
            if was_failing and not self._failing:
                self._on_health(True, "")
                self.refresh_all()  # what changed during the outage is read afresh

    # -- one read ------------------------------------------------------------------------

    async def read(self, request: ReadRequest) -> Reading:
        """Read what ``request`` asks for (unknown or foreign keys are left out)."""
        ledger = self.ledger
        rosters = [v for k in sorted(request.rosters) if (v := await self._view(k, True))]
        # a roster read is that occurrence's line too (its record, lapses and next expiry, at
        # the same instant): a commit on the followed show costs one read of it, not two
        whole = {v.record.key: v for v in rosters}
        if request.everything:
            lines = [whole.get(v.record.key, v) for v in await ledger.views(rows=False)]
        else:
            lines = [
                v
                for k in sorted(request.lines)
                if (v := whole.get(k) or await self._view(k, False))
            ]
        logs = []
        for key in sorted(request.logs):
            after = self._logs.get(key)
            if after is None:
                continue  # no longer followed
            events = await ledger.events(key, after_seq=after)
            last = events[-1].seq if events else after
            # read after the events: offers past ``last`` come with their events next time
            offers = [o for o in await self._offers(key, after) if o.after_seq <= last]
            if key in self._logs and self._logs[key] == after:
                self._logs[key] = last
                logs.append(LogSlice(key, events, after == 0, offers, after))
        return Reading(request.everything, lines, rosters, logs)

    async def _offers(self, key: str, after: int) -> list[DerivedOffer]:
        try:
            return await self.ledger.offers(key, after)
        except (UnknownOccurrence, InvalidInput):
            return []

    async def _view(self, key: str, rows: bool) -> OccurrenceView | None:
        try:
            return await self.ledger.view(key, rows=rows)
        except (UnknownOccurrence, InvalidInput):
            return None  # a stream without `created`, or not a booking key


def one_line(error: BaseException) -> str:
    """An exception as a single printable line: what went wrong, never a traceback."""
    text = str(error).strip().splitlines()
    return printable(text[0] if text else type(error).__name__)
