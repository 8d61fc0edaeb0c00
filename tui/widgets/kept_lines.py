"""A DataTable that keeps each row's drawn line by what decides it, across the table's changes.

A DataTable keeps its drawings only until anything in it changes: one cell
rewritten, a row added or removed, and every line in view is drawn again from
its cells (about 1-3 ms a row through Rich), which made each commit on a live
night cost a redraw of every row in view, in the roster and in the house alike.
Here a row's line is kept by its own content (what the subclass says decides it:
the cell texts, a seat block) and by everything of the frame it was drawn in
(widths, scroll, styles, focus, the cursor's type), so a commit draws again only
the rows it changed. The cursor's row is kept too (marked as the cursor's); the
mouse's row, while the mouse is over the table, is always drawn by the table.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from textual.cache import LRUCache
from textual.geometry import Region
from textual.strip import Strip
from textual.widgets import DataTable

#: Row drawings kept (a few screenfuls, scrolled back and forth, in two stripes).
LINE_CACHE = 2000


class KeptLinesTable(DataTable[Any]):
    """A DataTable whose rows are drawn again only when ``row_drawing_key`` changes."""

    def __init__(self, *args: Any, kept: int = LINE_CACHE, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lines: LRUCache[tuple[Any, ...], Strip] = LRUCache(kept)
        self._frame: tuple[Any, ...] = ()
        self._styles_changed = True  # False while the table's own drawings alone are dropped

    def row_drawing_key(self, index: int) -> Hashable | None:
        """What decides row ``index``'s drawing besides the frame; None: the table draws it.

        Overridden by each table: it must name everything the row's cells show.
        """
        return None

    def drop_table_drawings(self) -> None:
        """Make the table draw its cells again on the next frame, keeping the kept lines.

        For a change the table cannot see (a cell that reads its text when drawn):
        the kept lines are keyed by that text already, so only rows whose key moved
        are drawn again.
        """
        self._styles_changed = False
        try:
            self.notify_style_update()
        finally:
            self._styles_changed = True

    def notify_style_update(self) -> None:
        super().notify_style_update()
        if self._styles_changed:
            self._lines.clear()  # a theme or a style changed: every drawing is stale

    def render_lines(self, crop: Region) -> list[Strip]:
        """Note, once a frame, everything besides a row's own cells that its drawing depends on."""
        self._frame = (
            int(self.scroll_x),
            self.size.width,
            self.rich_style,
            self.get_pseudo_class_state(),
            tuple(column.get_render_width(self) for column in self.ordered_columns),
            self.cursor_type,
            self.show_cursor,
            self.zebra_stripes,
            self.show_header,
            self.header_height,
        )
        return super().render_lines(crop)

    def row_index_at(self, y: int) -> int | None:
        """The row drawn on line ``y`` of the view (None: the header, or past the last row)."""
        header = self.header_height if self.show_header else 0
        index = y - header + int(self.scroll_y)
        if y < header or not 0 <= index < self.row_count:
            return None
        return index

    def render_line(self, y: int) -> Strip:
        header = self.header_height if self.show_header else 0
        if y < header:
            # the header's labels and widths are in the frame; under the mouse it may be lit
            key: Hashable | None = None if self.mouse_hover else ("header", y)
        else:
            index = self.row_index_at(y)
            key = None
            if index is not None and not (self.mouse_hover and index == self.hover_row):
                own = self.row_drawing_key(index)
                if own is not None:
                    key = (own, index % 2, index == self.cursor_row)
        if key is None:
            return super().render_line(y)
        full = (key, self._frame)
        kept = self._lines.get(full)
        if kept is None:
            kept = super().render_line(y)
            self._lines.set(full, kept)
        return kept
