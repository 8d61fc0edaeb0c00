"""The racers panel in a real app: a small race across real processes, verified on screen."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
from typing import Any

import pytest
from support.pilot import until
from textual.app import App
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static, Switch
from textual.worker import Worker, WorkerCancelled, WorkerFailed

from store import open_store
from store.booking import Ledger
from store.racers import prepare_occurrence
from tui.screens.confirm import ConfirmScreen
from tui.screens.race import NEW, RacersMoved, RaceScreen, RaceStarted
from tui.widgets.race_roster import RaceRoster
from tui.widgets.racer_grid import RacerGrid

pytestmark = pytest.mark.slow

KEY = "panel-night"
REAL = "real-night"


class Host(App[None]):
    """The smallest app that opens the panel, as the real one does on ``r``."""

    def __init__(self, store_url: str, key: str | None) -> None:
        super().__init__()
        self.store_url = store_url
        self.key = key

    def on_mount(self) -> None:
        self.push_screen(RaceScreen(self.store_url, "tester", self.key))


async def _leave(app: App[None]) -> None:
    """Pop the panel and let its cancelled workers close their stores before the loop ends."""
    workers = list(app.workers)
    await app.pop_screen()
    for worker in workers:
        with contextlib.suppress(WorkerCancelled, WorkerFailed):
            await worker.wait()


def _gone(pids: list[int]) -> bool:
    def alive(pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
        except FileNotFoundError:
            return False

    return not any(alive(p) for p in pids) and not multiprocessing.active_children()


async def _ready(db_path: str, capacity: int) -> None:
    async with open_store(db_path, create=True):
        pass
    await prepare_occurrence(db_path, KEY, capacity)


def _text(screen: RaceScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


VERDICT = "#race-lane-0 .lane-verdict"
COUNTERS = "#race-lane-0 .lane-counters"


async def _panel(app: Host, pilot: Pilot[None], pick: str | None = KEY) -> RaceScreen:
    """The panel once the change feed has listed the occurrences, with ``pick`` chosen."""
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, RaceScreen)
    await until(pilot, lambda: screen.listed, "the occurrence list from the feed")
    await pilot.pause()
    assert screen.query_one("#race-occurrence", Select).value == NEW  # never the house's pick
    if pick is not None:
        screen.query_one("#race-occurrence", Select).value = pick
        await pilot.pause()
    return screen


async def _start(
    pilot: Pilot[None], screen: RaceScreen, racers: int, processes: int, button: str = "#race-start"
) -> Worker[Any]:
    """Set the race's size, press start, and hand back the worker running the race."""
    screen.query_one("#race-racers", Input).value = str(racers)
    screen.query_one("#race-processes", Input).value = str(processes)
    await pilot.click(button)
    worker = screen.race_worker
    assert worker is not None
    return worker


async def test_a_small_race_in_the_panel_ends_green(db_path: str) -> None:
    await _ready(db_path, capacity=6)
    app = Host(db_path, KEY)
    seen: list[Message] = []
    async with app.run_test(size=(150, 48), message_hook=seen.append) as pilot:
        screen = await _panel(app, pilot)
        assert screen.query_one("#race-capacity", Input).value == "6"
        await (await _start(pilot, screen, racers=24, processes=2)).wait()
        await pilot.pause()

        line = screen.query_one(VERDICT, Static)
        assert _text(screen, VERDICT) == "capacity 6 · occupied 6 · oversold 0 ✓"
        assert line.has_class("ok")
        assert screen.summary is not None and screen.summary.tally.conflicts > 0
        counts = screen.query_one("#race-lane-0 RacerGrid", RacerGrid).counts()
        assert (counts["held"], counts["full"]) == (6, 18)
        counters = _text(screen, COUNTERS)
        assert "held 6/6 · full 18" in counters and "conflicts" in counters
        checks = _text(screen, "#race-lane-0 .lane-checks").splitlines()
        assert [c.split(":")[0] for c in checks] == [
            "✓ never oversold",
            "✓ each winner exactly once",
            "✓ every success has its event",
            "✓ final roster agrees",
        ]
        caption = _text(screen, "#race-lane-0 .lane-caption")
        conflict = screen.summary.tally.last_conflict
        assert conflict is not None and conflict.expected is not None
        assert caption.startswith(
            f"conflict: racer {conflict.racer} read seq {conflict.expected}, "
            f"seq {conflict.expected + 1} landed first"
        )
        # the roster beside it came through the change feed, whole
        await until(
            pilot, lambda: len(screen.query_one("#race-roster", RaceRoster).rows) == 6, "roster"
        )
        started = [m for m in seen if isinstance(m, RaceStarted)]
        assert len(started) == 1 and len(started[0].race.pids) == 2
        assert _gone(started[0].race.pids)
        moved = [m for m in seen if isinstance(m, RacersMoved)]
        assert sum(len(m.events) for m in moved) > 24  # attempts, conflicts, outcomes
        await _leave(app)


async def _real_show(db_path: str) -> list[str]:
    """A real (non-demo) show with one booking; returns what its stream holds."""
    async with open_store(db_path, create=True) as store:
        ledger = Ledger(store, operator="box office")
        await ledger.create_occurrence(REAL, capacity=20, title="Real night")
        await ledger.book(REAL, "Ann")
        return [e.type for e in await ledger.events(REAL)]


async def _streams(db_path: str) -> dict[str, tuple[int, bool]]:
    async with open_store(db_path) as store:
        ledger = Ledger(store)
        return {r.key: (r.seq, r.demo) for r in await ledger.occurrences()}


async def test_the_default_run_leaves_every_real_occurrence_untouched(db_path: str) -> None:
    before = await _real_show(db_path)
    app = Host(db_path, REAL)  # the house has the real show selected, as on a show night
    async with app.run_test(size=(150, 48)) as pilot:
        screen = await _panel(app, pilot, pick=None)
        await (await _start(pilot, screen, racers=12, processes=2)).wait()
        await pilot.pause()
        assert screen.summary is not None and screen.summary.ok
        raced = screen.summary.plan.occurrence
        assert raced != REAL
        await _leave(app)
    streams = await _streams(db_path)
    assert streams[raced][1] is True  # the race made its own demo occurrence
    assert streams[REAL] == (len(before), False)
    async with open_store(db_path) as store:
        assert [e.type for e in await Ledger(store).events(REAL)] == before
        held = (await Ledger(store).view(raced)).roster
    assert held and all(r.expires_at is not None for r in held)  # racer holds lapse


async def test_picking_a_real_show_asks_first_and_no_keeps_it_untouched(db_path: str) -> None:
    before = await _real_show(db_path)
    app = Host(db_path, None)
    async with app.run_test(size=(150, 48)) as pilot:
        screen = await _panel(app, pilot, pick=REAL)
        await pilot.click("#race-start")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("enter")  # the focused answer is the safe one
        await pilot.pause()
        assert app.screen is screen and screen.race_worker is None
        await _leave(app)
    assert await _streams(db_path) == {REAL: (len(before), False)}


async def test_bad_settings_are_refused_inline_and_start_nothing(db_path: str) -> None:
    await _ready(db_path, capacity=6)
    app = Host(db_path, None)
    async with app.run_test(size=(150, 48)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RaceScreen)
        assert screen.query_one("#race-occurrence", Select).value == NEW
        screen.query_one("#race-racers", Input).value = "1001"
        await pilot.click("#race-start")
        await pilot.pause()
        assert "racers: a whole number from 1 to 1,000" in _text(screen, "#race-setup-error")
        assert screen.race_worker is None
        await _leave(app)


async def test_leaving_the_panel_stops_the_race_and_reaps_its_processes(db_path: str) -> None:
    await _ready(db_path, capacity=300)
    app = Host(db_path, KEY)
    async with app.run_test(size=(150, 48)) as pilot:
        screen = await _panel(app, pilot)
        worker = await _start(pilot, screen, racers=300, processes=3)
        await until(pilot, lambda: screen.race is not None and screen.race.started_at, "release")
        assert screen.race is not None
        pids = screen.race.pids
        assert len(pids) == 3 and all(os.path.exists(f"/proc/{p}") for p in pids)
        others = [w for w in app.workers if w is not worker]
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, RaceScreen)
        with pytest.raises(WorkerCancelled):
            await worker.wait()
        assert _gone(pids)
        for other in others:  # let the roster tail close its store before the loop ends
            with contextlib.suppress(WorkerCancelled, WorkerFailed):
                await other.wait()


async def test_the_stop_button_ends_the_run_and_still_verifies_it(db_path: str) -> None:
    await _ready(db_path, capacity=300)
    app = Host(db_path, KEY)
    async with app.run_test(size=(150, 48)) as pilot:
        screen = await _panel(app, pilot)
        screen.query_one("#race-churn", Switch).value = True
        worker = await _start(pilot, screen, racers=300, processes=2)
        await until(pilot, lambda: screen.race is not None and screen.race.started_at, "release")
        assert screen.race is not None
        pids = screen.race.pids
        assert not screen.query_one("#race-setup").display  # the form makes room while racing
        await pilot.press("f6")
        await worker.wait()
        await pilot.pause()

        assert screen.summary is not None and screen.summary.stopped
        assert screen.summary.tally.decided < 300
        assert _text(screen, VERDICT).endswith("✓ (stopped early)")
        assert screen.query_one(VERDICT, Static).has_class("ok")
        assert not screen.query_one("#race-start").disabled
        assert _gone(pids)
        await _leave(app)


async def test_the_shared_switch_races_one_ledger_per_process(db_path: str) -> None:
    """``shared`` on: the panel races ``--shape processes`` (each process one store and ledger)."""
    await _ready(db_path, capacity=6)
    app = Host(db_path, KEY)
    async with app.run_test(size=(150, 48)) as pilot:
        screen = await _panel(app, pilot)
        screen.query_one("#race-shared", Switch).value = True
        await (await _start(pilot, screen, racers=24, processes=2)).wait()
        await pilot.pause()

        assert screen.summary is not None
        assert screen.summary.plan.shape == "processes" and screen.summary.stores == 2
        title = _text(screen, "#race-title")
        assert "one ledger per process" in title
        # at 80 columns (78 inside the padding) the counts, seed and pace are never clipped
        # by the occurrence's name, which comes last
        assert title.endswith(f" · {KEY}")
        assert len(title.split(" · one ledger")[0]) <= 78
        assert title.index("seed") < title.index("pace") < title.index("one ledger")
        assert _text(screen, VERDICT) == "capacity 6 · occupied 6 · oversold 0 ✓"
        counts = screen.query_one("#race-lane-0 RacerGrid", RacerGrid).counts()
        assert (counts["held"], counts["full"]) == (6, 18)
        await _leave(app)
