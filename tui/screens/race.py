"""The racers panel (key ``r``): a live demonstration that capacity holds under a rush.

Pick an occurrence (or a fresh demo one), how many racers over how many OS
processes, the pace, hold-only or churn, and start (F5); or race the seed's
algorithm beside ours on two fresh demo occurrences (``v``, side by side). Each
house is a lane (``tui.widgets.race_lane``): the racer grid, the counts, a
conflict explained from a real one, the plots, and at the end the four checks
with ✓ or ✗ and the verdict. Tab into a grid and move with the arrows to see a
racer's attempts. ``boxoffice --play FILE`` opens this panel on a recording.

All I/O runs in workers that post the panel's messages
(``tui.screens.race_messages``); the handlers only touch widgets, and a 10 Hz
timer redraws, so a burst of events never blocks the loop. The occurrence list
and the roster come from the app's change feed (``tui.live.LiveFeed`` over
``Ledger.changes``), on one store. Leaving the screen cancels the race worker,
whose ``finally`` stops and reaps every racer process.
"""

from __future__ import annotations

from collections.abc import Coroutine, Iterable
from pathlib import Path
from typing import Any, ClassVar

from textual import events, on, work
from textual.app import ComposeResult, SystemCommand
from textual.binding import BindingType
from textual.containers import Horizontal
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Button, Footer, Select, Static
from textual.worker import Worker, WorkerState

from store import open_store
from store.booking import Ledger
from store.ledger.provenance import default_operator
from store.racers import HOLD_TTL, Race, RaceSummary
from store.racers.pair import RacePair
from tui.cli.safe_text import printable
from tui.live import LiveFeed, Reading, ReadRequest
from tui.screens.confirm import ConfirmScreen
from tui.screens.race_keys import PANEL_BINDINGS, help_rows, system_commands
from tui.screens.race_messages import (
    FeedRead,
    LanesEnded,
    LanesPlanned,
    LanesReleased,
    RacersMoved,
    RaceStarted,
    RoundNote,
)
from tui.screens.race_playback import play_recording
from tui.screens.race_runs import race_one, race_side_by_side
from tui.widgets.race_explain import attempts_text
from tui.widgets.race_form import RaceForm
from tui.widgets.race_lane import RaceLane
from tui.widgets.race_roster import RaceRoster
from tui.widgets.race_settings import (
    NEW,
    RaceSetup,
    SetupError,
    next_pace,
    pace_label,
)
from tui.widgets.racer_grid import RacerPicked

__all__ = ["NEW", "RaceScreen", "RaceStarted", "RacersMoved"]

MODE_TEXT = {
    True: "side by side: F5 races the seed's algorithm beside ours (fresh demo houses)",
    False: "one house: F5 races the occurrence picked (a fresh demo one by default)",
}
REDRAW_S = 0.1
SHORT_ROWS = 34  # below this many rows the plots make way for the checks
FEED_PACE_S = 0.2  # the roster and the list are read at most this often while streams move
RUNNING = (WorkerState.PENDING, WorkerState.RUNNING)


class RaceScreen(Screen[None]):
    """Simulated racers against one occurrence (or two, side by side), live or played back."""

    CSS_PATH = "race.tcss"

    BINDINGS: ClassVar[list[BindingType]] = PANEL_BINDINGS

    def __init__(
        self,
        store_url: str | None,
        operator: str,
        occurrence_key: str | None,
        *,
        play: str | Path | None = None,
        speed: float | None = None,
        side_by_side: bool = False,
        rounds: int | None = None,
    ) -> None:
        """``store_url`` None: playback only; ``play`` a recording at ``speed`` (None: the
        pace chosen, 0: at once); ``side_by_side`` starts the demo at once (``--side-by-side``),
        in at most ``rounds`` rounds (default ``pair.MAX_ROUNDS``)."""
        super().__init__()
        self.store_url = store_url
        self.operator = operator or default_operator()
        # The house's selection is only offered in the list, never the default
        # target: a real show is raced on only when picked and confirmed.
        self.house_selection = occurrence_key
        self.recording = Path(play) if play is not None else None
        self.speed = speed
        self.rounds = rounds
        self._autostart = "play" if play is not None else "pair" if side_by_side else None
        self.side_by_side = False  # the mode: F5 races one house, or both algorithms
        self.race: Race | None = None
        self.pair: RacePair | None = None
        self.race_worker: Worker[object] | None = None
        self.feed: LiveFeed | None = None
        self.summary: RaceSummary | None = None
        self.summaries: list[RaceSummary | None] = []
        self._roster_key: str | None = None
        self.listed = False  # the change feed has listed the occurrences once
        self._picked: tuple[int, int] | None = None  # (lane, racer) whose attempts are shown

    # -- layout -----------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(Content("Racers: capacity under a rush"), id="race-title")
        yield RaceForm(id="race-setup")
        yield Static(Content(""), id="race-setup-error")
        with Horizontal(id="race-body"):
            yield RaceLane(id="race-lane-0")
            yield RaceLane(id="race-lane-1", classes="hidden")
            yield RaceRoster(id="race-roster")
        yield Static(Content("Tab into the racers, arrows pick one"), id="race-attempts")
        yield Static(Content("no race yet"), id="race-status", classes="pending")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#race-roster", RaceRoster).border_title = "roster"
        self.set_interval(REDRAW_S, self._redraw)
        self._say_setup_error("")
        if self.store_url is not None:
            self._follow_feed(self.store_url)
        else:
            self.query_one("#race-setup").display = False
            self.query_one("#race-roster").display = False
        if self._autostart == "pair":
            self.action_side_by_side()
        if self._autostart is not None:  # asked for on the command line: start at once
            self.action_start()

    # -- keys: the panel's own, in the footer, the help and the palette -------------------

    def help_rows(self) -> list[tuple[str, str, str, str]]:
        """The panel's keys (and the racer grid's), as the help screen lists them."""
        return help_rows(self.app)

    def system_commands(self) -> Iterable[SystemCommand]:
        """The palette's entries while the panel is open: its own actions only."""
        return system_commands(self)

    def on_resize(self, event: events.Resize) -> None:
        # A short terminal keeps what proves the point (the checks and the verdict)
        # and drops the plots, which cannot be read in a few rows anyway.
        self.set_class(event.size.height < SHORT_ROWS, "short")

    def lanes(self) -> list[RaceLane]:
        return [lane for lane in self.query(RaceLane) if not lane.has_class("hidden")]

    # -- the form ---------------------------------------------------------------------------

    @property
    def form(self) -> RaceForm:
        return self.query_one(RaceForm)

    def _pace(self) -> float:
        return self.form.pace

    def _say_setup_error(self, text: str) -> None:
        line = self.query_one("#race-setup-error", Static)
        line.update(Content(printable(text)))
        line.display = bool(text)

    @on(Select.Changed, "#race-occurrence")
    def _occurrence_chosen(self) -> None:
        if self.is_racing():
            return  # the form is disabled while racing; the roster follows the race
        self.form.chose(self.form.chosen)
        self._show_roster_of(self.form.chosen)

    def _show_roster_of(self, key: str | None) -> None:
        if key == self._roster_key:
            return
        self._roster_key = key
        roster = self.query_one("#race-roster", RaceRoster)
        roster.border_title = "roster"
        roster.show([])
        if self.feed is not None:
            self.feed.follow(rosters=[key] if key else [])

    @on(Button.Pressed, "#race-start")
    def _start_pressed(self) -> None:
        self.action_start()

    @on(Button.Pressed, "#race-pair")
    def _pair_pressed(self) -> None:
        self.action_side_by_side()

    @on(Button.Pressed, "#race-stop")
    def _stop_pressed(self) -> None:
        self.action_stop()

    def is_racing(self) -> bool:
        return self.race_worker is not None and self.race_worker.state in RUNNING

    def action_start(self) -> None:
        if self.is_racing():
            return
        if self.recording is not None:
            speed = self.speed if self.speed is not None else self._pace()
            self._launch(play_recording(self.recording, speed, self.post_message), "play")
            return
        if self.side_by_side:
            self._start_side_by_side()
            return
        try:
            setup = self.form.read()
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
                lambda yes: self._launch(self._run_race(setup), "race") if yes else None,
            )
            return
        self._launch(self._run_race(setup), "race")

    def action_side_by_side(self) -> None:
        """Switch the mode (one house, or the seed's algorithm beside ours); F5 starts it.

        A mode, not a start: no single letter writes anything (README, "No single key writes").
        """
        if self.is_racing() or self.store_url is None:
            return
        pair = self.side_by_side = not self.side_by_side
        self.query_one("#race-pair", Button).label = Content(
            "One house v" if pair else "Side by side v"
        )
        for lane in self._layout(pair):
            lane.expect_mode(pair)
        self._status("pending", MODE_TEXT[pair])
        self.refresh_bindings()

    def _layout(self, pair: bool) -> list[RaceLane]:
        """Two lanes and no roster side by side, else one lane and the raced roster."""
        lanes = list(self.query(RaceLane))
        lanes[1].set_class(not pair, "hidden")
        self.query_one("#race-body").set_class(pair, "pair")
        self.query_one("#race-roster").display = not pair and self.store_url is not None
        return lanes if pair else lanes[:1]

    def _start_side_by_side(self) -> None:
        assert self.store_url is not None
        try:
            setup = self.form.read(fresh=True)  # two fresh demo occurrences, whatever is picked
        except SetupError as exc:
            self._say_setup_error(str(exc))
            return
        self._say_setup_error("")
        rounds = {"rounds": self.rounds} if self.rounds else {}
        body = race_side_by_side(
            setup, self.store_url, self.operator, self.post_message, self._set_pair, **rounds
        )
        self._launch(body, "side-by-side")

    def _set_pair(self, pair: RacePair | None) -> None:
        self.pair = pair

    def _launch(self, body: object, name: str) -> None:
        self.summary, self.summaries = None, []
        self._set_running(True)
        self._status("pending", "starting…")
        self.race_worker = self.run_worker(
            body,  # type: ignore[arg-type]
            name=name,
            group="race",
            exit_on_error=False,
        )

    def action_stop(self) -> None:
        if self.race is not None:
            self._status("pending", "stopping the racers…")
            self._stop(self.race.stop())
        elif self.pair is not None:
            self._status("pending", "stopping the racers…")
            self._stop(self.pair.stop())
        elif self.is_racing() and self.race_worker is not None and self.recording is not None:
            self.race_worker.cancel()

    @work(group="race-stop", exit_on_error=False, name="stop")
    async def _stop(self, stopping: object) -> None:
        await stopping  # type: ignore[misc]  # the race's batches() then end and it verifies

    def action_pace(self) -> None:
        self.form.pace = next_pace(self._pace())
        when = "when played again (F5)" if self.recording is not None else "by the next race"
        self._status("pending", f"pace {pace_label(self._pace())}: used {when}")

    def action_settings(self) -> None:
        if self.store_url is not None:
            setup = self.query_one("#race-setup")
            setup.display = not setup.display

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Only the keys that do something now are in the footer."""
        playback = self.recording is not None
        if action == "settings":
            return not playback
        if action == "side_by_side":
            return not playback and not self.is_racing()
        if action == "stop":
            return self.is_racing()
        if action == "start":
            return not self.is_racing()
        return True

    def action_close(self) -> None:
        self.dismiss(None)

    def _set_running(self, running: bool) -> None:
        self.refresh_bindings()
        self.form.set_running(running)

    def _status(self, state: str, text: str) -> None:
        line = self.query_one("#race-status", Static)
        line.set_classes(state)
        line.update(Content(printable(text)))

    # -- workers: all I/O happens here ------------------------------------------------------

    def _run_race(self, setup: RaceSetup) -> Coroutine[Any, Any, object]:
        assert self.store_url is not None
        post, silent = self.post_message, self._racer_silent
        return race_one(setup, self.store_url, self.operator, post, self._set_race, silent)

    def _set_race(self, race: Race | None) -> None:
        self.race = race

    def _racer_silent(self, warning: str) -> None:
        """The watchdog's word on a racer process gone silent (stopped?), while it races."""
        self.notify(warning, title="Racers", severity="warning", markup=False)

    @work(group="race-feed", exclusive=True, exit_on_error=False, name="feed")
    async def _follow_feed(self, store_url: str) -> None:
        """The occurrence list and the raced roster, through the app's change feed."""
        async with open_store(store_url) as store:
            ledger = Ledger(store, operator=self.operator)
            feed = LiveFeed(
                ledger,
                lambda reading: self.post_message(FeedRead(reading)),
                position=await ledger.head(),
                pace=FEED_PACE_S,
            )
            self.feed = feed
            feed.request(ReadRequest(everything=True))
            if self._roster_key:
                feed.follow(rosters=[self._roster_key])
            await feed.run()

    # -- handlers: only widgets -----------------------------------------------------------

    def on_feed_read(self, message: FeedRead) -> None:
        reading = message.reading
        if reading.everything:
            self._list_occurrences(reading)
        for view in reading.rosters:
            if view.record.key == self._roster_key:
                rows = [(s.actor, s.state) for s in view.roster]
                roster = self.query_one("#race-roster", RaceRoster)
                roster.border_title = f"roster {len(rows)}/{view.record.capacity}"
                roster.show(rows)

    def _list_occurrences(self, reading: Reading) -> None:
        # Never the house's selection by default: racers aim at a fresh demo
        # occurrence unless someone picks another (and, for a real show, says yes).
        keep = self.form.chosen if self.is_racing() else self._roster_key
        self.form.list_occurrences(reading.lines, keep)
        self.listed = True

    def on_lanes_planned(self, message: LanesPlanned) -> None:
        pair = len(message.plans) > 1
        lanes = self._layout(pair)
        for lane, plan, capacity in zip(lanes, message.plans, message.capacities, strict=False):
            lane.begin(plan, capacity, message.note)
        plan = message.plans[0]
        what = "side by side, same racers" if pair else plan.occurrence
        self.query_one("#race-title", Static).update(
            # What fits 80 columns first (the seed reproduces a run); the occurrence,
            # whose length the user chose, last, where clipping costs least.
            Content(
                f"Racers: {plan.racers} over {plan.workers} processes · seed {plan.seed} · "
                f"pace {pace_label(plan.pace)} · {'churn' if plan.churn else 'hold only'} · "
                f"{'one ledger per process · ' if plan.shape == 'processes' else ''}"
                f"{printable(what)}"
            )
        )
        if message.note:
            self._status("pending", message.note)
        if not pair:
            self._show_roster_of(plan.occurrence if self.store_url is not None else None)

    def on_lanes_released(self, message: LanesReleased) -> None:
        for lane, start in zip(self.lanes(), message.starts, strict=False):
            lane.released(start)
            lane.phase("barrier released: racing")
            lane.verdict("pending", "racing… the stream is verified when the race ends")
        status = self.query_one("#race-status", Static)
        shown = str(status.render())
        if shown.endswith("starting the racer processes…"):
            self._status("pending", shown.replace("starting the racer processes…", "racing"))

    def on_racers_moved(self, message: RacersMoved) -> None:
        lanes = self.lanes()
        if message.run < len(lanes):
            lanes[message.run].add(message.events)

    def on_lanes_ended(self, message: LanesEnded) -> None:
        lanes = self.lanes()
        for lane, summary in zip(lanes, message.summaries, strict=False):
            lane.finish(summary, message.error or "")
        self.summaries = list(message.summaries)
        self.summary = message.summaries[-1] if message.summaries else None
        if len(message.summaries) == 1 and message.summaries[0] is not None:
            summary = message.summaries[0]
            self._status("ok" if summary.ok else "bad", f"done: {summary.verdict.line()}")
        if message.error:
            self._status("bad", message.error)
        self._show_attempts()

    def on_round_note(self, message: RoundNote) -> None:
        self._status(message.state, message.text)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """My workers' ends and failures become one line here, never the app's business."""
        event.stop()
        worker = event.worker
        if worker is self.race_worker and event.state not in RUNNING:
            self._set_running(False)
            if self.feed is not None:
                self.feed.request(ReadRequest(everything=True))
        if event.state is not WorkerState.ERROR:
            return
        error = worker.error
        text = f"{type(error).__name__}: {printable(str(error))}" if error else "failed"
        if worker is self.race_worker:
            for lane in self.lanes():
                if lane.summary is None:
                    lane.finish(None, f"the race failed: {text}")
            self._status("bad", f"{worker.name}: {text}")
        else:
            self._say_setup_error(f"{worker.name}: {text}")

    @on(RacerPicked)
    def _racer_picked(self, message: RacerPicked) -> None:
        lanes = self.lanes()
        lane = next((i for i, lane in enumerate(lanes) if lane.grid is message.grid), 0)
        self._picked = (lane, message.racer)
        self._show_attempts()

    def _show_attempts(self) -> None:
        if self._picked is None:
            return
        lanes = self.lanes()
        lane_index, racer = self._picked
        if lane_index >= len(lanes):
            return
        tally = lanes[lane_index].tally
        if tally is None or racer >= len(tally.racers):
            return
        self.query_one("#race-attempts", Static).update(attempts_text(tally.racers[racer]))

    # -- drawing --------------------------------------------------------------------------

    def _redraw(self) -> None:
        source = self.race or self.pair
        for lane in self.lanes():
            if source is not None and not lane.racing and lane.summary is None:
                lane.phase(source.phase)  # spawning…, 3 of 8 ready, then the release
            lane.redraw()
        if self._picked is not None and self.is_racing():
            self._show_attempts()
