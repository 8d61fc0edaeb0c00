"""The selected occurrence's stream, event by event: the ground truth behind the roster.

Selecting an event asks the app to show the roster as it stood at that seq.
A long stream goes into the table a screenful first and the rest between
frames, like the roster, so opening the log of a 10,000-seat night never
freezes the screen.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from store.eventstore.events import Event
from store.ledger.views import parse_time
from tui.cli.safe_text import printable
from tui.widgets.cells import FixedCell
from tui.widgets.timefmt import stamp

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
        return self.row_count < len(self.events)

    def load(self, key: str, events: Sequence[Event], now: datetime) -> None:
        """Show another occurrence's stream from the start."""
        self.key = key
        self.events = []
        self.clear()
        self._follow = True
        self.extend(events, now)

    def extend(self, events: Sequence[Event], now: datetime) -> None:
        """Append the events past the last one read (older or repeated ones are skipped)."""
        fresh = [e for e in events if e.seq > self.last_seq]
        if not fresh:
            return
        self._follow = self._follow or self.cursor_row >= self.row_count - 1
        self._now = now
        filling = self.filling
        self.events.extend(fresh)
        if not filling:  # else the rows already on their way pick these up
            self._add_rows(FIRST_ROWS if not self.row_count else MORE_ROWS)

    def _add_rows(self, limit: int) -> None:
        if not self.is_attached:
            return
        now = self._now or datetime.now().astimezone()
        start = self.row_count
        with self.app.batch_update():
            for event in self.events[start : start + limit]:
                operator = event.meta.get("operator") if isinstance(event.meta, dict) else None
                recorded = parse_time(event.meta.get("recorded_at")) if event.meta else None
                self.add_row(
                    FixedCell(Text(str(event.seq), justify="right")),
                    FixedCell(Text(stamp(recorded, now, self.tz))),
                    FixedCell(Text(printable(event.type), style=_TYPE_STYLES.get(event.type, ""))),
                    FixedCell(Text(printable(describe(event)), no_wrap=True, overflow="ellipsis")),
                    FixedCell(Text(printable(operator or "—"), style="dim")),
                    key=str(event.seq),
                )
        if self.filling:
            self.call_after_refresh(self._add_rows, MORE_ROWS)
        elif self._follow:
            self._follow = False
            self.move_cursor(row=self.row_count - 1)

    def seq_at(self, row: int) -> int | None:
        if 0 <= row < self.row_count:
            return self.events[row].seq
        return None
