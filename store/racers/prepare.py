"""The occurrence to race on, found (or created) before any process starts."""

from __future__ import annotations

from store.booking import Ledger, UnknownOccurrence
from store.eventstore.opening import open_store
from store.ledger.outcomes import OccurrenceRecord, Status
from store.ledger.rules import occurrence_key as _valid_key
from store.racers.errors import CapacityMismatch, RaceError


async def prepare_occurrence(
    store_url: str, key: str, capacity: int | None, *, operator: str = "racer"
) -> OccurrenceRecord:
    """The occurrence to race on; with ``capacity``, created when missing.

    An existing occurrence with another capacity is an error, not silently
    changed: a race must not rewrite a real show's capacity.
    """
    key = _valid_key(key, "occurrence")
    async with open_store(store_url) as store:
        ledger = Ledger(store, operator=operator)
        if capacity is not None:
            outcome = await ledger.create_occurrence(key, capacity=capacity, title="Racer demo")
            if outcome.status is Status.EXISTS and outcome.capacity != capacity:
                raise CapacityMismatch(
                    f"occurrence {key!r} exists with capacity {outcome.capacity}, not {capacity}; "
                    "drop --capacity to race on it as it is, or pick a new occurrence key"
                )
        try:
            return await ledger.occurrence(key)
        except UnknownOccurrence:
            raise RaceError(
                f"no occurrence {key!r}; give --capacity C to create it for the race"
            ) from None
