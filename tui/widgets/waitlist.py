"""The waiting list of the selected occurrence: who is offered seats now, then who waits.

An offer is a hold the fold derived for the first waiter that fits freed seats
(SPEC §4.5), so the offered parties are on the roster, not on the list; the
operator calling them still needs them here, on top, with the countdown of their
offer, and below them the waiting parties in order with how long each has waited.
Rows are keyed by actor and diffed in place like the roster's, and the clock
cells (countdown, waited for) make their text when drawn, so time passing
rewrites no cell.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text
from textual.content import Content
from textual.widgets import DataTable

from store.ledger.outcomes import SeatRecord, WaiterRecord
from store.ledger.views import OccurrenceView
from tui.cli.safe_text import printable
from tui.widgets.cells import FixedCell, LiveCell
from tui.widgets.timefmt import countdown
from tui.widgets.titles import set_border_title

OFFERED_GLYPH, WAITING_GLYPH = "✉", "…"

COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("pos", "#", 3),  # the place in the list; offered parties have left it
    ("state", "State", 15),  # second, like the roster's, so 80 columns show it
    ("actor", "Party", 20),
    ("seats", "Seats", 5),
    ("waited", "Waited", 6),
    ("ref", "Ref", 5),
    ("note", "Note", 16),
)


def waited_for(delta: timedelta) -> str:
    """How long a party has waited, at a glance: ``45s``, ``12m``, ``1h05``, ``2d03h``."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def offered_badge(expires_at: datetime | None, now: datetime | None) -> Text:
    """``✉ OFFERED 9:41``: a glyph and a word besides the colour, so it never reads as held."""
    if expires_at is None or now is None:
        return Text(f"{OFFERED_GLYPH} OFFERED", style="bold cyan")
    return Text(f"{OFFERED_GLYPH} OFFERED {countdown(expires_at - now)}", style="bold cyan")


WAITING_BADGE = Text(f"{WAITING_GLYPH} WAITING", style="dim")

#: Rows added before the first frame (more than any screen shows), then per frame.
FIRST_ROWS, MORE_ROWS = 300, 1000


@dataclass(frozen=True, slots=True)
class ListLine:
    """One line of the pane: an offered party (position None) or a waiting one."""

    actor: str
    position: int | None
    seats: int
    ref: int
    since: datetime | None  # joined the list (waiting) or was offered (offered)
    expires_at: datetime | None
    note: str | None

    @property
    def offered(self) -> bool:
        return self.position is None

    @property
    def order(self) -> tuple[int, int]:
        """Offered parties first, then the list in its order (a later ``wait``, a later ref)."""
        return (0 if self.position is None else 1, self.ref)

    @property
    def cells_key(self) -> tuple[object, ...]:
        """What the cells show besides the position (which is read when drawn)."""
        return (self.offered, self.seats, self.ref, self.since, self.expires_at, self.note)


def list_lines(rows: tuple[SeatRecord, ...], waiters: tuple[WaiterRecord, ...]) -> list[ListLine]:
    """The pane's lines from a view: the roster's live offers, then the waiting list."""
    offered = [
        ListLine(r.actor, None, r.seats, r.ref, r.joined_at, r.expires_at, r.note)
        for r in rows
        if r.offered and r.state == "held"
    ]
    offered.sort(key=lambda line: line.ref)
    waiting = [
        ListLine(w.actor, w.position, w.seats, w.ref, w.joined_at, None, w.note) for w in waiters
    ]
    return offered + waiting


class _PositionCell:
    """The place in the list, looked up when drawn: one party leaving renumbers all behind it,
    and rewriting every cell for that would cost the list. It carries the line's order so
    the table re-sorts in place."""

    __slots__ = ("actor", "order", "positions")

    def __init__(self, line: ListLine, positions: dict[str, int | None]) -> None:
        self.actor = line.actor
        self.order = line.order
        self.positions = positions

    @property
    def plain(self) -> str:
        position = self.positions.get(self.actor)
        return "—" if position is None else str(position)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Text(self.plain, justify="right")


class WaitlistTable(DataTable[Any]):
    """Offered parties with their countdown, then the waiting list with how long each waited."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self._lines: dict[str, ListLine] = {}
        self._texts: dict[str, tuple[str, ...]] = {}
        self._shown: list[str] = []  # actors in row order
        self._positions: dict[str, int | None] = {}  # read by every position cell as drawn
        self._pending: list[ListLine] = []  # lines still to be added, in list order
        self._now: datetime | None = None
        self.live = True

    def on_mount(self) -> None:
        self.border_title = Content("Waiting list")
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    # -- what is shown ------------------------------------------------------------

    @property
    def shown_actors(self) -> list[str]:
        return list(self._shown)

    def line_of(self, actor: str) -> ListLine | None:
        return self._lines.get(actor)

    @property
    def selected_line(self) -> ListLine | None:
        if not self._shown:
            return None
        row = min(max(self.cursor_row, 0), len(self._shown) - 1)
        return self._lines[self._shown[row]]

    @property
    def waiting(self) -> int:
        return sum(1 for line in self._lines.values() if not line.offered)

    def text_of(self, actor: str) -> tuple[str, ...]:
        """What the row's cells say now (for tests and the snapshot's reader)."""
        return tuple(str(cell.plain) for cell in self.get_row(actor))

    def reset(self) -> None:
        """Forget everything (another occurrence was selected); its read is on the way."""
        self._lines, self._texts, self._shown, self._pending = {}, {}, [], []
        self._positions.clear()
        self.border_title = Content("Waiting list")
        self.clear()

    # -- updates ------------------------------------------------------------------

    def show_view(self, view: OccurrenceView, now: datetime | None, *, live: bool = True) -> None:
        """An occurrence's offered and waiting parties, and the pane's title in numbers."""
        lines = list_lines(view.rows, view.waiters)
        self.show(lines, now, live=live)
        record, offered = view.record, sum(1 for line in lines if line.offered)
        set_border_title(
            self,
            Content.assemble(
                ("Waiting ", "bold"),
                f"{record.waiting} ({record.waiting_seats} seats) · ",
                ("Offered ", "bold"),
                str(offered),
            ),
        )

    def show(self, lines: list[ListLine], now: datetime | None, *, live: bool = True) -> None:
        """Make the table show ``lines``, patching only what changed; the cursor keeps its party.

        A long list goes in a screenful first and the rest between frames, like the
        event log, so opening it never freezes the screen.
        """
        self._now, self.live = now, live
        keep = self.selected_line.actor if self.selected_line else None
        wanted = {line.actor: line for line in lines}
        self._positions.clear()
        self._positions.update((line.actor, line.position) for line in lines)
        limit = FIRST_ROWS if not self._shown else MORE_ROWS
        with self.app.batch_update():
            for actor in [a for a in self._shown if a not in wanted]:
                self.remove_row(actor)
                del self._texts[actor]
            self._shown = [a for a in self._shown if a in wanted]
            pending: list[ListLine] = []
            for line in lines:
                old = self._texts.get(line.actor)
                if old is None:
                    if len(pending) or limit <= 0:
                        pending.append(line)  # keeps list order: added over the next frames
                    else:
                        self._add(line)
                        limit -= 1
                    continue
                before_line = self._lines[line.actor]
                if before_line.cells_key == line.cells_key:
                    continue  # unchanged but maybe its place: read when drawn, nothing to rewrite
                cells = self._cells(line)
                texts = tuple(c.plain for c in cells)
                for (key, _, _), cell, new, before in zip(
                    COLUMNS[1:], cells[1:], texts[1:], old[1:], strict=True
                ):
                    if new != before:
                        self.update_cell(line.actor, key, cell)
                if before_line.order != line.order:
                    self.update_cell(line.actor, "pos", cells[0])  # offered: sorts first
                self._texts[line.actor] = texts
            self._lines = wanted
            self._pending = pending
            self._keep_order()
            if keep in self._texts:
                index = self._shown.index(keep)
                if index != self.cursor_row:
                    self.move_cursor(row=index, scroll=False)
        if pending:
            self.call_after_refresh(self._add_pending)

    def _add(self, line: ListLine) -> None:
        cells = self._cells(line)
        self.add_row(*cells, key=line.actor)
        self._texts[line.actor] = tuple(c.plain for c in cells)
        self._shown.append(line.actor)

    def _add_pending(self) -> None:
        if not self._pending or not self.is_attached:
            return
        now_lines, self._pending = self._pending[:MORE_ROWS], self._pending[MORE_ROWS:]
        with self.app.batch_update():
            for line in now_lines:
                if line.actor not in self._texts and self._lines.get(line.actor) == line:
                    self._add(line)
            self._keep_order()
        if self._pending:
            self.call_after_refresh(self._add_pending)

    def _keep_order(self) -> None:
        """Re-sort when the rows are out of the list's order (an offer moves a party up)."""
        order = [a for a in self._lines if a in self._texts]
        if self._shown != order:
            self.sort("pos", key=lambda cell: cell.order)
            self._shown = order

    @property
    def filling(self) -> bool:
        """Whether lines of the last update are still being added."""
        return bool(self._pending)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if self.live and self._now is not None and round(old_value) != round(new_value):
            self.tick(self._now)

    def tick(self, now: datetime) -> None:
        """Advance the countdowns and the waited-for times (only rows whose text moved redraw)."""
        if not self.live:
            return
        self._now = now
        changed = []
        top = max(0, int(self.scroll_y))
        bottom = min(len(self._shown), top + self.size.height + 1)
        for index in range(top, bottom):  # rows out of view are brought up to date when drawn
            actor = self._shown[index]
            line = self._lines[actor]
            before = self._texts[actor]
            texts = (before[0], self._state(line).plain, *before[2:4], self._waited(line).plain)
            texts = (*texts, *before[5:])
            if texts != before:
                self._texts[actor] = texts
                changed.append(index)
        if changed:
            self.notify_style_update()  # the live cells are drawn afresh, not rewritten
            for index in changed:
                self.refresh_row(index)

    # -- cells ----------------------------------------------------------------------

    def _cells(self, line: ListLine) -> list[Any]:
        return [
            _PositionCell(line, self._positions),
            LiveCell(partial(self._state, line)),
            FixedCell(Text(printable(line.actor), no_wrap=True, overflow="ellipsis")),
            FixedCell(Text(str(line.seats), justify="right")),
            LiveCell(partial(self._waited, line)),
            FixedCell(Text(f"#{line.ref}", style="dim")),
            FixedCell(Text(printable(line.note or ""), no_wrap=True, overflow="ellipsis")),
        ]

    def _state(self, line: ListLine) -> Text:
        return offered_badge(line.expires_at, self._now) if line.offered else WAITING_BADGE

    def _waited(self, line: ListLine) -> Text:
        if line.offered or line.since is None or self._now is None:
            return Text("—", style="dim")
        return Text(waited_for(self._now - line.since))
