"""The roster table on its own: rows in order, the cursor kept on its actor, only changed
lines drawn again, a big roster whole at once."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from support.pilot import until
from textual.app import App, ComposeResult
from textual.message import Message

from store.ledger.outcomes import OccurrenceRecord, SeatRecord
from tui.widgets.occurrences import availability, capacity_bar
from tui.widgets.roster import CONFIRMED, HELD, LAPSED, RosterTable
from tui.widgets.timefmt import countdown

NOW = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)


def row(actor: str, order: int, seat: int | None, state: str = CONFIRMED, **kw: Any) -> SeatRecord:
    return SeatRecord(seat, actor, state, NOW, kw.get("expires_at"), "op", order)


def seated(*actors: str, start: int = 0) -> list[SeatRecord]:
    return [row(a, start + i, i + 1) for i, a in enumerate(actors)]


class Host(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[Message] = []

    def compose(self) -> ComposeResult:
        yield RosterTable(id="roster", tz=UTC)

    def on_roster_table_filled(self, message: RosterTable.Filled) -> None:
        self.seen.append(message)


def row_keys(table: RosterTable) -> list[str]:
    """The actors in the order the table draws them (the actor column of each line)."""
    start = next(x for key, x, _ in table.column_spans() if key == "actor")
    drawn = [table.render_line(y).text for y in range(1, table.row_count + 1)]
    return [line[start:].split()[0] for line in drawn]


def seats(table: RosterTable) -> list[str]:
    return [table.get_cell(a, "seat").plain for a in table.shown_actors]


async def test_changes_are_patched_and_the_cursor_follows_its_actor() -> None:
    app = Host()
    async with app.run_test() as pilot:
        table = app.query_one(RosterTable)
        table.show(seated("a", "b", "c", "d"), NOW)
        table.move_cursor(row=2)
        table.show([row("b", 1, 1), row("c", 2, 2), row("d", 3, 3), row("e", 4, 4)], NOW)
        await pilot.pause()
        assert table.shown_actors == ["b", "c", "d", "e"]
        assert seats(table) == ["1", "2", "3", "4"], "seats closed up"
        assert table.selected_actor == "c" and table.cursor_row == 1
        assert row_keys(table) == ["b", "c", "d", "e"]


async def test_a_refold_that_puts_someone_back_mid_roster_keeps_join_order() -> None:
    app = Host()
    async with app.run_test() as pilot:
        table = app.query_one(RosterTable)
        table.show([row("a", 0, 1), row("c", 2, 2), row("d", 3, 3)], NOW)
        table.show([row("a", 0, 1), row("b", 1, 2), row("c", 2, 3), row("d", 3, 4)], NOW)
        await pilot.pause()
        assert table.shown_actors == ["a", "b", "c", "d"]
        assert row_keys(table) == ["a", "b", "c", "d"]


async def test_a_lapsed_hold_then_rejoining_moves_to_the_end() -> None:
    app = Host()
    async with app.run_test() as pilot:
        table = app.query_one(RosterTable)
        expires = NOW + timedelta(minutes=5)
        table.show([row("a", 0, 1, HELD, expires_at=expires), row("b", 1, 2)], NOW)
        assert table.get_cell("a", "state").plain == "◷ HELD 5:00"
        table.show([row("a", 0, None, LAPSED, expires_at=expires), row("b", 1, 1)], NOW)
        assert table.get_cell("a", "state").plain == "✖ LAPSED"
        assert seats(table) == ["—", "1"]
        table.show([row("b", 1, 1), row("a", 2, 2)], NOW)
        await pilot.pause()
        assert row_keys(table) == ["b", "a"]
        assert table.get_cell("a", "state").plain == "✔ CONFIRMED"


async def test_countdowns_tick_and_say_when_a_hold_has_lapsed() -> None:
    app = Host()
    async with app.run_test() as pilot:
        table = app.query_one(RosterTable)
        table.show([row("a", 0, 1, HELD, expires_at=NOW + timedelta(seconds=61))], NOW)
        assert not table.tick(NOW + timedelta(seconds=1))
        await pilot.pause()
        assert table.get_cell("a", "state").plain == "◷ HELD 1:00"
        assert table.tick(NOW + timedelta(seconds=61)), "due for a read: the hold lapsed"


async def test_a_big_roster_is_whole_at_once_and_filled_is_said_once() -> None:
    app = Host()
    async with app.run_test() as pilot:
        table = app.query_one(RosterTable)
        rows = seated(*(f"guest-{i:04d}" for i in range(1200)))
        table.show(rows, NOW)
        assert table.row_count == len(rows)
        assert table.shown_actors == [r.actor for r in rows]
        table.show(rows[1:], NOW)
        await until(pilot, lambda: app.seen, "Filled")
        await pilot.pause()
        assert [type(m) for m in app.seen] == [RosterTable.Filled], "once per occurrence"
        assert isinstance(app.seen[0], RosterTable.Filled) and app.seen[0].rows == len(rows)
        assert table.virtual_size.height == len(rows), "a header and the rows left"
        table.action_cursor_last()
        await pilot.pause()
        assert table.selected_actor == rows[-1].actor
        bottom = table.render_line(table.scrollable_content_region.height - 1).text
        assert rows[-1].actor in bottom, "scrolled to the last row"
        table.reset()
        table.show(rows[:3], NOW)
        await until(pilot, lambda: len(app.seen) == 2, "Filled again")
        assert app.seen[1].rows == 3 and table.cursor_row == 0  # type: ignore[attr-defined]


def test_countdown_has_one_format() -> None:
    assert countdown(timedelta(seconds=0.2)) == "0:01"
    assert countdown(timedelta(minutes=9, seconds=59)) == "9:59"
    assert countdown(timedelta(minutes=10)) == "10:00"
    assert countdown(timedelta(minutes=14, seconds=1)) == "14:01"
    assert countdown(timedelta(hours=1, minutes=5)) == "1:05:00"
    assert countdown(timedelta(days=2, hours=3)) == "2d 03:00:00"
    assert countdown(timedelta(seconds=-5)) == "0:00"


def record(capacity: int, confirmed: int, held: int) -> OccurrenceRecord:
    occupied = confirmed + held
    return OccurrenceRecord(
        "k", None, None, capacity, None, occupied, held, confirmed, max(0, capacity - occupied)
    )


def test_capacity_bar_and_words() -> None:
    assert capacity_bar(record(40, 0, 0)).plain == "·" * 10
    assert capacity_bar(record(40, 39, 0)).plain == "█" * 9 + "·", "one free seat shows"
    assert capacity_bar(record(40, 38, 2)).plain == "█" * 9 + "▒"
    assert capacity_bar(record(1000, 1, 1)).plain.startswith("█▒")
    assert capacity_bar(record(0, 0, 0)).plain.strip() == "—"
    assert availability(record(40, 10, 5)).plain == "25/40 left"
    assert availability(record(40, 38, 2)).plain == "SOLD OUT"
    assert availability(record(30, 31, 1)).plain == "OVER CAPACITY +2"


def test_a_password_in_the_database_url_is_never_shown() -> None:
    from tui.widgets.header import shown_location

    assert shown_location("postgresql://box:s3cret@db.example:5432/box") == (
        "postgresql://box:***@db.example:5432/box"
    )
    assert shown_location("postgresql://db.example/box") == "postgresql://db.example/box"
    assert shown_location("/var/lib/[bold]box.db") == "/var/lib/[bold]box.db"


class Pair(App[None]):
    """Two rosters side by side: one patched by a run of changes, one drawn afresh."""

    def compose(self) -> ComposeResult:
        yield RosterTable(id="patched", tz=UTC)
        yield RosterTable(id="fresh", tz=UTC)


def lines(table: RosterTable) -> list[list[tuple[str, Any]]]:
    return [[(s.text, s.style) for s in table.render_line(y)] for y in range(table.size.height)]


def drawn_by_the_table(table: RosterTable) -> list[list[tuple[str, Any]]]:
    """Every line drawn afresh now, no kept line involved."""
    table.notify_style_update()  # drops every kept line
    return lines(table)


async def test_a_change_draws_again_only_the_rows_it_changed(monkeypatch: Any) -> None:
    app = Host()
    async with app.run_test(size=(120, 30)) as pilot:
        table = app.query_one(RosterTable)
        rows = seated(*(f"p{i:02d}" for i in range(40)))
        table.show(rows, NOW)
        await pilot.pause()
        drawn: list[int] = []
        draw = RosterTable.row_cells

        def counting(self: RosterTable, index: int) -> Any:
            if self is table:
                drawn.append(index)
            return draw(self, index)

        monkeypatch.setattr(RosterTable, "row_cells", counting)
        changed = [*rows[:5], replace(rows[5], note="aisle please"), *rows[6:]]
        table.show(changed, NOW)
        await pilot.pause()
        # the changed row alone: the header and the cursor's row are kept lines too
        assert drawn == [5]
        assert table.get_cell("p05", "note").plain == "aisle please"
        assert "aisle please" in table.render_line(1 + 5).text


async def test_kept_lines_match_a_table_drawn_afresh() -> None:
    app = Pair()
    async with app.run_test(size=(120, 60)) as pilot:
        patched, fresh = (
            app.query_one("#patched", RosterTable),
            app.query_one("#fresh", RosterTable),
        )
        rows = seated(*(f"p{i:02d}" for i in range(20)))
        app.set_focus(None)  # the same focus on both (focus changes the cursor's colours)
        patched.show(rows, NOW)
        await pilot.pause()
        # two cancels near the top (later seats close up, stripes stay), a note, a hold
        later = [
            row(
                r.actor,
                r.ref,
                n + 1,
                HELD if r.actor == "p10" else CONFIRMED,
                expires_at=NOW + timedelta(minutes=9) if r.actor == "p10" else None,
            )
            for n, r in enumerate(rows[:1] + rows[3:])
        ]
        later[3] = replace(later[3], note="wheelchair")
        patched.show(later, NOW)
        fresh.show(later, NOW)
        await pilot.pause()
        assert lines(patched) == lines(fresh)
        for table in (patched, fresh):  # the cursor's row is kept as the cursor's
            table.move_cursor(row=3)
        await pilot.pause()
        assert lines(patched) == lines(fresh) == drawn_by_the_table(patched)
        app.theme = "textual-light" if app.theme != "textual-light" else "nord"
        await pilot.pause()
        assert lines(patched) == lines(fresh)


async def test_a_click_puts_the_cursor_on_that_row_and_keys_move_it_a_page() -> None:
    app = Host()
    async with app.run_test(size=(100, 20)) as pilot:
        table = app.query_one(RosterTable)
        rows = seated(*(f"p{i:02d}" for i in range(60)))
        table.show(rows, NOW)
        await pilot.pause()
        await pilot.click(RosterTable, offset=(12, 4))  # line 4: the header, then p00-p02
        assert table.selected_actor == "p03"
        await pilot.click(RosterTable, offset=(12, 0))  # the header: the cursor stays
        assert table.selected_actor == "p03"
        table.focus()
        page = table.scrollable_content_region.height - 1
        await pilot.press("pagedown")
        assert table.cursor_row == 3 + page
        assert (
            rows[3 + page].actor
            in table.render_line(table.cursor_row - int(table.scroll_y) + 1).text
        )
        await pilot.press("end", "up")
        assert table.selected_actor == "p58"
        await pilot.press("home")
        assert table.cursor_row == 0 and int(table.scroll_y) == 0


async def test_the_row_under_the_mouse_is_lit_until_the_mouse_leaves() -> None:
    app = Host()
    async with app.run_test(size=(100, 20)) as pilot:
        table = app.query_one(RosterTable)
        table.show(seated(*(f"p{i:02d}" for i in range(10))), NOW)
        await pilot.pause()

        def background(y: int) -> Any:
            return next(s.style.bgcolor for s in table.render_line(y) if s.style)

        before = [background(y) for y in (3, 5)]  # p02 and p04: the same stripe
        assert before[0] == before[1]
        await pilot.hover(RosterTable, offset=(12, 3))
        await pilot.pause()
        assert background(3) != before[0], "p02 is lit"
        assert background(5) == before[1], "p04 is not"
        assert table.region.bottom < 18
        await pilot.hover(None, offset=(50, 18))  # below the table: the mouse left it
        await pilot.pause()
        assert background(3) == before[0]
