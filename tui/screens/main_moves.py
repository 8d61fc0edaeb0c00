"""The main screen's moves away from the live roster: time travel, a search's jump, the panels.

A mixin of ``MainScreen`` (``tui.screens.main``), split out so each module
keeps one job: this one changes what the screen looks at; it reads the ledger
only through its views (``Ledger.view_at``) and the search's matches.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import TYPE_CHECKING, Any

from textual.content import Content
from textual.screen import Screen
from textual.widgets import Static

from store.booking import Ledger
from store.ledger.views import OccurrenceView
from tui.messages import RosterRecalled
from tui.screens.door import DoorScreen
from tui.screens.search import Match, SearchScreen, waiting_words
from tui.widgets.event_log import EventLog
from tui.widgets.filter_input import FilterInput
from tui.widgets.header import HouseHeader
from tui.widgets.occurrences import OccurrenceTable
from tui.widgets.roster import RosterTable
from tui.widgets.timefmt import local
from tui.widgets.waitlist import WaitlistTable


class MainScreenMoves(Screen[None]):
    """Time travel, the search's jump to a party, the door and the racers panel."""

    if TYPE_CHECKING:  # made by MainScreen
        tz: tzinfo | None
        selected: str | None
        travel_seq: int | None
        _travel_view: OccurrenceView | None
        _cursor_when_seen: str | None
        header: HouseHeader
        banner: Static
        house: OccurrenceTable
        roster: RosterTable
        waitlist: WaitlistTable
        log_table: EventLog
        filter_input: FilterInput

        @property
        def ledger(self) -> Ledger | None: ...
        @property
        def on_screen(self) -> bool: ...
        def select(self, key: str | None) -> None: ...
        def action_back_to_live(self) -> None: ...
        def _update_titles(self) -> None: ...

    async def _recall(self, key: str, seq: int) -> None:
        assert self.ledger is not None
        self.post_message(RosterRecalled(key, seq, await self.ledger.view_at(key, seq)))

    def on_roster_recalled(self, message: RosterRecalled) -> None:
        if not self.on_screen or message.key != self.selected:
            return
        self.travel_seq = message.seq
        self._travel_view = message.view
        at = message.view.read_at
        self.roster.show(list(message.view.rows), at, live=False)
        self.waitlist.show_view(message.view, at, live=False)
        moment = f" ({local(at, self.tz):%d %b %H:%M:%S})" if at else ""
        self.banner.update(
            Content.assemble(
                ("⏪ TIME TRAVEL", "bold reverse"),
                f"  the roster as it stood at seq {message.seq}{moment}"
                " · changes are paused · Esc returns to live",
            )
        )
        self.banner.display = True
        self.header.past = f"seq {message.seq}{moment}"
        self.header.lapsing = 0
        self._update_titles()
        self.refresh_bindings()

    def _leave_travel(self) -> None:
        if self.travel_seq is None:
            return
        self.travel_seq = None
        self._travel_view = None
        self.header.past = ""
        self.banner.display = False
        self._update_titles()
        self.refresh_bindings()

    def _share_center(self) -> None:
        """Mark the centre when the log and the waiting list are both open (app.tcss).

        On a short terminal their fixed heights (14 and 8 rows) left the roster
        none at 80x24; marked, the three share the height and the roster keeps
        the largest part, so the seats stay in sight while both panes are read.
        """
        both = bool(self.log_table.display and self.waitlist.display)
        self.query_one("#center").set_class(both, "-both-panes")

        def cursors_in_view() -> None:  # a table that shrank keeps its cursor row in sight
            for table in (self.roster, self.waitlist, self.log_table):
                if table.display and table.row_count:
                    table.move_cursor(row=table.cursor_row)

        self.call_after_refresh(cursors_in_view)

    def action_race(self) -> None:
        try:
            from tui.screens.race import RaceScreen
        except ImportError:
            self.notify("race panel not available", severity="warning", markup=False)
            return
        operator = self.ledger.operator if self.ledger else ""
        store_url = str(getattr(self.app, "store_url", ""))
        screen: Screen[Any] = RaceScreen(store_url, operator, self.selected)
        self.app.push_screen(screen)

    def action_search(self) -> None:
        """Find a party on any show; choosing one selects its show and its roster row."""
        if self.ledger is None:
            self.notify("Still opening the database", severity="warning", markup=False)
            return
        self.app.push_screen(SearchScreen(self.ledger, self.tz), self._jump)

    def _jump(self, match: Match | None) -> None:
        if match is None:
            return
        if match.row.seat is None:  # waiting: no roster row to put the cursor on
            self.notify(waiting_words(match), markup=False)
        self._cursor_when_seen = match.row.actor if match.row.seat is not None else None
        if self.travel_seq is not None:
            self.action_back_to_live()  # leaves time travel and reads the live roster
        if self.roster.needle:
            self.filter_input.action_clear()  # the filter could hide the party
            self.roster.set_filter("")
        if match.key in self.house.lines:
            self.house.move_cursor(row=self.house.get_row_index(match.key))
        self.select(match.key)
        self.roster.focus()
        self._put_cursor()

    def _put_cursor(self) -> None:
        """Put the roster's cursor on the actor a search chose, once its row is there."""
        actor = self._cursor_when_seen
        if actor is not None and actor in self.roster.shown_actors:
            self._cursor_when_seen = None
            self.roster.move_cursor(row=self.roster.shown_actors.index(actor))

    def action_door(self) -> None:
        if self.ledger is None or self.selected is None:
            self.notify("No occurrence selected", severity="warning", markup=False)
            return
        self.app.push_screen(DoorScreen(self.ledger, self.selected))
