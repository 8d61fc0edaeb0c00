"""The selected occurrence's stream, event by event: the ground truth behind the roster.

Between the events it shows the offers the fold derived (SPEC §4.5), at their
moment and marked ``(derived)`` in the operator column: no event holds an offer
and nobody wrote one, yet it is why a waiter suddenly holds seats. How long the
offer stands is the second line of its Time cell (``until 19:05``): at the end of
the Actor cell it was cut off at every width, and the Time column is in view even
at 80 columns. Selecting an
event asks the app to show the roster as it stood at that seq.
A long stream goes into the table a screenful first and the rest between
frames, like the roster, so opening the log of a 10,000-seat night never
freezes the screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from itertools import count
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from store.eventstore.events import Event
from store.ledger.views import DerivedOffer, parse_time
from tui.cli.safe_text import printable
from tui.widgets.cells import FixedCell
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


#: Rows added before the first frame, then per frame until the table holds the stream.
FIRST_ROWS, MORE_ROWS = 300, 1000


class EventLog(DataTable[Any]):
    """One occurrence's events in seq order; grows at the end as the stream does."""

    #: Home and End move the cursor to the first and last event (a DataTable's own Home/End
    #: only scroll sideways, leaving the cursor, and what Enter acts on, where it was).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("home", "scroll_top", "First", show=False),
        Binding("end", "scroll_bottom", "Last", show=False),
    ]

    def __init__(self, *, tz: tzinfo | None = None, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", **kwargs)
        self.tz = tz
        self.key: str | None = None
        self.events: list[Event] = []  # every event read, whether or not its row is in yet
        self.entries: list[Event | DerivedOffer] = []  # the rows, in order: events and offers
        self._row_keys: list[str] = []  # the key of each row added
        self._offer_keys = count()
        self._now: datetime | None = None
        self._follow = True  # keep the cursor on the newest event

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    @property
    def last_seq(self) -> int:
        return self.events[-1].seq if self.events else 0

    @property
    def filling(self) -> bool:
        """Whether read events are still waiting for their rows."""
        return self.row_count < len(self.entries)

    @property
    def offers(self) -> list[DerivedOffer]:
        """The derived offers shown (or on their way to a row), in order."""
        return [e for e in self.entries if isinstance(e, DerivedOffer)]

    def load(
        self,
        key: str,
        events: Sequence[Event],
        now: datetime,
        offers: Sequence[DerivedOffer] = (),
    ) -> None:
        """Show another occurrence's stream from the start."""
        self.key = key
        self.events, self.entries, self._row_keys = [], [], []
        self.clear()
        self._follow = True
        self.extend(events, now, offers)

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
        if offers_after is not None:
            if not fresh and self._trailing_offers(offers_after) == list(offers):
                return  # nothing moved: leave the rows (and the cursor) alone
            self._drop_offers_from(offers_after)
        fresh_offers = list(offers)
        if not fresh and not fresh_offers:
            return
        self._follow = self._follow or self.cursor_row >= self.row_count - 1
        self._now = now
        filling = self.filling
        self.events.extend(fresh)
        self.entries.extend(merged(fresh, fresh_offers))
        if not filling:  # else the rows already on their way pick these up
            self._add_rows(FIRST_ROWS if not self.row_count else MORE_ROWS)

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
            if len(self._row_keys) > len(self.entries):
                self.remove_row(self._row_keys.pop())

    def _add_rows(self, limit: int) -> None:
        if not self.is_attached:
            return
        now = self._now or datetime.now().astimezone()
        start = self.row_count
        with self.app.batch_update():
            for entry in self.entries[start : start + limit]:
                if isinstance(entry, DerivedOffer):
                    self._add_offer(entry, now)
                    continue
                event = entry
                meta = event.meta if isinstance(event.meta, dict) else {}  # a tampered log
                operator = meta.get("operator")
                recorded = parse_time(meta.get("recorded_at"))
                self.add_row(
                    FixedCell(Text(str(event.seq), justify="right")),
                    FixedCell(Text(stamp(recorded, now, self.tz))),
                    FixedCell(Text(printable(event.type), style=_TYPE_STYLES.get(event.type, ""))),
                    FixedCell(Text(printable(describe(event)), no_wrap=True, overflow="ellipsis")),
                    FixedCell(Text(printable(operator or "—"), style="dim")),
                    key=str(event.seq),
                )
                self._row_keys.append(str(event.seq))
        if self.filling:
            self.call_after_refresh(self._add_rows, MORE_ROWS)
        elif self._follow:
            self._follow = False
            self.move_cursor(row=self.row_count - 1)

    def _add_offer(self, offer: DerivedOffer, now: datetime) -> None:
        key = f"offer-{next(self._offer_keys)}"
        when = offer_time(offer, now, self.tz)
        self.add_row(
            FixedCell(Text("", justify="right")),
            FixedCell(Text(when, style=OFFER_STYLE)),
            FixedCell(Text("✉ offer", style=OFFER_STYLE)),
            FixedCell(
                Text(offer_words(offer), style=OFFER_STYLE, no_wrap=True, overflow="ellipsis")
            ),
            FixedCell(Text("(derived)", style=OFFER_STYLE)),
            key=key,
            height=when.count("\n") + 1,
        )
        self._row_keys.append(key)

    def seq_at(self, row: int) -> int | None:
        """The event at ``row`` (None for a derived offer: no seq holds it)."""
        if 0 <= row < self.row_count:
            entry = self.entries[row]
            return entry.seq if isinstance(entry, Event) else None
        return None
