"""A table of fixed-width columns drawn a line at a time: a line out of view is never drawn,
a line in view only when what it shows changes.

A DataTable keeps a Row object per row and, after every row added or removed, rebuilds
its list of rows in order, its per-line row offsets and (on a removal) its whole row
index. On a 10,000-seat night that was about 60 % of the app's CPU per commit (a cProfile
of 30 commits, 2026-12-08), none of it reachable through DataTable's public API. Here the
subclass owns its rows (``row_count``, ``row_drawing_key``, ``row_cells``); the table asks
for the rows in view only, keeps each drawn line by what decides it (``LRUCache``), and
after a change (``rows_changed``) repaints just the lines in view whose key moved.

A row more or less changes only the scrollable height, which in Textual asks for a layout
of the whole screen; when no scrollbar comes or goes and the table's height is not its
rows', the height is set without one and the scrollbar is told directly.

The look is DataTable's (the same component styles, zebra stripes, a row cursor, a header
that stays put), so the roster reads like every other table in the app.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar, Self

from rich.console import JustifyMethod
from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.renderables.styled import Styled
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from tui.widgets.column_fit import elastic_width
from tui.widgets.repaint_parts import border_lines, follow_height, height_only

#: Drawn lines kept (a few screenfuls, scrolled back and forth, in two stripes).
KEPT_LINES = 2000
PADDING = 1  # each side of a cell, as a DataTable's


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    label: str
    width: int  # the cell's text width; the drawn width adds 2 * PADDING
    justify: JustifyMethod = "left"


class LineTable(ScrollView, can_focus=True):
    """Rows of fixed-width cells under a header; the subclass says what the rows are."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "line-table--header",
        "line-table--cursor",
        "line-table--even-row",
        "line-table--odd-row",
        "line-table--hover",
    }
    DEFAULT_CSS = """
    LineTable {
        background: $surface;
        color: $foreground;
        height: auto;
        max-height: 100%;
        &:focus {
            background-tint: $foreground 5%;
            & > .line-table--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
            & > .line-table--header {
                background-tint: $foreground 5%;
            }
        }
        &:dark > .line-table--even-row {
            background: $surface-darken-1 40%;
        }
        & > .line-table--header {
            text-style: bold;
            background: $panel;
            color: $foreground;
        }
        &:ansi > .line-table--header {
            background: ansi_bright_blue;
            color: ansi_default;
        }
        & > .line-table--even-row {
            background: $surface-lighten-1 50%;
        }
        & > .line-table--hover {
            background: $block-hover-background;
        }
        & > .line-table--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "select_cursor", "Select", show=False),
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("pageup", "cursor_page_up", "Page up", show=False),
        Binding("pagedown", "cursor_page_down", "Page down", show=False),
        Binding("home,ctrl+home", "cursor_first", "First", show=False),
        Binding("end,ctrl+end", "cursor_last", "Last", show=False),
        Binding("left", "scroll_left", "Left", show=False),
        Binding("right", "scroll_right", "Right", show=False),
    ]

    #: the header's lines (it stays put while the rows scroll under it)
    header_height = 1
    # class defaults: Widget refreshes before __init__ has run
    _window = False  # from a change of rows to the next frame: repaint changed lines only
    _titles_drawn: tuple[object, object] | None = None

    @dataclass
    class Selected(Message):
        """Enter on a row, or a click on the row under the cursor."""

        table: LineTable
        row: int

        @property
        def control(self) -> LineTable:
            return self.table

    def __init__(
        self, columns: Sequence[Column], *, zebra_stripes: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.columns: list[Column] = list(columns)
        self.zebra_stripes = zebra_stripes
        self._cursor = 0
        self._hover = -1  # the row under the mouse (-1: none)
        self._lines: LRUCache[tuple[Any, ...], Strip] = LRUCache(KEPT_LINES)
        self._frame: tuple[Any, ...] = ()
        self._drawn: dict[int, tuple[Any, ...]] = {}  # what each line in view shows
        self._styles: dict[str, Style] = {}

    # -- what the subclass says ---------------------------------------------------------

    @property
    def row_count(self) -> int:
        return 0

    def row_drawing_key(self, index: int) -> Hashable:
        """Everything row ``index``'s drawing depends on besides the frame (equal keys,
        equal lines)."""
        raise NotImplementedError

    def row_cells(self, index: int) -> Sequence[Text]:
        """Row ``index``'s cells, one per column."""
        raise NotImplementedError

    def frame_extra(self) -> Hashable:
        """What every row's drawing depends on besides the table's own frame."""
        return None

    # A row is one line unless the subclass says otherwise (the log's derived offers
    # are two); these four must then agree with each other.

    @property
    def line_count(self) -> int:
        """Lines of all the rows."""
        return self.row_count

    def row_at_line(self, line: int) -> tuple[int, int]:
        """The row on ``line`` (counted from the first row's) and the line within it."""
        return line, 0

    def row_start(self, index: int) -> int:
        """The line row ``index`` starts on."""
        return index

    def row_height(self, index: int) -> int:
        return 1

    # -- the cursor ---------------------------------------------------------------------

    @property
    def cursor_row(self) -> int:
        return self._cursor

    def move_cursor(self, *, row: int, scroll: bool = True) -> None:
        """Put the cursor on ``row`` (clamped to the rows); ``scroll``: bring it into view."""
        self._cursor = max(0, min(row, self.row_count - 1))
        if scroll:
            self.scroll_to_cursor()
            # and again once laid out: new rows may bring a scrollbar that narrows the view
            self.call_after_refresh(self.scroll_to_cursor)
        self.refresh_changes()

    def scroll_to_cursor(self) -> None:
        if not self.row_count:
            return
        lines_in_view = max(1, self.scrollable_content_region.height - 1)  # the header's
        top = int(self.scroll_y)
        first = self.row_start(self._cursor)
        last = first + self.row_height(self._cursor) - 1
        # forced: rows that just arrived may have no scrollbar yet (it comes with the
        # layout), and a table without one refuses to scroll
        if first < top:
            self.scroll_to(y=first, animate=False, force=True)
        elif last >= top + lines_in_view:
            self.scroll_to(y=last - lines_in_view + 1, animate=False, force=True)

    def action_select_cursor(self) -> None:
        if self.row_count:
            self.post_message(self.Selected(self, self._cursor))

    def action_cursor_up(self) -> None:
        self.move_cursor(row=self._cursor - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(row=self._cursor + 1)

    def action_cursor_page_up(self) -> None:
        self.move_cursor(row=self._cursor - max(1, self.scrollable_content_region.height - 1))

    def action_cursor_page_down(self) -> None:
        self.move_cursor(row=self._cursor + max(1, self.scrollable_content_region.height - 1))

    def action_cursor_first(self) -> None:
        self.move_cursor(row=0)

    def action_cursor_last(self) -> None:
        self.move_cursor(row=self.row_count - 1)

    def _row_at(self, event: events.MouseEvent) -> int:
        """The row under the mouse (-1: the header, a blank line or outside the rows)."""
        offset = event.get_content_offset(self)
        if offset is None or offset.y < 1:  # the header
            return -1
        line = offset.y - 1 + int(self.scroll_y)
        return self.row_at_line(line)[0] if line < self.line_count else -1

    def on_click(self, event: events.Click) -> None:
        row = self._row_at(event)
        if row < 0:
            return
        if row == self._cursor:
            self.post_message(self.Selected(self, row))  # a second click picks it, as Enter
        else:
            self.move_cursor(row=row, scroll=False)

    def on_mouse_move(self, event: events.MouseMove) -> None:
        """The row under the mouse is lit, as in every other table of the app."""
        row = self._row_at(event)
        if row != self._hover:
            self._hover = row
            self.refresh_changes()

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        self._hover = -1  # the rows moved under the mouse: lit again on its next move
        super().watch_scroll_y(old_value, new_value)

    def on_leave(self, event: events.Leave) -> None:
        if self._hover != -1:
            self._hover = -1
            self.refresh_changes()

    # -- columns ------------------------------------------------------------------------

    def column_spans(self) -> list[tuple[str, int, int]]:
        """Each column's key, where it starts and its drawn width (cells from the left edge)."""
        spans, x = [], 0
        for column in self.columns:
            width = column.width + 2 * PADDING
            spans.append((column.key, x, width))
            x += width
        return spans

    def fit_column(self, key: str, base: int) -> None:
        """Give column ``key`` (usually ``base`` wide) the view's spare width, so the column
        after it is wholly in view or wholly a scroll (→) away (``column_fit``)."""
        keys = [c.key for c in self.columns]
        if key not in keys or not self.is_mounted:
            return
        view = self.scrollable_content_region.width
        if view <= 0:
            return
        widths = [(base if c.key == key else c.width) + 2 * PADDING for c in self.columns]
        at = keys.index(key)
        wanted = elastic_width(widths, at, view) - 2 * PADDING
        if self.columns[at].width != wanted:
            self.columns[at] = replace(self.columns[at], width=wanted)
            self._lines.clear()
            self.virtual_size = Size(self._width(), self.line_count + 1)
            self.refresh()

    def _width(self) -> int:
        return sum(c.width + 2 * PADDING for c in self.columns)

    # -- after a change -----------------------------------------------------------------

    def rows_changed(self) -> None:
        """The rows changed (the subclass's list, the cursor, a countdown): set the height
        and repaint the lines in view that now show something else."""
        self._cursor = max(0, min(self._cursor, self.row_count - 1))
        new = Size(self._width(), self.line_count + 1)
        old = self.virtual_size
        if new != old:
            if self.is_mounted and height_only(self, old, new):
                self.set_reactive(Widget.virtual_size, new)
                follow_height(self)
            else:
                self.virtual_size = new
                self.refresh()
                return
        self._window = True
        self.refresh_changes()

    def refresh_changes(self) -> None:
        """Repaint the lines in view whose key differs from what they show, and the border
        if its title changed."""
        if not self.is_mounted:
            return
        frame = self.frame_key()
        width, height = self.size
        drawn = self._drawn
        changed = [
            Region(0, y, width, 1)
            for y in range(height)
            if drawn.get(y) != (self._line_key(y), frame)
        ]
        if (self.border_title, self.border_subtitle) != self._titles_drawn:
            changed += border_lines(self)
        if changed:
            super().refresh(*changed)

    def refresh(
        self, *regions: Region, repaint: bool = True, layout: bool = False, recompose: bool = False
    ) -> Self:
        """Between a change of rows and the next frame, a whole-table repaint (a new border
        title: the seated count moves with every commit) repaints only what changed.

        A title set repaints every line of a widget through Textual's border, padding and
        tint (a frame of its own per commit, for lines that did not change).
        """
        if self._window and repaint and not (regions or layout or recompose) and self.is_mounted:
            self.refresh_changes()
            return self
        return super().refresh(*regions, repaint=repaint, layout=layout, recompose=recompose)

    def notify_style_update(self) -> None:
        self._window = False  # a theme or a style changed: repaint everything
        super().notify_style_update()
        self._lines.clear()  # and every drawing is stale

    # -- drawing ------------------------------------------------------------------------

    def frame_key(self) -> tuple[Any, ...]:
        """Everything besides a row's own content that its drawing depends on."""
        return (
            tuple(self.columns),
            self.zebra_stripes,
            self.rich_style,
            self.get_pseudo_class_state(),
            self.frame_extra(),
        )

    def _line_key(self, y: int) -> Hashable:
        if y == 0:
            return ("header",)
        line = y - 1 + int(self.scroll_y)
        if line >= self.line_count:
            return ("blank",)
        index, within = self.row_at_line(line)
        return (
            self.row_drawing_key(index),
            within,
            index % 2,
            index == self._cursor,
            index == self._hover,
        )

    def render_lines(self, crop: Region) -> list[Strip]:
        """Work out the frame and the styles once for all the lines of a repaint."""
        self._window = False
        self._frame = self.frame_key()
        self._titles_drawn = (self.border_title, self.border_subtitle)
        get = self.get_component_rich_style
        self._styles = {name: get(name) for name in self.COMPONENT_CLASSES}
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        key = self._line_key(y)
        frame = self._frame or self.frame_key()
        self._drawn[y] = (key, frame)
        line = self._lines.get((key, frame))
        if line is None:
            line = self._draw(y)
            self._lines.set((key, frame), line)
        scroll_x, width = int(self.scroll_x), self.size.width
        return line.crop(scroll_x, scroll_x + width).adjust_cell_length(width, self.rich_style)

    def _draw(self, y: int) -> Strip:
        styles = self._styles or {
            name: self.get_component_rich_style(name) for name in self.COMPONENT_CLASSES
        }
        if y == 0:
            labels = [Text(c.label) for c in self.columns]
            return self._draw_cells(labels, styles["line-table--header"], Style.null(), False)
        line = y - 1 + int(self.scroll_y)
        if line >= self.line_count:
            return Strip.blank(self._width(), self.rich_style)
        index, within = self.row_at_line(line)
        if self.zebra_stripes:
            style = styles["line-table--odd-row" if index % 2 else "line-table--even-row"]
        else:
            style = self.rich_style
        if index == self._hover:
            style += styles["line-table--hover"]
        post = Style.null()
        if index == self._cursor:
            cursor = styles["line-table--cursor"]
            style += cursor
            post = Style.from_color(color=cursor.color)  # the cursor's colour over the cells'
        cells = self.row_cells(index)
        return self._draw_cells(cells, style, post, True, self.row_height(index), within)

    def _draw_cells(
        self,
        cells: Sequence[Text],
        style: Style,
        post: Style,
        justify: bool,
        height: int = 1,
        within: int = 0,
    ) -> Strip:
        """Line ``within`` of a row of ``height`` lines (a cell of one line is blank below)."""
        console = self.app.console
        options = self.app.console_options
        if height == 1:
            options = options.update(no_wrap=True)
        segments: list[Segment] = []
        for column, cell in zip(self.columns, cells, strict=True):
            width = column.width + 2 * PADDING
            if justify:  # the header's labels sit left, as a DataTable's
                cell.justify = column.justify
            lines = console.render_lines(
                Styled(Padding(cell, (0, PADDING)), pre_style=style, post_style=post),
                options.update_dimensions(width, height),
            )
            segments.extend(lines[within])
        return Strip(segments).simplify()
