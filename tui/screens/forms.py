"""Small typed forms for the ledger's commands.

A form checks its input with the ledger's own rules before it closes, so bad
input is answered inline, next to the field, and nothing is written. A form
closes with a typed value (``ModalScreen[T]``) or with None when abandoned.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import ClassVar, Generic, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Input, Label, Static

from store.ledger import rules as v
from tui.cli.safe_text import printable
from tui.screens.field_rules import FieldError, capacity, checked, duration

T = TypeVar("T")


class FormFields(VerticalScroll, can_focus=False):
    """The fields, scrolling when the form is taller than the terminal; Tab goes straight
    to the inputs (a plain VerticalScroll would take the focus first)."""


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    label: str
    placeholder: str = ""
    value: str = ""


class FormScreen(ModalScreen[T | None], Generic[T]):
    """A heading, labelled inputs with an error line each, and submit / cancel."""

    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        # Priority, so focus moves when the Tab arrives: Textual hands each key to the
        # widget focused at arrival, and a plain Tab binding only runs once the key has
        # bubbled up from the field, after the rest of a burst (a scanner, a paste) has
        # already been handed to the old field (issue 13 item 9).
        Binding("tab", "app.focus_next", "Next field", priority=True),
        Binding("shift+tab", "app.focus_previous", "Previous field", show=False, priority=True),
        Binding(
            "escape",
            "abandon",
            "Cancel",
            id="form.cancel",
            tooltip="Close the form; nothing is written",
        ),
    ]

    #: under 34 rows the form goes compact (one line per field): see ``.-short`` in app.tcss
    VERTICAL_BREAKPOINTS = [(0, "-short"), (34, "-tall")]  # noqa: RUF012 (as Screen declares it)

    submit_label = "OK"

    def __init__(self, heading: Content, fields: list[Field]) -> None:
        super().__init__(classes="form-screen")
        self.heading = heading
        self.fields = fields
        self._answered = False  # a second Enter in the same burst must not dismiss twice

    def compose(self) -> ComposeResult:
        # The fields scroll and the buttons stay below them, so a form taller than the
        # terminal (New occurrence at 80x24) still shows how to submit or leave it.
        with Vertical(classes="form"):
            yield Static(self.heading, classes="form-heading")
            with FormFields(classes="form-fields"):
                for field in self.fields:
                    yield Label(Content(field.label), classes="field-label")
                    yield Input(value=field.value, placeholder=field.placeholder, id=field.name)
                    error = Static(Content(""), id=f"{field.name}-error", classes="field-error")
                    error.display = False  # a line only when there is something to say
                    yield error
            with Horizontal(classes="form-buttons"):
                yield Button(Content(self.submit_label), variant="primary", id="submit")
                yield Button(Content("Cancel"), id="abandon")
        yield Footer()  # this form's keys, not those of the screen behind it

    def parse(self, values: Mapping[str, str]) -> T:
        """Turn the inputs into the form's value, or raise FieldError."""
        raise NotImplementedError

    def action_abandon(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#abandon")
    def _abandon(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#submit")
    @on(Input.Submitted)
    def submit(self) -> None:
        if self._answered:
            return  # the form is closing: its answer went once (a double Enter, issue 12)
        values = {f.name: self.query_one(f"#{f.name}", Input).value for f in self.fields}
        for field in self.fields:
            error = self.query_one(f"#{field.name}-error", Static)
            error.update(Content(""))
            error.display = False
        try:
            result = self.parse(values)
        except FieldError as error:
            self.show_error(error.field, error.message)
            return
        self._answered = True
        self.dismiss(result)

    def show_error(self, field: str, message: str) -> None:
        error = self.query_one(f"#{field}-error", Static)
        error.update(Content("✖ " + printable(message)))
        error.display = True
        self.query_one(f"#{field}", Input).focus()


# -- the forms ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewOccurrence:
    key: str
    capacity: int
    title: str | None
    starts_at: datetime | None
    hold_ttl: timedelta | None


class NewOccurrenceForm(FormScreen[NewOccurrence]):
    submit_label = "Create"

    def __init__(self, tz: tzinfo | None = None) -> None:
        super().__init__(
            Content("New occurrence"),
            [
                Field("key", "Key", "e.g. hamlet-2026-12-24"),
                Field("title", "Title (optional)", "e.g. Hamlet"),
                Field("capacity", "Capacity", "e.g. 40"),
                Field("starts_at", "Starts at (optional, venue time)", "e.g. 2026-12-24 19:30"),
                Field("hold_ttl", "Holds last (optional)", "e.g. 15m"),
            ],
        )
        self.tz = tz

    def parse(self, values: Mapping[str, str]) -> NewOccurrence:
        key = str(checked("key", v.occurrence_key, values["key"].strip()))
        title = values["title"].strip()
        checked_title = (
            str(checked("title", lambda t: v.text(t, "title"), title)) if title else None
        )
        seats = capacity("capacity", values["capacity"])
        starts_at = None
        if values["starts_at"].strip():
            try:
                starts_at = datetime.fromisoformat(values["starts_at"].strip())
            except ValueError:
                raise FieldError("starts_at", "use a date and time like 2026-12-24 19:30") from None
            if starts_at.tzinfo is None:
                # the operator typed a wall-clock time where the app shows times
                starts_at = starts_at.replace(tzinfo=self.tz) if self.tz else starts_at.astimezone()
        ttl = duration("hold_ttl", values["hold_ttl"]) if values["hold_ttl"].strip() else None
        return NewOccurrence(key, seats, checked_title, starts_at, ttl)


class CapacityForm(FormScreen[int]):
    submit_label = "Set"

    def __init__(self, heading: Content, current: int) -> None:
        super().__init__(heading, [Field("capacity", "New capacity", str(current), str(current))])

    def parse(self, values: Mapping[str, str]) -> int:
        return capacity("capacity", values["capacity"])


class ActorForm(FormScreen[str]):
    """Who to book, confirm, release or cancel."""

    def __init__(self, heading: Content, verb: str, actor: str = "") -> None:
        self.submit_label = verb
        super().__init__(
            heading, [Field("actor", "Actor", "e.g. a name, email or ticket ref", actor)]
        )

    def parse(self, values: Mapping[str, str]) -> str:
        return str(checked("actor", v.actor, values["actor"]))


class OperatorForm(FormScreen[str]):
    """Who is at this terminal: asked once at start when no operator is configured.

    The login name of a shared box-office account is no audit trail; every event
    this terminal writes carries the name given here.
    """

    submit_label = "Start"

    def __init__(self, login: str) -> None:
        super().__init__(
            Content.assemble(
                ("Who is at this terminal?", "bold"),
                "\n\nYour name is recorded on every booking you make "
                "(set operator in the config file to skip this).",
            ),
            # the login as a hint, not a value: a shared login names no one
            [Field("operator", "Operator", f"your own name, not the login ({login})")],
        )

    def parse(self, values: Mapping[str, str]) -> str:
        return str(checked("operator", lambda t: v.text(t, "operator"), values["operator"].strip()))

    def action_abandon(self) -> None:
        pass  # the app needs a name to write under: Esc does not skip the question
