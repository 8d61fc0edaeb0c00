"""Holds and conflicts per second over a race, so the rush and the sell-out show as a shape.

Events are binned by the instant their racer saw them (``RacerEvent.at``, the
system-wide monotonic clock) relative to the start signal; holds are drawn on
the left axis and conflicts on the right, since conflicts outnumber holds by an
order of magnitude in a real rush.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual_plotext import PlotextPlot

from store.racers import Kind, RacerEvent

BIN_S = 0.25


class RacePlot(PlotextPlot):
    """``reset(start)`` when a race starts, ``add(events)`` as they come, ``draw()`` to show."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.start = 0.0
        self.holds: list[int] = []
        self.conflicts: list[int] = []
        self._dirty = True

    def reset(self, start: float) -> None:
        self.start = start
        self.holds, self.conflicts = [], []
        self._dirty = True

    def add(self, events: Iterable[RacerEvent]) -> None:
        for event in events:
            if event.kind is Kind.HELD:
                series = self.holds
            elif event.kind is Kind.CONFLICT:
                series = self.conflicts
            else:
                continue
            index = max(0, int((event.at - self.start) / BIN_S))
            for bins in (self.holds, self.conflicts):
                if len(bins) <= index:
                    bins.extend([0] * (index + 1 - len(bins)))
            series[index] += 1
            self._dirty = True

    def draw(self) -> None:
        """Redraw if anything was added since the last draw (cheap to call on a timer)."""
        if not self._dirty:
            return
        self._dirty = False
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("holds/s (left) and conflicts/s (right)")
        plt.xlabel("seconds since the start")
        if self.holds:
            times = [round(i * BIN_S, 2) for i in range(len(self.holds))]
            # conflicts first, so the holds line is drawn over it where they cross
            plt.plot(
                times,
                [n / BIN_S for n in self.conflicts],
                label="conflicts/s",
                color="red",
                yside="right",
                marker="braille",
            )
            plt.plot(
                times,
                [n / BIN_S for n in self.holds],
                label="holds/s",
                color="green",
                marker="braille",
            )
        self.refresh()
