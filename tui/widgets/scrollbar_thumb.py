"""Telling a scrollable widget's vertical scrollbar about a new height, without a layout.

Textual lays out the whole screen whenever a widget's scrollable size changes; when
only the number of rows moved (no scrollbar comes or goes), the tables here set the
height without one and tell the scrollbar themselves. The bar is repainted only if its
thumb is drawn differently: a row more or less on a long roster rarely moves the thumb
by a glyph, and each repaint of the bar was a frame of its own (about a third of a
commit's CPU on a 10,000-seat night).
"""

from __future__ import annotations

from math import ceil
from typing import Any

from textual.scrollbar import ScrollBar
from textual.widget import Widget


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
