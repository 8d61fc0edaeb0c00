"""The roster's filter field."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding
from textual.widgets import Input


class FilterInput(Input):
    """Narrows the roster as the operator types; Esc clears it."""

    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding(
            "escape",
            "clear",
            "Clear filter",
            id="filter.clear",
            tooltip="Show the whole roster again",
        ),
    ]

    def action_clear(self) -> None:
        self.value = ""
        self.display = False
        roster = self.screen.query("#roster")
        if roster:
            roster.first().focus()
