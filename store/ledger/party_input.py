"""Input rules for parties (SPEC §4.1, §4.2): a party's size and its note.

Kept apart from ``store.ledger.rules`` (names, keys, times) so each stays one job;
both raise the same ``InvalidInput``, whose message names the field.
"""

from __future__ import annotations

from store.ledger.rules import InvalidInput, clean_text

#: The largest party one command seats: a box office sells to groups, not to blocks.
MAX_PARTY = 100


def party_size(value: object, field: str = "seats") -> int:
    """A whole number of seats, 1 to 100 (None, bools, floats and text are refused)."""
    if type(value) is not int:
        raise InvalidInput(field, f"must be a whole number of seats, not {type(value).__name__}")
    if not 1 <= value <= MAX_PARTY:
        raise InvalidInput(field, f"must be 1 to {MAX_PARTY} (got {value})")
    return value


def optional_party_size(value: object, field: str = "seats") -> int | None:
    return None if value is None else party_size(value, field)


def note(value: object, field: str = "note") -> str:
    """Free text kept with a party: NFC, stripped, 0-500 characters, nothing that hides text.

    Empty is allowed (it clears a note); what an actor may not contain, a note may not either,
    since both are shown to the operator verbatim.
    """
    return clean_text(value, field, empty_ok=True)


def optional_note(value: object, field: str = "note") -> str | None:
    """None or a note; an empty note given with a booking is no note (nothing is written)."""
    if value is None:
        return None
    return note(value, field) or None
