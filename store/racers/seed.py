"""The seed's booking algorithm (``shared/seed/booking.sx``), kept to show what it gets wrong.

UNSAFE, for demonstrations on demo occurrences only. ``ev-acquire!`` decides on
two separate reads: it folds the whole stream for the roster
(``ev-fold-states`` over ``persist/read``), then asks for the last seq
(``persist/last-seq``), and appends expecting that seq. When another writer
appends between the two reads, the roster is stale but the seq is current, so
the append succeeds on a decision made for a house with one seat more free than
it has: the house oversells. Boxoffice decides on one snapshot (roster and seq
read together), which is why its appends at a stale seq are refused instead.

``bench/seed_port.py`` (the cost comparison) uses this same port.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from store.eventstore.contract import EventStore
from store.eventstore.events import Conflict, Event
from store.ledger.fold import stream_of
from store.ledger.provenance import event_meta


def fold_states(events: Iterable[Event]) -> dict[str, str]:
    """``ev-fold-states``: per-actor seat states in join order; unknown types are ignored.

    The seed's association list becomes an insertion-ordered dict with the same
    semantics (set keeps an actor's place, delete then set joins at the end).
    """
    states: dict[str, str] = {}
    for event in events:
        actor = str(event.data.get("actor"))
        kind = event.type
        if kind == "booking":
            states[actor] = "confirmed"
        elif kind == "hold":
            states[actor] = "held"
        elif kind == "confirm":
            if actor in states:
                states[actor] = "confirmed"
        elif kind in ("cancel", "release"):
            states.pop(actor, None)
    return states


@dataclass(frozen=True, slots=True)
class SeedAttempt:
    """One ``ev-acquire-with-observed``: its answer and the two reads it decided on."""

    status: str  # held, booked, already, full, conflict
    observed: int  # the roster's length in the first read
    expected: int  # the seq of the second read
    seat: int | None = None
    actual: int | None = None


async def seed_attempt(
    store: EventStore,
    key: str,
    capacity: int,
    actor: str,
    *,
    kind: str = "hold",
    ttl: timedelta | None = None,
    operator: str = "racer",
) -> SeedAttempt:
    """One attempt of ``ev-acquire!``: read the roster, then the seq, then append."""
    stream = stream_of(key)
    observed = list(fold_states(await store.read(stream)))
    expected = await store.last_seq(stream)  # the second read: the race window is here
    if actor in observed:
        return SeedAttempt("already", len(observed), expected, observed.index(actor) + 1)
    if len(observed) >= capacity:
        return SeedAttempt("full", len(observed), expected)
    now = datetime.now(UTC)
    data: dict[str, Any] = {"actor": actor}
    if kind == "hold":
        data["expires_at"] = (now + ttl).isoformat() if ttl is not None else None
    written = await store.append_expect(stream, expected, kind, data, event_meta(operator, now))
    if isinstance(written, Conflict):
        return SeedAttempt("conflict", len(observed), expected, actual=written.actual)
    status = "held" if kind == "hold" else "booked"
    return SeedAttempt(status, len(observed), expected, seat=len(observed) + 1)
