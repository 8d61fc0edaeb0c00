"""The house: every occurrence with a capacity bar, seats left and its state in words."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, tzinfo
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from store.ledger.outcomes import OccurrenceRecord
from store.ledger.views import OccurrenceView
from tui.cli.safe_text import printable
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


def availability(record: OccurrenceRecord) -> Text:
    """Seats left, or SOLD OUT / OVER CAPACITY in words (capacity lowered below the seated)."""
    if record.occupied > record.capacity:
        return Text(f"OVER CAPACITY +{record.occupied - record.capacity}", style="bold red")
    if record.seats_left == 0:
        return Text("SOLD OUT", style="bold magenta")
    return Text(f"{record.seats_left}/{record.capacity} left")


class _WhenCell(Text):
    """A curtain time that carries the row's sort key, so the list re-sorts in place."""

    sort_key: tuple[str, str]


COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("when", "When", 12),
    ("show", "Show", 14),
    ("seats", "Seats", BAR_WIDTH),
    ("left", "Left", 16),
)


class OccurrenceTable(DataTable[Any]):
    """Every occurrence (its view without rows), updated row by row as streams advance."""

    def __init__(self, *, tz: tzinfo | None = None, **kwargs: Any) -> None:
        super().__init__(cursor_type="row", **kwargs)
        self.tz = tz
        self.lines: dict[str, OccurrenceView] = {}
        self._cells: dict[str, tuple[str, ...]] = {}

    def on_mount(self) -> None:
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    @property
    def selected_key(self) -> str | None:
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value

    def _cells_of(self, line: OccurrenceView) -> tuple[Text, ...]:
        record = line.record
        when_cell = _WhenCell(when(record.starts_at, self.tz))
        when_cell.sort_key = (record.starts_at or "~", record.key)
        title = Text(printable(record.title or record.key), no_wrap=True, overflow="ellipsis")
        return (when_cell, title, capacity_bar(record), availability(record))

    def upsert(self, lines: list[OccurrenceView]) -> None:
        """Add new occurrences and rewrite only the cells that changed."""
        keep = self.selected_key
        added = False
        with self.app.batch_update():
            for line in lines:
                key = line.record.key
                cells = self._cells_of(line)
                texts = tuple(c.plain for c in cells)
                before = self._cells.get(key)
                self.lines[key] = line
                if before is None:
                    self.add_row(*cells, key=key)
                    added = True
                elif before != texts:
                    for (column, _, _), old, cell in zip(COLUMNS, before, cells, strict=True):
                        if old != cell.plain:
                            self.update_cell(key, column, cell)
                self._cells[key] = texts
            if added:
                self.sort("when", key=lambda cell: cell.sort_key)
                if keep is not None:
                    self.move_cursor(row=self.get_row_index(keep), scroll=False)

    def due(self, now: datetime) -> set[str]:
        """Occurrences with a hold that has lapsed since they were read (to read again)."""
        keys = {k for k, line in self.lines.items() if line.next_expiry and line.next_expiry <= now}
        for key in keys:
            self.lines[key] = replace(self.lines[key], next_expiry=None)
        return keys
