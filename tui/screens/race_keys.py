"""The racers panel's keys: its bindings, its help rows and its palette entries.

Why apart: inside the panel the footer, the help screen (``?``) and the
command palette list only what the panel answers to; the house's keys
(``b Book``, ``h Hold``, ...) do nothing here and must not be advertised.
``q`` goes back to the house rather than quitting from the middle of a race.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from tui.widgets.racer_grid import RacerGrid

PANEL_BINDINGS: list[BindingType] = [
    Binding("escape", "close", "Back", id="race.close", tooltip="Stop any race and go back"),
    Binding("f5", "start", "Start", id="race.start", tooltip="Start a race (or play again)"),
    Binding(
        "v",
        "side_by_side",
        "Side by side",
        id="race.side_by_side",
        tooltip="Mode: the seed's algorithm beside ours on fresh demo houses, or one (F5 starts)",
    ),
    Binding("p", "pace", "Pace", id="race.pace", tooltip="Slow motion: 1×, 1/4×, 1/16×"),
    Binding("f6", "stop", "Stop", id="race.stop", tooltip="Stop the race; processes are reaped"),
    Binding("s", "settings", "Settings", id="race.settings", tooltip="Show or hide the form"),
    # q leaves the panel, not the app: the footer lists the panel's keys only
    Binding("q", "close", "Back", show=False, id="race.quit", tooltip="Back to the house"),
]
#: Listed with the panel's own: the app's help key and the way into the racer grid.
_ALSO = [
    Binding("question_mark,f1", "help", "Help", id="help", tooltip="Every key and what it does"),
    Binding("tab", "focus_next", "Next", id="focus", tooltip="Into the racers (arrows pick one)"),
]


def help_rows(app: App[Any]) -> list[tuple[str, str, str, str]]:
    """One row per key of the panel: keys, what it is called, what it does, its id."""
    rows: list[tuple[str, str, str, str]] = []
    for binding in [*PANEL_BINDINGS, *_ALSO]:
        assert isinstance(binding, Binding)
        keys = " / ".join(
            app.get_key_display(Binding(key, binding.action)) for key in binding.key.split(",")
        )
        rows.append((keys, binding.description, binding.tooltip, binding.id or ""))
    arrows = [b for b in RacerGrid.BINDINGS if isinstance(b, Binding)]
    keys = " ".join(app.get_key_display(b) for b in arrows)
    ids = ", ".join(b.id or "" for b in arrows)
    rows.append((keys, "Racer", "In the racers: pick one to see its attempts", ids))
    return rows


def system_commands(screen: Screen[Any]) -> Iterable[SystemCommand]:
    """The palette's entries for the panel's own actions."""
    for binding in PANEL_BINDINGS:
        assert isinstance(binding, Binding)
        if binding.show:
            yield SystemCommand(
                binding.description, binding.tooltip, partial(screen.run_action, binding.action)
            )
