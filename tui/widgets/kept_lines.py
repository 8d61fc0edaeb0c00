"""A DataTable that keeps each row's drawn line by what decides it, and repaints only lines
that changed after a change of its content.

A DataTable keeps its drawings only until anything in it changes: one cell
rewritten, a row added or removed, and every line in view is drawn again from
its cells (about 1-3 ms a row through Rich), which made each commit on a live
night cost a redraw of every row in view. (The house is such a table; the roster,
thousands of rows that change a few at a time, is drawn a line at a time instead:
``line_table``.) Here a row's line is kept by its own content (what the subclass says
decides it: the cell texts) and by everything of the frame it was drawn in
(widths, scroll, styles, focus, the cursor's type), so a commit draws again only
the rows it changed. The cursor's row is kept too (marked as the cursor's); the
mouse's row, while the mouse is over the table, is always drawn by the table.

Drawing less was not enough: the table still *repainted* itself whole (every line
through Textual's border, padding and colour filters, then composed onto the
screen) for each cell set, row added or removed and border title changed, about
10 ms a commit with nothing in view changed. After ``repaint_changes`` a whole-table
repaint asked for by the table's own changes becomes a repaint of the lines whose
key differs from the one last drawn there (and of the border, when its title
changed), until the next frame; scrolling, resizing and style changes still
repaint everything.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, Self

from textual.cache import LRUCache
from textual.coordinate import Coordinate
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey

from tui.widgets.repaint_parts import border_lines, follow_height, height_only

#: Row drawings kept (a few screenfuls, scrolled back and forth, in two stripes).
LINE_CACHE = 2000


class KeptLinesTable(DataTable[Any]):
    """A DataTable whose rows are drawn again only when ``row_drawing_key`` changes."""

    # class defaults: Widget refreshes before __init__ has run
    _window = False  # from ``repaint_changes`` to the next frame: repaint changed lines only
    _batching = False  # inside ``repaint_changes``: work out the lines when the block ends
    _repaint_pending = False  # a repaint was asked for inside the block
    _rows_only = False  # the layout just asked for is only a row count's: no layout needed
    _removing = False  # inside ``remove_row``: its layout is the virtual size's to ask for

    def __init__(self, *args: Any, kept: int = LINE_CACHE, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lines: LRUCache[tuple[Any, ...], Strip] = LRUCache(kept)
        self._frame: tuple[Any, ...] = ()
        self._drawn: dict[int, tuple[Any, ...] | None] = {}  # what each line in view shows
        self._titles_drawn: tuple[str | None, str | None] | None = None

    def row_drawing_key(self, index: int) -> Hashable | None:
        """What decides row ``index``'s drawing besides the frame; None: the table draws it.

        Overridden by each table: it must name everything the row's cells show.
        """
        return None

    def line_extra(self, index: int) -> Hashable | None:
        """Something drawn over row ``index``'s kept line (``overlay``); None: nothing."""
        return None

    def overlay(self, strip: Strip, extra: Any) -> Strip:
        """``strip`` with ``extra`` drawn over it (see ``line_extra``)."""
        return strip

    # -- drawing ---------------------------------------------------------------------

    def notify_style_update(self) -> None:
        self._window = False  # a theme or a style changed: repaint everything
        super().notify_style_update()
        self._lines.clear()  # and every drawing is stale

    def frame_key(self) -> tuple[Any, ...]:
        """Everything besides a row's own cells that its drawing depends on, as of now."""
        return (
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

    def render_lines(self, crop: Region) -> list[Strip]:
        """Note the frame once (what every line's key shares); the repaint window ends here."""
        self._window = self._rows_only = False
        self._frame = self.frame_key()
        self._titles_drawn = (self.border_title, self.border_subtitle)
        return super().render_lines(crop)

    def view_state(self) -> tuple[int, int, int, int, int]:
        """What places rows on lines, read once for a whole repaint (reactive reads cost):
        header lines, first row in view, rows, the cursor's row and the mouse's (-1: none)."""
        return (
            self.header_height if self.show_header else 0,
            int(self.scroll_y),
            self.row_count,
            self.cursor_row,
            self.hover_row if self.mouse_hover else -1,
        )

    def line_key(
        self, y: int, frame: tuple[Any, ...], view: tuple[int, int, int, int, int] | None = None
    ) -> tuple[tuple[Any, ...] | None, int | None]:
        """Everything that decides line ``y``'s drawing in ``frame`` (None: the table draws
        it), and the row on that line."""
        header, top, rows, cursor, hover = view or self.view_state()
        if y < header:
            # the header's labels and widths are in the frame; under the mouse it may be lit
            return (None if self.mouse_hover else (("header", y), frame)), None
        index = y - header + top
        if not 0 <= index < rows:  # past the last row: a blank line in the table's own style
            return (("blank",), frame), None
        if index == hover:
            return None, index
        own = self.row_drawing_key(index)
        if own is None:
            return None, index
        return ((own, index % 2, index == cursor), frame), index

    def shown_key(
        self, y: int, frame: tuple[Any, ...], view: tuple[int, int, int, int, int] | None = None
    ) -> tuple[Any, ...] | None:
        """What line ``y`` shows: its kept line's key and what is drawn over it."""
        key, index = self.line_key(y, frame, view)
        if key is None:
            return None
        return (key, self.line_extra(index) if index is not None else None)

    def render_line(self, y: int) -> Strip:
        key, index = self.line_key(y, self._frame)
        if key is None:
            self._drawn[y] = None
            return super().render_line(y)
        strip = self.kept(key, lambda: super(KeptLinesTable, self).render_line(y))
        extra = self.line_extra(index) if index is not None else None
        self._drawn[y] = (key, extra)
        if extra is None:
            return strip
        return self.kept((key, extra), lambda: self.overlay(strip, extra))

    def kept(self, key: tuple[Any, ...], draw: Callable[[], Strip]) -> Strip:
        """The drawing kept by ``key``, drawn by ``draw`` if there is none (kept with the
        rows' own, so a change of style drops both)."""
        kept = self._lines.get(key)
        if kept is None:
            kept = draw()
            self._lines.set(key, kept)
        return kept

    # -- repainting only what changed ----------------------------------------------------

    @contextmanager
    def repaint_changes(self) -> Iterator[None]:
        """Change the table's content within; only the lines that changed are repainted.

        From here until the next frame, a whole-table repaint (a cell set, a row added
        or removed, a border title) repaints the lines whose key moved; those asked for
        inside the block are worked out once, when it ends.
        """
        outer = self._batching  # a block within a block: the outer one repaints
        self._window = self._batching = True
        try:
            yield
        except BaseException:
            self._window = False
            self.refresh()
            raise
        finally:
            self._batching = outer
        if self._repaint_pending and not outer:
            self._repaint_pending = False
            self._refresh_changed_lines()

    def watch_virtual_size(self, old: Size, new: Size) -> None:
        """A row added or removed changes only the height: no layout, if the table's own
        height is not its rows' and no scrollbar comes or goes (its region stays; its
        scrollbar is told, and the lines repainted).

        The virtual size asks for a layout of the whole screen on every change, which
        arranges every widget and repaints the whole table: on a live night, for each
        row added or removed.
        """
        self._rows_only = self._window and height_only(self, old, new)

    def refresh(
        self, *regions: Region, repaint: bool = True, layout: bool = False, recompose: bool = False
    ) -> Self:
        if self._window and repaint and not (regions or recompose) and self.is_mounted:
            if layout and self._removing:
                layout = False
            elif layout and self._rows_only:
                layout = self._rows_only = False
                self._rows_changed()
            super().refresh(layout=layout, repaint=False)
            if self._batching:
                self._repaint_pending = True
            else:
                self._refresh_changed_lines()
            return self
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def watch_hover_coordinate(self, old: Coordinate, value: Coordinate) -> None:
        """The mouse's cell is repainted only while the mouse is over the table.

        Elsewhere no hover is drawn (leaving repaints it away), and each repaint of a
        cell measured the offsets of every row: after each row removed (which sets the
        hover again), about 15 ms on a 10,000-seat roster.
        """
        if self.mouse_hover:
            super().watch_hover_coordinate(old, value)

    def remove_row(self, row_key: RowKey | str) -> None:
        """The table's own layout request after a removal is dropped: the virtual size it
        moves is set once the table is idle, and asks for a layout if one is needed
        (``watch_virtual_size``)."""
        self._removing = True
        try:
            super().remove_row(row_key)
        finally:
            self._removing = False

    def _rows_changed(self) -> None:
        follow_height(self)  # the scrollbar told, the scroll kept within the rows

    def _refresh_changed_lines(self) -> None:
        """Repaint the lines in view whose key differs from what they show, and the border
        if a title changed (lines drawn by the table itself are always repainted)."""
        frame, view = self.frame_key(), self.view_state()
        width, height = self.size
        drawn = self._drawn
        changed = [
            Region(0, y, width, 1)
            for y in range(height)
            if (shown := self.shown_key(y, frame, view)) is None or drawn.get(y) != shown
        ]
        if (self.border_title, self.border_subtitle) != self._titles_drawn:
            changed += border_lines(self)
        if changed:
            super().refresh(*changed)
