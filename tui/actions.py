"""The operator's commands as one table: name -> what to ask -> the ledger call.

Every command that writes takes a deliberate second step that names who and
what: a form's Enter, or a question whose focused answer is the safe one. A
key pressed by mistake (a name typed while no form is open) therefore opens a
form or a question and never writes. Each command is a row of ``COMMANDS``;
``tui.screens.main`` runs a row's steps one screen after another, then the
call in a worker, and shows the answer in words.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any
from uuid import uuid4

from textual.app import App
from textual.content import Content
from textual.screen import Screen

from store.booking import Ledger, Outcome
from store.demo import seed_demo
from store.ledger.outcomes import OccurrenceRecord, SeatRecord
from tui.cli.safe_text import printable
from tui.screens.cancel_seats import (
    SeatsToCancel,
    ask_how_many,
    cancel_question,
    party_row,
    seat_block,
)
from tui.screens.confirm import ConfirmScreen
from tui.screens.forms import ActorForm, CapacityForm, NewOccurrenceForm
from tui.screens.freed_seats import seats_go, the_seats
from tui.screens.party_forms import PartyForm, PartyHoldForm
from tui.screens.waitlist_forms import WaiterForm, leave_question
from tui.widgets.roster_rows import HELD, LAPSED
from tui.widgets.waitlist import ListLine

Result = Outcome | list[Outcome] | str


@dataclass(frozen=True, slots=True)
class Aim:
    """What a command is aimed at when its key is pressed."""

    key: str | None  # the selected occurrence
    record: OccurrenceRecord | None  # its line in the house
    actor: str | None  # the roster's selected actor, only while the roster has focus
    row: SeatRecord | None  # that actor's row
    lapsed: int  # lapsed holds the roster shows
    tz: tzinfo | None
    waiter: ListLine | None = None  # the waiting list's selected party, while it has focus

    def heading(self, verb: str) -> Content:
        title = (self.record.title if self.record else None) or self.key or ""
        return Content.assemble((verb, "bold"), " · ", (printable(title), "italic"))

    @property
    def title(self) -> str:
        return printable((self.record.title if self.record else None) or self.key or "")


#: A step: a screen to ask with (its answer is the value carried on; None or
#: False abandons the command), or, when nothing needs asking, the value itself.
Step = Callable[[Aim, Any], Any]
#: The ledger call: the ledger, the aim, the asked value and the request id (SPEC §4.6).
Call = Callable[[Ledger, Aim, Any, str], Awaitable[Result]]


@dataclass(frozen=True, slots=True)
class Command:
    name: str  # the binding's action (``action_<name>``) and the answer's title
    steps: tuple[Step, ...]
    call: Call
    needs_key: bool = True  # aimed at the selected occurrence (and live, not time travel)
    abandoned: str = ""  # said when the operator answers no


def _row_of(aim: Aim, actor: str | None) -> SeatRecord | None:
    """The roster row the question is about (None: a name typed in a form)."""
    return aim.row if aim.row is not None and aim.row.actor == actor else None


def _seat_words(aim: Aim, actor: str) -> Content:
    """``Erin's seat 4``, ``Smiths's seats 5-8`` (the actor first: who the operator talks to)."""
    row = _row_of(aim, actor)
    seat = seat_block(row) if row is not None else "seat"
    return Content.assemble((printable(actor), "bold italic"), "'s ", (seat, "bold"))


#: What a question says will happen: fixed words, or words made from the aim and the actor.
Effect = str | Callable[[Aim, str | None], str]


#: A lapsed hold or offer freed its seats when it lapsed; acting on it writes nothing.
_LAPSED_ALREADY = "It has lapsed: its seats are free already, and nothing changes."


def _freed(aim: Aim, actor: str | None) -> str:
    """Where a release's or a cancel's seats go: the waiting list first, else on sale."""
    row = _row_of(aim, actor)
    if row is not None and row.state == LAPSED:
        return _LAPSED_ALREADY
    seats = row.seats if row is not None else 1
    waiting = aim.record.waiting if aim.record is not None else 0
    return f"{seats_go(the_seats(seats), seats, waiting)}."


def _released(aim: Aim, actor: str | None) -> str:
    """A release's effect; on a live offer (SPEC §4.5) it is the waiter declining it."""
    row = _row_of(aim, actor)
    if row is not None and row.offered and row.state == HELD:
        return f"{printable(row.actor)} declines the offer. {_freed(aim, actor)}"
    return _freed(aim, actor)


def _cancelled(aim: Aim, actor: str | None) -> str:
    """A cancel's effect: where the seats go, and that it is for good (unless nothing changes)."""
    freed = _freed(aim, actor)
    return freed if freed == _LAPSED_ALREADY else f"{freed} This cannot be undone."


def _question(verb: str, effect: Effect, yes: str, no: str) -> Step:
    """A yes/no naming the actor, the occurrence and the effect; the focused answer is no."""

    def ask(aim: Aim, actor: str | None) -> Screen[Any]:
        said = effect if isinstance(effect, str) else effect(aim, actor)
        if actor is None:
            subject = Content.assemble(
                (f"{verb} ", "bold"), (f"{aim.lapsed} lapsed hold(s)", "bold")
            )
        else:
            subject = Content.assemble((f"{verb} ", "bold"), _seat_words(aim, actor))
        question = Content.assemble(
            subject, " at ", (aim.title, "italic"), ("?", "bold"), f"\n\n{said}"
        )
        return ConfirmScreen(question, yes=yes, no=no)

    return ask


def _selected_or_form(verb: str) -> Step:
    """The roster's selected actor when the roster has focus; else an empty form (no guess)."""

    def ask(aim: Aim, _: object) -> Any:
        if aim.actor is not None:
            return aim.actor
        return ActorForm(aim.heading(verb), verb)

    return ask


def _asked_only_from_the_roster(step: Step) -> Step:
    """Ask ``step``'s question only when no form was filled in (the form was the second step)."""

    def ask(aim: Aim, actor: Any) -> Any:
        return step(aim, actor) if aim.actor is not None else actor

    return ask


def _on_a_hold(verb: str, effect: Effect, no: str) -> tuple[Step, ...]:
    """Who: the roster's selected row (then a question) or a form (its Enter is the step)."""
    question = _question(verb, effect, verb, no)
    return (_selected_or_form(verb), _asked_only_from_the_roster(question))


_cancel_one = _question(
    "Cancel",
    _cancelled,
    "Cancel seat",
    "Keep it",
)


def _cancel_question(aim: Aim, chosen: SeatsToCancel) -> Screen[Any]:
    """A party picked on the roster is asked about in seats; anyone else as one seat."""
    row = party_row(aim, chosen.actor)
    if row is None:
        return _cancel_one(aim, chosen.actor)
    return cancel_question(aim, chosen, row, aim.record.waiting if aim.record else 0)


def _below_the_seated(aim: Aim, capacity: int) -> Any:
    """Lowering capacity under the seated count is allowed (SPEC) but is asked about first."""
    seated = aim.record.occupied if aim.record else 0
    if capacity >= seated:
        return capacity
    return ConfirmScreen(
        Content.assemble(
            (f"Lower capacity to {capacity}, below the {seated} seated?", "bold"),
            f"\n\nNobody loses a seat; {aim.title} shows OVER CAPACITY +{seated - capacity} "
            "and sells nothing until seats free up.",
        ),
        yes="Lower it",
        no="Keep capacity",
    )


def _archive_question(aim: Aim, _: object) -> Screen[Any]:
    """Archive (or restore) the selected occurrence: one question, its effect in words."""
    if aim.record is not None and aim.record.archived:
        verb, effect = "Restore", "It is open for booking again and back on every list."
    else:
        verb = "Archive"
        effect = (
            "It leaves the lists (occurrences --all still shows it) and is closed for "
            "booking; nobody loses a seat, and a restores it."
        )
    question = Content.assemble((f"{verb} ", "bold"), (aim.title, "bold italic"), ("?", "bold"))
    return ConfirmScreen(Content.assemble(question, f"\n\n{effect}"), yes=verb, no="Leave it")


async def _archive_or_restore(ledger: Ledger, aim: Aim, _: object, rid: str) -> Outcome:
    if aim.record is not None and aim.record.archived:
        return await ledger.restore(_key(aim), request_id=rid)
    return await ledger.archive(_key(aim), request_id=rid)


async def _seed(ledger: Ledger, aim: Aim, _: object, rid: str) -> str:
    keys = await seed_demo(ledger, await ledger.now())
    return f"Demo house created: {len(keys)} occurrences"


def _waiter_or_form(aim: Aim, _: object) -> Any:
    """The waiting list's selected party, asked about by name; else an empty form (no guess)."""
    if aim.waiter is not None:
        return leave_question(aim.waiter, aim.title)
    heading = aim.heading("Leave the waiting list")
    if aim.row is not None and aim.row.offered:  # SPEC §4.5: an offer is declined, not left
        heading = Content.assemble(heading, "\n\nAn offered party declines with u (release).")
    return ActorForm(heading, "Take off list")


def _leaver(aim: Aim, value: Any) -> str:
    """Who leaves: the question's party (its yes carries nothing) or the form's name."""
    return value if isinstance(value, str) else aim.waiter.actor if aim.waiter else ""


def _key(aim: Aim) -> str:
    assert aim.key is not None
    return aim.key


COMMANDS: dict[str, Command] = {
    c.name: c
    for c in (
        Command(
            "new_occurrence",
            (lambda aim, _: NewOccurrenceForm(aim.tz),),
            lambda ledger, aim, form, rid: ledger.create_occurrence(
                form.key,
                capacity=form.capacity,
                title=form.title,
                starts_at=form.starts_at,
                hold_ttl=form.hold_ttl,
                request_id=rid,
            ),
            needs_key=False,
        ),
        Command(
            "capacity",
            (
                lambda aim, _: CapacityForm(
                    aim.heading("Capacity"), aim.record.capacity if aim.record else 0
                ),
                _below_the_seated,
            ),
            lambda ledger, aim, capacity, rid: ledger.set_capacity(
                _key(aim), capacity, request_id=rid
            ),
        ),
        Command(
            "book",
            (lambda aim, _: PartyForm(aim.heading("Book seats")),),
            lambda ledger, aim, party, rid: ledger.book(
                _key(aim), party.actor, seats=party.seats, note=party.note, request_id=rid
            ),
        ),
        Command(
            "hold",
            (
                lambda aim, _: PartyHoldForm(
                    aim.heading("Hold seats"), aim.record.hold_ttl if aim.record else None
                ),
            ),
            lambda ledger, aim, party, rid: ledger.hold(
                _key(aim),
                party.actor,
                party.ttl,
                seats=party.seats,
                note=party.note,
                request_id=rid,
            ),
        ),
        Command(
            "confirm",
            _on_a_hold(
                "Confirm",
                "The hold becomes a sale: the seat is theirs and no longer lapses.",
                "Not now",
            ),
            lambda ledger, aim, actor, rid: ledger.confirm(_key(aim), actor, request_id=rid),
            abandoned="Nothing confirmed",
        ),
        Command(
            "release",
            _on_a_hold("Release", _released, "Keep the hold"),
            lambda ledger, aim, actor, rid: ledger.release(_key(aim), actor, request_id=rid),
            abandoned="Nothing released",
        ),
        Command(
            "cancel_seat",
            (_selected_or_form("Cancel"), ask_how_many, _cancel_question),
            lambda ledger, aim, chosen, rid: ledger.cancel(
                _key(aim), chosen.actor, seats=chosen.seats, request_id=rid
            ),
            abandoned="Nothing cancelled",
        ),
        Command(
            "expire",
            (
                _question(
                    "Record the lapse of",
                    "Every hold past its time is recorded as lapsed; those seats are free.",
                    "Record lapses",
                    "Not now",
                ),
            ),
            lambda ledger, aim, _, rid: ledger.expire_holds(_key(aim), request_id=rid),
            abandoned="Nothing expired",
        ),
        Command(
            "join_waitlist",
            (lambda aim, _: WaiterForm(aim.heading("Add to the waiting list")),),
            lambda ledger, aim, party, rid: ledger.join_waitlist(
                _key(aim), party.actor, seats=party.seats, note=party.note, request_id=rid
            ),
        ),
        Command(
            "leave_waitlist",
            (_waiter_or_form,),
            lambda ledger, aim, value, rid: ledger.leave_waitlist(
                _key(aim), _leaver(aim, value), request_id=rid
            ),
            abandoned="Still on the waiting list",
        ),
        Command("archive", (_archive_question,), _archive_or_restore, abandoned="Nothing archived"),
        Command(
            "demo",
            (
                lambda aim, _: ConfirmScreen(
                    Content.assemble(
                        ("Create a demo house?", "bold"),
                        "\n\nA few shows, some seats booked, some held, one hold about "
                        "to lapse: to look around. They are added beside what is here.",
                    ),
                    yes="Create demo",
                    no="Not now",
                ),
            ),
            _seed,
            needs_key=False,
        ),
    )
}


def ask_then(
    app: App[Any],
    command: Command,
    aim: Aim,
    write: Callable[[Command, Aim, Any, str], None],
    *,
    start: int = 0,
    value: Any = None,
    request_id: str | None = None,
) -> None:
    """Run ``command``'s steps from ``start``, one screen after another, then ``write``.

    A form's answer becomes the value carried on; a question's yes keeps the
    value, its no (or Esc, or an abandoned form) ends the command unwritten.
    The command gets its request id when its first step opens, so however often
    its answer is delivered, the ledger acts on it once (SPEC §4.6).
    """
    rid = request_id if request_id is not None else uuid4().hex
    if start == len(command.steps):
        write(command, aim, value, rid)
        return
    asked = command.steps[start](aim, value)
    if not isinstance(asked, Screen):
        ask_then(app, command, aim, write, start=start + 1, value=asked, request_id=rid)
        return
    question = isinstance(asked, ConfirmScreen)

    def answered(result: Any) -> None:
        if result is None or result is False:
            if command.abandoned and question:
                app.notify(command.abandoned, markup=False)
            return
        carried = value if question else result
        ask_then(app, command, aim, write, start=start + 1, value=carried, request_id=rid)

    app.push_screen(asked, answered)
