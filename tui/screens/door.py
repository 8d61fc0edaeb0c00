"""Door mode: check parties in by name or ref, as fast as people come through the door.

The door needs three things at a glance and nothing else: who is on the list,
how many seats are in, and, when a check-in is refused, why in words the
person at the door can act on. The type-ahead field keeps the focus, so an
operator types a few letters (or a ref, ``57`` or ``#57``) and presses Enter;
the arrow keys move between the parties that match.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static
from textual.worker import Worker, WorkerState

from store.booking import Ledger, Outcome, SeatRecord, Status
from store.ledger.views import OccurrenceView
from tui.cli.commands.door import CSV_HEADERS
from tui.cli.commands.outcomes import seat_range
from tui.cli.safe_text import printable
from tui.live import one_line

#: What the door says when the ledger refuses: words the operator can act on.
REFUSALS = {
    Status.NOT_CONFIRMED: "not paid: confirm first",
    Status.ALREADY_CHECKED_IN: "already in",
    Status.NOT_BOOKED: "not on the list",
}


def matches(row: SeatRecord, typed: str) -> bool:
    """A party matches on any part of its name (any case) or on its exact ref."""
    text = typed.strip()
    if not text:
        return True
    if text.removeprefix("#").isdigit() and int(text.removeprefix("#")) == row.ref:
        return True
    return text.casefold() in row.actor.casefold()


def door_rows(view: OccurrenceView) -> list[SeatRecord]:
    """The seated parties by name: confirmed ones come in, held ones are told to pay first."""
    seated = [r for r in view.rows if r.seat is not None]
    return sorted(seated, key=lambda r: (r.actor.casefold(), r.ref))


def door_state(row: SeatRecord) -> str:
    """In words and a glyph: in, paid (may come in), or not paid yet."""
    if row.checked_in_at is not None:
        return "✔ in"
    return "· paid" if row.state == "confirmed" else "◷ not paid"


def counter(view: OccurrenceView) -> Content:
    """``312 of 400 seats in``: checked-in seats of the confirmed (paid) seats."""
    show = view.record
    return Content.assemble((f"{show.checked_in}", "bold"), f" of {show.confirmed} seats in")


def export_name(key: str) -> str:
    """A file name from the key: only letters, digits, ``-``, ``_`` and ``.`` survive."""
    return "door-" + (re.sub(r"[^A-Za-z0-9._-]", "_", key) or "show") + ".csv"


def write_door(path: Path, view: OccurrenceView) -> int:
    """The door list as the CLI's ``door --format csv`` writes it; returns the parties written."""
    show = view.record
    parties = [r for r in door_rows(view) if r.state == "confirmed"]
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(CSV_HEADERS)
        for p in parties:
            checked = p.checked_in_at.isoformat() if p.checked_in_at else ""
            writer.writerow(
                [
                    show.key,
                    show.title or "",
                    show.starts_at or "",
                    p.actor,
                    p.ref,
                    p.seat,
                    p.seats,
                    checked,
                ]
            )
    return len(parties)


@dataclass
class DoorRead(Message):
    """The occurrence as the door last read it."""

    view: OccurrenceView


@dataclass
class DoorAnswered(Message):
    """The ledger's answer to one check-in."""

    actor: str
    outcome: Outcome


class DoorScreen(Screen[None]):
    """One occurrence's door: type-ahead, Enter checks in, a big counter."""

    CSS_PATH = "door.tcss"
    BINDINGS: ClassVar[list[Binding]] = [  # type: ignore[assignment]
        Binding("escape", "leave", "Leave door", id="door-leave", tooltip="Back to the house"),
        Binding("down", "move(1)", "Next", show=False, id="door-next"),
        Binding("up", "move(-1)", "Previous", show=False, id="door-previous"),
        Binding(
            "ctrl+o",
            "export",
            "Export list",
            id="door-export",
            tooltip="Write the door list to a CSV file in the current folder",
            priority=True,
        ),
    ]

    def __init__(self, ledger: Ledger, key: str, *, folder: Path | None = None) -> None:
        super().__init__()
        self.ledger = ledger
        self.key = key
        self.folder = folder or Path.cwd()
        self.view: OccurrenceView | None = None
        self.shown: list[SeatRecord] = []
        self.show_line = Static(id="door-show")
        self.count = Static(id="door-count")
        self.find = Input(placeholder="name or ref, then Enter", id="door-find")
        self.parties: DataTable[Content] = DataTable(id="door-list", cursor_type="row")
        self.said = Static(id="door-said")

    def compose(self) -> ComposeResult:
        yield self.show_line
        yield self.count
        yield self.find
        yield self.parties
        yield self.said
        yield Footer()

    def on_mount(self) -> None:
        for label, width in (("name", 32), ("ref", 7), ("seats", 8), ("state", 16)):
            self.parties.add_column(label, key=label, width=width)
        self.parties.can_focus = False  # the type-ahead keeps the keys
        self.find.focus()
        self.read()

    def read(self) -> None:
        async def fetch() -> None:
            self.post_message(DoorRead(await self.ledger.view(self.key)))

        self.run_worker(fetch(), group="door-read", exit_on_error=False)

    def on_door_read(self, message: DoorRead) -> None:
        self.view = message.view
        show = message.view.record
        title = printable(show.title) if show.title else printable(show.key)
        when = printable(show.starts_at) if show.starts_at else "no start time"
        self.show_line.update(Content(f"Door · {title} · {when}"))
        self.count.update(counter(message.view))
        self.refill()

    @on(Input.Changed, "#door-find")
    def _typed(self) -> None:
        self.refill()

    def refill(self) -> None:
        if self.view is None:
            return
        keep = self.selected_party
        self.shown = [r for r in door_rows(self.view) if matches(r, self.find.value)]
        table = self.parties
        table.clear()
        for row in self.shown:
            state = door_state(row)
            table.add_row(
                Content(printable(row.actor)),
                Content(f"#{row.ref}"),
                Content(seat_range(row.seat or 0, row.seats)),
                Content(state),
                key=str(row.ref),
            )
        refs = [r.ref for r in self.shown]
        if keep is not None and keep.ref in refs:
            table.move_cursor(row=refs.index(keep.ref))

    @property
    def selected_party(self) -> SeatRecord | None:
        row = self.parties.cursor_row
        return self.shown[row] if self.shown and 0 <= row < len(self.shown) else None

    def action_move(self, step: int) -> None:
        self.parties.move_cursor(row=self.parties.cursor_row + step)

    @on(Input.Submitted, "#door-find")
    def _enter(self) -> None:
        party = self.selected_party
        if party is None:
            self.said.update(Content("nobody matches"))
            return
        actor = party.actor

        async def check_in() -> None:
            self.post_message(DoorAnswered(actor, await self.ledger.check_in(self.key, actor)))

        self.run_worker(check_in(), group="door-write", exit_on_error=False)

    def on_door_answered(self, message: DoorAnswered) -> None:
        outcome, name = message.outcome, printable(message.actor)
        self.said.set_class(outcome.status is not Status.CHECKED_IN, "-refused")
        if outcome.status is Status.CHECKED_IN:
            seats = seat_range(outcome.seat or 0, outcome.seats or 1)
            self.said.update(Content(f"IN: {name} #{outcome.ref} · seats {seats}"))
            self.find.value = ""
        else:
            words = REFUSALS.get(outcome.status, str(outcome.status))
            self.said.update(Content(f"REFUSED: {name}: {words}"))
        self.read()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.said.set_class(True, "-refused")
            self.said.update(Content(f"error: {one_line(event.worker.error)}"))

    def action_export(self) -> None:
        if self.view is None:
            return
        path = self.folder / export_name(self.key)
        view = self.view

        def export() -> None:  # file I/O: in a thread, off the event loop
            count = write_door(path, view)
            message = f"door list: {count} parties written to {path}"
            self.app.call_from_thread(self.said.update, Content(message))

        self.run_worker(export, group="door-export", thread=True, exit_on_error=False)

    def action_leave(self) -> None:
        self.dismiss(None)
