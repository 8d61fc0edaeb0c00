"""A form field's input checked by the ledger's own rules, the complaint kept for its field.

Every form (occurrence, capacity, party, hold) refuses bad input with the same
words as the command line, because both go through ``store.ledger.rules``; this
module turns the rule's ``InvalidInput`` into a ``FieldError`` that names the
field the form shows it under. No Textual here: the forms and their tests share it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from store.ledger import rules
from store.ledger.rules import InvalidInput
from tui.cli.durations import parse_duration

T = TypeVar("T")


class FieldError(ValueError):
    """Input the form will not accept; shown under the field it names."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def checked(field: str, check: Callable[[str], T], value: str) -> T:
    """Apply one of the ledger's rules; its complaint becomes the field's error."""
    try:
        return check(value)
    except InvalidInput as error:
        raise FieldError(field, error.problem) from None


def capacity(field: str, text: str) -> int:
    """A capacity: a whole number the ledger accepts (words, not a traceback, otherwise)."""
    stripped = text.strip()
    if not stripped.lstrip("-").isdigit():
        raise FieldError(field, "must be a whole number, 0 or more")
    try:
        return rules.capacity(int(stripped))
    except InvalidInput as error:
        raise FieldError(field, error.problem) from None


def duration(field: str, text: str) -> timedelta:
    """A hold length, within the ledger's bounds; one too big to count is an error too."""
    try:
        length = parse_duration(text)
    except ValueError as error:
        raise FieldError(field, str(error)) from None
    except OverflowError:  # "99999999999d": more days than a timedelta holds
        raise FieldError(field, f"must be at most {rules.MAX_TTL.days} days") from None
    try:
        return rules.ttl(length, field)
    except InvalidInput as error:
        raise FieldError(field, error.problem) from None
