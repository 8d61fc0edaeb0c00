"""The target occurrence's roster beside the racers, filling in as holds land.

Rows are keyed by seat number and diffed in place: during a rush the roster
only grows at the end or, with churn, closes up when a seat is released, so a
refresh rewrites a few cells instead of rebuilding a thousand rows.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import DataTable

from tui.cli.safe_text import printable

Row = tuple[str, str]  # actor, state


class RaceRoster(DataTable[Text]):
    """Seat, actor and state; ``show(rows)`` with the roster in seat order."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self._rows: list[Row] = []

    def on_mount(self) -> None:
        self.add_column(Text("seat"), key="seat", width=5)
        self.add_column(Text("actor"), key="actor")
        self.add_column(Text("state"), key="state", width=9)

    def show(self, rows: Sequence[Row]) -> None:
        """Make the table show ``rows``; only the cells that differ are touched."""
        old = self._rows
        with self.app.batch_update():
            for seat in range(len(rows), len(old)):
                self.remove_row(str(seat + 1))
            for index, (actor, state) in enumerate(rows[: len(old)]):
                if old[index] != (actor, state):
                    key = str(index + 1)
                    self.update_cell(key, "actor", Text(printable(actor)), update_width=True)
                    self.update_cell(key, "state", Text(state))
            for index in range(len(old), len(rows)):
                actor, state = rows[index]
                self.add_row(
                    Text(str(index + 1), justify="right"),
                    Text(printable(actor)),
                    Text(state),
                    key=str(index + 1),
                )
        self._rows = list(rows)
