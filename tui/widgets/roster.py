"""The roster: who has a seat, in what state, diffed into a DataTable in place.

A sold-out night has thousands of rows and changes a few at a time, so the
table is never rebuilt for an update: rows that left are removed, newcomers
are appended (joins always come at the end), and only cells whose text changed
are rewritten. The cursor follows its actor, not its row number, because seat
numbers close up when an earlier seat is freed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from store.fold import OccurrenceState
from tui.safe_text import printable
from tui.widgets.timefmt import countdown, stamp

HELD, CONFIRMED, LAPSED = "held", "confirmed", "lapsed"

#: Removing a row costs time proportional to the table (Textual re-indexes every
#: row), adding one costs a constant (mostly measuring its cells). Past this
#: ratio of removal work to rows kept, clearing and re-adding is the cheaper way.
_REBUILD_RATIO = 12


@dataclass(frozen=True, slots=True)
class RosterRow:
    """One line of the roster as the app shows it; a lapsed hold has no seat."""

    actor: str
    order: int  # join order: the roster's order, even across a time-travel refold
    state: str  # HELD, CONFIRMED or LAPSED
    seat: int | None
    joined_at: datetime | None
    expires_at: datetime | None
    operator: str | None


def roster_rows(state: OccurrenceState, now: datetime | None) -> list[RosterRow]:
    """Seated actors at ``now`` plus lapsed holds with no ``expire`` event yet, in join order.

    A lapsed hold stays visible (as LAPSED, without a seat) until someone
    records the lapse, so an operator sees why a customer lost a seat.
    """
    rows = [
        RosterRow(m.actor, m.join, str(m.state), seat, m.joined_at, m.expires_at, m.operator)
        for seat, m in enumerate(state.roster_at(now), start=1)
    ]
    lapsed = [
        RosterRow(m.actor, m.join, LAPSED, None, m.joined_at, m.expires_at, m.operator)
        for m in state.unrecorded_lapses(now)
    ]
    if lapsed:
        rows = sorted(rows + lapsed, key=lambda r: r.order)
    return rows


def next_expiry(rows: Iterable[RosterRow]) -> datetime | None:
    """When the next of these holds lapses (None if none will)."""
    times = [r.expires_at for r in rows if r.state == HELD and r.expires_at is not None]
    return min(times) if times else None


def badge(row: RosterRow, now: datetime | None) -> Text:
    """The seat state in words and a glyph, so colour is never the only signal."""
    if row.state == CONFIRMED:
        return Text("✔ CONFIRMED", style="bold green")
    if row.state == LAPSED:
        return Text("✖ LAPSED", style="bold red")
    if row.expires_at is None:
        return Text("◷ HELD", style="bold yellow")
    left = row.expires_at - now if now is not None else None
    if left is None:
        return Text("◷ HELD", style="bold yellow")
    return Text(f"◷ HELD {countdown(left)}", style="bold yellow")


class _SeatCell(Text):
    """A seat number that remembers its row's join order, for re-sorting in place."""

    order: int


def _seat_cell(row: RosterRow) -> Text:
    cell = _SeatCell("—" if row.seat is None else str(row.seat), justify="right")
    cell.order = row.order
    return cell


COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("seat", "Seat", 5),
    ("actor", "Actor", 24),
    ("state", "State", 13),
    ("joined", "Joined", 12),
    ("operator", "Operator", 12),
)


class RosterTable(DataTable[Any]):
    """The selected occurrence's roster, live or as it stood at an earlier seq."""

    def __init__(self, *, tz: tzinfo | None = None, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.tz = tz
        self.needle = ""
        self._all: list[RosterRow] = []  # the roster before filtering
        self._shown: list[str] = []  # actors, in row order
        self._rows: dict[str, RosterRow] = {}
        self._cells: dict[str, tuple[str, ...]] = {}  # plain text of each shown row's cells
        self._now: datetime | None = None
        self._ticking = True
        self._next_expiry: datetime | None = None

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    # -- what is shown ------------------------------------------------------------

    @property
    def selected_actor(self) -> str | None:
        """The actor under the cursor (None on an empty table)."""
        if not self._shown:
            return None
        row = min(max(self.cursor_row, 0), len(self._shown) - 1)
        return self._shown[row]

    def row_of(self, actor: str) -> RosterRow | None:
        return self._rows.get(actor)

    @property
    def shown_actors(self) -> list[str]:
        return list(self._shown)

    @property
    def total(self) -> int:
        """Rows in the roster before the filter."""
        return len(self._all)

    @property
    def next_expiry(self) -> datetime | None:
        return self._next_expiry if self._ticking else None

    def reset(self) -> None:
        """Forget everything (another occurrence was selected)."""
        self._all, self._shown, self._rows, self._cells = [], [], {}, {}
        self._next_expiry = None
        self.clear()

    def show(self, rows: list[RosterRow], now: datetime | None, *, live: bool = True) -> None:
        """Make the table show ``rows`` (filtered) at ``now``, changing only what differs.

        ``live=False`` freezes countdowns at ``now`` (a past moment, in time travel).
        """
        self._all = rows
        self._now = now
        self._ticking = live
        self._next_expiry = next_expiry(rows)
        self._apply(self._filtered(rows), now)

    def set_filter(self, needle: str) -> None:
        self.needle = needle
        self._apply(self._filtered(self._all), self._now)

    def tick(self, now: datetime) -> bool:
        """Advance the countdowns on screen; True when a hold has lapsed since the last read.

        Only rows in view are rewritten: a countdown nobody can see costs nothing,
        and rows scrolled into view are brought up to date on the scroll.
        """
        if not self._ticking:
            return False
        self._now = now
        self._refresh_countdowns()
        return self._next_expiry is not None and self._next_expiry <= now

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self._ticking and round(old_value) != round(new_value):
            self._refresh_countdowns()

    # -- the diff -----------------------------------------------------------------

    def _filtered(self, rows: list[RosterRow]) -> list[RosterRow]:
        if not self.needle:
            return rows
        needle = self.needle.casefold()
        return [r for r in rows if needle in r.actor.casefold()]

    def _texts(self, row: RosterRow, now: datetime | None) -> tuple[str, ...]:
        return (
            "—" if row.seat is None else str(row.seat),
            row.actor,
            badge(row, now).plain,
            stamp(row.joined_at, now or datetime.now().astimezone(), self.tz),
            row.operator or "—",
        )

    def _cell(self, column: int, row: RosterRow, text: str, now: datetime | None) -> Text:
        if column == 0:
            return _seat_cell(row)
        if column == 1:
            return Text(printable(text), no_wrap=True, overflow="ellipsis")
        if column == 2:
            return badge(row, now)
        if column == 4:
            return Text(printable(text), no_wrap=True, overflow="ellipsis", style="dim")
        return Text(text)

    def _apply(self, target: list[RosterRow], now: datetime | None) -> None:
        keep_cursor_on = self.selected_actor
        wanted = {r.actor for r in target}
        gone = [a for a in self._shown if a not in wanted]
        with self.app.batch_update():
            if not self._shown or len(gone) * len(self._shown) > _REBUILD_RATIO * len(target):
                self._rebuild(target, now)
            else:
                self._patch(target, gone, now)
            self._shown = [r.actor for r in target]
            self._rows = {r.actor: r for r in target}
            if keep_cursor_on in self._rows:
                index = self._shown.index(keep_cursor_on)
                if index != self.cursor_row:
                    self.move_cursor(row=index, scroll=False)

    def _rebuild(self, target: list[RosterRow], now: datetime | None) -> None:
        self.clear()
        self._cells = {}
        for row in target:
            self._add(row, now)

    def _add(self, row: RosterRow, now: datetime | None) -> None:
        texts = self._texts(row, now)
        self._cells[row.actor] = texts
        self.add_row(*(self._cell(i, row, t, now) for i, t in enumerate(texts)), key=row.actor)

    def _patch(self, target: list[RosterRow], gone: list[str], now: datetime | None) -> None:
        for actor in gone:
            self.remove_row(actor)
            del self._cells[actor]
        gone_set = set(gone)
        kept = [a for a in self._shown if a not in gone_set]
        newcomers = []
        for row in target:
            before = self._cells.get(row.actor)
            if before is None:
                newcomers.append(row)
                continue
            after = self._texts(row, now)
            if after != before or self._rows[row.actor] != row:
                self._cells[row.actor] = after
                for i, (key, _, _) in enumerate(COLUMNS):
                    if after[i] != before[i] or (i == 0 and self._rows[row.actor] != row):
                        self.update_cell(row.actor, key, self._cell(i, row, after[i], now))
        for row in newcomers:
            self._add(row, now)
        if kept + [r.actor for r in newcomers] != [r.actor for r in target]:
            # a refold (time travel, or the filter widening) put someone back mid-roster
            self.sort("seat", key=lambda cell: cell.order)

    def _refresh_countdowns(self) -> None:
        now = self._now
        if now is None or not self._shown:
            return
        top = max(0, int(self.scroll_y))
        bottom = min(len(self._shown), top + self.size.height + 1)
        with self.app.batch_update():
            for actor in self._shown[top:bottom]:
                row = self._rows[actor]
                if row.state != HELD or row.expires_at is None:
                    continue
                cell = badge(row, now)
                before = self._cells[actor]
                if cell.plain != before[2]:
                    self._cells[actor] = (*before[:2], cell.plain, *before[3:])
                    self.update_cell(actor, "state", cell)
