"""The capacity-safety demo in the racers panel: side by side, playback, explain, keys (issue 17).

The side-by-side test races real processes on a real database file; the
playback tests need no database at all (``store_url=None``) and play a
committed recording of a real side-by-side race in which the seed oversold
(made with ``bench/side_by_side_record.py``).
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import time
from pathlib import Path
from typing import Any

import pytest
from support.pilot import until
from textual.app import App
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import Input, Static
from textual.worker import WorkerCancelled, WorkerFailed, WorkerState

from store import open_store
from store.booking import Ledger
from store.racers import Kind, RacerEvent
from store.racers.recording import load, replay_summaries
from tui.cli.main import main
from tui.screens.race import RaceScreen
from tui.screens.race_messages import LanesReleased
from tui.screens.race_runs import round_note
from tui.widgets.race_explain import verdict_line
from tui.widgets.race_lane import RaceLane
from tui.widgets.race_plot import RaceSeries, even_ticks, nice_step
from tui.widgets.racer_grid import RacerGrid

FIXTURE = Path(__file__).parent / "fixtures" / "side_by_side.jsonl"


class Host(App[None]):
    def __init__(self, screen: RaceScreen) -> None:
        super().__init__()
        self.panel = screen

    def on_mount(self) -> None:
        self.push_screen(self.panel)


def _text(screen: RaceScreen, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


async def _leave(app: App[None]) -> None:
    workers = list(app.workers)
    await app.pop_screen()
    for worker in workers:
        with contextlib.suppress(WorkerCancelled, WorkerFailed):
            await worker.wait()


# -- side by side, live ----------------------------------------------------------------


@pytest.mark.slow
async def test_side_by_side_races_both_algorithms_at_once_and_ours_never_oversells(
    db_path: str,
) -> None:
    async with open_store(db_path, create=True):
        pass
    screen = RaceScreen(db_path, "tester", None, rounds=1)
    app = Host(screen)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: screen.listed, "the occurrence list")
        screen.query_one("#race-racers", Input).value = "24"
        screen.query_one("#race-processes", Input).value = "1"
        screen.query_one("#race-capacity", Input).value = "5"
        await pilot.click("#race-pair")  # a mode, not a start: no single key writes
        assert screen.side_by_side and screen.race_worker is None
        assert not screen.query_one("#race-lane-1").has_class("hidden")
        # every phase the lane is given to show, recorded as it is shown: a start that
        # is quick can pass between two looks at the screen (a CI run missed it once)
        lane = screen.query_one("#race-lane-0", RaceLane)
        shown: list[str] = []
        show_phase = lane.phase

        def recording(text: str) -> None:
            shown.append(text)
            show_phase(text)

        lane.phase = recording  # type: ignore[method-assign]
        # the release as the race posts it, with the processes it released: a race of 5
        # seats can end (and the pair be gone) between two looks at the screen
        released: list[LanesReleased] = []
        post = screen.post_message

        def posting(message: Message) -> bool:
            if isinstance(message, LanesReleased):
                released.append(message)
            return post(message)

        screen.post_message = posting  # type: ignore[method-assign]
        await pilot.click("#race-start")
        worker = screen.race_worker
        assert worker is not None and worker.name == "side-by-side"
        # a visible start: the processes coming up are shown before the barrier is released
        starting = ("spawning 2 racer processes", "of 2 processes ready")
        await until(
            pilot,
            lambda: any(s in text for text in shown for s in starting),
            "the start's phase on screen",
        )
        # ... and before the release, not after it
        release = next((i for i, text in enumerate(shown) if "released" in text), len(shown))
        assert any(s in text for text in shown[:release] for s in starting), shown
        await worker.wait()
        await pilot.pause()
        assert len(released) == 1  # one round, released once
        pids = released[0].pids
        assert len(set(pids)) == 2  # one process a side, both up at once at the release

        seed, ours = screen.summaries
        assert seed is not None and ours is not None
        assert (seed.plan.algorithm, ours.plan.algorithm) == ("seed", "ours")
        assert seed.plan.seed == ours.plan.seed  # the same racers on both sides
        assert seed.plan.occurrence != ours.plan.occurrence
        assert "seed's algorithm (UNSAFE)" in _text(screen, "#race-lane-0 .lane-heading")
        assert _text(screen, "#race-lane-1 .lane-heading").startswith("boxoffice")
        # ours: oversold 0, shown green, with its four checks
        assert (
            _text(screen, "#race-lane-1 .lane-verdict") == "capacity 5 · occupied 5 · oversold 0 ✓"
        )
        assert screen.query_one("#race-lane-1 .lane-verdict").has_class("ok")
        assert _text(screen, "#race-lane-1 .lane-checks").count("✓") == 4
        # the seed's side says what its stream says: red with the seqs, or honestly green
        seed_verdict = _text(screen, "#race-lane-0 .lane-verdict")
        seed_checks = _text(screen, "#race-lane-0 .lane-checks")
        if seed.oversold_seqs:
            assert screen.query_one("#race-lane-0 .lane-verdict").has_class("bad")
            assert f"OVER CAPACITY +{len(seed.oversold_seqs)}" in seed_checks
            assert f"seq {seed.oversold_seqs[0]}" in seed_checks
        else:
            assert seed_verdict == seed.verdict.line()
        assert _text(screen, "#race-status") == round_note(1, [seed, ours], 1)[0]
        async with open_store(db_path) as store:
            records = {r.key: r for r in await Ledger(store).occurrences()}
        assert records[seed.plan.occurrence].demo and records[ours.plan.occurrence].demo
        assert not multiprocessing.active_children()
        await _leave(app)


@pytest.mark.slow
async def test_the_pace_key_slows_the_next_race(db_path: str) -> None:
    async with open_store(db_path, create=True):
        pass
    screen = RaceScreen(db_path, "tester", None)
    app = Host(screen)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: screen.listed, "the occurrence list")
        screen.set_focus(None)  # the keys go to the panel, not into a field
        paces = []
        for _ in range(4):
            await pilot.press("p")
            paces.append(screen.form.pace)
        assert paces == [0.25, 0.0625, 1.0, 0.25]
        assert _text(screen, "#race-status") == "pace 1/4×: used by the next race"
        screen.query_one("#race-racers", Input).value = "6"
        screen.query_one("#race-processes", Input).value = "1"
        screen.query_one("#race-capacity", Input).value = "2"
        await pilot.press("f5")
        assert screen.race_worker is not None
        await screen.race_worker.wait()
        await pilot.pause()
        assert screen.summary is not None and screen.summary.plan.pace == 0.25
        assert "pace 1/4×" in _text(screen, "#race-lane-0 .lane-heading")
        assert "pace 1/4×" in _text(screen, "#race-title")
        await _leave(app)


@pytest.mark.slow
@pytest.mark.parametrize("key", ["escape", "f6"])
async def test_leaving_or_stopping_side_by_side_reaps_both_sides(db_path: str, key: str) -> None:
    async with open_store(db_path, create=True):
        pass
    screen = RaceScreen(db_path, "tester", None)
    app = Host(screen)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: screen.listed, "the occurrence list")
        screen.query_one("#race-racers", Input).value = "200"
        screen.query_one("#race-processes", Input).value = "1"
        screen.query_one("#race-capacity", Input).value = "190"
        await pilot.click("#race-pair")
        await pilot.click("#race-start")
        worker = screen.race_worker
        assert worker is not None

        def racing() -> bool:
            pair = screen.pair
            return pair is not None and all(r.started_at for r in pair.races)

        deadline = time.monotonic() + 60  # processes coming up on a busy machine
        while not racing() and worker.state is WorkerState.RUNNING:
            assert time.monotonic() < deadline, "both sides released"
            await pilot.pause(0.05)
        assert screen.pair is not None
        pids = screen.pair.pids
        assert len(pids) == 2
        await pilot.press(key)
        if key == "escape":
            with pytest.raises(WorkerCancelled):
                await worker.wait()
        else:  # F6: both sides stop, and each is still verified from its stream
            await worker.wait()
            await pilot.pause()
            assert _text(screen, "#race-status") == "round 1: stopped"
            for lane in (0, 1):
                assert _text(screen, f"#race-lane-{lane} .lane-verdict").endswith("(stopped early)")
            await pilot.press("escape")
        await _leave_rest(app)
    assert not multiprocessing.active_children()
    assert not any(Path(f"/proc/{pid}").exists() and _alive(pid) for pid in pids)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


async def _leave_rest(app: App[None]) -> None:
    for worker in list(app.workers):
        with contextlib.suppress(WorkerCancelled, WorkerFailed):
            await worker.wait()


def test_a_round_says_honestly_whether_the_seed_oversold() -> None:
    runs = load(FIXTURE)
    seed, ours = _summaries(runs)
    text, state, again = round_note(2, [seed, ours], 5)
    assert text.startswith(f"round 2: the seed's house went OVER CAPACITY +{seed.verdict.oversold}")
    assert text.endswith("ours oversold 0 ✓") and state == "ok" and not again
    held = _with_verdict_of(seed, ours)
    text, state, again = round_note(2, [held, ours], 5)
    assert text == "round 2: no oversell this time — racing again (ours oversold 0 ✓)"
    assert again
    text, _, again = round_note(5, [held, ours], 5)
    assert text.startswith("round 5 of 5: the seed's house kept its capacity in every round")
    assert not again


def _summaries(runs: Any) -> list[Any]:
    import asyncio

    return asyncio.run(replay_summaries(runs))


def _with_verdict_of(seed: Any, ours: Any) -> Any:
    """The seed's summary as if its stream had held (ours's verdict): for the wording only."""
    from dataclasses import replace

    return replace(seed, verdict=ours.verdict)


# -- playback, no database -------------------------------------------------------------


async def _played(pilot: Pilot[None], screen: RaceScreen) -> None:
    await until(pilot, lambda: screen.race_worker is not None, "playback started")
    assert screen.race_worker is not None
    await screen.race_worker.wait()
    await pilot.pause()


async def test_a_recording_plays_back_in_the_panel_to_its_recorded_verdict(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # nothing may appear here: no database is opened
    runs = load(FIXTURE)
    expected = await replay_summaries(runs)
    screen = RaceScreen(None, "tester", None, play=FIXTURE, speed=0)
    app = Host(screen)
    async with app.run_test(size=(140, 40)) as pilot:
        await _played(pilot, screen)
        assert not screen.query_one("#race-setup").display
        assert not screen.query_one("#race-roster").display
        for lane, summary in enumerate(expected):
            verdict = _text(screen, f"#race-lane-{lane} .lane-verdict")
            assert verdict == verdict_line(summary)
            t = summary.tally
            counters = _text(screen, f"#race-lane-{lane} .lane-counters")
            assert counters.startswith(
                f"attempts {t.attempts} · conflicts {t.conflicts} · retries {t.retries} · "
                f"held {t.held}/{runs[lane].capacity} · full {t.full}"
            )
        seed = expected[0]
        assert seed.plan.algorithm == "seed" and seed.oversold_seqs  # the fixture's point
        v = seed.verdict
        assert _text(screen, "#race-lane-0 .lane-verdict") == (
            f"capacity {v.capacity} · occupied {v.occupied} · oversold {v.oversold} ✗ "
            f"never oversold at seq {seed.oversold_seqs[0]}"
        )
        assert _text(screen, "#race-lane-1 .lane-verdict").endswith("oversold 0 ✓")
        checks = _text(screen, "#race-lane-0 .lane-checks")
        assert (
            f"OVER CAPACITY +{len(seed.oversold_seqs)} oversold at seq {seed.oversold_seqs[0]}"
            in (checks)
        )
        assert "✗ never oversold" in checks
        assert screen.query_one("#race-lane-0 .lane-verdict").has_class("bad")
        assert screen.query_one("#race-lane-1 .lane-verdict").has_class("ok")
        await _leave(app)
    assert list(tmp_path.iterdir()) == []


async def test_picking_a_racer_with_the_keyboard_shows_its_attempts() -> None:
    screen = RaceScreen(None, "tester", None, play=FIXTURE, speed=0)
    app = Host(screen)
    async with app.run_test(size=(140, 40)) as pilot:
        await _played(pilot, screen)
        await pilot.press("tab")  # into the first lane's racers
        await pilot.press("right", "right", "down")
        grid = screen.query_one("#race-lane-0 RacerGrid", RacerGrid)
        assert grid.has_focus
        racer = 2 + grid.per_row()
        record = screen.lanes()[0].tally.racers[racer]  # type: ignore[union-attr]
        shown = _text(screen, "#race-attempts")
        assert shown.startswith(f"racer {racer} (process {record.process}, {record.actor}):")
        first = record.tries[0]
        assert f"#1 read seq {first.expected} → {first.outcome}" in shown
        conflicted = next((t for t in record.tries if t.outcome == "conflict"), None)
        if conflicted is not None:
            assert f"→ conflict (stream at {conflicted.actual})" in shown
        await _leave(app)


async def test_the_footer_help_and_palette_offer_only_the_panels_keys(
    house_db: str, make_app: Any
) -> None:
    app = make_app(house_db)
    async with app.run_test(size=(140, 40)) as pilot:
        await until(pilot, lambda: app.main.roster.total > 0, "the house")
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, RaceScreen), "the panel")
        panel = app.screen
        shown = {b.binding.action for b in panel.active_bindings.values() if b.binding.show}
        assert {"close", "start", "side_by_side", "pace"} <= shown
        assert not shown & {"book", "hold", "confirm", "release", "cancel", "race"}
        await pilot.press("question_mark")
        await pilot.pause()
        help_ids = {row[3] for row in app.screen.rows}  # type: ignore[attr-defined]
        assert "race.side_by_side" in help_ids and "race.pace" in help_ids
        assert not help_ids & {"book", "hold", "confirm", "race", "filter"}
        await pilot.press("escape")
        commands = [c.title for c in app.get_system_commands(panel)]
        assert "Side by side" in commands and "Book" not in commands
        await pilot.press("escape")  # leave the panel
        await pilot.pause()
        assert "Book" in [c.title for c in app.get_system_commands(app.screen)]


# -- the command line's doors into the panel -------------------------------------------


def test_play_refuses_a_file_that_is_not_a_recording_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "notes.txt"
    bad.write_text("hello\n")
    assert main(["--play", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("boxoffice: recording") and "line 1" in err and "\n" not in err
    assert main(["--side-by-side", "occurrences"]) == 2
    assert "--side-by-side only applies when starting the app" in capsys.readouterr().err
    assert main(["--play", str(FIXTURE), "occurrences"]) == 2
    assert "--play only applies when starting the app" in capsys.readouterr().err
    assert main(["race", "--play", str(FIXTURE), "--json"]) == 1  # the race's own --play
    capsys.readouterr()
    missing = tmp_path / "nope.db"
    assert main(["--side-by-side", "--db", str(missing)]) == 3  # never a fresh, empty file
    err = capsys.readouterr().err.strip()
    assert err.startswith("boxoffice: ") and "\n" not in err and not missing.exists()
    assert main(["--play", str(FIXTURE), "--side-by-side"]) == 2


# -- the plot's arithmetic -------------------------------------------------------------


def test_ticks_are_even_from_zero_past_the_top() -> None:
    assert even_ticks(40) == [0, 10, 20, 30, 40]
    assert even_ticks(46) == [0, 20, 40, 60]
    assert even_ticks(0.7) == [0, 0.2, 0.4, 0.6, 0.8]
    assert nice_step(1000, 3) == 500
    for top in (3, 17, 99, 250, 1234, 0.05):
        ticks = even_ticks(top)
        steps = {round(b - a, 9) for a, b in itertools.pairwise(ticks)}
        assert ticks[0] == 0 and ticks[-1] >= top and len(steps) == 1


def test_cumulative_holds_start_at_zero_and_reach_the_total_at_the_race_end() -> None:
    series = RaceSeries(start=100.0)
    events = [RacerEvent(Kind.HELD, i, f"a{i}", 0, 100.0 + 0.1 * i) for i in range(5)]
    events.append(RacerEvent(Kind.CONFLICT, 9, "a9", 0, 100.25))
    events.append(RacerEvent(Kind.FULL, 8, "a8", 0, 101.5))  # the last event: the race's end
    series.add(events)
    span = series.span(until=None)
    assert span == pytest.approx(1.5)  # the x axis covers the whole race, not the last hold
    xs, holds = series.cumulative_holds(span)
    assert xs[0] == 0 and xs[-1] == pytest.approx(1.5)
    assert holds[0] == 1 and holds[-1] == 5 and holds == sorted(holds)
    xs, rate = series.conflict_rate(span)
    assert sum(rate) * (span / len(rate)) == pytest.approx(1)
