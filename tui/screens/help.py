"""Every key the app answers to, with what it does: the footer shows only a few."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static


class HelpScreen(ModalScreen[None]):
    """A table of bindings: keys, action, what it does and the id to remap it by."""

    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding(
            "escape,q,question_mark,f1",
            "dismiss",
            "Close",
            id="help.close",
            tooltip="Back to the house",
        ),
    ]

    def __init__(self, rows: list[tuple[str, str, str, str]]) -> None:
        super().__init__(classes="help-screen")
        self.rows = rows

    def compose(self) -> ComposeResult:
        with Vertical(id="help"):
            yield Static(
                Content.assemble(
                    ("Keys", "bold"),
                    "  (remap by id with a keymap; Esc closes)",
                ),
                classes="form-heading",
            )
            yield DataTable(id="help-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("Key", "Action", "What it does", "Id")
        for keys, description, tooltip, binding_id in self.rows:
            table.add_row(
                Text(keys, style="bold"), Text(description), Text(tooltip), Text(binding_id)
            )
        table.focus()
