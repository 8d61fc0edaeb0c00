"""The book and hold forms for a party: who, how many seats (default 1) and a note.

"4 seats for the Smiths, paid by card ending 1234" is one party: one name the
door looks for, one ref, a block of seats together. The fields are checked by
the ledger's own party rules, so the form and the command line refuse the same
input with the same words, next to the field, before anything is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from textual.content import Content

from store.ledger import party_input, rules
from store.ledger.rules import InvalidInput
from tui.cli.durations import format_duration
from tui.screens.field_rules import FieldError, checked, duration
from tui.screens.forms import Field, FormScreen


@dataclass(frozen=True, slots=True)
class Party:
    actor: str
    seats: int
    note: str | None  # None: no note given
    ttl: timedelta | None = None  # a hold's length; None: the occurrence's own


def party_seats(text: str) -> int:
    """The seats field: blank is one seat, anything else a whole number the ledger accepts."""
    stripped = text.strip() or "1"
    if not stripped.isdigit():
        raise FieldError("seats", "must be a whole number of seats, 1 or more")
    try:
        return party_input.party_size(int(stripped))
    except InvalidInput as error:
        raise FieldError("seats", error.problem) from None


def party_note(text: str) -> str | None:
    try:
        note = party_input.note(text)
    except InvalidInput as error:
        raise FieldError("note", error.problem) from None
    return note or None


def party_fields() -> list[Field]:
    return [
        Field("actor", "Actor", "e.g. a name, email or ticket ref"),
        Field("seats", "Seats (party size)", "e.g. 4", "1"),
        Field("note", "Note (optional)", "e.g. a phone number or payment reference"),
    ]


class PartyForm(FormScreen[Party]):
    """Book a party: confirmed seats together, under one name and one ref."""

    submit_label = "Book"

    def __init__(self, heading: Content) -> None:
        super().__init__(heading, party_fields())

    def parse(self, values: Mapping[str, str]) -> Party:
        actor = str(checked("actor", rules.actor, values["actor"]))
        return Party(actor, party_seats(values["seats"]), party_note(values["note"]))


class PartyHoldForm(FormScreen[Party]):
    """Hold seats for a party while it pays; blank length: the occurrence's own."""

    submit_label = "Hold"

    def __init__(self, heading: Content, default_ttl: timedelta | None) -> None:
        hint = format_duration(default_ttl) if default_ttl else "no expiry"
        fields = party_fields()
        fields.insert(2, Field("ttl", f"Hold for (blank: {hint})", "e.g. 15m"))
        super().__init__(heading, fields)

    def parse(self, values: Mapping[str, str]) -> Party:
        actor = str(checked("actor", rules.actor, values["actor"]))
        ttl = duration("ttl", values["ttl"]) if values["ttl"].strip() else None
        seats, note = party_seats(values["seats"]), party_note(values["note"])
        return Party(actor, seats, note, ttl)
