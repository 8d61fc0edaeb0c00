"""Table cells for big live tables: user text as rich ``Text``, never markup, never measured.

Textual's DataTable measures every cell it is given (about 60 µs each), even in
a column of fixed width where the answer is thrown away. A cell that renders
through ``__rich_console__`` and has no ``__rich_measure__`` is not measured,
which is what lets a long event log or waiting list appear in a fraction of a second.
Every column that holds these cells must have a fixed width.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text


class FixedCell:
    """A ``Text`` in a fixed-width column."""

    __slots__ = ("text",)

    def __init__(self, text: Text) -> None:
        self.text = text

    @property
    def plain(self) -> str:
        return self.text.plain

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.text

    def __repr__(self) -> str:
        return f"FixedCell({self.text.plain!r})"


class LiveCell:
    """Text made when drawn (a hold's countdown), so time passing rewrites no cell.

    The table redraws only the rows whose countdown text changed; each redraw
    asks this cell for its text at that moment.
    """

    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Text]) -> None:
        self.make = make

    @property
    def plain(self) -> str:
        return self.make().plain

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.make()

    def __repr__(self) -> str:
        return f"LiveCell({self.plain!r})"
