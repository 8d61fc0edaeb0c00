"""What a roster row says: its seat block, its state badge, its columns, its sort key.

Pure functions of a ``SeatRecord`` (and the time, for a countdown), kept apart from
the table that draws them so they can be read and tested on their own.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from rich.text import Text

from store.ledger.outcomes import SeatRecord
from tui.widgets.timefmt import countdown
from tui.widgets.waitlist import offered_badge

HELD, CONFIRMED, LAPSED = "held", "confirmed", "lapsed"


def block(row: SeatRecord) -> str | None:
    """The seats a party sits in as people read them: ``5-8``, ``5`` for one (None: no seat)."""
    if row.seat is None:
        return None
    return f"{row.seat}-{row.seat + row.seats - 1}" if row.seats > 1 else str(row.seat)


def next_expiry(rows: Iterable[SeatRecord]) -> datetime | None:
    """When the next of these holds lapses (None if none will)."""
    times = [r.expires_at for r in rows if r.state == HELD and r.expires_at is not None]
    return min(times) if times else None


def lapse_order(row: SeatRecord) -> tuple[int, datetime | None]:
    """Sort key for "soonest lapse first": live holds by expiry, then the rest (a stable
    sort keeps each group in join order)."""
    if row.state == HELD and row.expires_at is not None:
        return (0, row.expires_at)
    return (1, None)


def badge(row: SeatRecord, now: datetime | None) -> Text:
    """The seat state in words and a glyph, so colour is never the only signal."""
    if row.state == CONFIRMED and row.checked_in_at is not None:
        return Text("✓ IN", style="bold cyan")  # checked in at the door (still confirmed)
    if row.state == CONFIRMED:
        return Text("✔ CONFIRMED", style="bold green")
    if row.state == LAPSED:
        return Text("✖ LAPSED", style="bold red")
    if row.offered:  # a waiter's offer (SPEC §4.5): its own glyph and word, not "held"
        return offered_badge(row.expires_at, now)
    if row.expires_at is None:
        return Text("◷ HELD", style="bold yellow")
    left = row.expires_at - now if now is not None else None
    if left is None:
        return Text("◷ HELD", style="bold yellow")
    return Text(f"◷ HELD {countdown(left)}", style="bold yellow")


COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("seat", "Seat", 7),  # a party's block: ``5-8``
    ("state", "State", 16),  # second, so an 80-column terminal always shows it; ✉ OFFERED 14:59
    ("actor", "Actor", 18),
    ("ref", "Ref", 6),  # what to tell the customer; with the note, in view at 140 columns
    ("note", "Note", 15),
    ("joined", "Joined", 12),  # these two are a scroll (→) away on a narrow terminal
    ("operator", "Operator", 12),
)
