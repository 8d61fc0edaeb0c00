"""Border titles set only when they change.

Textual repaints a widget whole each time its border title is set, even to the
same text; the house and the waiting list got a title on every read (every
commit anywhere), and so a full redraw of every line in view each time.
"""

from __future__ import annotations

from textual.content import Content
from textual.widget import Widget


def set_border_title(widget: Widget, title: Content) -> None:
    """Give ``widget`` this border title, unless it has it already."""
    if widget.border_title != title.markup:
        widget.border_title = title
