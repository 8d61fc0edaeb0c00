"""What the live tables repaint themselves instead of asking Textual for a layout or a
whole repaint: a new height's scrollbar, a changed border title.

Textual lays out the whole screen whenever a widget's scrollable size changes; when
only the number of rows moved (``height_only``: no scrollbar comes or goes), the tables
here set the height without one and tell the scrollbar themselves (``follow_height``).
The bar is repainted only if its thumb is drawn differently: a row more or less on a
long roster rarely moves the thumb by a glyph, and each repaint of the bar was a frame
of its own (about a third of a commit's CPU on a 10,000-seat night).
"""

from __future__ import annotations

from math import ceil
from typing import Any

from textual.geometry import Region, Size
from textual.scrollbar import ScrollBar
from textual.widget import Widget


def height_only(widget: Widget, old: Size, new: Size) -> bool:
    """Whether ``widget``'s scrollable size moving from ``old`` to ``new`` needs no layout:
    only the height moved, the widget's own height is not its content's, and no
    vertical scrollbar comes or goes."""
    height, styled = widget.container_size.height, widget.styles.height
    return (
        old.width == new.width
        and styled is not None
        and not styled.is_auto  # a table as tall as its rows is laid out again
        and widget.styles.overflow_y == "auto"
        and (old.height > height) == (new.height > height) == widget.show_vertical_scrollbar
    )


def border_lines(widget: Widget) -> list[Region]:
    """``widget``'s top and bottom border lines, where its titles are drawn, in its own
    content's coordinates (for a repaint of the titles alone)."""
    left, top = widget.content_offset
    outer_width, outer_height = widget.outer_size
    return [
        Region(-left, -top, outer_width, 1),
        Region(-left, outer_height - top - 1, outer_width, 1),
    ]


def follow_height(widget: Widget) -> None:
    """What a layout would do for ``widget``'s new height: tell the scrollbar, keep the
    scroll within the rows."""
    if widget.show_vertical_scrollbar:
        bar = widget.vertical_scrollbar
        height = widget.virtual_size.height
        if bar.window_virtual_size != height:
            before = thumb(bar)
            bar.set_reactive(ScrollBar.window_virtual_size, height)
            if thumb(bar) != before:
                bar.refresh()
    widget.scroll_y = widget.validate_scroll_y(widget.scroll_y)


def thumb(bar: ScrollBar) -> list[Any]:
    """The segments ``bar`` draws at its sizes and position now (its colours left out)."""
    virtual, window = bar.window_virtual_size, bar.window_size
    drawn = bar.renderer.render_bar(
        size=bar.size.height,
        virtual_size=ceil(virtual),
        window_size=ceil(window if window < virtual else 0),
        position=bar.position,
        vertical=bar.vertical,
    )
    return list(drawn.segments)
