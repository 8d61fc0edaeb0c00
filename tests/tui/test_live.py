"""Changes made elsewhere reach the screen by themselves, in place, with the cursor kept."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from support.pilot import SHOW, opened, until
from textual.message import Message

from tui.app import BoxOfficeApp
from tui.messages import FeedRead

SIZE = (140, 36)
WRITER = str(Path(__file__).with_name("writer.py"))
ROOT = str(Path(__file__).resolve().parents[2])


async def other_terminal(db: str, clock: Any, command: str, actor: str, key: str = SHOW) -> str:
    """Run one ledger command in a separate process (a second box-office terminal)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        WRITER,
        db,
        clock().isoformat(),
        command,
        key,
        actor,
        cwd=ROOT,
        env={"PYTHONPATH": ROOT},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    return out.decode().strip()


def cell(app: BoxOfficeApp, actor: str, column: str) -> str:
    return str(app.main.roster.get_cell(actor, column).plain)


async def test_a_booking_in_another_process_appears_without_a_key_press(
    house_db: str, make_app: Callable[..., BoxOfficeApp], clock: Any
) -> None:
    seen: list[Message] = []
    app = make_app(house_db)
    async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
        await opened(pilot)
        assert await other_terminal(house_db, clock, "book", "zed") == "booked"
        await until(pilot, lambda: "zed" in app.main.roster.shown_actors, "zed's row")
        assert cell(app, "zed", "seat") == "4"
        assert cell(app, "zed", "operator") == "other-terminal"
        await until(
            pilot, lambda: str(app.main.house.get_cell(SHOW, "left").plain) == "1/5 left", "house"
        )
        read = [m.reading for m in seen if isinstance(m, FeedRead)]
        assert read and SHOW in [v.record.key for v in read[-1].lines]


async def test_rows_change_in_place_and_the_cursor_stays_on_its_actor(
    house_db: str, make_app: Callable[..., BoxOfficeApp], clock: Any
) -> None:
    app = make_app(house_db)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        app.main.roster.focus()
        await pilot.press("down", "down")
        assert app.main.roster.selected_actor == "cy"
        assert await other_terminal(house_db, clock, "cancel", "ada") == "cancelled"
        await until(pilot, lambda: "ada" not in app.main.roster.shown_actors, "ada removed")
        assert app.main.roster.selected_actor == "cy", "the cursor follows its actor"
        assert app.main.roster.cursor_row == 1
        assert [cell(app, a, "seat") for a in ("bob", "cy")] == ["1", "2"]
        assert await other_terminal(house_db, clock, "book", "dee") == "booked"
        await until(pilot, lambda: "dee" in app.main.roster.shown_actors, "dee added")
        assert app.main.roster.selected_actor == "cy"


async def test_a_hold_turns_lapsed_at_its_expiry_and_the_seat_counts_as_free(
    house_db: str, make_app: Callable[..., BoxOfficeApp], clock: Any
) -> None:
    app = make_app(house_db)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        clock.advance(minutes=9, seconds=59)
        app.tick()
        assert cell(app, "cy", "state") == "◷ HELD 0:01"
        clock.advance(seconds=1)
        app.tick()
        await until(pilot, lambda: cell(app, "cy", "state") == "✖ LAPSED", "LAPSED")
        assert cell(app, "cy", "seat") == "—"
        await until(
            pilot, lambda: str(app.main.house.get_cell(SHOW, "left").plain) == "3/5 left", "freed"
        )
        # someone else records the lapse: the LAPSED row goes
        assert await other_terminal(house_db, clock, "confirm", "cy") == "expired"
        await until(pilot, lambda: "cy" not in app.main.roster.shown_actors, "cy's row removed")


async def test_a_burst_of_commits_lands_whole(
    house_db: str, make_app: Callable[..., BoxOfficeApp], clock: Any
) -> None:
    app = make_app(house_db)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        statuses = await asyncio.gather(
            other_terminal(house_db, clock, "hold", "p1"),
            other_terminal(house_db, clock, "hold", "p2"),
            other_terminal(house_db, clock, "hold", "p3"),
        )
        assert sorted(statuses) == ["full", "held", "held"]
        winners = {"p1", "p2", "p3"} - {
            a for a, s in zip(("p1", "p2", "p3"), statuses, strict=True) if s == "full"
        }
        await until(pilot, lambda: winners <= set(app.main.roster.shown_actors), "both holds shown")
        assert len(app.main.roster.shown_actors) == 5
        await until(
            pilot,
            lambda: str(app.main.house.get_cell(SHOW, "left").plain) == "SOLD OUT",
            "SOLD OUT",
        )


async def test_a_hold_lapses_on_screen_at_its_expiry_not_at_the_next_tick(tmp_path: Path) -> None:
    """Real clock, a 30 s tick: only the timer aimed at the expiry can show the lapse in time."""
    from datetime import timedelta

    from store import open_store
    from store.booking import Ledger

    db = str(tmp_path / "real-clock.db")
    async with open_store(db, create=True) as store:
        await Ledger(store, operator="seed").create_occurrence("now", capacity=3)
    app = BoxOfficeApp(db, operator="tester", tick=30.0)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.main.selected == "now", "the occurrence")
        assert app.ledger is not None
        held = await app.ledger.hold("now", "quick", ttl=timedelta(milliseconds=400))
        assert held.seat == 1
        await until(pilot, lambda: "quick" in app.main.roster.shown_actors, "the hold")
        await until(pilot, lambda: cell(app, "quick", "state") == "✖ LAPSED", "the lapse")
        assert cell(app, "quick", "seat") == "—"


async def test_80x24_shows_every_seat_state_and_the_live_marker(
    house_db: str, make_app: Callable[..., BoxOfficeApp]
) -> None:
    app = make_app(house_db)
    async with app.run_test(size=(80, 24)) as pilot:
        await opened(pilot)
        await pilot.pause()
        screen = app.export_screenshot()
        text = "".join(piece for piece in screen.split(">") if piece)  # SVG: search its text
        for state in ("CONFIRMED", "HELD 10:00"):
            assert state in text.replace("&#160;", " ")
        header = str(app.main.header.render())
        assert header.startswith("● LIVE")
        assert app.main.roster.region.right <= 80
        assert app.main.house.region.width <= 34, "the house narrows"
