"""One fold and one set of write queues per database, shared by a process's ledgers.

Independent clients in one process (a racer per store, a server opening a store
per request) each kept their own folded state, and each folded every event every
other client wrote: at 64 clients on a hot occurrence a hold cost 64 applies of
each event (~8.5 us each here) and a lone transaction, and a rush of 8 processes
x 64 clients ran at 110 holds/s on a disk that commits ~4,000 rows/s.

The folded state is a cache of the log, the same for every reader of the same
database, so ledgers whose stores name the same database (``database_key``) on
the same event loop share one ``Lanes``: each event is folded once per process,
and their commands on an occurrence queue in one lane and commit together (group
commit across stores). Each command still goes through its own ledger's store
and clock and records its own operator (``store.ledger.lanes.Caller``); between
processes the races stay what they were, through the database's optimistic
check.

Not shared: a ledger with an injected clock (a chosen time is its own), and one
made with ``share=False`` (a cold start to measure, or ledgers of one process
meant to race each other through the database as separate terminals would).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Hashable

from store.eventstore.contract import EventStore
from store.ledger.lanes import Lanes

#: per event loop (asyncio's locks and futures belong to one), the lanes by key;
#: a ``Lanes`` lives as long as a ledger holds it
_SHARED: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, weakref.WeakValueDictionary[Hashable, Lanes]
] = weakref.WeakKeyDictionary()


def lanes_for(store: EventStore, max_batch: int, *, checked: bool, share: bool) -> Lanes:
    """The lanes a new ledger on ``store`` uses: shared with the process's others if it may.

    ``checked``: whether its writes are clock-checked (a batch is decided at its
    first command's clock, so only ledgers that agree on the check share).
    """
    database = store.database_key() if share else None
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # made outside a loop: its locks would bind to whichever runs it
        loop = None
    if database is None or loop is None:
        return Lanes(max_batch)
    key = (database, max_batch, checked)
    on_loop = _SHARED.get(loop)
    if on_loop is None:
        on_loop = _SHARED[loop] = weakref.WeakValueDictionary()
    lanes = on_loop.get(key)
    if lanes is None:
        lanes = on_loop[key] = Lanes(max_batch, database=database)
    return lanes
