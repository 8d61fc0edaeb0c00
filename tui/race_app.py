"""The racers panel on its own: ``boxoffice --play FILE`` and ``boxoffice --side-by-side``.

Why a second, tiny app: a talk opens straight onto the demonstration, and a
recording plays back with no database at all (so there is no house to show).
Its help and footer are the panel's own keys.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen

from store.ledger.provenance import default_operator
from tui.screens.help import HelpScreen
from tui.screens.race import RaceScreen


class RacePanelApp(App[int]):
    """Only the racers panel; leaving it leaves the app."""

    TITLE = "boxoffice racers"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "question_mark,f1", "help", "Help", id="help", tooltip="Every key and what it does"
        ),
    ]

    def __init__(
        self,
        store_url: str | None,
        *,
        operator: str | None = None,
        play: str | Path | None = None,
        side_by_side: bool = False,
        speed: float | None = None,
        rounds: int | None = None,
    ) -> None:
        super().__init__()
        self.panel = RaceScreen(
            store_url,
            operator or default_operator(),
            None,
            play=play,
            speed=speed,
            side_by_side=side_by_side,
            rounds=rounds,
        )

    def on_mount(self) -> None:
        self.push_screen(self.panel, lambda _: self.exit(0))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.panel.help_rows()))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield from self.panel.system_commands()
