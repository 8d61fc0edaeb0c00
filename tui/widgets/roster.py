"""The roster: who has a seat, in what state, drawn a line at a time from the ledger's rows.

A sold-out night has thousands of rows and changes a few at a time. The table holds
the ledger's rows as they come (a list, replaced per read) and draws only the lines in
view, each kept by what it shows (``LineTable``): a commit costs its read and the lines
in view that changed, whatever the roster's length. The cursor follows its actor, not
its row number, because seat numbers close up when an earlier seat is freed.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from rich.text import Text
from textual.message import Message

from store.ledger.outcomes import SeatRecord
from tui.cli.safe_text import printable
from tui.widgets.line_table import Column, LineTable
from tui.widgets.roster_rows import (
    COLUMNS,
    CONFIRMED,
    HELD,
    LAPSED,
    badge,
    block,
    lapse_order,
    next_expiry,
)
from tui.widgets.timefmt import local

__all__ = ["CONFIRMED", "HELD", "LAPSED", "RosterTable"]

#: The note's usual width; it grows by the view's spare columns (``column_fit``).
NOTE_WIDTH = next(width for key, _, width in COLUMNS if key == "note")


class RosterTable(LineTable):
    """The selected occurrence's roster, live or as it stood at an earlier seq."""

    @dataclass
    class Filled(Message):
        """The roster of a newly selected occurrence is in the table."""

        rows: int

    def __init__(self, *, tz: tzinfo | None = None, **kwargs: Any) -> None:
        columns = [
            Column(key, label, width, "right" if key == "seat" else "left")
            for key, label, width in COLUMNS
        ]
        super().__init__(columns, **kwargs)
        self.tz = tz
        self.needle = ""
        self.by_lapse = False  # soonest lapse first, else join order
        self._all: list[SeatRecord] = []  # the roster before filtering
        self._shown: list[SeatRecord] = []  # the rows in the table, in row order
        self._by_actor: dict[str, SeatRecord] | None = None  # made when first asked for
        self._filled = False  # Filled posted since the last reset
        self._now: datetime | None = None
        self._ticking = True
        self._next_expiry: datetime | None = None
        #: called after each change is in the table (``bench/tui_bench.py`` times the frame
        #: that follows from here); None: nobody is listening
        self.after_apply: Callable[[], object] | None = None

    def on_resize(self) -> None:
        """The note takes the spare width, so Joined is wholly in view or a → away (no stub)."""
        self.fit_column("note", NOTE_WIDTH)

    def watch_show_vertical_scrollbar(self) -> None:
        self.call_after_refresh(self.fit_column, "note", NOTE_WIDTH)  # the view's width moved

    # -- what is shown ------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self._shown)

    @property
    def selected_actor(self) -> str | None:
        """The actor under the cursor (None on an empty table)."""
        if not self._shown:
            return None
        return self._shown[min(max(self.cursor_row, 0), len(self._shown) - 1)].actor

    def row_of(self, actor: str) -> SeatRecord | None:
        if self._by_actor is None:
            self._by_actor = {r.actor: r for r in self._all}
        return self._by_actor.get(actor)

    @property
    def shown_actors(self) -> list[str]:
        """The actors in the table, in row order."""
        return [r.actor for r in self._shown]

    def get_cell(self, actor: str, column: str) -> Text:
        """The text of ``actor``'s cell in ``column`` as the table draws it now."""
        index = next(n for n, r in enumerate(self._shown) if r.actor == actor)
        keys = [c.key for c in self.columns]
        return self.row_cells(index)[keys.index(column)]

    @property
    def total(self) -> int:
        """Rows in the roster before the filter."""
        return len(self._all)

    @property
    def next_expiry(self) -> datetime | None:
        return self._next_expiry if self._ticking else None

    def lapsing_within(self, now: datetime, soon: timedelta) -> int:
        """Live holds in the roster that lapse within ``soon`` of ``now``."""
        return sum(
            1
            for r in self._all
            if r.state == HELD and r.expires_at is not None and now < r.expires_at <= now + soon
        )

    def reset(self) -> None:
        """Forget everything (another occurrence was selected)."""
        self._all, self._shown, self._by_actor = [], [], None
        self._filled = False
        self._next_expiry = None
        self.move_cursor(row=0, scroll=False)
        self.scroll_to(y=0, animate=False)
        self.rows_changed()

    def show(self, rows: list[SeatRecord], now: datetime | None, *, live: bool = True) -> None:
        """Make the table show ``rows`` (filtered) at ``now``.

        ``live=False`` freezes countdowns at ``now`` (a past moment, in time travel).
        """
        self._all = rows
        self._by_actor = None
        self._now = now
        self._ticking = live
        self._next_expiry = next_expiry(rows)
        self._apply(self._filtered(rows))

    def set_sort_by_lapse(self, by_lapse: bool) -> None:
        """Order the rows by time to lapse (soonest first) or by join order."""
        self.by_lapse = by_lapse
        self._apply(self._filtered(self._all))

    def set_filter(self, needle: str) -> None:
        self.needle = needle
        self._apply(self._filtered(self._all))

    def tick(self, now: datetime) -> bool:
        """Advance the countdowns on screen; True when a hold has lapsed since the last read.

        Only lines in view are drawn, and only those whose countdown moved.
        """
        if not self._ticking:
            return False
        self._now = now
        self.refresh_changes()
        return self._next_expiry is not None and self._next_expiry <= now

    # -- the rows -----------------------------------------------------------------

    def _filtered(self, rows: list[SeatRecord]) -> list[SeatRecord]:
        """The rows to show, in the order to show them."""
        if self.needle:
            needle = self.needle.casefold()
            rows = [r for r in rows if needle in r.actor.casefold()]
        return sorted(rows, key=lapse_order) if self.by_lapse else rows

    def _apply(self, target: list[SeatRecord]) -> None:
        actor = self.selected_actor
        cursor = self.cursor_row
        self._shown = target
        if actor is not None and not (cursor < len(target) and target[cursor].actor == actor):
            # the cursor follows its actor when rows before it came or went
            index = next((n for n, r in enumerate(target) if r.actor == actor), None)
            if index is not None:
                self.move_cursor(row=index, scroll=False)
        self.rows_changed()
        if not self._filled and self._all:
            self._filled = True
            self.post_message(self.Filled(len(self._shown)))
        if self.after_apply is not None:
            self.after_apply()

    def _today(self) -> date | None:
        return local(self._now, self.tz).date() if self._now is not None else None

    def frame_extra(self) -> Hashable:
        return self._today()  # a join today shows its time, earlier ones their date

    def _state(self, row: SeatRecord) -> Text:
        return badge(row, self._now)

    def row_drawing_key(self, index: int) -> Hashable:
        """A row's drawing is decided by the row and its state's words at this moment
        (a countdown moves them every second)."""
        row = self._shown[index]
        if row.state == HELD:
            return (row, self._state(row).plain)
        return row

    def row_cells(self, index: int) -> Sequence[Text]:
        """The row's cells: seat block, badge, actor, ref, note, joined at, operator."""
        row = self._shown[index]
        joined = "—"
        if row.joined_at is not None:
            shown = local(row.joined_at, self.tz)
            joined = shown.strftime("%H:%M:%S" if shown.date() == self._today() else "%d %b %H:%M")
        seats = block(row)
        return [
            Text("—" if seats is None else seats),
            self._state(row),
            Text(printable(row.actor), no_wrap=True, overflow="ellipsis"),
            Text(f"#{row.ref}", style="dim"),
            Text(printable(row.note or ""), no_wrap=True, overflow="ellipsis"),
            Text(joined),
            Text(printable(row.operator or "—"), no_wrap=True, overflow="ellipsis", style="dim"),
        ]
