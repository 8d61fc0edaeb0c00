"""The racers panel's end screen, both algorithms side by side (pytest-textual-snapshot).

Deterministic because it is a recorded race played back (no database, no
clock): ``fixtures/side_by_side.jsonl``, a real round in which the seed's
house oversold beside ours (``bench/side_by_side_record.py``). Update with
``pytest tests/tui/test_race_snapshots.py --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support.pilot import until
from textual.app import App
from textual.pilot import Pilot

from tui.screens.race import RaceScreen

FIXTURE = Path(__file__).parent / "fixtures" / "side_by_side.jsonl"


class Played(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.panel = RaceScreen(None, "snapshot", None, play=FIXTURE, speed=0)

    def on_mount(self) -> None:
        self.push_screen(self.panel)


async def _ended(pilot: Pilot[Any]) -> None:
    app = pilot.app
    assert isinstance(app, Played)
    panel = app.panel
    await until(
        pilot,
        lambda: len(panel.summaries) == 2 and all(lane.summary for lane in panel.lanes()),
        "the end of the playback",
    )
    await pilot.pause()


def test_side_by_side_end_screen_at_140x40(snap_compare: Any) -> None:
    """The seed's house OVER CAPACITY in red with its seqs, ours oversold 0 ✓."""
    assert snap_compare(Played(), terminal_size=(140, 40), run_before=_ended)


def test_side_by_side_end_screen_at_80x24(snap_compare: Any) -> None:
    assert snap_compare(Played(), terminal_size=(80, 24), run_before=_ended)
