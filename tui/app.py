"""The box-office app's shell: it opens the store, keeps the clock and pushes the screens.

The working screen (``tui.screens.main``) holds the house, the roster and the
commands; the shell owns what every screen shares: the store and its ledger,
the clock countdowns are shown at, the keymap, help and the command palette.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta, tzinfo
from functools import partial
from typing import Any, ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingsMap
from textual.content import Content
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from store import EventStore, open_store
from store.booking import Ledger
from store.demo import seed_demo
from store.ledger.provenance import default_operator
from store.ledger.venue import venue_zone
from tui.config import Config
from tui.live import one_line
from tui.messages import HouseOpened
from tui.screens.confirm import ConfirmScreen
from tui.screens.forms import FormScreen, OperatorForm
from tui.screens.help import HelpScreen
from tui.screens.main import MainScreen
from tui.widgets.filter_input import FilterInput
from tui.widgets.header import shown_location

Clock = Callable[[], datetime]


class BoxOfficeApp(App[int]):
    """Run a night from the keyboard: every action, every roster, live."""

    CSS_PATH = ["app.tcss", "widgets/waitlist.tcss"]  # noqa: RUF012 (App declares it so)
    TITLE = "boxoffice"

    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
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
        config: Config | None = None,
        ask_operator: bool = False,
        log: logging.Logger | None = None,
        clock_check: bool | None = None,
    ) -> None:
        """
        Args:
            store_url: a SQLite path or a ``postgresql://`` URL.
            operator: recorded on every event (default: the login name).
            clock: the ledger's clock (and the countdowns'); tests inject one.
            tz: the zone times are shown in and naive input is read in (default: the
                venue's, ``$BOXOFFICE_TZ`` or the configured zone, else the machine's).
            create: create the database if it is missing (launch decides).
            demo: seed a demo house into an empty database without asking.
            offer_demo: on an empty database, ask whether to seed a demo.
            tick: seconds between countdown updates (None: only when ``tick()`` is called).
            config: the operator's settings (zone, theme, keymap; launch reads them).
            ask_operator: ask who is at the terminal before opening (none configured).
            log: where every error shown and every write made is recorded.
            clock_check: refuse writes stamped ahead of the database's now
                (``Ledger``'s; default on unless ``clock`` is injected).
        """
        super().__init__()
        self.config = config or Config()
        # the venue's zone ($BOXOFFICE_TZ, else the configured one): the clock, every time
        # shown, and where a start time typed without a zone is taken to be (SPEC §4.4)
        tz = tz or venue_zone(self.config.zone)
        self.log_file = log or logging.getLogger("boxoffice.app")
        self._ask_operator = ask_operator and operator is None
        self.store_url = store_url
        self.operator = operator
        self.tz = tz
        self.tick_every = tick
        self._clock = clock
        self._clock_check = clock_check
        self._create = create
        self._demo = demo
        self._offer_demo = offer_demo
        self._offset = timedelta(0)
        self._stack = AsyncExitStack()
        self._keymap_given: dict[str, str] = {}
        self.store: EventStore | None = None
        self.ledger: Ledger | None = None
        self.main = MainScreen(tz=tz, now=self.now, ticking=bool(tick))

    def get_default_screen(self) -> Screen[Any]:
        return self.main

    def on_mount(self) -> None:
        self.main.header.db = shown_location(self.store_url)
        self.main.header.operator = self.operator or ""
        if self.config.theme:
            self.theme = self.config.theme
        if self.config.keymap:
            self.set_keymap(self.config.keymap)
        if self._ask_operator:
            self.push_screen(OperatorForm(default_operator()), self._operator_given)
        else:
            self._start()

    def _operator_given(self, operator: str | None) -> None:
        self.operator = operator or None
        self.main.header.operator = self.operator or ""
        self._start()

    def _start(self) -> None:
        self.run_worker(self._open(), name="open", group="store", exit_on_error=False)
        if self.tick_every:
            self.set_interval(self.tick_every, self.tick)

    async def on_unmount(self) -> None:
        self.workers.cancel_all()
        await self._stack.aclose()

    def now(self) -> datetime:
        """The instant countdowns are shown at: the ledger's clock, read without I/O."""
        if self._clock is not None:
            moment = self._clock()
            return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
        return datetime.now(UTC) + self._offset

    def tick(self) -> None:
        self.main.tick()

    async def _open(self) -> None:
        store = await self._stack.enter_async_context(
            open_store(self.store_url, create=self._create)
        )
        self.store = store
        self.ledger = Ledger(
            store,
            clock=self._clock,
            operator=self.operator,
            clock_check=self._clock_check,
            zone=self.tz,
        )
        if self._clock is None:
            server = await store.server_now()
            if server is not None:
                self._offset = server - datetime.now(UTC)
        empty = await store.head_position() == 0
        if empty and self._demo:
            await seed_demo(self.ledger, await self.ledger.now())
        self.post_message(
            HouseOpened(empty=empty and not self._demo, demo_refused=self._demo and not empty)
        )

    async def on_house_opened(self, message: HouseOpened) -> None:
        assert self.ledger is not None and self.store is not None
        self.main.header.db = self.store.url  # the store's own, password-free spelling
        # the house is read from the start, so the feed need only follow what comes next
        self.main.go_live(self.ledger, await self.store.head_position())
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
                "one hold about to lapse) to look around? It can also be created later "
                "from the command palette (ctrl+p, “Demo house”).",
            )
            screen = ConfirmScreen(question, yes="Create demo", no="Start empty", default=True)
            self.push_screen(screen, self._demo_answer)

    def _demo_answer(self, yes: bool | None) -> None:
        if yes:
            self.main.run_command("demo", asked=True)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The store would not open: leave with one line, never a traceback."""
        if event.state is WorkerState.ERROR and event.worker.name == "open":
            assert event.worker.error is not None
            message = f"boxoffice: {one_line(event.worker.error)}"
            self.log_file.error("%s", message)
            self.exit(None, return_code=3, message=message)

    # -- keys, help and the palette ---------------------------------------------------

    def set_keymap(self, keymap: dict[str, str]) -> None:  # type: ignore[override]
        self._keymap_given = dict(keymap)
        super().set_keymap(keymap)

    def all_bindings(self) -> list[Binding]:
        """Every binding of the shell, the working screen and the filter, keymap applied."""
        bindings = BindingsMap(
            [*self.BINDINGS, *MainScreen.BINDINGS, *FilterInput.BINDINGS]  # type: ignore[list-item]
        )
        if self._keymap_given:
            bindings.apply_keymap(self._keymap_given)
        return [binding for _, binding in bindings]

    def help_rows(self) -> list[tuple[str, str, str, str]]:
        """One row per binding id: its keys, what it is called, what it does, its id."""
        rows: dict[tuple[str, str], tuple[list[str], Binding]] = {}
        for binding in self.all_bindings():
            keys, _ = rows.setdefault((binding.id or "", binding.action), ([], binding))
            display = self.get_key_display(binding)
            if display not in keys:
                keys.append(display)
        return [
            (" / ".join(keys), b.description or b.action, b.tooltip, b.id or "")
            for keys, b in rows.values()
        ]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """In a form, letters and ``?`` are typed into its fields: quit and help are off there
        (and out of its footer), so a ``q`` typed with a button focused never quits."""
        return not (action in ("quit", "help") and isinstance(self.screen, FormScreen))

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            own = getattr(self.screen, "help_rows", None)  # a panel lists only its own keys
            self.push_screen(HelpScreen(own() if callable(own) else self.help_rows()))

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        own = getattr(screen, "system_commands", None)  # a panel offers only its own actions
        if callable(own):
            yield from own()
            return
        for binding in [*MainScreen.BINDINGS, *self.BINDINGS]:
            if isinstance(binding, Binding) and binding.action not in ("quit", "back_to_live"):
                target = self if binding.action == "help" else self.main
                yield SystemCommand(
                    binding.description, binding.tooltip, partial(target.run_action, binding.action)
                )
        yield SystemCommand(
            "Demo house",
            "Add the demo occurrences to look around (asks first)",
            partial(self.main.run_command, "demo"),
        )
