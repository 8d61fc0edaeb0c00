"""A store that hands every call to a real store, for tests that watch or perturb its writes.

Not a mock: the inner store does all the work. A subclass overrides only the hook it
needs around an append (``before_append``, ``after_append``). It keeps the contract's
optimistic ``append_decided`` (read, decide, ``append_many``), so a ledger's retries on
it go through the hooks too, and its conflicts are visible.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from store import Conflict, Event, EventStore, NewEvent


class ForwardingStore(EventStore):
    """Forwards the whole EventStore contract to ``inner``, which the caller still owns."""

    def __init__(self, inner: EventStore) -> None:
        self.inner = inner
        self.url = inner.url

    async def append_many(
        self,
        stream: str,
        expected_seq: int | None,
        events: Sequence[NewEvent],
        *,
        timeout: float | None = None,
    ) -> list[Event] | Conflict:
        await self.before_append()
        written = await self.inner.append_many(stream, expected_seq, events, timeout=timeout)
        self.after_append(written)
        return written

    async def before_append(self) -> None:
        """Runs just before each append reaches the inner store."""

    def after_append(self, written: list[Event] | Conflict) -> None:
        """Sees each append's answer from the inner store."""

    async def read(self, stream: str, after_seq: int = 0) -> list[Event]:
        return await self.inner.read(stream, after_seq)

    async def last_seq(self, stream: str) -> int:
        return await self.inner.last_seq(stream)

    async def read_all(self, after_position: int = 0, limit: int | None = None) -> list[Event]:
        return await self.inner.read_all(after_position, limit)

    async def streams(self, prefix: str = "") -> list[str]:
        return await self.inner.streams(prefix)

    async def streams_mentioning(
        self,
        prefix: str,
        types: Sequence[str],
        field: str,
        pieces: Sequence[str],
        seq: int | None = None,
    ) -> list[str]:
        return await self.inner.streams_mentioning(prefix, types, field, pieces, seq)

    async def server_now(self) -> datetime | None:
        return await self.inner.server_now()

    async def head_position(self) -> int:
        return await self.inner.head_position()

    async def wait_for_append(self, after_position: int, timeout: float) -> bool:
        return await self.inner.wait_for_append(after_position, timeout)

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()

    async def close(self) -> None:
        """Leaves ``inner`` open: the fixture that opened it closes it."""


class Appends:
    """Counts one store's transactions, and can run a rival's write just before each."""

    def __init__(self, store: EventStore) -> None:
        self.optimistic = 0
        self.conflicts = 0
        self.decided = 0
        self.before: list[Callable[[], Awaitable[None]]] = []
        inner_many, inner_decided = store.append_many, store.append_decided

        async def append_many(*args: Any, **options: Any) -> Any:
            await self._rival()
            written = await inner_many(*args, **options)
            self.optimistic += 1
            self.conflicts += isinstance(written, Conflict)
            return written

        async def append_decided(*args: Any, **options: Any) -> Any:
            await self._rival()
            self.decided += 1
            return await inner_decided(*args, **options)

        store.append_many = append_many  # type: ignore[method-assign]
        store.append_decided = append_decided  # type: ignore[method-assign]

    async def _rival(self) -> None:
        if self.before:
            await self.before.pop(0)()
