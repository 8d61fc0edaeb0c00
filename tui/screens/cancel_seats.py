"""Cancelling part of a party: how many seats, then a question naming who keeps what.

"Two of the Smiths can't come" gives back 2 of their 4 seats and keeps their place
and ref (SPEC §4.1, ``cancel(..., seats=k)``). The form's answer defaults to the
whole party, and like every write it is followed by a question whose focused
answer is no, naming the actor and the effect (issue 13: no single stray key
writes), so a stray Enter in the form only reaches the question.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from textual.content import Content

from store.ledger.outcomes import SeatRecord
from tui.cli.safe_text import printable
from tui.screens.confirm import ConfirmScreen
from tui.screens.forms import Field, FieldError, FormScreen
from tui.screens.freed_seats import seats_go


@dataclass(frozen=True, slots=True)
class SeatsToCancel:
    """Who, and how many of their seats go (None: the whole party)."""

    actor: str
    seats: int | None


def seat_block(row: SeatRecord) -> str:
    """``seats 5-8`` for a party, ``seat 5`` for one, as the roster shows them."""
    if row.seat is None:
        return "seats" if row.seats > 1 else "seat"
    if row.seats > 1:
        return f"seats {row.seat}-{row.seat + row.seats - 1}"
    return f"seat {row.seat}"


class CancelSeatsForm(FormScreen[SeatsToCancel]):
    """How many of a party's seats to give back; blank or the party's size is all."""

    submit_label = "Next"

    def __init__(self, heading: Content, row: SeatRecord) -> None:
        self.row = row
        size = str(row.seats)
        label = f"Seats to cancel, 1-{row.seats} (all {row.seats}: the whole party)"
        super().__init__(heading, [Field("seats", label, size, size)])

    def parse(self, values: Mapping[str, str]) -> SeatsToCancel:
        text = values["seats"].strip() or str(self.row.seats)
        if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= self.row.seats:
            raise FieldError("seats", f"must be a whole number from 1 to {self.row.seats}")
        count = int(text)
        return SeatsToCancel(self.row.actor, None if count >= self.row.seats else count)


def party_row(aim: Any, actor: str) -> SeatRecord | None:
    """The roster row of ``actor`` when it is a party of more than one seat, else None."""
    row = getattr(aim, "row", None)
    if isinstance(row, SeatRecord) and row.actor == actor and row.seats > 1:
        return row
    return None


def ask_how_many(aim: Any, actor: str) -> Any:
    """The seats form for a party picked on the roster; anyone else cancels whole, unasked."""
    row = party_row(aim, actor)
    if row is None:
        return SeatsToCancel(actor, None)
    heading = Content.assemble(aim.heading("Cancel seats"), " · ", (printable(actor), "bold"))
    return CancelSeatsForm(heading, row)


def cancel_question(
    aim: Any, chosen: SeatsToCancel, row: SeatRecord, waiting: int
) -> ConfirmScreen:
    """The last step for a party: who, which seats, what happens; "Keep them" is focused.

    ``waiting``: the parties on the waiting list, who are offered the freed seats first.
    """
    who = (printable(chosen.actor), "bold italic")
    at = (" at ", (aim.title, "italic"), ("?", "bold"))
    if chosen.seats is None:
        subject = Content.assemble(
            ("Cancel ", "bold"), who, "'s ", (seat_block(row), "bold"), " (the whole party)", *at
        )
        effect = f"{seats_go(f'All {row.seats} seats', row.seats, waiting)}."
    else:
        keep = row.seats - chosen.seats
        subject = Content.assemble(
            ("Cancel ", "bold"),
            (f"{chosen.seats} of ", "bold"),
            who,
            "'s ",
            (f"{row.seats} seats", "bold"),
            *at,
        )
        freed = f"{chosen.seats} seats" if chosen.seats > 1 else "1 seat"
        effect = (
            f"{seats_go(freed, chosen.seats, waiting)}; {printable(chosen.actor)} keeps {keep} "
            f"(same place, ref #{row.ref})."
        )
    return ConfirmScreen(
        Content.assemble(subject, f"\n\n{effect} This cannot be undone."),
        yes="Cancel seats",
        no="Keep them",
    )
