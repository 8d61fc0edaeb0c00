"""A race as two plots people can read: holds so far against capacity, and conflicts per second.

Why two plots: conflicts outnumber holds by an order of magnitude in a rush,
and one plot with two y scales made the conflicts look as if they fell to zero
(their axis started at 504). Each plot here has one series and one axis that
starts at 0 with evenly spaced ticks; the x axis covers the whole race, from
the start signal to its last event; the legend is the title, outside the data.
The holds plot draws the cumulative count as a line that climbs to the
capacity mark (and past it, in red words, when the seed's algorithm oversells).

Events are binned by the instant their racer saw them (``RacerEvent.at``,
relative to the start signal).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from textual_plotext import PlotextPlot

from store.racers import Kind, RacerEvent

#: Bins per race: fine enough to show the rush, coarse enough to read.
BINS = 40


def nice_step(top: float, ticks: int = 4) -> float:
    """An even tick step (1, 2 or 5 times a power of ten): about ``ticks`` ticks up to ``top``."""
    if top <= 0:
        return 1.0
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    for mult in (1, 2, 5, 10):
        if raw <= mult * power:
            return float(mult * power)
    return float(10 * power)


def even_ticks(top: float, ticks: int = 4) -> list[float]:
    """``0, step, 2 step, ...`` up to the first tick at or past ``top``."""
    step = nice_step(top, ticks)
    count = max(1, math.ceil(top / step - 1e-9))
    return [round(i * step, 6) for i in range(count + 1)]


class RaceSeries:
    """The instants of holds and conflicts since the start signal (no widget: testable)."""

    def __init__(self, start: float = 0.0) -> None:
        self.start = start
        self.holds: list[float] = []
        self.conflicts: list[float] = []
        self.last = 0.0  # seconds from the start to the latest event of any kind

    def add(self, events: Iterable[RacerEvent]) -> None:
        for event in events:
            at = max(0.0, event.at - self.start)
            self.last = max(self.last, at)
            if event.kind is Kind.HELD:
                self.holds.append(at)
            elif event.kind is Kind.CONFLICT:
                self.conflicts.append(at)

    def span(self, until: float | None = None) -> float:
        """The x axis's length: the whole race (its elapsed time once known)."""
        if not (self.holds or self.conflicts or self.last):
            return 1.0  # nothing yet: a one-second axis, not a millisecond one
        return max(until or 0.0, self.last, 1e-3)

    def cumulative_holds(self, span: float) -> tuple[list[float], list[int]]:
        """Holds so far at each bin's end, from 0 at the start to the total at ``span``."""
        edges = [span * i / BINS for i in range(BINS + 1)]
        ordered = sorted(self.holds)
        counts, taken = [], 0
        for edge in edges:
            while taken < len(ordered) and ordered[taken] <= edge:
                taken += 1
            counts.append(taken)
        counts[-1] = len(ordered)
        return edges, counts

    def conflict_rate(self, span: float) -> tuple[list[float], list[float]]:
        """Conflicts per second in each bin (x at the bin's middle)."""
        width = span / BINS
        bins = [0] * BINS
        for at in self.conflicts:
            bins[min(BINS - 1, int(at / width))] += 1
        return [width * (i + 0.5) for i in range(BINS)], [n / width for n in bins]


class _SeriesPlot(PlotextPlot):
    """A plot of one series of a ``RaceSeries``; ``draw(series, ...)`` when it has moved."""

    def _axes(self, span: float, top: float, title: str) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(title)
        xticks = even_ticks(span)
        yticks = even_ticks(max(top, 1.0), ticks=3)
        plt.xlim(0, xticks[-1])
        plt.ylim(0, yticks[-1])
        plt.xticks(xticks, [f"{t:g}" for t in xticks])
        plt.yticks(yticks, [f"{t:g}" for t in yticks])


class HoldsPlot(_SeriesPlot):
    """Holds so far (a line) against the capacity mark."""

    def draw(self, series: RaceSeries, capacity: int, until: float | None = None) -> None:
        span = series.span(until)
        xs, holds = series.cumulative_holds(span)
        top = max(capacity, holds[-1]) * 1.15
        over = holds[-1] - capacity
        title = f"holds so far vs capacity {capacity} (red)"
        if over > 0:
            title = f"holds {holds[-1]}: OVER +{over} (red: {capacity})"
        self._axes(span, top, title)
        plt = self.plt
        plt.hline(capacity, "red")
        plt.plot(xs, holds, color="green", marker="braille")
        self.refresh()


class ConflictsPlot(_SeriesPlot):
    """Conflicts per second: each one a racer that read a seq another write then took."""

    def draw(self, series: RaceSeries, until: float | None = None) -> None:
        span = series.span(until)
        xs, rate = series.conflict_rate(span)
        self._axes(span, max(rate, default=0.0), f"conflicts/s ({len(series.conflicts)} in all)")
        self.plt.plot(xs, rate, color="orange", marker="braille")
        self.refresh()
