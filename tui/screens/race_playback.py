"""A recorded race played back in the panel, at any speed, with no database.

Why: a talk should never depend on the machine's mood. ``--record FILE`` (the
command line) keeps every racer event with its instant and the verdict found
from the stream when the race ran; this replays the events into the panel's
lanes at ``speed`` times the recorded pace (0: at once) and ends with that
recorded verdict, re-tallying the counts from the events as
``boxoffice race --play`` does. A file with two runs (the side-by-side demo)
plays as two lanes.

This module is the worker's body; it talks to the screen only through the
panel's messages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from textual.message import Message

from store.racers import RaceSummary, Tally
from store.racers.recording import load, play
from tui.screens.race_messages import LanesEnded, LanesPlanned, LanesReleased, RacersMoved
from tui.widgets.race_settings import pace_label

Post = Callable[[Message], object]


async def play_recording(path: str | Path, speed: float, post: Post) -> list[RaceSummary]:
    """Play ``path`` into the lanes; the summaries it re-derives (a ``RaceError`` if unreadable)."""
    runs = await asyncio.to_thread(load, path)  # a file read: off the event loop
    shown = "at once" if speed == 0 else f"at {pace_label(speed)}"
    post(
        LanesPlanned(
            [r.plan for r in runs],
            [r.capacity for r in runs],
            f"playing back {Path(path).name} {shown} (recorded; no database)",
        )
    )
    post(LanesReleased([0.0] * len(runs)))
    tallies = [Tally.for_plan(r.plan) for r in runs]
    async for run, batch in play(runs, speed=speed):
        for event in batch:
            tallies[run].apply(event)
        post(RacersMoved(batch, run))
    summaries = [r.replayed_summary(t) for r, t in zip(runs, tallies, strict=True)]
    post(LanesEnded(list(summaries), note="played back"))
    return summaries
