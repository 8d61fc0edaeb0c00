"""The demo house: seeded on request or on first run, a living house at once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from support.pilot import Answers, say_yes, until

from store import open_store
from store.booking import Ledger
from store.demo import LAPSING_TTL, seed_demo
from tui.app import BoxOfficeApp
from tui.screens.confirm import ConfirmScreen

SIZE = (140, 36)


async def test_seed_demo_makes_a_living_house(ledger: Ledger, clock: Any) -> None:
    now = clock()
    keys = await seed_demo(ledger, now)
    assert len(keys) == 3
    records = {r.key: r for r in await ledger.occurrences()}
    assert set(records) == set(keys)
    for key in keys:
        seats = await ledger.seats(key)
        assert seats, "every demo occurrence has someone seated"
        assert records[key].starts_at is not None and records[key].starts_at > now.isoformat()
    states = [s.state for key in keys for s in await ledger.seats(key)]
    assert "held" in states and "confirmed" in states
    assert any(r.seats_left == 0 for r in records.values()), "one show is sold out"
    lapsing = [
        s
        for key in keys
        for s in await ledger.seats(key)
        if s.expires_at is not None and s.expires_at - now <= LAPSING_TTL
    ]
    assert len(lapsing) == 1, "exactly one hold is about to lapse"
    clock.advance(seconds=LAPSING_TTL.total_seconds())
    assert (
        sum(r.held for r in await ledger.occurrences()) == sum(r.held for r in records.values()) - 1
    )
    # seeding again adds nothing
    heads = {k: await ledger.store.last_seq(f"booking:{k}") for k in keys}
    assert await seed_demo(ledger, now) == []
    assert {k: await ledger.store.last_seq(f"booking:{k}") for k in keys} == heads


async def empty_db(tmp_path: Path) -> str:
    db = str(tmp_path / "empty.db")
    async with open_store(db, create=True):
        pass
    return db


async def test_first_run_offers_a_demo_and_yes_seeds_it(
    tmp_path: Path, make_app: Callable[..., BoxOfficeApp]
) -> None:
    app = make_app(await empty_db(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the demo offer")
        await say_yes(pilot)
        await until(pilot, lambda: len(app.main.house.lines) == 3, "the demo house")
        await until(pilot, lambda: app.main.roster.total > 0, "a roster")


async def test_first_run_declined_stays_empty(
    tmp_path: Path, make_app: Callable[..., BoxOfficeApp]
) -> None:
    app = make_app(await empty_db(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the demo offer")
        await pilot.press("escape")
        assert not isinstance(app.screen, ConfirmScreen)
        await pilot.press("b")  # nothing to book on yet: said in words
        await pilot.pause()
        assert app.store is not None and await app.store.head_position() == 0
        assert app.main.house.row_count == 0
        assert "press n to create one" in str(app.main.roster.border_title)


async def test_first_run_enter_creates_the_demo_and_the_palette_offers_it_later(
    tmp_path: Path, make_app: Callable[..., BoxOfficeApp]
) -> None:
    app = make_app(await empty_db(tmp_path))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the demo offer")
        await until(
            pilot,
            lambda: app.screen.focused is not None and app.screen.focused.id == "yes",
            "Create demo focused: Enter creates it",
        )
        assert "Demo house" in {c.title for c in app.get_system_commands(app.main)}
        await pilot.press("enter")
        await until(pilot, lambda: len(app.main.house.lines) == 3, "the demo house")


async def test_demo_flag_seeds_without_asking(
    tmp_path: Path, make_app: Callable[..., BoxOfficeApp], clock: Any
) -> None:
    app = make_app(await empty_db(tmp_path), demo=True)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(app.main.house.lines) == 3, "the demo house")
        assert not isinstance(app.screen, ConfirmScreen)
        lapsing = [
            line
            for line in app.main.house.lines.values()
            if line.next_expiry and line.next_expiry - clock() <= timedelta(minutes=2)
        ]
        assert len(lapsing) == 1


async def test_demo_flag_leaves_a_database_in_use_alone(
    house_db: str, make_app: Callable[..., BoxOfficeApp], answers: Answers
) -> None:
    app = make_app(house_db, demo=True)
    async with app.run_test(size=SIZE, message_hook=answers) as pilot:
        await answers.notice(pilot, "Demo not added")
        await until(pilot, lambda: app.main.house.row_count == 1, "the house as it was")
        assert list(app.main.house.lines) == ["show-1"]
