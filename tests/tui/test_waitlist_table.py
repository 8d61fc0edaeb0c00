"""The waiting-list pane's table on its own: a long list in chunks, order kept, places drawn."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from support.pilot import until
from textual.app import App, ComposeResult
from textual.coordinate import Coordinate

from tui.widgets.waitlist import FIRST_ROWS, ListLine, WaitlistTable

NOW = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)


def waiting(count: int, start: int = 0) -> list[ListLine]:
    return [
        ListLine(f"w{i:05d}", i - start + 1, 1, 100 + i, NOW, None, None)
        for i in range(start, count)
    ]


def offered(line: ListLine) -> ListLine:
    return ListLine(line.actor, None, line.seats, line.ref, NOW, NOW + timedelta(minutes=10), None)


class Host(App[None]):
    def compose(self) -> ComposeResult:
        yield WaitlistTable(id="waitlist")


def drawn(table: WaitlistTable) -> list[tuple[str, str]]:
    """(row key, place) in the order the table draws them."""
    return [
        (
            str(table.coordinate_to_cell_key(Coordinate(i, 0)).row_key.value),
            str(table.get_cell_at(Coordinate(i, 0)).plain),
        )
        for i in range(table.row_count)
    ]


async def test_a_long_list_arrives_a_screenful_first_then_whole_in_order() -> None:
    async with Host().run_test() as pilot:
        table = pilot.app.query_one(WaitlistTable)
        lines = waiting(FIRST_ROWS * 4)
        table.show(lines, NOW)
        assert table.row_count == FIRST_ROWS and table.filling
        await until(pilot, lambda: not table.filling, "the rest of the list")
        assert table.shown_actors == [line.actor for line in lines]
        # the second party fits what came free: it moves to the top, every place behind it
        # moves up (first fit: the first keeps its place)
        rest = [lines[0], *waiting(FIRST_ROWS * 4, start=2)]
        rest = [
            ListLine(w.actor, i, w.seats, w.ref, NOW, None, None) for i, w in enumerate(rest, 1)
        ]
        table.show([offered(lines[1]), *rest], NOW)
        assert drawn(table)[:3] == [("w00001", "—"), ("w00000", "1"), ("w00002", "2")]
        assert table.text_of("w00001")[1] == "✉ OFFERED 10:00"
        assert drawn(table)[-1] == (lines[-1].actor, str(len(rest)))
