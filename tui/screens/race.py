"""The racers panel (key ``r``): a live demonstration that capacity holds under a rush.

Pick an occurrence (or a fresh demo one), how many racers over how many OS
processes, hold-only or churn, and start. The grid shows every racer's state,
the counters and the plot show the conflicts and retries as they happen, the
roster fills in beside them, and when the run ends the invariant line says,
from the stream alone, whether capacity held.

All I/O runs in this screen's own workers (the race, the roster tail, the
occurrence list); they post messages and the handlers only touch widgets, and a
10 Hz timer redraws from the engine's running tally, so a burst of events never
blocks the event loop. Leaving the screen cancels the race worker, whose
``finally`` stops and reaps every racer process.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Footer, Input, Label, Select, Static, Switch
from textual.worker import Worker, WorkerState

from store import open_store
from store.booking import Ledger, OccurrenceRecord, UnknownOccurrence
from store.ledger.provenance import default_operator
from store.racers import (
    HOLD_TTL,
    Race,
    RacePlan,
    RacerEvent,
    RaceSummary,
    demo_key,
    new_seed,
    prepare_occurrence,
)
from tui.cli.safe_text import printable
from tui.screens.confirm import ConfirmScreen
from tui.widgets.race_plot import RacePlot
from tui.widgets.race_roster import RaceRoster, Row
from tui.widgets.racer_grid import RacerGrid

NEW = "\x00new-demo"  # the Select value for "create a fresh demo occurrence" (never a key)
MAX_PANEL_RACERS = 1000
MAX_PANEL_PROCESSES = 8
REDRAW_S = 0.1
ROSTER_READS_S = 0.2  # the roster is re-read at most this often while the stream moves

# -- messages up ------------------------------------------------------------------------


@dataclass
class OccurrencesListed(Message, bubble=False):
    records: list[OccurrenceRecord]


@dataclass
class RaceStarted(Message, bubble=False):
    race: Race


@dataclass
class RacersMoved(Message, bubble=False):
    """A batch of racer events from one process (the tally is already updated)."""

    events: list[RacerEvent]


@dataclass
class RaceEnded(Message, bubble=False):
    """The run finished, was stopped, or failed before it could start."""

    summary: RaceSummary | None
    error: str | None = None


@dataclass
class RaceRosterRead(Message, bubble=False):
    key: str
    capacity: int
    rows: list[Row]


@dataclass(frozen=True, slots=True)
class RaceSetup:
    """What the form asked for, already checked."""

    key: str | None  # None: create a fresh demo occurrence
    capacity: int | None
    real: bool  # the chosen occurrence is a real show (not a demo): ask before racing
    racers: int
    processes: int
    churn: bool


class SetupError(ValueError):
    pass


def _whole(text: str, field: str, low: int, high: int) -> int:
    value = text.strip()
    if not value.isdigit() or not value.isascii() or not low <= int(value) <= high:
        raise SetupError(f"{field}: a whole number from {low:,} to {high:,}")
    return int(value)


class RaceScreen(Screen[None]):
    """Simulated racers against one occurrence, live."""

    CSS_PATH = "race.tcss"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back", id="race.close", tooltip="Stop any race and go back"),
        Binding(
            "f5", "start", "Start", id="race.start", tooltip="Start a race with these settings"
        ),
        Binding(
            "f6", "stop", "Stop", id="race.stop", tooltip="Stop the race; processes are reaped"
        ),
    ]

    def __init__(self, store_url: str, operator: str, occurrence_key: str | None) -> None:
        super().__init__()
        self.store_url = store_url
        self.operator = operator or default_operator()
        # The house's selection is only offered in the list, never the default
        # target: a real show is raced on only when picked and confirmed.
        self.house_selection = occurrence_key
        self.race: Race | None = None
        self.race_worker: Worker[None] | None = None
        self.occurrences_worker: Worker[None] | None = None
        self.summary: RaceSummary | None = None
        self._roster_key: str | None = None
        self._capacity: int | None = None
        self._occupied: int | None = None
        self._moved = False
        self._capacities: dict[str, int] = {}
        self._demos: dict[str, bool] = {}

    # -- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(Content("Racers: capacity under a rush"), id="race-title")
        with Horizontal(id="race-setup"):
            with Vertical(classes="race-field race-occurrence"):
                yield Label(Content("occurrence"))
                yield Select[str](
                    [(Text("new demo occurrence"), NEW)],
                    allow_blank=False,
                    id="race-occurrence",
                )
            with Vertical(classes="race-field"):
                yield Label(Content("capacity"))
                yield Input("40", type="integer", id="race-capacity", max_length=5)
            with Vertical(classes="race-field"):
                yield Label(Content(f"racers 1-{MAX_PANEL_RACERS:,}"))
                yield Input("200", type="integer", id="race-racers", max_length=4)
            with Vertical(classes="race-field"):
                yield Label(Content(f"processes 1-{MAX_PANEL_PROCESSES}"))
                yield Input("4", type="integer", id="race-processes", max_length=1)
            with Vertical(classes="race-field race-churn"):
                yield Label(Content("churn"))
                yield Switch(False, id="race-churn", tooltip="Winners then confirm or release")
            with Horizontal(classes="race-buttons"):
                yield Button(Content("Start"), variant="success", id="race-start")
                yield Button(Content("Stop"), variant="error", id="race-stop", disabled=True)
        yield Static(Content(""), id="race-setup-error")
        yield Static(Content(""), id="race-counters")
        with Horizontal(id="race-body"):
            with Vertical(id="race-left"):
                yield RacerGrid(id="race-grid")
                yield Static(Content(""), id="race-legend")
                yield RacePlot(id="race-plot")
            yield RaceRoster(id="race-roster")
        yield Static(Content("no race yet"), id="race-invariant", classes="pending")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#race-roster", RaceRoster).border_title = "roster"
        self.query_one("#race-grid", RacerGrid).border_title = "racers"
        self.set_interval(REDRAW_S, self._redraw)
        self.occurrences_worker = self._list_occurrences()

    # -- the form ---------------------------------------------------------------------------

    def _read_setup(self) -> RaceSetup:
        chosen = self.query_one("#race-occurrence", Select).value
        new = chosen == NEW or chosen is Select.NULL
        capacity = None
        if new:
            capacity = _whole(self.query_one("#race-capacity", Input).value, "capacity", 1, 10_000)
        racers = _whole(self.query_one("#race-racers", Input).value, "racers", 1, MAX_PANEL_RACERS)
        processes = _whole(
            self.query_one("#race-processes", Input).value, "processes", 1, MAX_PANEL_PROCESSES
        )
        key = None if new else str(chosen)
        return RaceSetup(
            key=key,
            capacity=capacity,
            real=key is not None and not self._demos.get(key, False),
            racers=racers,
            processes=processes,
            churn=self.query_one("#race-churn", Switch).value,
        )

    def _say_setup_error(self, text: str) -> None:
        self.query_one("#race-setup-error", Static).update(Content(printable(text)))

    @on(Select.Changed, "#race-occurrence")
    def _occurrence_chosen(self, event: Select.Changed) -> None:
        if self.race is not None:
            return  # the form is disabled while racing; the roster follows the race
        new = event.value == NEW or event.value is Select.NULL
        capacity = self.query_one("#race-capacity", Input)
        capacity.disabled = not new
        if not new and event.value in self._capacities:
            capacity.value = str(self._capacities[str(event.value)])  # shown, not editable
        if new:
            self.workers.cancel_group(self, "race-roster")
            self._roster_key = None
            roster = self.query_one("#race-roster", RaceRoster)
            roster.border_title = "roster"
            roster.show([])
        elif self._roster_key != event.value:
            self._roster_key = str(event.value)
            self._follow_roster(self._roster_key)

    @on(Button.Pressed, "#race-start")
    def _start_pressed(self) -> None:
        self.action_start()

    @on(Button.Pressed, "#race-stop")
    def _stop_pressed(self) -> None:
        self.action_stop()

    def action_start(self) -> None:
        if self.race_worker is not None and self.race_worker.state in (
            WorkerState.PENDING,
            WorkerState.RUNNING,
        ):
            return
        try:
            setup = self._read_setup()
        except SetupError as exc:
            self._say_setup_error(str(exc))
            return
        self._say_setup_error("")
        if setup.real:
            question = Content.assemble(
                "Race on ",
                (setup.key or "", "bold"),
                "? It is a real show, not a demo: racers will hold its free seats "
                f"for {HOLD_TTL.seconds // 60} minutes under your name.",
            )
            self.app.push_screen(
                ConfirmScreen(question, yes="Race on it", no="Keep it untouched"),
                lambda yes: self._begin(setup) if yes else None,
            )
            return
        self._begin(setup)

    def _begin(self, setup: RaceSetup) -> None:
        self.summary = None
        self._set_running(True)
        self._set_invariant("pending", "starting the racer processes…")
        self.race_worker = self._run_race(setup)

    def action_stop(self) -> None:
        if self.race is not None:
            self._set_invariant("pending", "stopping the racers…")
            self._stop_race(self.race)

    def action_close(self) -> None:
        self.dismiss(None)

    def _set_running(self, running: bool) -> None:
        self.query_one("#race-start", Button).disabled = running
        self.query_one("#race-stop", Button).disabled = not running
        for selector in ("#race-occurrence", "#race-racers", "#race-processes", "#race-churn"):
            self.query_one(selector).disabled = running
        chosen = self.query_one("#race-occurrence", Select).value
        self.query_one("#race-capacity", Input).disabled = running or chosen != NEW

    def _set_invariant(self, state: str, text: str) -> None:
        line = self.query_one("#race-invariant", Static)
        line.set_classes(state)
        line.update(Content(printable(text)))

    # -- workers: all I/O happens here ------------------------------------------------------

    @work(group="race-occurrences", exclusive=True, exit_on_error=False, name="occurrences")
    async def _list_occurrences(self) -> None:
        async with open_store(self.store_url) as store:
            records = await Ledger(store, operator=self.operator).occurrences()
        self.post_message(OccurrencesListed(records))

    @work(group="race", exit_on_error=False, name="race")
    async def _run_race(self, setup: RaceSetup) -> None:
        key = setup.key or demo_key()
        await prepare_occurrence(
            self.store_url, key, setup.capacity, operator=self.operator, allow_real=setup.real
        )
        plan = RacePlan(
            self.store_url,
            key,
            racers=setup.racers,
            processes=setup.processes,
            seed=new_seed(),
            churn=setup.churn,
            operator=self.operator,
        )
        race = Race(plan, on_warning=self._racer_silent)
        try:
            await race.start()
            self.post_message(RaceStarted(race))
            async for batch in race.batches():
                self.post_message(RacersMoved(batch))
            summary = await race.summary()
        finally:
            await race.stop()  # cancelled by leaving the screen, or failed: reap all the same
        self.post_message(RaceEnded(summary))

    def _racer_silent(self, warning: str) -> None:
        """The watchdog's word on a racer process gone silent (stopped?), while it races."""
        self.notify(warning, title="Racers", severity="warning", markup=False)

    @work(group="race-stop", exit_on_error=False, name="stop")
    async def _stop_race(self, race: Race) -> None:
        await race.stop()  # the race worker's batches() then ends and it verifies

    @work(group="race-roster", exclusive=True, exit_on_error=False, name="roster")
    async def _follow_roster(self, key: str) -> None:
        """Re-read the roster whenever its stream moves, at most 5 times a second."""
        async with open_store(self.store_url) as store:
            ledger = Ledger(store, operator=self.operator)
            position = await ledger.head()
            while True:
                try:
                    view = await ledger.view(key)
                except UnknownOccurrence:
                    pass  # a demo occurrence not created yet
                else:
                    rows = [(s.actor, s.state) for s in view.roster]
                    self.post_message(RaceRosterRead(key, view.record.capacity, rows))
                moved = False
                while not moved:
                    changes = await ledger.changes(position, timeout=5.0)
                    moved = key in changes.keys or changes.position == position
                    position = changes.position
                await asyncio.sleep(ROSTER_READS_S)

    # -- handlers: only widgets -----------------------------------------------------------

    def on_occurrences_listed(self, message: OccurrencesListed) -> None:
        select = self.query_one("#race-occurrence", Select)
        current = select.value
        options: list[tuple[Text, str]] = [(Text("new demo occurrence"), NEW)]
        keys = set()
        for record in message.records:
            keys.add(record.key)
            self._capacities[record.key] = record.capacity
            self._demos[record.key] = record.demo
            label = Text(printable(f"{record.key}  {record.occupied}/{record.capacity}"))
            label.append(
                "  demo" if record.demo else "  real show", "dim" if record.demo else "bold"
            )
            options.append((label, record.key))
        select.set_options(options)
        # Never the house's selection by default: racers aim at a fresh demo
        # occurrence unless someone picks another (and, for a real show, says yes).
        wanted = self._roster_key or current
        select.value = wanted if wanted in keys else NEW

    def on_race_started(self, message: RaceStarted) -> None:
        race = self.race = message.race
        key = race.plan.occurrence
        self.query_one("#race-title", Static).update(
            Content(
                f"Racers on {printable(key)}: {race.plan.racers} over {race.plan.workers} "
                f"processes, {'churn' if race.plan.churn else 'hold only'}, seed {race.plan.seed}"
            )
        )
        self.query_one("#race-plot", RacePlot).reset(race.started_at or 0.0)
        self._set_invariant("pending", "racing… the stream is verified when the race ends")
        self._moved = True
        if self._roster_key != key:
            self._roster_key = key
            self._follow_roster(key)

    def on_racers_moved(self, message: RacersMoved) -> None:
        self.query_one("#race-plot", RacePlot).add(message.events)
        self._moved = True

    def on_race_roster_read(self, message: RaceRosterRead) -> None:
        if message.key != self._roster_key:
            return  # from a tail that was just replaced
        self._capacity, self._occupied = message.capacity, len(message.rows)
        roster = self.query_one("#race-roster", RaceRoster)
        roster.border_title = f"roster {len(message.rows)}/{message.capacity}"
        roster.show(message.rows)

    def on_race_ended(self, message: RaceEnded) -> None:
        self._moved = True
        self._redraw()
        self._set_running(False)
        self.race = None
        summary = self.summary = message.summary
        if summary is None:
            self._set_invariant("bad", message.error or "the race did not run")
            return
        verdict = summary.verdict.line()
        if summary.errors:
            self._set_invariant("bad", f"{verdict} · {summary.errors[0]}")
        elif summary.stopped:
            self._set_invariant("ok" if summary.ok else "bad", f"{verdict} (stopped early)")
        else:
            self._set_invariant("ok" if summary.ok else "bad", verdict)
        self.occurrences_worker = self._list_occurrences()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """My workers' failures become one line here, never the app's business."""
        event.stop()
        if event.state is not WorkerState.ERROR:
            return
        error = event.worker.error
        text = f"{type(error).__name__}: {error}" if error is not None else "failed"
        if event.worker.name == "race":
            self.post_message(RaceEnded(None, f"the race failed: {text}"))
        else:
            self._say_setup_error(f"{event.worker.name}: {text}")

    # -- drawing --------------------------------------------------------------------------

    def _redraw(self) -> None:
        if not self._moved:
            return
        self._moved = False
        race = self.race
        summary = self.summary
        tally = race.tally if race is not None else summary.tally if summary else None
        if tally is None:
            return
        elapsed = race.elapsed if race is not None else summary.elapsed if summary else 0.0
        grid = self.query_one("#race-grid", RacerGrid)
        grid.states = [r.state for r in tally.racers]
        self.query_one("#race-legend", Static).update(
            grid.legend(shown={"waiting", "retrying", "held", "full"})
        )
        rate = tally.held / elapsed if elapsed > 0 else 0.0
        busy = f" · busy {tally.busy}" if tally.busy else ""
        churn = (
            f" · confirmed {tally.confirmed} · released {tally.released}"
            if tally.confirmed or tally.released
            else ""
        )
        self.query_one("#race-counters", Static).update(
            Content(
                f"attempts {tally.attempts} · conflicts {tally.conflicts} · "
                f"retries {tally.retries}{busy} · held {tally.held} · full {tally.full}{churn} · "
                f"{rate:.1f} holds/s · {elapsed:.1f} s"
            )
        )
        self.query_one("#race-plot", RacePlot).draw()
