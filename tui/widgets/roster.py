"""The roster: who has a seat, in what state, diffed into a DataTable in place.

A sold-out night has thousands of rows and changes a few at a time, so the
table is never rebuilt for an update: rows that left are removed, newcomers
are appended (joins always come at the end), and only cells whose text changed
are rewritten. The cursor follows its actor, not its row number, because seat
numbers close up when an earlier seat is freed.

A big roster is put in the table a screenful first and the rest in chunks
between frames, so the operator sees the top of a 10,000-seat night at once
and the app keeps answering keys while the rest arrives.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from functools import partial
from typing import Any, ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.strip import Strip

from store.ledger.outcomes import SeatRecord
from tui.cli.safe_text import printable
from tui.widgets.cells import FixedCell, LiveCell, SeatCell
from tui.widgets.column_fit import fit_columns
from tui.widgets.kept_lines import LINE_CACHE, KeptLinesTable
from tui.widgets.roster_rows import (
    COLUMNS,
    CONFIRMED,
    HELD,
    LAPSED,
    badge,
    block,
    lapse_order,
    next_expiry,
    unchanged_but_seat,
)
from tui.widgets.timefmt import local

__all__ = ["CONFIRMED", "FIRST_ROWS", "HELD", "LAPSED", "RosterTable"]

#: Removing a row costs time proportional to the table (Textual re-indexes every
#: row), adding one costs a constant (mostly measuring its cells). Past this
#: ratio of removal work to rows kept, clearing and re-adding is the cheaper way.
_REBUILD_RATIO = 12
#: Rows added before the first frame (more than any screen shows) ...
FIRST_ROWS = 300
#: ... and per frame after it, until the table holds the whole roster.
MORE_ROWS = 1000
#: The note's usual width; it grows by the view's spare columns (``column_fit``).
NOTE_WIDTH = next(width for key, _, width in COLUMNS if key == "note")


class RosterTable(KeptLinesTable):
    """The selected occurrence's roster, live or as it stood at an earlier seq."""

    #: Home and End move the cursor to the first and last row (a DataTable's own Home/End
    #: only scroll sideways, leaving the cursor, and what Enter acts on, where it was).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("home", "scroll_top", "First", show=False),
        Binding("end", "scroll_bottom", "Last", show=False),
    ]

    @dataclass
    class Filled(Message):
        """A roster too big for one frame is now wholly in the table."""

        rows: int

    def __init__(self, *, tz: tzinfo | None = None, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, kept=LINE_CACHE, **kwargs)
        self.tz = tz
        self.needle = ""
        self.by_lapse = False  # soonest lapse first, else join order
        self._all: list[SeatRecord] = []  # the roster before filtering
        self._target: list[str] = []  # the actors the table should hold, in order
        self._rows: dict[str, SeatRecord] = {}  # every target row, by actor
        self._target_rows: list[SeatRecord] = []  # the target as it was last shown
        self._shown: list[str] = []  # the actors the table holds, in row order
        self._texts: dict[str, tuple[str, ...]] = {}  # what each held row's cells say
        self._seats: dict[str, str | None] = {}  # read by every SeatCell as it is drawn
        self._pending: list[SeatRecord] = []  # target rows still to be added
        self._chunked = False  # the rows of this update came over several frames
        self._resort = False  # a row's join order changed: re-check the table's order
        self._now: datetime | None = None
        self._ticking = True
        self._next_expiry: datetime | None = None
        self._countdowns: tuple[datetime | None, dict[SeatRecord, str]] = (None, {})
        #: called after each change is in the table (``bench/tui_bench.py`` times the frame
        #: that follows from here); None: nobody is listening
        self.after_apply: Callable[[], object] | None = None

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    def on_resize(self) -> None:
        """The note takes the spare width, so Joined is wholly in view or a → away (no stub)."""
        fit_columns(self, "note", NOTE_WIDTH)

    def watch_show_vertical_scrollbar(self) -> None:
        self.call_after_refresh(fit_columns, self, "note", NOTE_WIDTH)  # the view's width moved

    # -- what is shown ------------------------------------------------------------

    @property
    def selected_actor(self) -> str | None:
        """The actor under the cursor (None on an empty table)."""
        if not self._shown:
            return None
        row = min(max(self.cursor_row, 0), len(self._shown) - 1)
        return self._shown[row]

    def row_of(self, actor: str) -> SeatRecord | None:
        return self._rows.get(actor)

    @property
    def shown_actors(self) -> list[str]:
        """The actors in the table, in row order (a big roster fills in over a few frames)."""
        return list(self._shown)

    @property
    def total(self) -> int:
        """Rows in the roster before the filter."""
        return len(self._all)

    @property
    def filling(self) -> bool:
        """Whether rows of the last update are still being added."""
        return bool(self._pending)

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
        self._all, self._target, self._rows, self._shown, self._texts = [], [], {}, [], {}
        self._target_rows = []
        self._pending = []
        self._seats.clear()
        self._next_expiry = None
        self.clear()

    def show(self, rows: list[SeatRecord], now: datetime | None, *, live: bool = True) -> None:
        """Make the table show ``rows`` (filtered) at ``now``, changing only what differs.

        ``live=False`` freezes countdowns at ``now`` (a past moment, in time travel).
        """
        self._all = rows
        self._now = now
        self._ticking = live
        self._next_expiry = next_expiry(rows)
        self._apply(self._filtered(rows), now)

    def set_sort_by_lapse(self, by_lapse: bool) -> None:
        """Order the rows by time to lapse (soonest first) or by join order; rows move in place."""
        self.by_lapse = by_lapse
        self._resort = True
        self._apply(self._filtered(self._all), self._now)

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

    def _filtered(self, rows: list[SeatRecord]) -> list[SeatRecord]:
        """The rows to show, in the order to show them."""
        if self.needle:
            needle = self.needle.casefold()
            rows = [r for r in rows if needle in r.actor.casefold()]
        return sorted(rows, key=lapse_order) if self.by_lapse else rows

    def _today(self, now: datetime | None) -> date | None:
        return local(now, self.tz).date() if now is not None else None

    def _cells(self, row: SeatRecord, now: datetime | None, today: date | None) -> list[Any]:
        """The row's cells after the seat: badge, actor, ref, note, joined at, operator."""
        joined = "—"
        if row.joined_at is not None:
            shown = local(row.joined_at, self.tz)
            joined = shown.strftime("%H:%M:%S" if shown.date() == today else "%d %b %H:%M")
        state: Any = FixedCell(badge(row, now))
        if row.state == HELD and row.expires_at is not None and self._ticking:
            state = LiveCell(partial(self._badge_now, row))
        return [
            state,
            FixedCell(Text(printable(row.actor), no_wrap=True, overflow="ellipsis")),
            FixedCell(Text(f"#{row.ref}", style="dim")),
            FixedCell(Text(printable(row.note or ""), no_wrap=True, overflow="ellipsis")),
            FixedCell(Text(joined)),
            FixedCell(
                Text(printable(row.operator or "—"), no_wrap=True, overflow="ellipsis", style="dim")
            ),
        ]

    def _badge_now(self, row: SeatRecord) -> Text:
        return badge(row, self._now)

    def _apply(self, target: list[SeatRecord], now: datetime | None) -> None:
        keep_cursor_on = self.selected_actor
        head = self._unchanged_head(target)
        start = head or 0
        blocks_before = {a: self._seats.get(a) for a in self._shown[start:]}
        rows_before = self._rows
        if head is None:  # the table is not yet the last target: diff every row
            self._rows, self._target = {}, []
            self._seats.clear()
        tail = target[start:]
        wanted = {r.actor for r in tail}
        gone = [a for a in self._shown[start:] if a not in wanted]
        today = self._today(now)
        self._pending = []
        # only the lines whose drawing changed are repainted (KeptLinesTable)
        with self.app.batch_update(), self.repaint_changes():
            seats, rows = self._seats, self._rows
            for actor in gone:
                seats.pop(actor, None)
            seats.update((r.actor, block(r)) for r in tail)
            if not self._shown or len(gone) * len(self._shown) > _REBUILD_RATIO * len(target):
                self.clear()
                self._shown, self._texts = [], {}
                newcomers = target
            else:
                newcomers = self._patch(tail, rows_before, gone, start, now, today)
                self._redraw_moved_blocks(blocks_before, tail)
            for actor in gone:
                rows.pop(actor, None)
            rows.update((r.actor, r) for r in tail)
            self._target = self._target[:start] + [r.actor for r in tail]
            self._target_rows = target
            self._append(newcomers, FIRST_ROWS if not self._shown else MORE_ROWS, now, today)
            if keep_cursor_on in self._texts:
                index = self._shown.index(keep_cursor_on)
                if index != self.cursor_row:
                    self.move_cursor(row=index, scroll=False)
        if self.after_apply is not None:
            self.after_apply()

    def _unchanged_head(self, target: list[SeatRecord]) -> int | None:
        """How many leading rows are the very rows the table shows already: the diff starts
        after them.

        The ledger hands an unchanged party at an unmoved seat over as the same object
        (``store.ledger.seated``), so a booking at the end of a 10,000-seat night is
        diffed as one row, not 10,000; a cancel as the rows from its seat on.
        """
        before = self._target_rows
        if self._pending or self._resort or len(self._shown) != len(before):
            return None  # the table is not yet the last target, in its order
        start, end = 0, min(len(before), len(target))
        while start < end and target[start] is before[start]:
            start += 1
        return start

    def _redraw_moved_blocks(self, before: dict[str, str | None], target: list[SeatRecord]) -> None:
        """Redraw rows whose seats moved with no other change (a party shrank ahead of them).

        A SeatCell reads its block when drawn, but the table keeps what it drew, so
        without this a party cut from 4-7 to 4-5 would go on showing 4-7. Setting one
        moved row's seat cell again (the same cell) makes the table draw its cells
        afresh, and the lines whose blocks moved are repainted (their kept lines are
        keyed by seat block); a ``refresh_row`` per moved row measured the height of
        every row above it, thousands of times after an early cancel on a
        10,000-seat night (27 s of one commit's CPU in a profile), and dropping the
        table's drawings redrew every line in view, moved or not.
        """
        seats = self._seats
        for row in target:
            now = seats[row.actor]
            if before.get(row.actor, now) != now and row.actor in self._texts:
                self.update_cell(row.actor, "seat", SeatCell(row.actor, row.ref, seats))
                return

    def _patch(
        self,
        target: list[SeatRecord],
        rows_before: dict[str, SeatRecord],
        gone: list[str],
        start: int,
        now: datetime | None,
        today: date | None,
    ) -> list[SeatRecord]:
        """Remove who left and rewrite changed cells of the rows from ``start`` on (those
        before it are unchanged); returns the rows still to add."""
        for actor in gone:
            self.remove_row(actor)
            del self._texts[actor]
        gone_set = set(gone)
        self._shown[start:] = [a for a in self._shown[start:] if a not in gone_set]
        newcomers = []
        for row in target:
            old = self._texts.get(row.actor)
            if old is None:
                newcomers.append(row)
                continue
            before = rows_before[row.actor]
            # the ledger hands an unchanged row over as the same object (store.ledger.seated)
            if row is before or unchanged_but_seat(row, before):
                continue  # its seat number may have moved: the SeatCell reads it when drawn
            if self.by_lapse and (row.state, row.expires_at) != (before.state, before.expires_at):
                self._resort = True  # confirmed, lapsed or extended: its place by lapse moved
            cells = self._cells(row, now, today)
            texts = tuple(c.plain for c in cells)
            self._texts[row.actor] = texts
            for (key, _, _), cell, new_text, old_text in zip(
                COLUMNS[1:], cells, texts, old, strict=True
            ):
                if new_text != old_text:
                    self.update_cell(row.actor, key, cell)
            if row.ref != before.ref:  # rejoined after a lapse: belongs at the end now
                self.update_cell(row.actor, "seat", SeatCell(row.actor, row.ref, self._seats))
                self._resort = True
        return newcomers

    def _append(
        self, rows: list[SeatRecord], limit: int, now: datetime | None, today: date | None
    ) -> None:
        """Add up to ``limit`` rows now and the rest over the next frames."""
        now_rows = rows[:limit]
        for row in now_rows:
            cells = self._cells(row, now, today)
            self._texts[row.actor] = tuple(c.plain for c in cells)
            self.add_row(SeatCell(row.actor, row.ref, self._seats), *cells, key=row.actor)
            self._shown.append(row.actor)
        if (now_rows or self._resort) and len(self._shown) > 1:
            self._resort = False
            in_order = [a for a in self._target if a in self._texts]
            if self._shown != in_order:
                # a refold (time travel, or the filter widening) put someone back mid-roster,
                # or the order by lapse moved a row
                place = {actor: n for n, actor in enumerate(in_order)}
                self.sort("seat", key=lambda cell: place[cell.actor])
                self._shown = in_order
        self._pending = rows[limit:]
        if self._pending:
            self._chunked = True
            self.call_after_refresh(self._append_pending)
        elif self._chunked:
            self._chunked = False
            self.post_message(self.Filled(len(self._shown)))

    def _append_pending(self) -> None:
        if self._pending and self.is_attached:
            pending, now = self._pending, self._now
            with self.app.batch_update(), self.repaint_changes():
                self._append(pending, MORE_ROWS, now, self._today(now))

    def _refresh_countdowns(self) -> None:
        now = self._now
        if now is None or not self._shown:
            return
        top = max(0, int(self.scroll_y))
        bottom = min(len(self._shown), top + self.size.height + 1)
        changed = []
        for index in range(top, bottom):
            actor = self._shown[index]
            row = self._rows[actor]
            if row.state != HELD or row.expires_at is None:
                continue
            text = badge(row, now).plain
            before = self._texts[actor]
            if text != before[0]:
                self._texts[actor] = (text, *before[1:])
                changed.append(index)
        for index in changed:
            # only these rows are drawn again, from the table's cached drawing with the
            # countdown written over it (render_line); nothing else is re-rendered
            self.refresh_row(index)

    def _live_state(self, actor: str) -> str | None:
        """The countdown a live hold's state cell shows now (None: not a ticking hold)."""
        row = self._rows.get(actor)
        now = self._now
        if (
            self._ticking
            and now is not None
            and row is not None
            and row.state == HELD
            and row.expires_at is not None
        ):
            # asked for every line in view at each repaint: worked out once per row and moment
            memo = self._countdowns
            if memo[0] is not now:
                memo = self._countdowns = (now, {})
            text = memo[1].get(row)
            if text is None:
                text = memo[1][row] = badge(row, now).plain
            return text
        return None

    def row_drawing_key(self, index: int) -> Hashable | None:
        """A row's drawing is decided by its actor, its cell texts and its seat block.

        The state cell of a live hold is left out: its countdown is written over
        the kept line (``render_line``), so neither a tick nor a commit a second
        later draws a held row again.
        """
        if index >= len(self._shown):
            return None
        actor = self._shown[index]
        texts = self._texts.get(actor)
        if texts and self._live_state(actor) is not None:
            texts = texts[1:]
        return (actor, texts, self._seats.get(actor))

    def line_extra(self, index: int) -> Hashable | None:
        """A live hold's countdown, written over its kept line (a tick draws no row again)."""
        return self._live_state(self._shown[index]) if index < len(self._shown) else None

    def overlay(self, strip: Strip, extra: Any) -> Strip:
        return self._with_state(strip, extra)

    def _with_state(self, strip: Strip, text: str) -> Strip:
        """``strip`` with the state column's text replaced by ``text`` (same styles)."""
        start = 0
        for column in self.ordered_columns:
            width = column.get_render_width(self)
            if column.key.value == "state":
                break
            start += width
        else:
            return strip
        left = start - int(self.scroll_x)
        right = left + width
        length = strip.cell_length
        if right <= 0 or left >= length:
            return strip  # scrolled out of view
        drawn = list(strip.crop(max(0, left), min(length, right)))
        if not drawn:
            return strip
        pad_style = drawn[0].style
        text_style = next((s.style for s in drawn if s.text.strip()), pad_style)
        padding = self.cell_padding
        content = width - 2 * padding
        shown = set_cell_size(text, min(cell_len(text), content))
        cell = Strip(
            [
                Segment(" " * padding, pad_style),
                Segment(shown, text_style),
                Segment(" " * (content - cell_len(shown) + padding), pad_style),
            ]
        ).crop(max(0, -left), min(width, length - left))
        return Strip.join(
            [strip.crop(0, max(0, left)), cell, strip.crop(min(length, right), length)]
        )
