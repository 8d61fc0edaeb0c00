"""The box-office app: the house on the left, the live roster in the middle.

Everything that touches the database runs in a worker and reports back with a
message (``tui.messages``); handlers only change widgets. Two long-lived
workers keep the screen live: the *tail* waits for commits anywhere
(``store.wait_for_append``) and names the occurrences they touched; the
*reader* reads those occurrences through the ledger and posts what it read.
Commands run in their own workers, never exclusive, so a second key press
never cancels a booking already on its way to the database.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable, Iterable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta, tzinfo
from functools import partial
from typing import Any, ClassVar

from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Input, Static
from textual.worker import Worker, WorkerState

from store import EventStore, open_store
from store.booking import Ledger, Outcome, UnknownOccurrence
from store.demo import seed_demo
from store.ledger.rules import InvalidInput
from tui.cli.safe_text import printable
from tui.messages import (
    CommandAnswered,
    HouseOpened,
    HouseRead,
    LiveChanged,
    LogRead,
    RosterRead,
    RosterRecalled,
    StreamAdvanced,
)
from tui.screens.confirm import ConfirmScreen
from tui.screens.forms import (
    ActorForm,
    CapacityForm,
    HoldForm,
    HoldRequest,
    NewOccurrence,
    NewOccurrenceForm,
)
from tui.screens.help import HelpScreen
from tui.widgets.answers import answer, expired_answer
from tui.widgets.event_log import EventLog
from tui.widgets.header import LIVE, OFFLINE, HouseHeader, shown_location
from tui.widgets.occurrences import HouseLine, OccurrenceTable
from tui.widgets.roster import RosterTable, roster_rows
from tui.widgets.timefmt import local, when

Clock = Callable[[], datetime]

#: Seconds one ``wait_for_append`` call may wait before the tail loops (and
#: notices a closed store); a commit wakes it at once either way.
TAIL_WAIT = 5.0
#: Most events the tail reads in one go (a burst is read in several).
TAIL_BATCH = 5000
#: A roster this big, once in the table, is moved out of the garbage collector's sight.
FREEZE_ROWS = 2000


def one_line(error: BaseException) -> str:
    """An exception as a single printable line: what went wrong, never a traceback."""
    text = str(error).strip().splitlines()
    return printable(text[0] if text else type(error).__name__)


class FilterInput(Input):
    """Narrows the roster as the operator types; Esc clears it."""

    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding(
            "escape",
            "clear",
            "Clear filter",
            id="filter.clear",
            tooltip="Show the whole roster again",
        ),
    ]

    def action_clear(self) -> None:
        self.value = ""
        self.display = False
        roster = self.app.query("#roster")
        if roster:
            roster.first().focus()


class BoxOfficeApp(App[int]):
    """Run a night from the keyboard: every action, every roster, live."""

    CSS_PATH = "app.tcss"
    TITLE = "boxoffice"

    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("b", "book", "Book", id="book", tooltip="Book a confirmed seat for someone"),
        Binding("h", "hold", "Hold", id="hold", tooltip="Hold a seat while the customer pays"),
        Binding("c", "confirm", "Confirm", id="confirm", tooltip="Confirm the selected hold"),
        Binding("u", "release", "Release", show=False, id="release", tooltip="Release a hold"),
        Binding(
            "d",
            "cancel_seat",
            "Cancel seat",
            show=False,
            id="cancel",
            tooltip="Cancel a held or confirmed seat (asks first)",
        ),
        Binding(
            "e",
            "expire",
            "Expire lapsed",
            show=False,
            id="expire",
            tooltip="Record every lapsed hold of this occurrence",
        ),
        Binding(
            "n",
            "new_occurrence",
            "New occurrence",
            show=False,
            id="new-occurrence",
            tooltip="Create a performance, date or session",
        ),
        Binding(
            "k",
            "capacity",
            "Capacity",
            show=False,
            id="capacity",
            tooltip="Change how many seats the occurrence has",
        ),
        Binding("slash", "filter", "Filter", show=False, id="filter", tooltip="Filter the roster"),
        Binding(
            "l",
            "toggle_log",
            "Event log",
            id="log",
            tooltip="Show the occurrence's events; select one to see the roster then",
        ),
        Binding(
            "escape",
            "back_to_live",
            "Back to live",
            id="live",
            tooltip="Leave time travel and show the roster as it is now",
        ),
        Binding(
            "r",
            "race",
            "Race",
            show=False,
            id="race",
            tooltip="Open the racers panel on the selected occurrence",
        ),
        Binding(
            "question_mark,f1", "help", "Help", id="help", tooltip="Every key and what it does"
        ),
        Binding("q", "quit", "Quit", id="quit", tooltip="Leave boxoffice"),
    ]

    def __init__(
        self,
        store_url: str,
        *,
        operator: str | None = None,
        clock: Clock | None = None,
        tz: tzinfo | None = None,
        create: bool = False,
        demo: bool = False,
        offer_demo: bool = True,
        tick: float | None = 1.0,
    ) -> None:
        """
        Args:
            store_url: a SQLite path or a ``postgresql://`` URL.
            operator: recorded on every event (default: the login name).
            clock: the ledger's clock (and the countdowns'); tests inject one.
            tz: the zone times are shown in (default: the machine's).
            create: create the database if it is missing (launch decides).
            demo: seed a demo house into an empty database without asking.
            offer_demo: on an empty database, ask whether to seed a demo.
            tick: seconds between countdown updates (None: only when ``tick()`` is called).
        """
        super().__init__()
        self.store_url = store_url
        self.operator = operator
        self.tz = tz
        self._clock = clock
        self._create = create
        self._demo = demo
        self._offer_demo = offer_demo
        self._tick_every = tick
        self._offset = timedelta(0)
        self._stack = AsyncExitStack()
        self.store: EventStore | None = None
        self.ledger: Ledger | None = None
        self.selected: str | None = None
        self.travel_seq: int | None = None
        self._position = 0
        self._kick = asyncio.Event()
        self._dirty: set[str] = set()
        self._dirty_all = False
        self._want_roster = False
        self._want_log = False
        self._select_when_seen: str | None = None
        self._lapse_timer: Timer | None = None

    # -- layout -----------------------------------------------------------------

    def compose(self) -> ComposeResult:
        # kept as attributes: a reply that arrives while the app shuts down finds
        # its widget (detached) instead of failing a query
        self.header = HouseHeader(id="header")
        self.house = OccurrenceTable(id="house", tz=self.tz)
        self.banner = Static(id="banner")
        self.filter_input = FilterInput(placeholder="filter actors (Esc clears)", id="filter")
        self.roster = RosterTable(id="roster", tz=self.tz)
        self.log_table = EventLog(id="log", tz=self.tz)
        yield self.header
        with Horizontal(id="body"):
            yield self.house
            with Vertical(id="center"):
                yield self.banner
                yield self.filter_input
                yield self.roster
                yield self.log_table
        yield Footer()

    @property
    def on_screen(self) -> bool:
        """Whether the main widgets are still mounted (not while shutting down)."""
        return self.house.is_attached

    def on_mount(self) -> None:
        header = self.header
        header.db = shown_location(self.store_url)
        header.operator = self.operator or ""
        self.banner.display = False
        self.filter_input.display = False
        self.log_table.display = False
        self.house.border_title = Content("House")
        self.roster.border_title = Content("Roster")
        self.log_table.border_title = Content("Event log")
        self.house.focus()
        self.run_worker(self._open(), name="open", group="store", exit_on_error=False)
        if self._tick_every:
            self.set_interval(self._tick_every, self.tick)

    async def on_unmount(self) -> None:
        self.workers.cancel_all()
        await self._stack.aclose()

    # -- time -------------------------------------------------------------------

    def now(self) -> datetime:
        """The instant countdowns are shown at: the ledger's clock, read without I/O."""
        if self._clock is not None:
            moment = self._clock()
            return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
        return datetime.now(UTC) + self._offset

    def tick(self) -> None:
        """Advance countdowns; read again any occurrence where a hold has just lapsed."""
        if self.ledger is None or not self.on_screen:
            return
        now = self.now()
        due = self.house.due(now)
        if self.roster.tick(now) and self.selected is not None:
            due.add(self.selected)
            self._want_roster = True
        if due:
            self.request_read(due)
        self._aim_at_next_lapse(now)

    def _aim_at_next_lapse(self, now: datetime) -> None:
        """Tick again the moment the next hold in sight lapses, not up to a tick later."""
        if not self._tick_every:
            return  # countdowns only move when told (tests, snapshots)
        times = [line.next_expiry for line in self.house.lines.values() if line.next_expiry]
        if self.roster.next_expiry is not None:
            times.append(self.roster.next_expiry)
        if not times:
            return
        delay = (min(times) - now).total_seconds()
        # past it already: the read that shows the lapse is on its way, and the
        # regular tick retries if the ledger's clock has not got there yet
        if 0 < delay < self._tick_every:
            if self._lapse_timer is not None:
                self._lapse_timer.stop()
            self._lapse_timer = self.set_timer(delay + 0.005, self.tick)

    # -- opening and the live feed --------------------------------------------------

    async def _open(self) -> None:
        store = await self._stack.enter_async_context(
            open_store(self.store_url, create=self._create)
        )
        self.store = store
        self.ledger = Ledger(store, clock=self._clock, operator=self.operator)
        if self._clock is None:
            server = await store.server_now()
            if server is not None:
                self._offset = server - datetime.now(UTC)
        self._position = await store.head_position()
        empty = self._position == 0
        if empty and self._demo:
            await seed_demo(self.ledger, await self.ledger.now())
        self.post_message(
            HouseOpened(empty=empty and not self._demo, demo_refused=self._demo and not empty)
        )

    def on_house_opened(self, message: HouseOpened) -> None:
        assert self.ledger is not None
        header = self.header
        header.operator = self.ledger.operator
        if self.store is not None:
            header.db = self.store.url  # the store's own, password-free spelling
        header.status = LIVE
        self._dirty_all = True
        self._kick.set()
        self.run_worker(self._read_loop(), name="reader", group="live", exit_on_error=False)
        self.run_worker(self._tail(), name="tail", group="live", exit_on_error=False)
        if message.demo_refused:
            self.notify(
                "Demo not added: this database already has events (use an empty one)",
                severity="warning",
                markup=False,
            )
        if message.empty and self._offer_demo:
            question = Content.assemble(
                ("This database has no occurrences yet.", "bold"),
                "\n\nCreate a demo house (a few shows, some seats booked, some held, "
                "one hold about to lapse) to look around?",
            )
            self.push_screen(
                ConfirmScreen(question, yes="Create demo", no="Start empty"), self._demo_answer
            )

    def _demo_answer(self, yes: bool | None) -> None:
        if yes:
            self._write("demo", None, self._seed)

    async def _seed(self, ledger: Ledger) -> str:
        keys = await seed_demo(ledger, await ledger.now())
        return f"Demo house created: {len(keys)} occurrences"

    async def _tail(self) -> None:
        """Wait for commits anywhere and say which occurrences they touched."""
        ledger, position = self.ledger, self._position
        assert ledger is not None
        failing = False
        while True:
            try:
                changes = await ledger.changes(position, timeout=TAIL_WAIT, limit=TAIL_BATCH)
                if changes.position != position:
                    position = changes.position
                    self.post_message(StreamAdvanced(set(changes.keys), position))
                if failing:
                    failing = False
                    self.post_message(LiveChanged(True))
            except Exception as error:  # the feed must outlive a database hiccup
                failing = True
                self.post_message(LiveChanged(False, one_line(error)))
                await asyncio.sleep(1.0)  # retry pace while the database is unreachable

    def on_stream_advanced(self, message: StreamAdvanced) -> None:
        self._position = max(self._position, message.position)
        self.request_read(message.keys)

    def on_live_changed(self, message: LiveChanged) -> None:
        header = self.header
        header.status = LIVE if message.live else OFFLINE
        header.detail = message.detail
        if message.live:
            self._dirty_all = True
            self._kick.set()

    def request_read(self, keys: Iterable[str] = (), *, roster: bool = False) -> None:
        """Ask the reader for fresh lines of ``keys`` (and the selected roster if touched)."""
        keys = set(keys)
        self._dirty |= keys
        if roster or self.selected in keys:
            self._want_roster = True
            self._want_log = True
        self._kick.set()

    async def _read_loop(self) -> None:
        """The one reader: requests pile up while it reads, then are read together."""
        failing = False
        while True:
            await self._kick.wait()
            self._kick.clear()
            everything, keys = self._dirty_all, self._dirty
            want_roster, want_log = self._want_roster, self._want_log
            self._dirty_all, self._dirty = False, set()
            self._want_roster = self._want_log = False
            try:
                await self._read(everything, keys, want_roster, want_log)
            except Exception as error:  # put the work back and say so; try again shortly
                self._dirty_all |= everything
                self._dirty |= keys
                self._want_roster |= want_roster
                self._want_log |= want_log
                failing = True
                self.post_message(LiveChanged(False, one_line(error)))
                await asyncio.sleep(1.0)  # retry pace while the database is unreachable
                self._kick.set()
            else:
                if failing:
                    failing = False
                    self.post_message(LiveChanged(True))

    async def _read(self, everything: bool, keys: set[str], roster: bool, log: bool) -> None:
        ledger, store = self.ledger, self.store
        assert ledger is not None and store is not None
        lines: list[HouseLine] = []
        if everything:
            for view in await ledger.views(rows=False):
                lines.append(HouseLine(view.record, view.next_expiry))
        else:
            for key in sorted(keys):
                try:
                    view = await ledger.view(key, rows=False)
                    lines.append(HouseLine(view.record, view.next_expiry))
                except (UnknownOccurrence, InvalidInput):
                    continue  # a stream without `created`, or not a booking key
        if lines:
            self.post_message(HouseRead(lines))
        selected = self.selected
        if selected is None:
            return
        key = selected
        if roster or everything:
            try:
                view = await ledger.view(key)
            except UnknownOccurrence:
                return
            self.post_message(RosterRead(key, view.seq, view.read_at, roster_rows(view)))
        log_table = self.log_table
        if log_table.display and (log or everything or log_table.key != key):
            reset = log_table.key != key
            after = 0 if reset else log_table.last_seq
            events = await ledger.events(key, after_seq=after)
            self.post_message(LogRead(key, events, reset))

    # -- applying what was read ---------------------------------------------------------

    def on_house_read(self, message: HouseRead) -> None:
        if not self.on_screen:
            return
        self.house.upsert(message.lines)
        wanted = self._select_when_seen
        if wanted is not None and wanted in self.house.lines:
            self._select_when_seen = None
            self.house.move_cursor(row=self.house.get_row_index(wanted))
        elif self.selected is None and self.house.row_count:
            self.select(self.house.selected_key)
        self._update_titles()

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
        self._update_titles()
        if key is not None:
            self.request_read([key], roster=True)

    def on_roster_read(self, message: RosterRead) -> None:
        if not self.on_screen or message.key != self.selected or self.travel_seq is not None:
            return
        now = self.now()
        self.roster.show(message.rows, now)
        self._aim_at_next_lapse(now)
        self._update_titles()

    def on_roster_table_filled(self, message: RosterTable.Filled) -> None:
        if message.rows >= FREEZE_ROWS:
            # A big roster is tens of thousands of long-lived objects; without
            # this every full garbage collection walks them all again (pauses of
            # 100 ms and more in the middle of a live update). Frozen objects are
            # still freed by reference counting when the table lets them go.
            gc.freeze()

    def on_log_read(self, message: LogRead) -> None:
        if not self.on_screen or message.key != self.selected:
            return
        if message.reset:
            self.log_table.load(message.key, message.events, self.now())
        else:
            self.log_table.extend(message.events, self.now())

    def _update_titles(self) -> None:
        key = self.selected
        line = self.house.lines.get(key) if key else None
        if line is None:
            self.roster.border_title = Content("Roster")
            return
        record = line.record
        parts: list[str | tuple[str, str]] = [
            ("Roster ", "bold"),
            (printable(record.title or record.key), "italic"),
            f" · {when(record.starts_at, self.tz)} · {record.occupied}/{record.capacity} seated",
        ]
        if self.roster.needle:
            shown = len(self.roster.shown_actors)
            parts.append((f" · filter {printable(self.roster.needle)!s}: {shown} shown", "bold"))
        self.roster.border_title = Content.assemble(*parts)

    # -- time travel ---------------------------------------------------------------

    @on(DataTable.RowSelected, "#log")
    def _log_selected(self, event: DataTable.RowSelected) -> None:
        key, log_table = self.selected, self.log_table
        if key is None or log_table.key != key:
            return
        index = event.cursor_row
        seq = log_table.seq_at(index)
        if seq is None:
            return
        self.run_worker(
            self._recall(key, seq),
            name="time travel",
            group="travel",
            exclusive=True,  # a read: a newer selection supersedes it
            exit_on_error=False,
        )

    async def _recall(self, key: str, seq: int) -> None:
        assert self.ledger is not None
        view = await self.ledger.view_at(key, seq)
        self.post_message(RosterRecalled(key, seq, view.read_at, roster_rows(view)))

    def on_roster_recalled(self, message: RosterRecalled) -> None:
        if not self.on_screen or message.key != self.selected:
            return
        self.travel_seq = message.seq
        self.roster.show(message.rows, message.at, live=False)
        banner = self.banner
        moment = f" ({local(message.at, self.tz):%d %b %H:%M:%S})" if message.at else ""
        banner.update(
            Content.assemble(
                ("⏪ TIME TRAVEL", "bold reverse"),
                f"  the roster as it stood at seq {message.seq}{moment}"
                " · changes are paused · Esc returns to live",
            )
        )
        banner.display = True
        self.refresh_bindings()

    def _leave_travel(self) -> None:
        if self.travel_seq is None:
            return
        self.travel_seq = None
        self.banner.display = False
        self.refresh_bindings()

    def action_back_to_live(self) -> None:
        self._leave_travel()
        self.roster.reset()
        self.request_read([self.selected] if self.selected else [], roster=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back_to_live":
            return self.travel_seq is not None
        return True

    # -- commands -------------------------------------------------------------------

    def _write(
        self,
        action: str,
        key: str | None,
        command: Callable[[Ledger], Awaitable[Outcome | list[Outcome] | str]],
    ) -> None:
        """Run one ledger command in its own worker and report the answer in words."""

        async def run() -> None:
            assert self.ledger is not None
            result = await command(self.ledger)
            if isinstance(result, str):
                text, ok = result, True
            elif isinstance(result, list):
                text, ok = expired_answer(result), True
            else:
                text, ok = answer(result, self.tz), result.ok
            self.post_message(CommandAnswered(action, key, text, ok, {key} if key else set()))

        self.run_worker(run(), name=action, group="write", exit_on_error=False)

    def on_command_answered(self, message: CommandAnswered) -> None:
        self.notify(
            message.text,
            title=message.action,
            severity="information" if message.ok else "warning",
            markup=False,
        )
        if message.touched:
            self.request_read(message.touched)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A failed worker becomes one line on screen, never a traceback."""
        if event.state is not WorkerState.ERROR:
            return
        worker, error = event.worker, event.worker.error
        assert error is not None
        if worker.name == "open":
            self.exit(None, return_code=3, message=f"boxoffice: {one_line(error)}")
            return
        self.notify(
            f"{worker.name}: {one_line(error)}", title="Not done", severity="error", markup=False
        )

    def _ready_key(self) -> str | None:
        """The selected occurrence, if commands can act on it now."""
        if self.ledger is None:
            self.notify("Still opening the database", severity="warning", markup=False)
            return None
        if self.selected is None:
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
        return self.selected

    def _heading(self, verb: str, key: str) -> Content:
        line = self.house.lines.get(key)
        title = line.record.title or key if line else key
        return Content.assemble((verb, "bold"), " · ", (printable(title), "italic"))

    def action_new_occurrence(self) -> None:
        if self.ledger is None:
            return

        def create(form: NewOccurrence | None) -> None:
            if form is None:
                return
            self._select_when_seen = form.key
            self._write(
                "new occurrence",
                form.key,
                lambda ledger: ledger.create_occurrence(
                    form.key,
                    capacity=form.capacity,
                    title=form.title,
                    starts_at=form.starts_at,
                    hold_ttl=form.hold_ttl,
                ),
            )

        self.push_screen(NewOccurrenceForm(self.tz), create)

    def action_capacity(self) -> None:
        key = self._ready_key()
        if key is None:
            return
        line = self.house.lines.get(key)
        current = line.record.capacity if line else 0

        def set_capacity(capacity: int | None) -> None:
            if capacity is not None:
                self._write("capacity", key, lambda ledger: ledger.set_capacity(key, capacity))

        self.push_screen(CapacityForm(self._heading("Capacity", key), current), set_capacity)

    def action_book(self) -> None:
        key = self._ready_key()
        if key is None:
            return

        def book(actor: str | None) -> None:
            if actor is not None:
                self._write("book", key, lambda ledger: ledger.book(key, actor))

        self.push_screen(ActorForm(self._heading("Book a seat", key), "Book"), book)

    def action_hold(self) -> None:
        key = self._ready_key()
        if key is None:
            return
        line = self.house.lines.get(key)
        default_ttl = line.record.hold_ttl if line else None

        def hold(request: HoldRequest | None) -> None:
            if request is not None:
                self._write(
                    "hold", key, lambda ledger: ledger.hold(key, request.actor, request.ttl)
                )

        self.push_screen(HoldForm(self._heading("Hold a seat", key), default_ttl), hold)

    def _with_actor(self, verb: str, key: str, then: Callable[[str], None]) -> None:
        """Act on the roster's selected row when the roster has focus; else ask who."""
        actor = self.roster.selected_actor
        if actor is not None and self.focused is self.roster:
            then(actor)
            return

        def chosen(name: str | None) -> None:
            if name is not None:
                then(name)

        self.push_screen(ActorForm(self._heading(verb, key), verb, actor or ""), chosen)

    def action_confirm(self) -> None:
        key = self._ready_key()
        if key is not None:
            self._with_actor(
                "Confirm",
                key,
                lambda actor: self._write(
                    "confirm", key, lambda ledger: ledger.confirm(key, actor)
                ),
            )

    def action_release(self) -> None:
        key = self._ready_key()
        if key is not None:
            self._with_actor(
                "Release",
                key,
                lambda actor: self._write(
                    "release", key, lambda ledger: ledger.release(key, actor)
                ),
            )

    def action_cancel_seat(self) -> None:
        key = self._ready_key()
        if key is None:
            return

        def ask(actor: str) -> None:
            row = self.roster.row_of(actor)
            seat = f"seat {row.seat}" if row is not None and row.seat else "the seat"
            question = Content.assemble(
                (f"Cancel {seat} of ", "bold"),
                (printable(actor), "bold italic"),
                ("?", "bold"),
                "\n\nThe seat goes back on sale at once. This cannot be undone.",
            )

            def answered(yes: bool | None) -> None:
                if yes:
                    self._write("cancel", key, lambda ledger: ledger.cancel(key, actor))
                else:
                    self.notify("Nothing cancelled", markup=False)

            self.push_screen(ConfirmScreen(question, yes="Cancel seat", no="Keep it"), answered)

        self._with_actor("Cancel", key, ask)

    def action_expire(self) -> None:
        key = self._ready_key()
        if key is not None:
            self._write("expire", key, lambda ledger: ledger.expire_holds(key))

    def action_filter(self) -> None:
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

    def action_toggle_log(self) -> None:
        log_table = self.log_table
        log_table.display = not log_table.display
        if log_table.display:
            self.request_read([self.selected] if self.selected else [])
            log_table.focus()
        elif self.focused is None:
            self.roster.focus()

    def action_race(self) -> None:
        try:
            from tui.screens.race import RaceScreen
        except ImportError:
            self.notify("race panel not available", severity="warning", markup=False)
            return
        operator = self.ledger.operator if self.ledger else (self.operator or "")
        screen: Screen[Any] = RaceScreen(self.store_url, operator, self.selected)
        self.push_screen(screen)

    def help_rows(self) -> list[tuple[str, str, str, str]]:
        """Every binding of the app (with the keymap applied) and of the filter."""
        rows: dict[tuple[str, str], tuple[list[str], Binding]] = {}
        bindings = self._bindings.copy()
        if self._keymap:
            bindings.apply_keymap(self._keymap)
        everything = [binding for _, binding in bindings] + [
            b for b in FilterInput.BINDINGS if isinstance(b, Binding)
        ]
        for binding in everything:
            keys, _ = rows.setdefault((binding.id or "", binding.action), ([], binding))
            display = self.get_key_display(binding)
            if display not in keys:
                keys.append(display)
        return [
            (" / ".join(keys), b.description or b.action, b.tooltip, b.id or "")
            for keys, b in rows.values()
        ]

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.help_rows()))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for binding in self.BINDINGS:
            if isinstance(binding, Binding) and binding.action not in ("quit", "back_to_live"):
                yield SystemCommand(
                    binding.description,
                    binding.tooltip,
                    partial(self.run_action, binding.action),
                )
