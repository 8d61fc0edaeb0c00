"""A season written straight into a store, for the benches that search one (find, parties)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from store import NewEvent, open_store
from store.ledger.fold import stream_of
from store.ledger.provenance import event_meta


async def build_season(url: str, shows: int, parties: int) -> None:
    """``shows`` occurrences of ``parties`` bookings each, written straight to the store."""
    start = datetime(2027, 1, 1, 19, 30, tzinfo=UTC)
    meta = event_meta("bench", datetime.now(UTC))
    async with open_store(url, create=True) as store:
        for n in range(shows):
            created = NewEvent(
                "created",
                {
                    "title": f"Show {n}",
                    "starts_at": (start + timedelta(days=n % 365, hours=n % 3)).isoformat(),
                    "capacity": parties * 4,
                    "hold_ttl_s": None,
                },
                meta,
            )
            bookings = [
                NewEvent("booking", {"actor": f"guest {n}-{i}", "seats": 1 + i % 4}, meta)
                for i in range(parties)
            ]
            await store.append_many(stream_of(f"show-{n}"), None, [created, *bookings])
