"""Putting a party on the waiting list, and taking one off it (SPEC §4.5).

Joining is a form like booking a party (who, how many seats, a note such as a
phone number to call when seats come up), checked by the ledger's own party
rules. Leaving names the party in a question whose focused answer keeps it
waiting: its place in the list is its claim, and a stray Enter must not lose it.
"""

from __future__ import annotations

from collections.abc import Mapping

from textual.content import Content

from store.ledger import rules
from tui.cli.safe_text import printable
from tui.screens.confirm import ConfirmScreen
from tui.screens.field_rules import checked
from tui.screens.forms import Field, FormScreen
from tui.screens.party_forms import Party, party_fields, party_note, party_seats
from tui.widgets.waitlist import ListLine


class WaiterForm(FormScreen[Party]):
    """A party for the waiting list: offered seats at once if they are free now."""

    submit_label = "Add to list"

    def __init__(self, heading: Content) -> None:
        fields = party_fields()
        fields[2] = Field("note", "Note (optional)", "phone to call when seats free up")
        super().__init__(heading, fields)

    def parse(self, values: Mapping[str, str]) -> Party:
        actor = checked("actor", rules.actor, values["actor"])
        return Party(actor, party_seats(values["seats"]), party_note(values["note"]))


def leave_question(waiter: ListLine, title: str) -> ConfirmScreen:
    """``Take Ada (2 seats, #12, 3rd in line) off the waiting list at Gala?``; no is focused."""
    seats = "1 seat" if waiter.seats == 1 else f"{waiter.seats} seats"
    place = f", {_ordinal(waiter.position)} in line" if waiter.position else ""
    question = Content.assemble(
        ("Take ", "bold"),
        (printable(waiter.actor), "bold italic"),
        f" ({seats}, #{waiter.ref}{place}) off the waiting list at ",
        (title, "italic"),
        ("?", "bold"),
        "\n\nThey lose their place; joining again puts them at the end.",
    )
    return ConfirmScreen(question, yes="Take off list", no="Keep waiting")


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
