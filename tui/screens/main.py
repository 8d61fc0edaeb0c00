"""The working screen: the house on the left, the live roster in the middle, the log below.

Everything that touches the database runs in a worker: the live feed
(``tui.live``) reads what changed and posts what it read; commands run in
workers of their own, never exclusive, so a second key press never cancels a
booking already on its way. Handlers only change widgets.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from typing import Any, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Static
from textual.worker import Worker, WorkerState

from store.booking import Ledger, Outcome
from store.eventstore.errors import StoreReplaced
from store.ledger.views import OccurrenceView
from tui.actions import COMMANDS, Aim, Command, Result, ask_then
from tui.cli.safe_text import printable
from tui.live import LiveFeed, Reading, ReadRequest, one_line
from tui.messages import CommandAnswered, DatabaseGone, FeedRead, LiveChanged
from tui.screens.keys import MAIN_BINDINGS
from tui.screens.main_moves import MainScreenMoves
from tui.widgets.answers import answer, expired_answer
from tui.widgets.event_log import EventLog
from tui.widgets.filter_input import FilterInput
from tui.widgets.header import LIVE, OFFLINE, HouseHeader
from tui.widgets.occurrences import OccurrenceTable
from tui.widgets.roster import LAPSED, RosterTable
from tui.widgets.timefmt import wall_clock, when
from tui.widgets.titles import set_border_title
from tui.widgets.waitlist import WaitlistTable

#: The header counts the holds that lapse this soon.
LAPSING_SOON = timedelta(minutes=5)
#: A roster this big, once in the table, is moved out of the garbage collector's sight.
FREEZE_ROWS = 2000


class MainScreen(MainScreenMoves):
    """Run a night from the keyboard: every action, every roster, live."""

    BINDINGS: ClassVar[list[Binding]] = MAIN_BINDINGS  # type: ignore[assignment]
    HORIZONTAL_BREAKPOINTS = [  # noqa: RUF012 (Screen declares it without ClassVar)
        (0, "-narrow"),
        (100, "-normal"),
        (180, "-wide"),
    ]
    #: under 34 rows the log and the waiting list, when both are open, share the height
    VERTICAL_BREAKPOINTS = [(0, "-short"), (34, "-tall")]  # noqa: RUF012 (as Screen declares it)

    def __init__(self, *, tz: tzinfo | None, now: Callable[[], datetime], ticking: bool) -> None:
        super().__init__()
        self.tz = tz
        self.now = now
        self._ticking = ticking
        self.feed: LiveFeed | None = None
        self.selected: str | None = None
        self.travel_seq: int | None = None
        self._travel_view: OccurrenceView | None = None  # what time travel shows
        self._select_when_seen: str | None = None
        self._cursor_when_seen: str | None = None  # a search's party, until its row is shown
        self._lapse_timer: Timer | None = None
        self.gone: str | None = None  # why the database can no longer be used (file replaced)
        # made here and kept as attributes: the shell can fill the header before the
        # screen is mounted, and a reply that arrives while the app shuts down finds
        # its widget (detached) instead of failing a query
        self.header = HouseHeader(id="header")
        self.gone_banner = Static(id="gone")
        self.house = OccurrenceTable(id="house", tz=tz, now=now)
        self.banner = Static(id="banner")
        self.filter_input = FilterInput(placeholder="filter actors (Esc clears)", id="filter")
        self.roster = RosterTable(id="roster", tz=tz)
        self.log_table = EventLog(id="log", tz=tz)
        self.waitlist = WaitlistTable(id="waitlist")

    # -- layout -----------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield self.header
        yield self.gone_banner
        with Horizontal(id="body"):
            yield self.house
            with Vertical(id="center"):
                yield self.banner
                yield self.filter_input
                yield self.roster
                yield self.waitlist
                yield self.log_table
        yield Footer()

    @property
    def on_screen(self) -> bool:
        """Whether the widgets are still mounted (not while shutting down)."""
        return self.house.is_attached

    def on_mount(self) -> None:
        self.banner.display = False
        self.gone_banner.display = False
        self.filter_input.display = False
        self.log_table.display = False
        self.waitlist.display = False
        self.house.border_title = Content("House")
        self.roster.border_title = Content("Roster")
        self.log_table.border_title = Content("Event log")
        self.house.focus()

    @property
    def ledger(self) -> Ledger | None:
        ledger = getattr(self.app, "ledger", None)
        return ledger if isinstance(ledger, Ledger) else None

    def go_live(self, ledger: Ledger, position: int) -> None:
        """The store is open: start the feed from ``position`` and read the whole house."""
        self.header.operator = ledger.operator
        self.header.status = LIVE
        self.feed = LiveFeed(
            ledger,
            lambda reading: self.post_message(FeedRead(reading)),
            on_health=lambda live, why: self.post_message(LiveChanged(live, why)),
            on_gone=lambda why: self.post_message(DatabaseGone(why)),
            position=position,
        )
        self._follow()
        self.feed.refresh_all()
        self.run_worker(self.feed.run(), name="live", group="live", exit_on_error=False)

    def _follow(self) -> None:
        if self.feed is None:
            return
        keys = [self.selected] if self.selected else []
        self.feed.follow(rosters=keys, logs=keys if self.log_table.display else [])

    # -- time -------------------------------------------------------------------

    def tick(self) -> None:
        """Advance countdowns; read again any occurrence where a hold has just lapsed."""
        if self.feed is None or not self.on_screen:
            return
        now = self.now()
        self._show_clock(now)
        due = self.house.due(now)
        self.waitlist.tick(now)
        if self.roster.tick(now) and self.selected is not None:
            due.add(self.selected)
        if due:
            self.feed.refresh(due)
        self._aim_at_next_lapse(now)

    def _show_clock(self, now: datetime) -> None:
        """The venue's clock, and how many holds of the house lapse in the next 5 minutes."""
        self.header.clock = wall_clock(now, self.tz)
        if self.travel_seq is None:
            self.header.lapsing = self.house.lapsing_within(now, LAPSING_SOON)

    def _aim_at_next_lapse(self, now: datetime) -> None:
        """Tick again the moment the next hold in sight lapses, not up to a tick later."""
        every = getattr(self.app, "tick_every", None)
        if not self._ticking or not every:
            return  # countdowns only move when told (tests, snapshots)
        times = [line.next_expiry for line in self.house.lines.values() if line.next_expiry]
        if self.roster.next_expiry is not None:
            times.append(self.roster.next_expiry)
        if not times:
            return
        delay = (min(times) - now).total_seconds()
        # past it already: the read that shows the lapse is on its way, and the
        # regular tick retries if the ledger's clock has not got there yet
        if 0 < delay < every:
            if self._lapse_timer is not None:
                self._lapse_timer.stop()
            self._lapse_timer = self.set_timer(delay + 0.005, self.tick)

    # -- applying what was read ---------------------------------------------------------

    def on_live_changed(self, message: LiveChanged) -> None:
        self.header.status = LIVE if message.live else OFFLINE
        self.header.detail = message.detail

    def on_database_gone(self, message: DatabaseGone) -> None:
        """The file was replaced or removed: say so for good, and write nothing more."""
        what = message.detail.split(";", 1)[0]  # "<path>: the database file was replaced…"
        self.gone = f"{what}; quit and start boxoffice again"
        self._log().error("database gone: %s", message.detail)
        self.gone_banner.update(
            Content.assemble(
                ("✖ DATABASE GONE", "bold reverse"),
                f"  {printable(what)} · nothing more is written to it or read from it · "
                "quit (q) and start boxoffice again",
            )
        )
        self.gone_banner.display = True
        self.notify(self.gone, title="Database gone", severity="error", markup=False)

    def on_feed_read(self, message: FeedRead) -> None:
        if not self.on_screen:
            return
        reading: Reading = message.reading
        if reading.lines:
            self._show_lines(reading.lines)
        for view in reading.rosters:
            if view.record.key == self.selected and self.travel_seq is None:
                now = self.now()
                self.roster.show(list(view.rows), now)
                self.waitlist.show_view(view, now)
                self._aim_at_next_lapse(now)
                self._put_cursor()
        for part in reading.logs:
            if part.key != self.selected:
                continue
            if part.reset or self.log_table.key != part.key:
                self.log_table.load(part.key, part.events, self.now(), part.offers)
            else:
                self.log_table.extend(part.events, self.now(), part.offers, part.offers_after)
        self._show_clock(self.now())
        self._update_titles()

    def _show_lines(self, lines: list[OccurrenceView]) -> None:
        self.house.upsert(lines)
        wanted = self._select_when_seen
        if wanted is not None and wanted in self.house.lines:
            self._select_when_seen = None
            self.house.move_cursor(row=self.house.get_row_index(wanted))
        else:
            self._keep_selection_in_house()

    def _keep_selection_in_house(self) -> None:
        """Select the house's cursor row when nothing is selected or the selected row left
        the list (archived while archived ones are hidden)."""
        house = self.house
        if self.selected is None or self.selected not in house.lines:
            self.select(house.selected_key)
        hidden = len(house.hidden)
        title: list[str | tuple[str, str]] = ["House"]
        if house.show_archived:
            title.append((" · archived shown", "bold"))
        elif hidden:
            title.append((f" · {hidden} archived hidden (v)", "dim"))
        set_border_title(house, Content.assemble(*title))

    @on(DataTable.RowHighlighted, "#house")
    def _house_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value
        if key is not None and key != self.selected:
            self.select(key)

    def select(self, key: str | None) -> None:
        """Show another occurrence: its roster (and log) are read afresh."""
        if key == self.selected:
            return
        self.selected = key
        self._leave_travel()
        self.roster.reset()
        self.waitlist.reset()
        self._update_titles()
        self._follow()

    def on_roster_table_filled(self, message: RosterTable.Filled) -> None:
        self._put_cursor()
        if message.rows >= FREEZE_ROWS:
            # A big roster is tens of thousands of long-lived objects; without
            # this every full garbage collection walks them all again (pauses of
            # 100 ms and more in the middle of a live update). Frozen objects are
            # still freed by reference counting when the table lets them go.
            gc.freeze()

    def _update_titles(self) -> None:
        key = self.selected
        line = self._travel_view or (self.house.lines.get(key) if key else None)
        if line is None:
            # archived ones hidden are not "no occurrences": the house title says how many
            empty = self.feed is not None and not self.house.lines and not self.house.hidden
            set_border_title(
                self.roster,
                Content.assemble(
                    ("No occurrences yet: ", "bold"),
                    "press n to create one, or ctrl+p → Demo house",
                )
                if empty
                else Content("Roster"),
            )
            return
        record = line.record
        parts: list[str | tuple[str, str]] = [
            ("Roster ", "bold") if self._travel_view is None else ("Roster then ", "bold reverse"),
            (printable(record.title or record.key), "italic"),
            f" · {when(record.starts_at, self.tz)} · {record.occupied}/{record.capacity} seated",
        ]
        if self.roster.by_lapse:
            parts.append((" · by lapse", "bold"))
        if self.roster.needle:
            shown = len(self.roster.shown_actors)
            parts.append((f" · filter {printable(self.roster.needle)!s}: {shown} shown", "bold"))
        set_border_title(self.roster, Content.assemble(*parts))

    # -- time travel ---------------------------------------------------------------

    @on(EventLog.Selected, "#log")
    def _log_selected(self, event: EventLog.Selected) -> None:
        key, log_table = self.selected, self.log_table
        if key is None or log_table.key != key:
            return
        seq = log_table.seq_at(event.row)
        if seq is None:
            return
        self.run_worker(
            self._recall(key, seq),
            name="time travel",
            group="travel",
            exclusive=True,  # a read: a newer selection supersedes it
            exit_on_error=False,
        )

    def action_back_to_live(self) -> None:
        if self.travel_seq is None:  # Esc in the roster: clear the filter
            self.filter_input.action_clear()
            return
        self._leave_travel()
        self.roster.reset()
        if self.feed is not None and self.selected:
            self.feed.request(ReadRequest(rosters=frozenset({self.selected})))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back_to_live":
            return self.travel_seq is not None or bool(self.roster.needle)
        return True

    # -- commands -------------------------------------------------------------------

    def _aim(self, command: Command) -> Aim | None:
        """What the command acts on, or None (said in words) when it cannot act now."""
        if self.ledger is None:
            self.notify("Still opening the database", severity="warning", markup=False)
            return None
        if self.gone is not None:
            self.notify(f"Not written: {self.gone}", severity="error", markup=False)
            return None
        key = self.selected
        if command.needs_key:
            if key is None:
                self.notify(
                    "No occurrence selected: create one with n", severity="warning", markup=False
                )
                return None
            if self.travel_seq is not None:
                self.notify(
                    "Time travel shows the past: press Esc to return to live first",
                    severity="warning",
                    markup=False,
                )
                return None
        line = self.house.lines.get(key) if key else None
        actor = self.roster.selected_actor if self.focused is self.roster else None
        waiter = None
        if self.focused is self.waitlist and (chosen := self.waitlist.selected_line):
            # an offered party is a hold: confirm and release act on it from here too
            actor, waiter = (chosen.actor, None) if chosen.offered else (None, chosen)
        lapsed = sum(
            1
            for a in self.roster.shown_actors
            if (r := self.roster.row_of(a)) and r.state == LAPSED
        )
        return Aim(
            key,
            line.record if line else None,
            actor,
            self.roster.row_of(actor) if actor else None,
            lapsed,
            self.tz,
            waiter,
        )

    def run_command(self, name: str, *, asked: bool = False) -> None:
        """Ask what ``COMMANDS[name]`` needs, one screen after another, then write.

        ``asked``: the operator has answered already (a question of the shell's own).
        """
        command = COMMANDS[name]
        aim = self._aim(command)
        if aim is not None:
            ask_then(self.app, command, aim, self._write, start=len(command.steps) if asked else 0)

    def _write(self, command: Command, aim: Aim, value: Any, request_id: str) -> None:
        """Run the ledger call in its own worker and report the answer in words."""
        if command.name == "new_occurrence":
            self._select_when_seen = value.key

        async def run() -> None:
            assert self.ledger is not None
            result: Result = await command.call(self.ledger, aim, value, request_id)
            if isinstance(result, str):
                text, ok = result, True
            elif isinstance(result, list):
                text, ok = expired_answer(result), True
            else:
                assert isinstance(result, Outcome)
                text, ok = answer(result, self.tz), result.ok
            self.post_message(CommandAnswered(command.name, aim.key, text, ok))

        self.run_worker(run(), name=command.name, group="write", exit_on_error=False)

    def on_command_answered(self, message: CommandAnswered) -> None:
        # the change itself reaches the screen through the feed's tail, once
        self._log().info("%s %s: %s", message.action, message.key or "-", message.text)
        self.notify(
            message.text,
            title=message.action.replace("_", " "),
            severity="information" if message.ok else "warning",
            markup=False,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A failed worker becomes one line on screen, never a traceback."""
        if event.state is not WorkerState.ERROR:
            return
        worker, error = event.worker, event.worker.error
        assert error is not None
        if isinstance(error, StoreReplaced) and self.gone is None:
            self.post_message(DatabaseGone(one_line(error)))
        shown = f"{worker.name.replace('_', ' ')}: {one_line(error)}"
        self._log().error("%s", shown)
        self.notify(
            shown,
            title="Not done",
            severity="error",
            markup=False,
        )

    def _log(self) -> logging.Logger:
        log = getattr(self.app, "log_file", None)
        return log if isinstance(log, logging.Logger) else logging.getLogger("boxoffice.app")

    def action_command(self, name: str) -> None:
        self.run_command(name)

    # -- views ------------------------------------------------------------------------

    def action_filter(self) -> None:
        if self.focused is self.house:  # `/` in the house searches every show
            self.action_search()
            return
        field = self.filter_input
        field.display = True
        field.focus()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.roster.set_filter(event.value)
        self._update_titles()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self) -> None:
        self.roster.focus()

    def action_toggle_archived(self) -> None:
        self.house.set_show_archived(not self.house.show_archived)
        self._keep_selection_in_house()

    def action_toggle_sort(self) -> None:
        self.roster.set_sort_by_lapse(not self.roster.by_lapse)
        self._update_titles()

    def action_toggle_log(self) -> None:
        log_table = self.log_table
        log_table.display = not log_table.display
        self._share_center()
        self._follow()
        if log_table.display:
            log_table.focus()
        elif self.focused is None:
            self.roster.focus()

    def action_toggle_waitlist(self) -> None:
        """Show or hide the waiting list under the roster (focused when shown)."""
        pane = self.waitlist
        pane.display = not pane.display
        self._share_center()
        if pane.display:
            pane.focus()
        elif self.focused is None:
            self.roster.focus()
