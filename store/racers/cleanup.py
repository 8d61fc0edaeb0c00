"""Demo occurrences off the house in one step, so racer demos never pile up on a show night."""

from __future__ import annotations

from store.booking import Ledger
from store.eventstore.opening import open_store
from store.ledger.outcomes import Status


async def archive_demos(store_url: str, *, operator: str = "racer") -> list[str]:
    """Archive every demo occurrence not archived yet; the keys archived, in key order.

    Only occurrences marked ``demo`` are touched; a real show never is. Archiving
    writes no seat change, so a demo's log (and its verdict) stays as it was.
    """
    async with open_store(store_url) as store:
        ledger = Ledger(store, operator=operator)
        archived = []
        for record in await ledger.occurrences():
            outcome = await ledger.archive(record.key) if record.demo else None
            if outcome is not None and outcome.status is Status.ARCHIVED:
                archived.append(record.key)
    return archived
