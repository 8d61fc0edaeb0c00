"""The selected occurrence's stream, event by event: the ground truth behind the roster.

Between the events it shows the offers the fold derived (SPEC §4.5), at their
moment and marked ``(derived)`` in the operator column: no event holds an offer
and nobody wrote one, yet it is why a waiter suddenly holds seats. How long the
offer stands is the second line of its Time cell (``until 19:05``): at the end of
the Actor cell it was cut off at every width, and the Time column is in view even
at 80 columns. Selecting an
event asks the app to show the roster as it stood at that seq.
The log is drawn a line at a time (``line_table``), like the roster: a
10,000-event stream is whole in the table at once, and a live event costs its
own line, not a pass over every row (as a DataTable, the open log of a
10,000-seat night cost each commit about 40 ms of the app's CPU).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Hashable, Sequence
from datetime import date, datetime, tzinfo
from typing import Any

from rich.text import Text

from store.eventstore.events import Event
from store.ledger.views import DerivedOffer, parse_time
from tui.cli.safe_text import printable
from tui.widgets.line_table import Column, LineTable
from tui.widgets.timefmt import local, stamp

#: How a derived offer reads in the log: dim, with a glyph and words of its own.
OFFER_STYLE = "dim italic"

COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("seq", "Seq", 6),
    ("time", "Time", 12),
    ("type", "Event", 9),
    ("actor", "Actor", 22),
    ("operator", "Operator", 12),
)

_TYPE_STYLES = {
    "booking": "green",
    "confirm": "green",
    "hold": "yellow",
    "release": "cyan",
    "cancel": "red",
    "expire": "red",
    "created": "bold",
    "capacity": "bold",
}


def describe(event: Event) -> str:
    """What an event changed, for the Actor column when it names no actor."""
    data = event.data if isinstance(event.data, dict) else {}
    if isinstance(data.get("actor"), str):
        return data["actor"]
    if event.type == "created":
        return f"{data.get('title') or ''} (capacity {data.get('capacity')})".strip()
    if event.type == "capacity":
        return f"capacity {data.get('capacity')}"
    return ""


def offer_words(offer: DerivedOffer) -> str:
    """``Ada · 2 seats``: who was offered what."""
    seats = "1 seat" if offer.seats == 1 else f"{offer.seats} seats"
    return f"{printable(offer.actor)} · {seats}"


def offer_time(offer: DerivedOffer, now: datetime, tz: tzinfo | None) -> str:
    """When the offer was made and, on a second line, until when it stands (``until 20:14``).

    An offer that never lapses (no ttl) has no second line.
    """
    made = stamp(offer.at, now, tz)
    return f"{made}\nuntil {local(offer.expires_at, tz):%H:%M}" if offer.expires_at else made


def merged(events: Sequence[Event], offers: Sequence[DerivedOffer]) -> list[Event | DerivedOffer]:
    """Events and derived offers in fold order: each offer after the event it followed."""
    entries: list[Event | DerivedOffer] = []
    pending = list(offers)
    at = 0
    for event in events:
        while at < len(pending) and pending[at].after_seq < event.seq:
            entries.append(pending[at])
            at += 1
        entries.append(event)
    entries.extend(pending[at:])
    return entries


class EventLog(LineTable):
    """One occurrence's events in seq order; grows at the end as the stream does."""

    def __init__(self, *, tz: tzinfo | None = None, **kwargs: Any) -> None:
        columns = [
            Column(key, label, width, "right" if key == "seq" else "left")
            for key, label, width in COLUMNS
        ]
        super().__init__(columns, zebra_stripes=False, **kwargs)
        self.tz = tz
        self.key: str | None = None
        self.events: list[Event] = []  # every event read
        self.entries: list[Event | DerivedOffer] = []  # the rows, in order: events and offers
        self._starts: list[int] = []  # the line each row starts on (an offer is two)
        self._line_total = 0
        self._now: datetime | None = None

    @property
    def last_seq(self) -> int:
        return self.events[-1].seq if self.events else 0

    @property
    def offers(self) -> list[DerivedOffer]:
        """The derived offers shown, in order."""
        return [e for e in self.entries if isinstance(e, DerivedOffer)]

    def load(
        self,
        key: str,
        events: Sequence[Event],
        now: datetime,
        offers: Sequence[DerivedOffer] = (),
    ) -> None:
        """Show another occurrence's stream from the start, the cursor on its last event."""
        self.key = key
        self.events, self.entries, self._starts, self._line_total = [], [], [], 0
        self.move_cursor(row=0, scroll=False)
        self._add(events, offers, now, follow=True)

    def extend(
        self,
        events: Sequence[Event],
        now: datetime,
        offers: Sequence[DerivedOffer] = (),
        offers_after: int | None = None,
    ) -> None:
        """Append the events past the last one read (older or repeated ones are skipped).

        ``offers`` are the derived offers after event ``offers_after`` or later: the
        offers shown from there on are replaced by them (the last seq's offers may
        have been a read's play-out to its moment, and a later read knows better).
        """
        fresh = [e for e in events if e.seq > self.last_seq]
        follow = self.cursor_row >= self.row_count - 1  # on the last row: stays on the newest
        if offers_after is not None:
            if not fresh and self._trailing_offers(offers_after) == list(offers):
                return  # nothing moved: leave the rows (and the cursor) alone
            self._drop_offers_from(offers_after)
        elif not fresh and not offers:
            return
        self._add(fresh, offers, now, follow=follow)

    def _add(
        self,
        events: Sequence[Event],
        offers: Sequence[DerivedOffer],
        now: datetime,
        *,
        follow: bool,
    ) -> None:
        """Rows for these; the cursor stays on the newest when it was on the last row."""
        self._now = now
        self.events.extend(events)
        for entry in merged(events, offers):
            self.entries.append(entry)
            self._starts.append(self._line_total)
            self._line_total += self._height(entry)
        self.rows_changed()  # the height first: the cursor is then scrolled within it
        if follow and self.row_count:
            self.move_cursor(row=self.row_count - 1)

    def _trailing_offers(self, after_seq: int) -> list[DerivedOffer]:
        tail: list[DerivedOffer] = []
        for entry in reversed(self.entries):
            if not isinstance(entry, DerivedOffer) or entry.after_seq < after_seq:
                break
            tail.append(entry)
        return tail[::-1]

    def _drop_offers_from(self, after_seq: int) -> None:
        """Take away the trailing offers made after event ``after_seq`` or later."""
        while self.entries and isinstance(last := self.entries[-1], DerivedOffer):
            if last.after_seq < after_seq:
                break
            self.entries.pop()
            self._line_total = self._starts.pop()

    def seq_at(self, row: int) -> int | None:
        """The event at ``row`` (None for a derived offer: no seq holds it)."""
        if 0 <= row < self.row_count:
            entry = self.entries[row]
            return entry.seq if isinstance(entry, Event) else None
        return None

    def get_row_at(self, row: int) -> list[Text]:
        """Row ``row``'s cells as the table draws them."""
        return list(self.row_cells(row))

    def get_cell(self, seq: str, column: str) -> Text:
        """Event ``seq``'s cell in ``column`` as the table draws it."""
        row = next(
            n for n, e in enumerate(self.entries) if isinstance(e, Event) and str(e.seq) == seq
        )
        return self.row_cells(row)[[c.key for c in self.columns].index(column)]

    # -- what the line table asks ----------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self.entries)

    @property
    def line_count(self) -> int:
        return self._line_total

    def row_at_line(self, line: int) -> tuple[int, int]:
        index = bisect_right(self._starts, line) - 1
        return index, line - self._starts[index]

    def row_start(self, index: int) -> int:
        return self._starts[index]

    def row_height(self, index: int) -> int:
        return self._height(self.entries[index])

    def _height(self, entry: Event | DerivedOffer) -> int:
        # an offer that stands until a time says so on a second line of its Time cell
        return 2 if isinstance(entry, DerivedOffer) and entry.expires_at is not None else 1

    def _today(self) -> date | None:
        return local(self._now, self.tz).date() if self._now is not None else None

    def frame_extra(self) -> Hashable:
        return self._today()  # a time today, a date and time on another day

    def row_drawing_key(self, index: int) -> Hashable:
        entry = self.entries[index]
        return entry if isinstance(entry, DerivedOffer) else ("event", entry.seq)

    def row_cells(self, index: int) -> Sequence[Text]:
        now = self._now or datetime.now().astimezone()
        entry = self.entries[index]
        if isinstance(entry, DerivedOffer):
            return [
                Text(""),
                Text(offer_time(entry, now, self.tz), style=OFFER_STYLE),
                Text("✉ offer", style=OFFER_STYLE),
                Text(offer_words(entry), style=OFFER_STYLE, no_wrap=True, overflow="ellipsis"),
                Text("(derived)", style=OFFER_STYLE),
            ]
        event = entry
        meta = event.meta if isinstance(event.meta, dict) else {}  # a tampered log
        operator = meta.get("operator")
        recorded = parse_time(meta.get("recorded_at"))
        return [
            Text(str(event.seq)),
            Text(stamp(recorded, now, self.tz)),
            Text(printable(event.type), style=_TYPE_STYLES.get(event.type, "")),
            Text(printable(describe(event)), no_wrap=True, overflow="ellipsis"),
            Text(printable(operator or "—"), style="dim"),
        ]
