"""Durations as operators type them: ``90s``, ``15m``, ``2h`` (and ``1h30m``)."""

from __future__ import annotations

import re
from datetime import timedelta

from store.ledger.rules import MAX_TTL

#: ASCII digits only, like a capacity: ``\d`` would take ``１２s`` as 12 s (issue 12 row 4).
_PART = re.compile(r"([0-9]+)\s*([smhd])", re.ASCII)
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400}
#: The longest duration anything here accepts: the ledger's own bound on a ttl.
_MOST_S = int(MAX_TTL.total_seconds())
#: More digits than any duration up to ``MAX_TTL`` has, in any unit: refused before
#: ``int()`` is asked to read them (it refuses past 4,300 digits with an opaque error).
_MOST_DIGITS = len(str(_MOST_S)) + 1


def _shown(text: str) -> str:
    """The text as an error quotes it: a pasted novel is cut to its start."""
    return repr(text if len(text) <= 40 else text[:37] + "...")


def parse_duration(text: str) -> timedelta:
    """Parse ``90s``, ``15m``, ``2h``, ``1d``, ``1h30m``; a bare number means seconds.

    The total is counted in whole seconds (Python's unbounded ints) and bounded by
    the ledger's ``MAX_TTL`` before a ``timedelta`` is made, so ``99999999999h`` is
    a bad value like any other, never an ``OverflowError`` (issue 12 rows 2, 3).

    Raises:
        ValueError: with a message an operator can act on.
    """
    value = text.strip().lower()
    if not value.isascii():
        raise ValueError(
            f"duration {_shown(text)}: use ASCII digits with s, m, h or d (90s, 15m, 2h)"
        )
    if value.isdigit():
        return _bounded(text, [(value, "s")])
    pos, parts = 0, []
    for match in _PART.finditer(value):
        if match.start() != pos and value[pos : match.start()].strip():
            break
        parts.append((match.group(1), match.group(2)))
        pos = match.end()
    if not value or value[pos:].strip() or pos == 0:
        raise ValueError(f"duration {_shown(text)}: use a number with s, m, h or d (90s, 15m, 2h)")
    return _bounded(text, parts)


def _bounded(text: str, parts: list[tuple[str, str]]) -> timedelta:
    """The sum of ``(digits, unit)`` parts, positive and at most ``MAX_TTL``."""
    too_long = ValueError(f"duration {_shown(text)} is too long: at most {MAX_TTL.days} days")
    total = 0
    for digits, unit in parts:
        if len(digits.lstrip("0")) > _MOST_DIGITS:
            raise too_long
        total += int(digits) * _UNIT_S[unit]
    if total <= 0:
        raise ValueError(f"duration {_shown(text)} must be positive")
    if total > _MOST_S:
        raise too_long
    return timedelta(seconds=total)


def format_duration(delta: timedelta) -> str:
    """The short form parse_duration reads back: ``15m``, ``1h30m``, ``45s``."""
    seconds = int(delta.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"
