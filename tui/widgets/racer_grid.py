"""A cell per racer, so an audience sees the rush, the retries and the sell-out at a glance.

States differ by glyph as well as colour (a colour-blind viewer, or a
monochrome terminal, still reads them). Up to a thousand racers fit: cells are
two columns wide while the grid fits its height that way, one column otherwise.
The grid takes focus: the arrow keys move a cursor over the cells and each
move posts ``RacerPicked``, so the screen can show that racer's attempts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual.app import RenderResult
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

#: state -> (glyph, label); the order is the legend's.
STATES: dict[str, tuple[str, str]] = {
    "waiting": ("·", "waiting"),
    "retrying": ("↻", "retrying"),
    "held": ("●", "held"),
    "full": ("✕", "full"),
    "confirmed": ("✔", "confirmed"),
    "released": ("○", "released"),
    "already": ("◆", "already seated"),
    "gave-up": ("⊘", "gave up"),
    "error": ("!", "error"),
}


@dataclass
class RacerPicked(Message):
    """The cursor moved onto racer ``racer`` (its index in racer order)."""

    grid: RacerGrid
    racer: int


class RacerGrid(Widget, can_focus=True):
    """Racer cells in racer order; assign ``states`` (one state name per racer) to redraw."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {f"racer-grid--{state}" for state in STATES} | {
        "racer-grid--cursor"
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "move(-1, 0)", "Racer", show=False, id="racers.left"),
        Binding("right", "move(1, 0)", "Racer", show=False, id="racers.right"),
        Binding("up", "move(0, -1)", "Racer", show=False, id="racers.up"),
        Binding("down", "move(0, 1)", "Racer", show=False, id="racers.down"),
    ]
    #: The racer under the cursor, shown reversed while the grid has focus.
    cursor: reactive[int] = reactive(0)

    DEFAULT_CSS = """
    RacerGrid {
        height: 1fr;
        width: 1fr;
    }
    RacerGrid > .racer-grid--waiting { color: $text-muted; }
    RacerGrid > .racer-grid--retrying { color: $warning; text-style: bold; }
    RacerGrid > .racer-grid--held { color: $success; text-style: bold; }
    RacerGrid > .racer-grid--full { color: $error; }
    RacerGrid > .racer-grid--confirmed { color: $success-lighten-2; text-style: bold; }
    RacerGrid > .racer-grid--released { color: $secondary; }
    RacerGrid > .racer-grid--already { color: $accent; }
    RacerGrid > .racer-grid--gave-up { color: $warning-darken-2; }
    RacerGrid > .racer-grid--error { color: $error; text-style: bold reverse; }
    RacerGrid > .racer-grid--cursor { text-style: reverse; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._states: list[str] = []

    @property
    def states(self) -> list[str]:
        return self._states

    @states.setter
    def states(self, states: list[str]) -> None:
        if states != self._states:
            resized = len(states) != len(self._states)
            self._states = list(states)
            if self.cursor >= len(self._states):
                self.cursor = 0
            self.refresh(layout=resized)

    def per_row(self) -> int:
        return max(1, self.size.width // self.cell_width(self.size.width, self.size.height))

    def action_move(self, across: int, down: int) -> None:
        """Move the cursor a cell across or a row down (clamped to the racers there are)."""
        if not self._states:
            return
        step = across + down * self.per_row()
        self.cursor = max(0, min(len(self._states) - 1, self.cursor + step))
        self.post_message(RacerPicked(self, self.cursor))

    def watch_cursor(self) -> None:
        self.refresh()

    def on_focus(self) -> None:
        self.refresh()
        if self._states:
            self.post_message(RacerPicked(self, self.cursor))

    def on_blur(self) -> None:
        self.refresh()

    def counts(self) -> dict[str, int]:
        found = dict.fromkeys(STATES, 0)
        for state in self._states:
            found[state] = found.get(state, 0) + 1
        return found

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """As many rows as the racers need (two columns a cell if that fits in half the screen)."""
        count = max(1, len(self._states))
        wide = -(-count // max(1, width // 2))
        return wide if wide <= max(1, viewport.height // 3) else -(-count // max(1, width))

    def cell_width(self, width: int, height: int) -> int:
        """Two columns per cell while the grid fits that way, else one."""
        if width < 2 or not self._states:
            return 1
        rows_wide = -(-len(self._states) // (width // 2))
        return 2 if rows_wide <= max(1, height) else 1

    def render(self) -> RenderResult:
        width, height = self.size.width, self.size.height
        if not self._states:
            return Text("no race yet", style=self.get_component_rich_style("racer-grid--waiting"))
        cell = self.cell_width(width, height)
        per_row = max(1, width // cell)
        styles = {s: self.get_component_rich_style(f"racer-grid--{s}") for s in STATES}
        cursor = self.cursor if self.has_focus else -1
        text = Text(no_wrap=True, overflow="crop")
        for index, state in enumerate(self._states):
            if index and index % per_row == 0:
                text.append("\n")
            glyph = STATES.get(state, ("?", state))[0]
            style: Style | str = styles.get(state, "")
            if index == cursor:
                style = Style.chain(
                    Style.parse(str(style)) if isinstance(style, str) else style,
                    self.get_component_rich_style("racer-grid--cursor"),
                )
            text.append(glyph + (" " if cell == 2 else ""), style)
        return text

    def legend(self, shown: set[str] | None = None) -> Text:
        """``· waiting 3  ↻ retrying 12  ● held 40 ...``: the grid's glyphs, styles and counts.

        States not in ``shown`` appear only when some racer is in them.
        """
        counts = self.counts()
        text = Text(no_wrap=True, overflow="ellipsis")
        for state, (glyph, label) in STATES.items():
            if shown is not None and state not in shown and not counts.get(state):
                continue
            if text:
                text.append("  ")
            text.append(glyph, self.get_component_rich_style(f"racer-grid--{state}"))
            text.append(f" {label} {counts.get(state, 0)}")
        return text
