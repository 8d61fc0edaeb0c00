"""The house: every occurrence with a capacity bar, seats left and its state in words."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Hashable
from dataclasses import replace
from datetime import datetime, timedelta, tzinfo
from typing import Any

from rich.text import Text
from textual.coordinate import Coordinate
from textual.widgets.data_table import CellDoesNotExist

from store.ledger.outcomes import OccurrenceRecord
from store.ledger.views import OccurrenceView
from tui.cli.safe_text import printable
from tui.widgets.kept_lines import KeptLinesTable
from tui.widgets.timefmt import when

BAR_WIDTH = 10
CONFIRMED_GLYPH, HELD_GLYPH, FREE_GLYPH = "█", "▒", "·"


def _split(width: int, parts: list[int]) -> list[int]:
    """Share ``width`` cells among ``parts`` in proportion; a nonzero part gets at least one."""
    total = sum(parts)
    cells = [max(1, round(p * width / total)) if p else 0 for p in parts]
    while sum(cells) > width:
        widest = max(range(len(cells)), key=lambda i: cells[i])
        cells[widest] -= 1
    while sum(cells) < width:
        cells[max(range(len(parts)), key=lambda i: parts[i])] += 1
    return cells


def capacity_bar(record: OccurrenceRecord, width: int = BAR_WIDTH) -> Text:
    """Confirmed ``█``, held ``▒`` and free ``·`` seats, scaled to ``width`` cells.

    Glyphs differ as well as colours. Each kind present shows at least one
    cell (one free seat in a thousand still shows a ``·``), and a sold-out
    house shows none.
    """
    parts = [record.confirmed, record.held, record.seats_left]
    if sum(parts) == 0:  # capacity 0 and nobody seated: no seats to draw
        return Text("—".center(width), style="dim")
    confirmed, held, free = _split(width, parts)
    bar = Text()
    bar.append(CONFIRMED_GLYPH * confirmed, style="green")
    bar.append(HELD_GLYPH * held, style="yellow")
    bar.append(FREE_GLYPH * free, style="dim")
    return bar


def availability(record: OccurrenceRecord, *, compact: bool = False) -> Text:
    """Seats left, or SOLD OUT / OVER CAPACITY in words (capacity lowered below the seated).

    With parties on the waiting list it says how many: ``SOLD OUT · 12 waiting``
    (``compact``, for the narrow house: ``FULL · 12 waiting``).
    """
    over = record.occupied - record.capacity
    if not record.waiting:
        if over > 0:
            return Text(f"OVER CAPACITY +{over}", style="bold red")
        if record.seats_left == 0:
            return Text("SOLD OUT", style="bold magenta")
        return Text(f"{record.seats_left}/{record.capacity} left")
    if over > 0:
        text = Text(f"OVER +{over}", style="bold red")
    elif record.seats_left == 0:
        text = Text("FULL" if compact else "SOLD OUT", style="bold magenta")
    else:  # seats free, but too few for any party waiting
        text = Text(f"{record.seats_left}/{record.capacity}" + ("" if compact else " left"))
    text.append(f" · {record.waiting} waiting", style="bold")
    return text


class _ShowCell(Text):
    """A show's name that carries the row's sort key (curtain time), so the list re-sorts in
    place whichever columns are shown."""

    sort_key: tuple[str, str]


#: Columns by layout: (key, label, width); width 0 takes what the others leave.
LAYOUTS: dict[str, tuple[tuple[str, str, int], ...]] = {
    "narrow": (("show", "Show", 0), ("left", "Left", 12)),
    "normal": (
        ("when", "When", 12),
        ("show", "Show", 0),
        ("seats", "Seats", BAR_WIDTH),
        ("left", "Left", 14),
    ),
}
#: Below this many cells inside its border the house drops the curtain time and the bar.
NARROW_BELOW = 50
#: The "left" column's width while some occurrence has a waiting list (narrow, normal).
WAITING_LEFT = {"narrow": 17, "normal": 22}
MIN_SHOW = 10


def show_cell(record: OccurrenceRecord, *, clock_ahead: bool = False) -> _ShowCell:
    """``DEMO`` first (never cut off), then the title, then the key the CLI needs, dimmed.

    ``clock_ahead``: its recorded times run ahead of now (a terminal's clock ran
    ahead, so every hold lapsed at that time): ``CLOCK AHEAD`` comes before all.
    """
    cell = _ShowCell(no_wrap=True, overflow="ellipsis")
    if clock_ahead:
        cell.append("CLOCK AHEAD ", style="bold red")
    if record.demo:
        cell.append("DEMO ", style="bold magenta")
    if record.archived:
        cell.append("ARCHIVED ", style="bold")
    if record.title:
        cell.append(printable(record.title))
        cell.append(f" {printable(record.key)}", style="dim")
    else:
        cell.append(printable(record.key))
    return cell


class OccurrenceTable(KeptLinesTable):
    """Every occurrence (its view without rows), updated row by row as streams advance.

    The columns follow the table's width: a narrow house (an 80-column
    terminal) shows the name and the seats left; a wider one adds the curtain
    time and the capacity bar, and the name takes whatever width is left.

    Archived occurrences (a finished run, last week's racer demos) are kept out
    of the list unless ``show_archived`` is set; ``lines`` holds the shown ones,
    ``hidden`` the rest, so a toggle needs no read.

    A commit rewrites one line's seats; its other lines are kept drawings
    (``KeptLinesTable``), keyed by their cells' texts.
    """

    def __init__(
        self,
        *,
        tz: tzinfo | None = None,
        now: Callable[[], datetime] | None = None,
        **kwargs: Any,
    ) -> None:
        """``now``: the app's clock, to mark recorded times that run ahead of it."""
        super().__init__(cursor_type="row", **kwargs)
        self.tz = tz
        self.now = now
        self.lines: dict[str, OccurrenceView] = {}
        self.hidden: dict[str, OccurrenceView] = {}  # archived, while they are not shown
        self.show_archived = False
        self._cells: dict[str, tuple[str, ...]] = {}
        self.columns_shown: tuple[tuple[str, str, int], ...] = ()
        self.narrow = False

    def on_resize(self) -> None:
        self._lay_out()

    def row_drawing_key(self, index: int) -> Hashable | None:
        """A line's drawing is decided by its occurrence and its cells' texts (styles follow
        from the words: ``SOLD OUT``, ``DEMO``, the bar's glyphs)."""
        try:
            key = self.coordinate_to_cell_key(Coordinate(index, 0)).row_key.value
        except CellDoesNotExist:  # no columns yet (being laid out again)
            return None
        return (key, self._cells.get(key)) if key is not None else None

    def _lay_out(self) -> None:
        """Choose the columns for the width there is; rebuild the rows if they changed."""
        inner = self.scrollable_content_region.width or self.size.width
        self.narrow = 0 < inner < NARROW_BELOW
        name = "narrow" if self.narrow else "normal"
        layout = LAYOUTS[name]
        if any(line.record.waiting for line in self.lines.values()):  # room for "· 12 waiting"
            layout = tuple((k, lb, WAITING_LEFT[name] if k == "left" else w) for k, lb, w in layout)
        fixed = sum(width + 2 * self.cell_padding for _, _, width in layout)
        show = max(MIN_SHOW, inner - fixed - 2 * self.cell_padding - 1) if inner else 20
        columns = tuple((k, label, width or show) for k, label, width in layout)
        if columns == self.columns_shown:
            return
        keep = self.selected_key
        self.clear(columns=True)
        self.columns_shown = columns
        for key, label, width in columns:
            self.add_column(label, key=key, width=width)
        self._cells = {}
        lines, self.lines = list(self.lines.values()), {}
        self.upsert(lines, keep=keep)

    @property
    def selected_key(self) -> str | None:
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value

    def _cells_of(self, line: OccurrenceView) -> tuple[Text, ...]:
        record = line.record
        ahead = self.now is not None and line.recorded_ahead_of(self.now())
        show = show_cell(record, clock_ahead=ahead)
        show.sort_key = (record.starts_at or "~", record.key)
        cells = {
            "when": Text(when(record.starts_at, self.tz)),
            "show": show,
            "seats": capacity_bar(record),
            "left": availability(record, compact=self.narrow),
        }
        return tuple(cells[key] for key, _, _ in self.columns_shown)

    def set_show_archived(self, show: bool) -> None:
        """Show archived occurrences (marked ``ARCHIVED``) or keep them out of the list."""
        if show == self.show_archived:
            return
        self.show_archived = show
        self.upsert([*self.lines.values(), *self.hidden.values()])

    def lapsing_within(self, now: datetime, soon: timedelta) -> int:
        """Holds lapsing within ``soon`` of ``now`` in every occurrence shown (no roster read)."""
        until = now + soon
        return sum(
            bisect_right(line.expiries, until) - bisect_right(line.expiries, now)
            for line in self.lines.values()
        )

    def upsert(self, lines: list[OccurrenceView], *, keep: str | None = None) -> None:
        """Add new occurrences and rewrite only the cells that changed."""
        if not self.columns_shown:
            self._lay_out()
        keep = keep or self.selected_key
        added = False
        with self.app.batch_update():
            with self.repaint_changes():
                for line in lines:
                    key = line.record.key
                    if line.record.archived and not self.show_archived:
                        self.hidden[key] = line
                        if self.lines.pop(key, None) is not None:
                            self.remove_row(key)
                            del self._cells[key]
                        continue
                    self.hidden.pop(key, None)
                    cells = self._cells_of(line)
                    texts = tuple(c.plain for c in cells)
                    before = self._cells.get(key)
                    self.lines[key] = line
                    if before is None:
                        self.add_row(*cells, key=key)
                        added = True
                    elif before != texts:
                        columns = self.columns_shown
                        for (column, _, _), old, cell in zip(columns, before, cells, strict=True):
                            if old != cell.plain:
                                self.update_cell(key, column, cell)
                    self._cells[key] = texts
            if added:
                self.sort("show", key=lambda cell: cell.sort_key)
                if keep is not None and keep in self.lines:
                    self.move_cursor(row=self.get_row_index(keep), scroll=False)
        left = dict((k, w) for k, _, w in self.columns_shown).get("left")
        waiting = any(line.record.waiting for line in self.lines.values())
        if waiting != (left in WAITING_LEFT.values()):
            self._lay_out()  # a waiting list came or went: widen or narrow "left" (rare)

    def due(self, now: datetime) -> set[str]:
        """Occurrences with a hold that has lapsed since they were read (to read again)."""
        keys = {k for k, line in self.lines.items() if line.next_expiry and line.next_expiry <= now}
        for key in keys:
            self.lines[key] = replace(self.lines[key], next_expiry=None)
        return keys
