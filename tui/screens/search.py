"""Find a party across every show: "which show is Ada on?", answered as you type.

The search runs ``Ledger.find`` (every non-archived occurrence, by a piece of the
name or a ref, ``#57``) in a worker a moment after the last key, so typing a
name costs one search, not one per letter, and a newer search supersedes one
still running. Each match shows the show (title, curtain time, key), the ref,
the seats and the state; Enter closes the search with that match, and the
working screen selects the show and puts the roster's cursor on the party.
Names are shown as text, never as markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import tzinfo
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import DataTable, Input, Static
from textual.worker import Worker, WorkerState

from store.booking import Ledger, SeatRecord
from tui.cli.commands.outcomes import seat_range
from tui.cli.safe_text import printable
from tui.live import one_line
from tui.widgets.timefmt import when

#: Seconds after the last key before the search runs.
DEBOUNCE = 0.2
#: Most matches listed; the line under the list says how many there were.
MOST_SHOWN = 200

STATE_WORDS = {
    "confirmed": "✔ confirmed",
    "held": "◷ held",
    "waiting": "… waiting",
}


@dataclass(frozen=True, slots=True)
class Match:
    """One party found, with its show as the list shows it."""

    key: str
    title: str | None
    starts_at: str | None
    row: SeatRecord


@dataclass
class SearchAnswered(Message):
    """What ``Ledger.find`` answered for ``text`` (``total`` may exceed the matches kept)."""

    text: str
    matches: list[Match]
    total: int


def state_words(row: SeatRecord) -> str:
    """The party's state in words and a glyph (checked in shown as such)."""
    if row.state == "confirmed" and row.checked_in_at is not None:
        return "✓ in"
    return STATE_WORDS.get(row.state, row.state)


def waiting_words(match: Match) -> str:
    """What the working screen says when the party chosen is on the waiting list."""
    row = match.row
    return f"{printable(row.actor)} is on the waiting list for {match.key} (ref #{row.ref})"


class SearchScreen(ModalScreen[Match | None]):
    """A search field over a list of matches across every show; Enter jumps, Esc closes."""

    CSS_PATH = "search.tcss"
    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("escape", "close", "Close", id="search-close", tooltip="Close the search"),
        Binding("down", "move(1)", "Next", show=False, id="search-next"),
        Binding("up", "move(-1)", "Previous", show=False, id="search-previous"),
    ]

    def __init__(self, ledger: Ledger, tz: tzinfo | None) -> None:
        super().__init__()
        self.ledger = ledger
        self.tz = tz
        self.matches: list[Match] = []
        self.searched = ""  # the text the list answers
        self._timer: Timer | None = None
        self.field = Input(placeholder="a name, part of one, or a ref like #57", id="search-field")
        self.results: DataTable[Content] = DataTable(id="search-results", cursor_type="row")
        self.status = Static(Content("Type a name or a ref"), id="search-status")

    def compose(self) -> ComposeResult:
        with Vertical(id="search-box"):
            yield Static(Content("Find a party on every show"), id="search-title")
            yield self.field
            yield self.results
            yield self.status

    def on_mount(self) -> None:
        # what answers "which show, which party" first, so 80 columns show it whole
        for label, key, width in (
            ("Show", "show", 16),
            ("Name", "name", 18),
            ("Ref", "ref", 5),
            ("Seats", "seats", 5),
            ("State", "state", 11),
            ("Time", "time", 12),
            ("Key", "key", 20),
        ):
            self.results.add_column(label, key=key, width=width)
        self.results.can_focus = False  # the field keeps the keys; arrows move the list
        self.field.focus()

    # -- searching ---------------------------------------------------------------

    @on(Input.Changed, "#search-field")
    def _typed(self, event: Input.Changed) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DEBOUNCE, self._search)

    def _search(self) -> None:
        text = self.field.value.strip()
        if not text:
            self._show(SearchAnswered("", [], 0))
            return
        self.status.update(Content("searching…"))
        self.run_worker(
            self._find(text), group="search", exclusive=True, exit_on_error=False, name="search"
        )

    async def _find(self, text: str) -> None:
        found = await self.ledger.find(text)
        shows = {}
        matches = []
        for key, row in found[:MOST_SHOWN]:
            if key not in shows:
                shows[key] = (await self.ledger.view(key, rows=False)).record
            record = shows[key]
            matches.append(Match(key, record.title, record.starts_at, row))
        self.post_message(SearchAnswered(text, matches, len(found)))

    def on_search_answered(self, message: SearchAnswered) -> None:
        if message.text != self.field.value.strip():
            return  # the field has moved on; its own search is on the way
        self._show(message)

    def _show(self, answer: SearchAnswered) -> None:
        self.searched, self.matches = answer.text, answer.matches
        table = self.results
        table.clear()
        for n, match in enumerate(answer.matches):
            row = match.row
            table.add_row(
                Content(printable(match.title or match.key)),
                Content(printable(row.actor)),
                Content(f"#{row.ref}"),
                Content(seat_range(row.seat, row.seats) if row.seat else f"{row.seats} wait"),
                Content(state_words(row)),
                Content(when(match.starts_at, self.tz)),
                Content(printable(match.key)),
                key=str(n),
            )
        if not answer.text:
            said = "Type a name or a ref"
        elif not answer.total:
            said = f"Nobody matches {printable(answer.text)!r}"
        elif answer.total > len(answer.matches):
            said = f"First {len(answer.matches)} of {answer.total} matches: type more to narrow"
        else:
            said = f"{answer.total} match{'es' if answer.total != 1 else ''}: Enter goes to one"
        self.status.update(Content(said))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.status.update(Content(f"search failed: {one_line(event.worker.error)}"))

    # -- moving and choosing -------------------------------------------------------

    @property
    def selected(self) -> Match | None:
        row = self.results.cursor_row
        return self.matches[row] if self.matches and 0 <= row < len(self.matches) else None

    def action_move(self, step: int) -> None:
        self.results.move_cursor(row=self.results.cursor_row + step)

    @on(Input.Submitted, "#search-field")
    def _enter(self) -> None:
        if self.field.value.strip() != self.searched:
            self._search_now()
            return
        match = self.selected
        if match is not None:
            self.dismiss(match)

    def _search_now(self) -> None:
        """Enter before the pause ended: search at once (Enter again jumps)."""
        if self._timer is not None:
            self._timer.stop()
        self._search()

    def action_close(self) -> None:
        self.dismiss(None)
