"""Kept lines and rows repainted alone: a change in place paints its own line, and nothing
on screen is left stale (the lines the screen gets equal a table drawn afresh)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from support.pilot import until
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from store.ledger.outcomes import OccurrenceRecord, SeatRecord
from store.ledger.views import OccurrenceView
from tui.widgets.kept_lines import KeptLinesTable
from tui.widgets.line_table import LineTable
from tui.widgets.occurrences import OccurrenceTable
from tui.widgets.roster import CONFIRMED, HELD, RosterTable

NOW = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)


def row(actor: str, ref: int, seat: int | None, state: str = CONFIRMED, **kw: Any) -> SeatRecord:
    return SeatRecord(seat, actor, state, NOW, kw.get("expires_at"), "op", ref)


def held_and_booked(count: int) -> list[SeatRecord]:
    """Every third party holds its seat (a countdown on screen), the rest confirmed."""
    return [
        row(
            f"p{i:02d}",
            i,
            i + 1,
            HELD if i % 3 == 0 else CONFIRMED,
            expires_at=NOW + timedelta(minutes=5 + i) if i % 3 == 0 else None,
        )
        for i in range(count)
    ]


def line(key: str, capacity: int, occupied: int) -> OccurrenceView:
    record = OccurrenceRecord(
        key, key.title(), None, capacity, None, occupied, 0, occupied, capacity - occupied
    )
    return OccurrenceView(record, (), None, 0, NOW)


#: As in the app: a fixed height (a row leaving does not resize the table) and a border
#: with a title.
TABLES_CSS = "RosterTable, OccurrenceTable { height: 1fr; border: round $accent; }"


#: the house (a DataTable keeping its lines) and the roster (drawn a line at a time)
Table = KeptLinesTable | LineTable
T = TypeVar("T", bound=KeptLinesTable | LineTable)


class Pair(App[None]):
    """The same table twice: one patched, one drawn afresh from the final state."""

    CSS = TABLES_CSS

    def __init__(self, kind: type[Table]) -> None:
        super().__init__()
        self.kind = kind

    def compose(self) -> ComposeResult:
        if self.kind is RosterTable:
            yield RosterTable(id="patched", tz=UTC)
            yield RosterTable(id="fresh", tz=UTC)
        else:
            yield OccurrenceTable(id="patched", tz=UTC)
            yield OccurrenceTable(id="fresh", tz=UTC)


def pair_of(app: App[None], kind: type[T]) -> tuple[T, T]:
    """The patched table and the fresh one, neither focused (focus colours the cursor)."""
    patched, fresh = app.query_one("#patched", kind), app.query_one("#fresh", kind)
    app.set_focus(None)
    return patched, fresh


def on_screen(table: Table) -> list[list[tuple[str, Any]]]:
    """What the screen was last given for ``table``: its lines as the compositor gets them
    (lines not repainted come from the widget's cache of its last frame)."""
    width, height = table.outer_size
    return [
        [(s.text, s.style) for s in strip]
        for strip in table.render_lines(Region(0, 0, width, height))
    ]


def widths(table: Table) -> list[int]:
    if isinstance(table, LineTable):
        return [width for _, _, width in table.column_spans()]
    return [column.get_render_width(table) for column in table.ordered_columns]


async def settled(pilot: Any, fresh: Table, patched: Table) -> None:
    """Let the fresh table finish its layout: it gains a scrollbar as it fills, and its
    free column narrows a frame later (``column_fit``); then one more frame paints it."""
    await until(pilot, lambda: widths(fresh) == widths(patched), "the same column widths")
    await pilot.pause()


def count_lines_drawn(kind: type[Table], monkeypatch: Any) -> list[tuple[str, int]]:
    drawn: list[tuple[str, int]] = []
    draw = kind.render_line

    def counting(self: Any, y: int) -> Strip:
        drawn.append((str(self.id), y))
        return draw(self, y)

    monkeypatch.setattr(kind, "render_line", counting)
    return drawn


async def test_a_roster_row_changed_in_place_repaints_that_line_alone(monkeypatch: Any) -> None:
    app = Pair(RosterTable)
    async with app.run_test(size=(120, 50)) as pilot:
        patched, fresh = pair_of(app, RosterTable)
        rows = held_and_booked(30)
        patched.show(rows, NOW)
        await pilot.pause()
        drawn = count_lines_drawn(RosterTable, monkeypatch)
        confirmed = [*rows[:6], replace(rows[6], state=CONFIRMED, expires_at=None), *rows[7:]]
        patched.show(confirmed, NOW)  # p06's hold is paid for: one row changes, in place
        await pilot.pause()
        header = patched.header_height
        assert drawn == [("patched", header + 6)]
        fresh.show(confirmed, NOW)
        await settled(pilot, fresh, patched)
        assert on_screen(patched) == on_screen(fresh)
        top = patched.content_offset.y
        assert "CONFIRMED" in "".join(text for text, _ in on_screen(patched)[top + header + 6])


async def test_a_roster_row_leaving_repaints_the_lines_that_moved(monkeypatch: Any) -> None:
    app = Pair(RosterTable)
    async with app.run_test(size=(120, 50)) as pilot:
        patched, fresh = pair_of(app, RosterTable)
        rows = held_and_booked(40)
        patched.show(rows, NOW)
        await pilot.pause()
        drawn = count_lines_drawn(RosterTable, monkeypatch)
        later = [replace(r, seat=n + 1) for n, r in enumerate(rows[:4] + rows[5:])]
        patched.show(later, NOW)  # p04 cancels: every later seat closes up, those rows move
        patched.border_title = "Roster · 39/40 seated"  # the count in the title changes too
        await pilot.pause()
        header, height = patched.header_height, patched.size.height
        assert height < 40, "the roster fills the view"
        # the rows that moved up alone (the mouse is not over the table: no hover to repaint)
        moved = list(range(header + 4, height))
        assert [y for who, y in drawn if who == "patched"] == moved
        fresh.show(later, NOW)
        fresh.border_title = "Roster · 39/40 seated"
        await pilot.pause()
        await settled(pilot, fresh, patched)
        assert on_screen(patched) == on_screen(fresh)
        assert "39/40 seated" in "".join(text for text, _ in on_screen(patched)[0])


async def test_a_house_line_changed_in_place_repaints_that_line_alone(monkeypatch: Any) -> None:
    app = Pair(OccurrenceTable)
    async with app.run_test(size=(120, 30)) as pilot:
        patched, fresh = pair_of(app, OccurrenceTable)
        house = [line(f"show-{n}", 200, 100 + n) for n in range(6)]
        patched.upsert(house)
        await pilot.pause()
        drawn = count_lines_drawn(OccurrenceTable, monkeypatch)
        house[3] = line("show-3", 200, 150)  # a commit on show-3: its seats left change
        patched.upsert([house[3]])
        await pilot.pause()
        index = patched.get_row_index("show-3")
        assert drawn == [("patched", patched.header_height + index)]
        fresh.upsert(house)
        await settled(pilot, fresh, patched)
        assert on_screen(patched) == on_screen(fresh)
        top = patched.content_offset.y + patched.header_height
        assert "50/200 left" in "".join(text for text, _ in on_screen(patched)[top + index])


class One(App[None]):
    CSS = TABLES_CSS

    def compose(self) -> ComposeResult:
        yield RosterTable(id="roster", tz=UTC)


async def test_the_line_repainted_is_the_rows_own_when_scrolled(monkeypatch: Any) -> None:
    app = One()
    async with app.run_test(size=(100, 16)) as pilot:
        table = app.query_one(RosterTable)
        rows = held_and_booked(40)
        table.show(rows, NOW)
        await pilot.pause()
        table.scroll_to(y=7, animate=False)
        await pilot.pause()
        assert int(table.scroll_y) == 7
        drawn = count_lines_drawn(RosterTable, monkeypatch)
        noted = [*rows[:12], replace(rows[12], note="aisle please"), *rows[13:]]
        table.show(noted, NOW)
        await pilot.pause()
        y = table.header_height + 12 - 7
        assert drawn == [("roster", y)]
        assert "aisle please" in "".join(
            text for text, _ in on_screen(table)[table.content_offset.y + y]
        )


async def test_a_party_shrinking_moves_the_seats_behind_it_on_screen(monkeypatch: Any) -> None:
    app = Pair(RosterTable)
    async with app.run_test(size=(120, 50)) as pilot:
        patched, fresh = pair_of(app, RosterTable)
        party = replace(row("smiths", 1, 2), seats=4)  # seats 2-5
        rows = [row("ada", 0, 1), party, *(row(f"p{i:02d}", i + 2, i + 6) for i in range(8))]
        patched.show(rows, NOW)
        await pilot.pause()
        # two of the Smiths' seats cancelled: no row changes but the seats (no cell is set)
        later = [
            rows[0],
            replace(party, seats=2),
            *(replace(r, seat=(r.seat or 0) - 2) for r in rows[2:]),
        ]
        patched.show(later, NOW)
        await pilot.pause()
        fresh.show(later, NOW)
        await settled(pilot, fresh, patched)
        assert on_screen(patched) == on_screen(fresh)
        shown = ["".join(text for text, _ in line) for line in on_screen(patched)]
        assert any("2-3" in line and "smiths" in line for line in shown)
        assert any(" 4 " in line and "p00" in line for line in shown)


def layouts_asked_by(table: Table, monkeypatch: Any) -> list[bool]:
    """Every refresh that reaches Textual from ``table`` with a layout asked for."""
    asked: list[bool] = []
    refresh = Widget.refresh

    def counting(self: Widget, *regions: Region, **kwargs: Any) -> Any:
        if self is table and kwargs.get("layout"):
            asked.append(True)
        return refresh(self, *regions, **kwargs)

    monkeypatch.setattr(Widget, "refresh", counting)
    return asked


def scrollbar_drawn(table: Table) -> list[list[tuple[str, Any]]]:
    bar = table.vertical_scrollbar
    width, height = bar.size
    strips = bar.render_lines(Region(0, 0, width, height))
    return [[(s.text, s.style) for s in strip] for strip in strips]


async def test_rows_coming_and_going_on_a_scrolling_roster_lay_nothing_out(
    monkeypatch: Any,
) -> None:
    """A row more or less changes only the table's height: the screen is not laid out again
    (that was a second frame per commit), yet the scrollbar, the scroll range and the
    lines are what a table drawn afresh shows; a scrollbar appearing still lays out."""
    app = Pair(RosterTable)
    async with app.run_test(size=(120, 40)) as pilot:
        patched, fresh = pair_of(app, RosterTable)
        rows = held_and_booked(60)
        final = [replace(r, seat=n + 1) for n, r in enumerate([*rows[:3], *rows[4:55]])]
        fresh.show(final, NOW)  # first: a layout it asks for would lay the patched one out too
        patched.show(rows[:5], NOW)  # no scrollbar yet
        await settled(pilot, fresh, patched)
        asked = layouts_asked_by(patched, monkeypatch)
        patched.show(rows[:30], NOW)  # now it scrolls: a layout, for the scrollbar's column
        await pilot.pause()
        assert patched.show_vertical_scrollbar and asked
        for _ in range(10):  # and the free column's narrowing after it (``column_fit``)
            asked.clear()
            await pilot.pause()
            if not asked:
                break
        for shown in (rows[:31], rows[:55], [*rows[:3], *rows[4:55]]):  # one in, many, one out
            patched.show([replace(r, seat=n + 1) for n, r in enumerate(shown)], NOW)
            await pilot.pause()
        assert asked == []
        assert patched.vertical_scrollbar.window_virtual_size == patched.virtual_size.height
        assert scrollbar_drawn(patched) == scrollbar_drawn(fresh)  # the thumb as it is drawn
        for table in (patched, fresh):
            table.scroll_end(animate=False)
        await pilot.pause()
        assert patched.max_scroll_y == fresh.max_scroll_y > 0
        assert on_screen(patched) == on_screen(fresh)
        assert scrollbar_drawn(patched) == scrollbar_drawn(fresh)
        before = patched.max_scroll_y
        patched.show(final[:-3], NOW)  # scrolled to the end, the last three leave: it moves up
        await pilot.pause()
        assert asked == []
        assert patched.scroll_y == patched.max_scroll_y == before - 3
