"""The event log on its own: a long stream whole at once, a derived offer on two lines, a
live event drawing only what it changed, the cursor following the newest event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from textual.app import App, ComposeResult
from textual.message import Message

from store.eventstore.events import Event
from store.ledger.views import DerivedOffer
from tui.widgets.event_log import EventLog

NOW = datetime(2026, 12, 1, 19, 0, tzinfo=UTC)
STREAM = "occurrence-show"


def event(seq: int, type_: str = "booking", actor: str | None = None) -> Event:
    data = {"actor": actor or f"guest-{seq}"} if type_ != "created" else {"capacity": 9}
    meta = {"recorded_at": (NOW + timedelta(seconds=seq)).isoformat(), "operator": "op"}
    return Event(STREAM, seq, seq, type_, data, meta)


def offer(after_seq: int, actor: str = "Grace", ttl: bool = True) -> DerivedOffer:
    until = NOW + timedelta(minutes=15) if ttl else None
    return DerivedOffer(after_seq, NOW, actor, 2, until, 1)


class Host(App[None]):
    def __init__(self) -> None:
        super().__init__()
        self.seen: list[Message] = []

    def compose(self) -> ComposeResult:
        yield EventLog(id="log", tz=UTC)

    def on_line_table_selected(self, message: EventLog.Selected) -> None:
        self.seen.append(message)


def texts(log: EventLog) -> list[str]:
    return [log.render_line(y).text for y in range(log.scrollable_content_region.height)]


async def test_a_long_stream_is_whole_at_once_with_an_offer_on_two_lines() -> None:
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        log = app.query_one(EventLog)
        events = [event(1, "created"), *(event(n) for n in range(2, 2001))]
        log.load(STREAM, events, NOW, [offer(10)])
        assert log.row_count == 2001 and log.line_count == 2002, "the offer is two lines"
        assert log.virtual_size.height == 2003, "and a header"
        assert log.cursor_row == 2000 and log.seq_at(2000) == 2000, "on the newest event"
        await pilot.pause()
        assert int(log.scroll_y) == log.max_scroll_y > 0, "scrolled to the end"
        log.move_cursor(row=10)  # the offer, after seq 10
        await pilot.pause()
        assert log.seq_at(10) is None and log.row_start(11) == 12
        top = int(log.scroll_y)
        shown = texts(log)
        first, second = shown[1 + 11 - top - 1], shown[1 + 12 - top - 1]
        assert "✉ offer" in first and "Grace · 2 seats" in first and "(derived)" in first
        assert "until 19:15" in second
        assert log.row_at_line(12) == (11, 0) and log.row_at_line(11) == (10, 1)


async def test_a_live_event_draws_its_own_line_and_the_cursor_follows(monkeypatch: Any) -> None:
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        log = app.query_one(EventLog)
        log.load(STREAM, [event(n) for n in range(1, 501)], NOW)
        await pilot.pause()
        drawn: list[int] = []
        draw = EventLog.row_cells

        def counting(self: EventLog, index: int) -> Any:
            drawn.append(index)
            return draw(self, index)

        monkeypatch.setattr(EventLog, "row_cells", counting)
        log.extend([event(n) for n in range(1, 502)], NOW)  # one new; the rest seen already
        await pilot.pause()
        assert log.row_count == 501 and log.cursor_row == 500
        assert int(log.scroll_y) == log.max_scroll_y
        # the new row, and the row the cursor left (scrolled up a line): nothing else drawn
        assert sorted(set(drawn)) == [499, 500]
        log.move_cursor(row=3)
        log.extend([event(502)], NOW)
        assert log.cursor_row == 3, "a cursor moved off the end stays where it was put"


async def test_offers_after_a_seq_are_replaced_and_enter_selects_the_cursor_row() -> None:
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        log = app.query_one(EventLog)
        log.load(STREAM, [event(n) for n in range(1, 6)], NOW, [offer(5, "Ada")])
        assert [o.actor for o in log.offers] == ["Ada"] and log.line_count == 7
        log.extend([], NOW, [offer(5, "Bea", ttl=False)], offers_after=5)
        assert [o.actor for o in log.offers] == ["Bea"] and log.line_count == 6
        log.extend([], NOW, [offer(5, "Bea", ttl=False)], offers_after=5)  # nothing moved
        assert log.row_count == 6
        log.focus()
        log.move_cursor(row=2)
        await pilot.press("enter")
        await pilot.pause()
        assert [(type(m), m.row) for m in app.seen] == [(EventLog.Selected, 2)]  # type: ignore[attr-defined]
        assert log.seq_at(2) == 3 and log.get_cell("3", "actor").plain == "guest-3"


async def test_a_log_opened_on_a_long_stream_shows_its_newest_event() -> None:
    """Loaded the moment it is shown, before it has a scrollbar (which refuses a scroll
    unless forced), the log still ends on its newest event."""
    app = Host()
    async with app.run_test(size=(100, 30)) as pilot:
        log = app.query_one(EventLog)
        log.display = False
        await pilot.pause()
        log.display = True
        log.load(STREAM, [event(n) for n in range(1, 201)], NOW)
        await pilot.pause()
        await pilot.pause()
        assert log.cursor_row == 199 and 0 < log.max_scroll_y == int(log.scroll_y)
        assert "guest-200" in texts(log)[-1]
