"""Columns that end at the view's edge: one column takes the spare width, none shows a sliver.

A table of fixed-width columns scrolled sideways (→) almost never ends where the
view does: at 142 columns the roster showed its Note and then one character of
Joined ("J", "1"), and from 141 to 153 columns a stub of it, which reads as a
broken column. Here the free-text column (the note) is widened by the spare
width, so the column after it starts exactly at the edge: it is wholly in view or
wholly a → away. Only widths change, never which columns exist or their order.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from textual.geometry import Size
from textual.widgets import DataTable


def elastic_width(widths: Sequence[int], elastic: int, view: int) -> int:
    """The width column ``elastic`` should have so no later column is cut by ``view``.

    ``widths`` are every column's drawn widths (padding included) at their usual size.
    A column cut already before the elastic one ends (a narrow terminal) keeps it as is.
    """
    base = widths[elastic]
    end = sum(widths[:elastic]) + base
    if end > view:
        return base
    for width in widths[elastic + 1 :]:
        if end + width > view:
            break
        end += width
    return base + view - end


def fit_columns(table: DataTable[Any], elastic: str, base: int) -> None:
    """Give ``table``'s column ``elastic`` (usually ``base`` wide) the view's spare width."""
    column = next((c for c in table.ordered_columns if c.key.value == elastic), None)
    if column is None:
        return
    keys = [c.key.value for c in table.ordered_columns]
    padding = 2 * table.cell_padding
    widths = [
        base + padding if key == elastic else c.get_render_width(table)
        for key, c in zip(keys, table.ordered_columns, strict=True)
    ]
    view = table.scrollable_content_region.width
    if view <= 0:
        return
    wanted = elastic_width(widths, keys.index(elastic), view) - padding
    if column.width == wanted:
        return
    column.width = wanted
    # the table sums its columns into its scrollable width only when rows change
    total = sum(c.get_render_width(table) for c in table.ordered_columns)
    table.virtual_size = Size(total, table.virtual_size.height)
    table.notify_style_update()  # drop the drawings made at the old width
