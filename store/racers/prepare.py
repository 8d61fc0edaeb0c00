"""The occurrence to race on, found (or created) before any process starts.

Racers are kept off real shows by default (SPEC §4.4): what a race creates is a
``demo`` occurrence with a hold length, so its holds lapse on their own, and an
existing occurrence that is not a demo is raced on only when the caller says so
(``allow_real``, the command line's ``--yes``, the panel's question).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from store.booking import Ledger, UnknownOccurrence
from store.eventstore.opening import open_store
from store.ledger.outcomes import OccurrenceRecord, Status
from store.ledger.rules import occurrence_key as _valid_key
from store.racers.errors import CapacityMismatch, RaceError, RealOccurrence

#: How long a racer's hold lasts when the occurrence gives none: long enough to
#: watch a race end, short enough that a forgotten demo gives its seats back.
HOLD_TTL = timedelta(minutes=10)
DEMO_TITLE = "Racer demo"


def demo_key(label: str = "race-demo") -> str:
    """A fresh occurrence key: the minute it was made, and a few random digits."""
    return f"{label}-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


async def prepare_occurrence(
    store_url: str,
    key: str,
    capacity: int | None,
    *,
    operator: str = "racer",
    allow_real: bool = False,
    title: str = DEMO_TITLE,
) -> OccurrenceRecord:
    """The occurrence to race on; with ``capacity``, created (as a demo) when missing.

    An existing occurrence with another capacity is an error, not silently
    changed: a race must not rewrite a real show's capacity. An existing one
    that is not a demo raises ``RealOccurrence`` unless ``allow_real``.
    """
    key = _valid_key(key, "occurrence")
    async with open_store(store_url) as store:
        ledger = Ledger(store, operator=operator)
        if capacity is not None:
            outcome = await ledger.create_occurrence(
                key, capacity=capacity, title=title, hold_ttl=HOLD_TTL, demo=True
            )
            if outcome.status is Status.EXISTS and outcome.capacity != capacity:
                raise CapacityMismatch(
                    f"occurrence {key!r} exists with capacity {outcome.capacity}, not {capacity}; "
                    "drop --capacity to race on it as it is, or pick a new occurrence key"
                )
        try:
            record = await ledger.occurrence(key)
        except UnknownOccurrence:
            raise RaceError(
                f"no occurrence {key!r}; give --capacity C to create it for the race"
            ) from None
    if not record.demo and not allow_real:
        raise RealOccurrence(
            f"occurrence {key!r} is a real show, not a demo: racers would hold its free seats "
            "under your name; pass --yes to race on it anyway, or leave out the key for a "
            "fresh demo occurrence"
        )
    return record


async def fresh_demo(
    store_url: str, capacity: int, *, operator: str = "racer", label: str = "race-demo"
) -> OccurrenceRecord:
    """A new demo occurrence with ``capacity`` seats, made for one race."""
    return await prepare_occurrence(store_url, demo_key(label), capacity, operator=operator)
