"""Input rules (SPEC §2): checked before anything is read or written.

Names are kept verbatim, whatever script, quotes, brackets or URLs they hold;
only characters that could hide or rewrite what an operator sees are refused
(controls and escape sequences, bidi overrides, zero-width tricks, lone surrogates).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta

KEY_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,120}")
MAX_TEXT = 500
#: Far past any show, and short enough that now + ttl is still a representable datetime.
MAX_TTL = timedelta(days=36525)
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


def text(value: object, field: str) -> str:
    """NFC-normalised, stripped, 1-500 characters with nothing that hides or rewrites text."""
    if not isinstance(value, str):
        raise InvalidInput(field, f"must be text, not {type(value).__name__}")
    # SPEC order: normalise and strip first, so a pasted trailing newline is white space
    normal = unicodedata.normalize("NFC", value).strip()
    for ch in normal:
        category = unicodedata.category(ch)
        if category in _FORBIDDEN_CATEGORIES:
            raise InvalidInput(
                field,
                f"contains a control, format or separator character (U+{ord(ch):04X}, {category})",
            )
    if not normal:
        raise InvalidInput(field, "must not be empty")
    if len(normal) > MAX_TEXT:
        raise InvalidInput(field, f"must be at most {MAX_TEXT} characters (got {len(normal)})")
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


def starts_at(value: object) -> str | None:
    """An ISO 8601 date-time (a ``datetime`` or its text), kept as ISO text."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip()).isoformat()
        except ValueError:
            raise InvalidInput("starts_at", f"not an ISO 8601 date-time: {value!r}") from None
    raise InvalidInput("starts_at", f"must be an ISO 8601 date-time, not {type(value).__name__}")
