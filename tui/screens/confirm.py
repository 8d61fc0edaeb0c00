"""Ask before a write: the question names who and what, and the safe answer is the default.

No letter answers yes: an operator typing a name while no form is open (``c``
opens this question, ``y`` would follow) must not confirm anything. Yes is a
button: Tab (or a click) to it, then Enter.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Static


class ConfirmScreen(ModalScreen[bool]):
    """A question with a yes and a no; the no is focused, so a stray Enter is safe.

    ``default=True`` focuses yes instead, for a question whose yes writes nothing
    that matters (the first run's demo offer).
    """

    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("n,escape", "answer(False)", "No", id="confirm.no", tooltip="Leave it as it is"),
        Binding("tab", "app.focus_next", "Other answer", tooltip="Move to the other button"),
    ]

    def __init__(
        self, question: Content, yes: str = "Yes", no: str = "No", *, default: bool = False
    ) -> None:
        super().__init__(classes="confirm-screen")
        self.question = question
        self.yes = yes
        self.no = no
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical(classes="form"):
            yield Static(self.question, classes="form-heading")
            with Horizontal(classes="form-buttons"):
                yield Button(Content(self.yes), variant="error", id="yes")
                yield Button(Content(self.no), variant="primary", id="no")
        yield Footer()  # this question's keys, not those of the screen behind it

    def on_mount(self) -> None:
        self.query_one("#yes" if self.default else "#no", Button).focus()

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")
