"""The event-store contract (SPEC §1) that every backend implements."""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Callable, Hashable, Sequence
from datetime import datetime
from typing import Any

from store.eventstore.errors import StoreBusy
from store.eventstore.events import Conflict, Event, NewEvent
from store.eventstore.retry import Deadline

#: Decides what to append from the events after a seq (read inside the append's
#: transaction where the backend can): ``append_decided``'s callback.
DecideTail = Callable[[list[Event]], Sequence[NewEvent]]


class EventStore(abc.ABC):
    """Append-only streams in one database.

    Every method is safe to call from many asyncio tasks at once: a backend never
    lets two callers' statements interleave inside one transaction.
    """

    #: Human-readable location of the database (a path or a URL without password).
    url: str
    #: Default bound, in seconds, on waiting for a busy database.
    busy_timeout: float = 10.0
    #: Whether ``open(create=True)`` laid down a new database (``init`` says "created");
    #: None where the backend cannot tell.
    created: bool | None = None

    async def append(
        self, stream: str, type: str, data: dict[str, Any], meta: dict[str, Any] | None = None
    ) -> Event:
        """Append unconditionally (seq = last + 1)."""
        events = await self.append_many(stream, None, [NewEvent(type, data, meta or {})])
        assert not isinstance(events, Conflict)
        return events[0]

    async def append_expect(
        self,
        stream: str,
        expected_seq: int,
        type: str,
        data: dict[str, Any],
        meta: dict[str, Any] | None = None,
    ) -> Event | Conflict:
        """Append only if the stream's last seq is still ``expected_seq`` at commit."""
        events = await self.append_many(stream, expected_seq, [NewEvent(type, data, meta or {})])
        if isinstance(events, Conflict):
            return events
        return events[0]

    async def append_many_expect(
        self,
        stream: str,
        expected_seq: int,
        events: Sequence[NewEvent],
        *,
        timeout: float | None = None,
    ) -> list[Event] | Conflict:
        """Append several events in one transaction, all or none, at ``expected_seq``.

        This is what group commit stands on: one fsync for a batch of decisions.
        """
        return await self.append_many(stream, expected_seq, events, timeout=timeout)

    @abc.abstractmethod
    async def append_many(
        self,
        stream: str,
        expected_seq: int | None,
        events: Sequence[NewEvent],
        *,
        timeout: float | None = None,
    ) -> list[Event] | Conflict:
        """Append ``events`` atomically; ``expected_seq=None`` appends unconditionally.

        ``timeout`` bounds the wait for a busy database (default: the store's own
        busy timeout); past it ``StoreBusy`` is raised and nothing was written.
        """

    async def append_decided(
        self,
        stream: str,
        after_seq: int,
        decide: DecideTail,
        *,
        timeout: float | None = None,
    ) -> list[Event]:
        """Append what ``decide(tail)`` returns, where ``tail`` is every event after ``after_seq``.

        What is appended was decided on the stream as it stands at the append: the
        ledger retries a lost race this way, so a command loses at most once to the
        writers that share a database and a writer that keeps winning cannot
        starve the others. Backends decide inside their write transaction, under
        the write lock, and never conflict. This optimistic default reads, decides
        and appends at the tail's seq, and does it again on a conflict until
        ``timeout`` (then ``StoreBusy``, nothing written). ``decide`` may run more
        than once; only its last answer is appended.
        """
        deadline = Deadline(self.busy_timeout if timeout is None else timeout)
        while True:
            tail = await self.read(stream, after_seq)
            events = list(decide(tail))
            if not events:
                return []
            last = tail[-1].seq if tail else after_seq
            written = await self.append_many_expect(
                stream, last, events, timeout=deadline.remaining()
            )
            if not isinstance(written, Conflict):
                return written
            if deadline.passed():
                raise StoreBusy(
                    f"{self.url}: {stream!r} kept moving for {deadline.wait:g} s; nothing written"
                )
            await deadline.pause()

    @abc.abstractmethod
    async def read(self, stream: str, after_seq: int = 0) -> list[Event]:
        """The stream's events after ``after_seq``, in seq order."""

    @abc.abstractmethod
    async def last_seq(self, stream: str) -> int:
        """The stream's last seq, 0 for an empty stream."""

    @abc.abstractmethod
    async def read_all(self, after_position: int = 0, limit: int | None = None) -> list[Event]:
        """Every stream's events after a global position, in position order."""

    @abc.abstractmethod
    async def streams(self, prefix: str = "") -> list[str]:
        """Names of the non-empty streams starting with ``prefix``, sorted."""

    async def streams_mentioning(
        self,
        prefix: str,
        types: Sequence[str],
        field: str,
        pieces: Sequence[str],
        seq: int | None = None,
    ) -> list[str]:
        """Streams starting with ``prefix`` that hold an event of one of ``types`` whose
        ``data[field]`` is a string containing one of ``pieces``, ASCII letters in any
        case, or which sits at ``seq``; sorted.

        A search across many streams asks this first, so it folds only the streams
        that can answer instead of the whole store. The comparison is deliberately
        simple (ASCII case only) so every backend can answer it exactly in its own
        query language; a caller wanting Unicode case folding passes every piece
        that can fold to its text (``store.ledger.needles``). This default reads
        every event: it is the reference the SQL backends must agree with.
        """
        wanted = set(types)
        folded = [ascii_lower(p) for p in pieces]
        found: set[str] = set()
        for event in await self.read_all():
            if event.stream in found or event.type not in wanted:
                continue
            if not event.stream.startswith(prefix):
                continue
            value = event.data.get(field) if isinstance(event.data, dict) else None
            if (seq is not None and event.seq == seq) or (
                isinstance(value, str) and any(p in ascii_lower(value) for p in folded)
            ):
                found.add(event.stream)
        return sorted(found)

    async def load_snapshot(self, stream: str) -> tuple[int, str] | None:
        """The stream's cached fold (its seq and text), or None: a cache, never the log.

        A reader folds every event after the seq on top, and checks that the event at
        the seq exists, so a stale, foreign or damaged snapshot can cost time, never
        hide or invent an event. This default keeps none.
        """
        return None

    async def snapshot_seqs(self) -> dict[str, int]:
        """Every stream that has a snapshot, and its seq: one small query, no states.

        A cold start asks this once, so a stream without a snapshot (most of a
        season's) costs no query for one. This default keeps none.
        """
        return {}

    async def save_snapshot(
        self, stream: str, seq: int, state: str, *, timeout: float | None = None
    ) -> None:
        """Keep ``state`` as the stream's fold at ``seq`` unless a later one is kept.

        Best effort for the caller (a cache), so it waits for a busy database at
        most ``timeout`` (then ``StoreBusy``, nothing written): this default keeps nothing.
        """
        return None

    async def stream_summaries(self, prefix: str) -> list[tuple[str, int, int | None, str | None]]:
        """Every stream under ``prefix``, by name, with its last seq and its stored summary.

        Each row is ``(stream, last_seq, summary_seq, summary_text)``, the last two None
        where no summary is kept. The house asks this once instead of reading every
        stream, and trusts a summary only at the stream's last seq. This default keeps
        no summaries (and asks each stream's last seq).
        """
        return [(s, await self.last_seq(s), None, None) for s in await self.streams(prefix)]

    async def load_summary(self, stream: str) -> tuple[int, str] | None:
        """The stream's stored summary (its seq and text), or None: a cache, as snapshots are."""
        return None

    async def save_summaries(
        self, rows: Sequence[tuple[str, int, str]], *, timeout: float | None = None
    ) -> None:
        """Keep each ``(stream, seq, text)`` as that stream's summary, in one write.

        Best effort for the caller, like ``save_snapshot`` (``StoreBusy`` past
        ``timeout``); this default keeps nothing.
        """
        return None

    async def server_now(self) -> datetime | None:
        """The database server's clock, or None where the local clock is the authority.

        PostgreSQL answers with its own clock so that terminals with skewed clocks
        agree on when a hold lapses; an embedded SQLite file has no clock of its own.
        """
        return None

    async def head_position(self) -> int:
        """The highest committed position (0 for an empty store)."""
        events = await self.read_all(0, None)
        return events[-1].position if events else 0

    async def wait_for_append(self, after_position: int, timeout: float) -> bool:
        """Wait until some event past ``after_position`` is committed, or ``timeout`` passes.

        Returns whether one was. Live views (the app, ``log --follow``) call this in
        a loop instead of re-reading tables. This default polls the head position
        (one indexed lookup every 50 ms); PostgreSQL overrides it with LISTEN/NOTIFY.
        """
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            if await self.head_position() > after_position:
                return True
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return False
            await asyncio.sleep(min(0.05, remaining))

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections; the store is unusable afterwards."""

    def describe(self) -> dict[str, Any]:
        """Facts for a doctor/about screen: engine version, journal mode and so on."""
        return {"url": self.url}

    def database_key(self) -> Hashable | None:
        """What names this store's database among the process's open stores, or None.

        Two open stores with the same key read and write the same log, so what is
        folded from it (``store.ledger.shared``) may be shared between them; None
        (the default) shares nothing.
        """
        return None


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(text: str) -> str:
    """``text`` with ASCII capitals lowered and nothing else touched (no locale, no Unicode)."""
    return text.translate(_ASCII_LOWER)
