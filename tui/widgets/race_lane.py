"""One house in the racers panel: its racers, counts, plots, the four checks and the verdict.

Why a widget of its own: the side-by-side demo shows two houses at once (the
seed's algorithm and ours, same racers), and a single race or a played-back
recording shows one; each is the same lane, fed the same way. The lane keeps
its own tally from the events it is given (``Tally.apply``, as the command
line's playback does), so a live race and a recording draw identically, and
it redraws only on ``redraw()`` (a timer), never once per event.
"""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Static

from store.racers import RacePlan, RacerEvent, RaceSummary, Tally
from tui.cli.safe_text import printable
from tui.widgets.race_explain import check_lines, conflict_caption, over_capacity, verdict_line
from tui.widgets.race_plot import ConflictsPlot, HoldsPlot, RaceSeries
from tui.widgets.racer_grid import RacerGrid

#: What the heading says of each algorithm.
LABELS = {
    "seed": "seed's algorithm (UNSAFE)",
    "ours": "boxoffice",
}
LEGEND = {"waiting", "retrying", "held", "full"}


class RaceLane(Vertical):
    """A house being raced (or played back): ``begin``, ``add`` events, ``finish``."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.plan: RacePlan | None = None
        self.capacity = 0
        self.tally: Tally | None = None
        self.series = RaceSeries()
        self.summary: RaceSummary | None = None
        self.racing = False  # the barrier was released (before it: the start's phases)
        self._dirty = False

    def compose(self) -> ComposeResult:
        yield Static(
            Content("F5 races one house · v the seed's algorithm beside ours"),
            classes="lane-heading",
        )
        yield Static(Content(""), classes="lane-counters")
        yield RacerGrid(classes="lane-grid")
        yield Static(Content(""), classes="lane-legend")
        yield Static(Content(""), classes="lane-caption")
        with Horizontal(classes="lane-plots"):
            yield HoldsPlot(classes="lane-holds")
            yield ConflictsPlot(classes="lane-conflicts")
        yield Static(Content(""), classes="lane-checks")
        yield Static(Content(""), classes="lane-verdict pending")

    @property
    def grid(self) -> RacerGrid:
        return self.query_one(RacerGrid)

    def _static(self, name: str) -> Static:
        return self.query_one(f".lane-{name}", Static)

    # -- fed by the screen ----------------------------------------------------------------

    def begin(self, plan: RacePlan, capacity: int, note: str = "") -> None:
        """A new race (or round) on this lane: clear everything from the last one."""
        self.plan, self.capacity, self.summary = plan, capacity, None
        self.tally = Tally.for_plan(plan)
        self.series = RaceSeries()
        self.racing = False
        label = LABELS.get(plan.algorithm, plan.algorithm)
        pace = "" if plan.pace == 1 else f" · pace {Fraction(plan.pace).limit_denominator(64)}×"
        self._static("heading").update(
            Content.assemble(
                (label, "bold $error" if plan.algorithm == "seed" else "bold $success"),
                f" · {printable(plan.occurrence)}{pace}",
            )
        )
        self.set_class(plan.algorithm == "seed", "seed")
        self._static("checks").update(Content(""))
        self._static("caption").update(Content(""))
        self.grid.states = [r.state for r in self.tally.racers]
        self.verdict("pending", note or "starting the racer processes…")
        self._dirty = True

    def expect_mode(self, pair: bool) -> None:
        """Before a race: say what this lane will show in the mode just chosen."""
        seed = pair and self.id == "race-lane-0"
        if not pair:
            heading = "F5 races one house · v the seed's algorithm beside ours"
        elif seed:
            heading = "seed's algorithm (UNSAFE): two separate reads"
        else:
            heading = "boxoffice: one snapshot, appended at its seq"
        self._static("heading").update(Content(heading))
        self.set_class(seed, "seed")

    def released(self, start: float) -> None:
        """The barrier was released at ``start`` (the instant events are measured from)."""
        self.series.start = start
        self.racing = True
        self._dirty = True

    def phase(self, text: str) -> None:
        self._static("counters").update(Content(printable(text)))

    def add(self, events: Iterable[RacerEvent]) -> None:
        if self.tally is None:
            return
        batch = list(events)
        for event in batch:
            self.tally.apply(event)
        self.series.add(batch)
        self._dirty = True

    def verdict(self, state: str, text: str | Content) -> None:
        line = self._static("verdict")
        line.set_classes(f"lane-verdict {state}")
        line.update(text if isinstance(text, Content) else Content(printable(text)))

    def finish(self, summary: RaceSummary | None, note: str = "") -> None:
        """The run ended: its checks, its verdict (red with the seqs when it oversold)."""
        self.summary = summary
        self._dirty = True
        self.redraw()
        if summary is None:
            self.verdict("bad", note or "the race did not run")
            return
        lines = check_lines(summary)
        over = over_capacity(summary)
        if over is not None:
            lines.append(over)
        self._static("checks").update(Content("\n").join(lines))
        text = verdict_line(summary) + (f" · {note}" if note else "")
        self.verdict("ok" if summary.ok else "bad", text)

    # -- drawing --------------------------------------------------------------------------

    def redraw(self) -> None:
        """Draw what the events since the last redraw changed (cheap to call on a timer)."""
        tally = self.tally
        if not self._dirty or tally is None:
            return
        self._dirty = False
        grid = self.grid
        grid.states = [r.state for r in tally.racers]
        self._static("legend").update(grid.legend(shown=LEGEND))
        elapsed = self.summary.elapsed if self.summary is not None else self.series.last
        if tally.attempts:
            self._static("counters").update(
                Content(
                    f"attempts {tally.attempts} · conflicts {tally.conflicts} · "
                    f"retries {tally.retries} · held {tally.held}/{self.capacity} · "
                    f"full {tally.full}{self._churn(tally)} · {elapsed:.1f} s"
                )
            )
            self._static("caption").update(conflict_caption(tally))
        self.query_one(HoldsPlot).draw(self.series, self.capacity, elapsed)
        self.query_one(ConflictsPlot).draw(self.series, elapsed)

    @staticmethod
    def _churn(tally: Tally) -> str:
        if not (tally.confirmed or tally.released):
            return ""
        return f" · confirmed {tally.confirmed} · released {tally.released}"
