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
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from store.ledger import rules as v
from store.ledger.rules import InvalidInput
from tui.cli.durations import format_duration, parse_duration
from tui.cli.safe_text import printable

T = TypeVar("T")


class FieldError(ValueError):
    """Input the form will not accept; shown under the field it names."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


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
        Binding("tab", "app.focus_next", "Next field", show=False, priority=True),
        Binding("shift+tab", "app.focus_previous", "Previous field", show=False, priority=True),
        Binding(
            "escape",
            "abandon",
            "Cancel",
            id="form.cancel",
            tooltip="Close the form; nothing is written",
        ),
    ]

    submit_label = "OK"

    def __init__(self, heading: Content, fields: list[Field]) -> None:
        super().__init__(classes="form-screen")
        self.heading = heading
        self.fields = fields
        self._answered = False  # a second Enter in the same burst must not dismiss twice

    def compose(self) -> ComposeResult:
        with Vertical(classes="form"):
            yield Static(self.heading, classes="form-heading")
            for field in self.fields:
                yield Label(Content(field.label), classes="field-label")
                yield Input(value=field.value, placeholder=field.placeholder, id=field.name)
                yield Static(Content(""), id=f"{field.name}-error", classes="field-error")
            with Horizontal(classes="form-buttons"):
                yield Button(Content(self.submit_label), variant="primary", id="submit")
                yield Button(Content("Cancel"), id="abandon")

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
            self.query_one(f"#{field.name}-error", Static).update(Content(""))
        try:
            result = self.parse(values)
        except FieldError as error:
            self.show_error(error.field, error.message)
            return
        self._answered = True
        self.dismiss(result)

    def show_error(self, field: str, message: str) -> None:
        self.query_one(f"#{field}-error", Static).update(Content("✖ " + printable(message)))
        self.query_one(f"#{field}", Input).focus()


def _rule(field: str, check: object, value: str) -> object:
    """Apply one of ``store.ledger.rules``'s rules, re-raising its complaint for the field."""
    try:
        return check(value)  # type: ignore[operator]
    except InvalidInput as error:
        raise FieldError(field, error.problem) from None


def _capacity(field: str, text: str) -> int:
    stripped = text.strip()
    if not stripped.lstrip("-").isdigit():
        raise FieldError(field, "must be a whole number, 0 or more")
    return int(_rule(field, v.capacity, int(stripped)))  # type: ignore[arg-type, call-overload]


def _duration(field: str, text: str) -> timedelta:
    """A hold length, within the ledger's bounds (``parse_duration`` bounds it too)."""
    try:
        duration = parse_duration(text)
    except ValueError as error:
        raise FieldError(field, str(error)) from None
    try:
        return v.ttl(duration, field)
    except InvalidInput as error:
        raise FieldError(field, error.problem) from None


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
                Field("key", "Key", "hamlet-2026-12-24"),
                Field("title", "Title (optional)", "Hamlet"),
                Field("capacity", "Capacity", "40"),
                Field("starts_at", "Starts at (optional)", "2026-12-24 19:30"),
                Field("hold_ttl", "Holds last (optional)", "15m"),
            ],
        )
        self.tz = tz

    def parse(self, values: Mapping[str, str]) -> NewOccurrence:
        key = str(_rule("key", v.occurrence_key, values["key"].strip()))
        title = values["title"].strip()
        checked_title = str(_rule("title", lambda t: v.text(t, "title"), title)) if title else None
        capacity = _capacity("capacity", values["capacity"])
        starts_at = None
        if values["starts_at"].strip():
            try:
                starts_at = datetime.fromisoformat(values["starts_at"].strip())
            except ValueError:
                raise FieldError("starts_at", "use a date and time like 2026-12-24 19:30") from None
            if starts_at.tzinfo is None:
                # the operator typed a wall-clock time where the app shows times
                starts_at = starts_at.replace(tzinfo=self.tz) if self.tz else starts_at.astimezone()
        ttl = _duration("hold_ttl", values["hold_ttl"]) if values["hold_ttl"].strip() else None
        return NewOccurrence(key, capacity, checked_title, starts_at, ttl)


class CapacityForm(FormScreen[int]):
    submit_label = "Set"

    def __init__(self, heading: Content, current: int) -> None:
        super().__init__(heading, [Field("capacity", "New capacity", str(current), str(current))])

    def parse(self, values: Mapping[str, str]) -> int:
        return _capacity("capacity", values["capacity"])


class ActorForm(FormScreen[str]):
    """Who to book, confirm, release or cancel."""

    def __init__(self, heading: Content, verb: str, actor: str = "") -> None:
        self.submit_label = verb
        super().__init__(heading, [Field("actor", "Actor", "name, email or ticket ref", actor)])

    def parse(self, values: Mapping[str, str]) -> str:
        return str(_rule("actor", v.actor, values["actor"]))


@dataclass(frozen=True, slots=True)
class HoldRequest:
    actor: str
    ttl: timedelta | None  # None: the occurrence's own hold length


class HoldForm(FormScreen[HoldRequest]):
    submit_label = "Hold"

    def __init__(self, heading: Content, default_ttl: timedelta | None) -> None:
        hint = format_duration(default_ttl) if default_ttl else "no expiry"
        super().__init__(
            heading,
            [
                Field("actor", "Actor", "name, email or ticket ref"),
                Field("ttl", f"Hold for (blank: {hint})", "15m"),
            ],
        )

    def parse(self, values: Mapping[str, str]) -> HoldRequest:
        actor = str(_rule("actor", v.actor, values["actor"]))
        ttl = _duration("ttl", values["ttl"]) if values["ttl"].strip() else None
        return HoldRequest(actor, ttl)


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
            [Field("operator", "Operator", login)],
        )

    def parse(self, values: Mapping[str, str]) -> str:
        return str(_rule("operator", lambda t: v.text(t, "operator"), values["operator"].strip()))

    def action_abandon(self) -> None:
        pass  # the app needs a name to write under: Esc does not skip the question
