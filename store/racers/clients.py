"""The default ``Opener``: every racer its own store connection and its own ``Ledger``.

The ledgers of one process on one database share its fold and its lanes
(``store.ledger.shared``), as any independent clients of one process do: a
process's racers are committed together, and the racers of different processes
race through the database's optimistic check.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager

from store.booking import Ledger, Outcome
from store.eventstore.opening import open_store
from store.racers.script import Client

#: Far beyond any honest race here, so a ``conflict`` answer is a failure, not noise.
RACER_DEADLINE = 60.0


def _answer(outcome: Outcome) -> tuple[str, int, int | None]:
    return str(outcome.status), outcome.attempts, outcome.seat


class LedgerClient:
    """A ``Ledger`` on its own store, seen through the ``Client`` protocol."""

    def __init__(self, ledger: Ledger, key: str) -> None:
        self.ledger = ledger
        self.key = key

    async def warm(self) -> None:
        await self.ledger.seats_left(self.key)

    async def hold(self, actor: str, seats: int) -> tuple[str, int, int | None]:
        return _answer(await self.ledger.hold(self.key, actor, seats=seats))

    async def confirm(self, actor: str) -> tuple[str, int, int | None]:
        return _answer(await self.ledger.confirm(self.key, actor))

    async def release(self, actor: str) -> tuple[str, int, int | None]:
        return _answer(await self.ledger.release(self.key, actor))

    def counters(self) -> dict[str, int]:
        return {}


def ledger_opener(operator: str, per_ledger: int = 1, *, share: bool = True) -> LedgerOpener:
    """An ``Opener`` of one store and ``Ledger`` per ``per_ledger`` racers, writing as ``operator``.

    Racers ``0 .. per_ledger - 1`` share the first ledger (its lane: group commit),
    the next ``per_ledger`` the second, and so on. ``share=False``: the ledgers of
    the process fold alone and race each other through the database, as separate
    terminals would (``Ledger(share=False)``).
    """
    return LedgerOpener(operator, per_ledger, share)


class LedgerOpener:
    """Picklable (a plain object with a string), so it reaches a spawned child."""

    def __init__(self, operator: str, per_ledger: int = 1, share: bool = True) -> None:
        self.operator = operator
        self.per_ledger = per_ledger
        self.share = share

    @asynccontextmanager
    async def __call__(self, url: str, key: str, racers: int) -> AsyncIterator[Sequence[Client]]:
        async with AsyncExitStack() as stack:
            clients: list[Client] = []
            for _ in range(-(-racers // self.per_ledger)):
                store = await stack.enter_async_context(open_store(url))
                ledger = Ledger(
                    store, operator=self.operator, deadline=RACER_DEADLINE, share=self.share
                )
                clients += [LedgerClient(ledger, key)] * self.per_ledger
            yield clients[:racers]
