"""Input rules (SPEC §2): checked before anything is read or written.

Names are kept verbatim, whatever script, quotes, brackets or URLs they hold;
only characters that could hide or rewrite what an operator sees are refused
(controls and escape sequences, bidi overrides, zero-width tricks, lone surrogates).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta, tzinfo

KEY_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,120}")
#: A request id (SPEC §4.6): short, ASCII, safe to print and to put in a log line.
REQUEST_ID_PATTERN = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
MAX_TEXT = 500
#: No character's canonical decomposition is longer than 4 code points, so NFC(x) has at
#: least len(x) / 4 characters (len(x) <= len(NFD(x)) = len(NFD(NFC(x))) <= 4 len(NFC(x))):
#: a stripped input longer than 4 * MAX_TEXT is too long whatever its normal form.
MOST_PER_CHARACTER = 4
#: Far past any show, and short enough that now + ttl is still a representable datetime.
MAX_TTL = timedelta(days=36525)
#: Start times outside these are typing slips (0001, 9999) and, shifted into a zone far
#: from UTC, overflowed every reader's date arithmetic (issue 12 row 1).
EARLIEST_START = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_START = datetime(9000, 1, 1, tzinfo=UTC)
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


class InvalidInput(ValueError):
    """Bad input; the message names the field and nothing was written."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def occurrence_key(value: object, field: str = "key") -> str:
    if not isinstance(value, str):
        raise InvalidInput(field, f"must be text, not {type(value).__name__}")
    if not KEY_PATTERN.fullmatch(value) or not value.isascii():
        raise InvalidInput(
            field,
            "must be 1-120 ASCII letters, digits and . _ : - (for example 'hamlet-2026-12-01')",
        )
    return value


def request_id(value: object) -> str | None:
    """None, or 1-64 ASCII letters, digits and ``- _ . :`` (checked before any length work)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput("request_id", f"must be text, not {type(value).__name__}")
    if len(value) > 64 or not value.isascii() or not REQUEST_ID_PATTERN.fullmatch(value):
        raise InvalidInput("request_id", "must be 1-64 ASCII letters, digits and - _ . :")
    return value


def text(value: object, field: str) -> str:
    """NFC-normalised, stripped, 1-500 characters with nothing that hides or rewrites text."""
    return clean_text(value, field, empty_ok=False)


def clean_text(value: object, field: str, *, empty_ok: bool) -> str:
    """``value`` NFC-normalised and stripped, at most 500 characters, nothing hidden in it.

    The length is checked before any character is looked at, and a stripped input
    too long to be 500 characters in any normal form is refused before it is
    normalised: a 10 MB actor cost 1.5-2.4 s of CPU categorising every character
    (issue 12 row 18), and NFC of 5 million decomposed letters costs 2.5 s alone.
    """
    if not isinstance(value, str):
        raise InvalidInput(field, f"must be text, not {type(value).__name__}")
    stripped = value.strip()  # C speed, and NFC never makes an edge white space or not
    if stripped.isascii() and stripped.isprintable():
        # letters, digits, punctuation and spaces only: NFC leaves them as they are and
        # none is in a forbidden category, so the answer is the slow path's, at C speed
        # (most names and references at a box office; 2 us a command otherwise)
        if len(stripped) > MAX_TEXT:
            raise InvalidInput(
                field, f"must be at most {MAX_TEXT} characters (got {len(stripped)})"
            )
        if not stripped and not empty_ok:
            raise InvalidInput(field, "must not be empty")
        return stripped
    if len(stripped) > MAX_TEXT * MOST_PER_CHARACTER:
        raise InvalidInput(field, f"must be at most {MAX_TEXT} characters (got {len(stripped)})")
    # SPEC order: normalise and strip first, so a pasted trailing newline is white space
    normal = unicodedata.normalize("NFC", stripped).strip()
    if len(normal) > MAX_TEXT:
        raise InvalidInput(field, f"must be at most {MAX_TEXT} characters (got {len(normal)})")
    for ch in normal:
        category = unicodedata.category(ch)
        if category in _FORBIDDEN_CATEGORIES:
            raise InvalidInput(
                field,
                f"contains a control, format or separator character (U+{ord(ch):04X}, {category})",
            )
    if not normal and not empty_ok:
        raise InvalidInput(field, "must not be empty")
    return normal


def actor(value: object) -> str:
    return text(value, "actor")


def capacity(value: object) -> int:
    if type(value) is not int:
        raise InvalidInput("capacity", f"must be a whole number, not {type(value).__name__}")
    if value < 0:
        raise InvalidInput("capacity", f"must be 0 or more (got {value})")
    return value


def flag(value: object, field: str) -> bool:
    if type(value) is not bool:
        raise InvalidInput(field, f"must be True or False, not {type(value).__name__}")
    return value


def ttl(value: object, field: str = "ttl") -> timedelta:
    if not isinstance(value, timedelta):
        raise InvalidInput(field, f"must be a duration, not {type(value).__name__}")
    if value <= timedelta(0):
        raise InvalidInput(field, "must be a positive duration")
    if value > MAX_TTL:
        raise InvalidInput(field, "must be at most 100 years")
    return value


def optional_ttl(value: object, field: str = "hold_ttl") -> timedelta | None:
    return None if value is None else ttl(value, field)


def optional_ttl_s(value: object, field: str) -> float | None:
    """An optional ttl in seconds, as an occurrence's fields keep it."""
    return None if value is None else ttl(value, field).total_seconds()


def starts_at(value: object, zone: tzinfo | None = None) -> str | None:
    """An aware ISO 8601 time within 1900-9000, stored as text with its offset.

    A time without a zone is the venue's (``zone``; None: the machine's own), so
    the stored text always names the instant it means.
    """
    if value is None:
        return None
    if isinstance(value, str):
        text_value = value.strip()
        if not text_value.isascii():
            raise InvalidInput("starts_at", f"not an ISO 8601 date-time: {value!r}")
        try:
            moment = datetime.fromisoformat(text_value)
        except ValueError:
            raise InvalidInput("starts_at", f"not an ISO 8601 date-time: {value!r}") from None
    elif isinstance(value, datetime):
        moment = value
    else:
        raise InvalidInput(
            "starts_at", f"must be an ISO 8601 date-time, not {type(value).__name__}"
        )
    return _bounded(_aware(moment, zone)).isoformat()


def _aware(moment: datetime, zone: tzinfo | None) -> datetime:
    if moment.tzinfo is not None and moment.utcoffset() is not None:
        return moment
    naive = moment.replace(tzinfo=None)
    # bound the wall time first: the machine's zone rules only go so far
    _bounded(naive.replace(tzinfo=UTC))
    try:
        return naive.replace(tzinfo=zone) if zone is not None else naive.astimezone()
    except (OverflowError, OSError, ValueError):
        raise InvalidInput("starts_at", "cannot be placed in the venue's time zone") from None


def _bounded(moment: datetime) -> datetime:
    try:
        inside = EARLIEST_START <= moment <= LATEST_START
    except OverflowError:  # an offset that pushes the instant off the calendar
        inside = False
    if not inside:
        raise InvalidInput("starts_at", "must be between 1900-01-01 and 9000-01-01")
    return moment
