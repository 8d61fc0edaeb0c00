"""The racers panel's form: which occurrence, how many racers over how many processes, pace.

Why a widget: the panel's screen keeps the race's flow (workers, lanes,
messages); reading and checking the settings, and listing the occurrences a
race may aim at, is this form's job. A bad setting raises ``SetupError`` (one
line, nothing started). The house's selection is never the default target: a
race aims at a fresh demo occurrence unless someone picks another.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Input, Label, Select, Switch

from store.ledger.views import OccurrenceView
from tui.cli.safe_text import printable
from tui.widgets.race_settings import (
    MAX_PANEL_PROCESSES,
    MAX_PANEL_RACERS,
    NEW,
    PACE_OPTIONS,
    RaceSetup,
    whole,
)

FIELDS = (
    ("capacity", "capacity", "40", 5, "Seats of a new demo occurrence"),
    ("racers", "racers", "200", 4, f"1 to {MAX_PANEL_RACERS:,}"),
    ("processes", "processes", "4", 1, f"1 to {MAX_PANEL_PROCESSES}"),
)


#: the "shared" switch: which of the racers' shapes (``store.racers.plan.SHAPES``) to race
SHARED_TIP = (
    "On: each process's racers share one ledger (its hold, its group commit). "
    "Off: each racer reads, decides and appends at the seq it saw, so every conflict shows"
)


class RaceForm(Vertical):
    """The settings and the Start / Side by side / Stop buttons (their presses bubble up)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.capacities: dict[str, int] = {}
        self.demos: dict[str, bool] = {}

    def compose(self) -> ComposeResult:
        with Horizontal(classes="race-fields"):
            with Vertical(classes="race-field race-occurrence"):
                yield Label(Content("occurrence"))
                yield Select[str](
                    [(Text("new demo occurrence"), NEW)], allow_blank=False, id="race-occurrence"
                )
            for name, label, value, length, tip in FIELDS:
                with Vertical(classes="race-field"):
                    yield Label(Content(label))
                    yield Input(
                        value, type="integer", id=f"race-{name}", max_length=length, tooltip=tip
                    )
            with Vertical(classes="race-field race-pace"):
                yield Label(Content("pace"))
                yield Select[float](PACE_OPTIONS, value=1.0, allow_blank=False, id="race-pace")
        with Horizontal(classes="race-buttons"):
            yield Label(Content("churn"), classes="race-churn-label")
            yield Switch(False, id="race-churn", tooltip="Winners then confirm or release")
            yield Label(Content("shared"), classes="race-switch-label")
            yield Switch(False, id="race-shared", tooltip=SHARED_TIP)
            yield Button(Content("Start F5"), variant="success", id="race-start")
            yield Button(Content("Side by side v"), variant="warning", id="race-pair")
            yield Button(Content("Stop F6"), variant="error", id="race-stop", disabled=True)

    # -- reading ----------------------------------------------------------------------------

    @property
    def pace(self) -> float:
        value = self.query_one("#race-pace", Select).value
        return float(value) if isinstance(value, float | int) else 1.0

    @pace.setter
    def pace(self, pace: float) -> None:
        self.query_one("#race-pace", Select).value = pace

    @property
    def chosen(self) -> str | None:
        """The occurrence picked, None for a fresh demo one."""
        value = self.query_one("#race-occurrence", Select).value
        return None if value == NEW or value is Select.NULL else str(value)

    def _number(self, name: str, low: int, high: int) -> int:
        return whole(self.query_one(f"#race-{name}", Input).value, name, low, high)

    def read(self, *, fresh: bool = False) -> RaceSetup:
        """The settings, checked (``SetupError`` names the bad field); ``fresh``: a new demo."""
        key = None if fresh else self.chosen
        capacity = self._number("capacity", 1, 10_000) if key is None else None
        return RaceSetup(
            key=key,
            capacity=capacity,
            real=key is not None and not self.demos.get(key, False),
            racers=self._number("racers", 1, MAX_PANEL_RACERS),
            processes=self._number("processes", 1, MAX_PANEL_PROCESSES),
            churn=self.query_one("#race-churn", Switch).value,
            pace=self.pace,
            shape="processes" if self.query_one("#race-shared", Switch).value else "terminals",
        )

    # -- shown ------------------------------------------------------------------------------

    def chose(self, key: str | None) -> None:
        """Show the capacity of the occurrence picked (an existing one's is not editable)."""
        capacity = self.query_one("#race-capacity", Input)
        capacity.disabled = key is not None
        if key is not None and key in self.capacities:
            capacity.value = str(self.capacities[key])

    def list_occurrences(self, views: Iterable[OccurrenceView], keep: str | None) -> None:
        """Offer every occurrence (``demo`` or ``real show``); keep ``keep`` picked if listed."""
        select = self.query_one("#race-occurrence", Select)
        options: list[tuple[Text, str]] = [(Text("new demo occurrence"), NEW)]
        for view in views:
            record = view.record
            self.capacities[record.key] = record.capacity
            self.demos[record.key] = record.demo
            label = Text(printable(f"{record.key}  {record.occupied}/{record.capacity}"))
            label.append(
                "  demo" if record.demo else "  real show", "dim" if record.demo else "bold"
            )
            options.append((label, record.key))
        select.set_options(options)
        select.value = (
            keep if keep in self.capacities and any(keep == o[1] for o in options) else NEW
        )

    def set_running(self, running: bool) -> None:
        for selector in ("#race-start", "#race-pair"):
            self.query_one(selector, Button).disabled = running
        self.query_one("#race-stop", Button).disabled = not running
        for selector in (
            "#race-occurrence",
            "#race-racers",
            "#race-processes",
            "#race-churn",
            "#race-shared",
        ):
            self.query_one(selector).disabled = running
        self.query_one("#race-capacity", Input).disabled = running or self.chosen is not None
        if running:
            self.display = False  # room for the race; `s` shows the form again
