"""Durations as operators type them: ``90s``, ``15m``, ``2h`` (and ``1h30m``)."""

from __future__ import annotations

import re
from datetime import timedelta

#: ASCII digits only, like a capacity: ``\d`` would take ``１２s`` as 12 s (issue 12 row 4).
_PART = re.compile(r"([0-9]+)\s*([smhd])", re.ASCII)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """Parse ``90s``, ``15m``, ``2h``, ``1d``, ``1h30m``; a bare number means seconds.

    Raises:
        ValueError: with a message an operator can act on.
    """
    value = text.strip().lower()
    if not value.isascii():
        raise ValueError(f"duration {text!r}: use ASCII digits with s, m, h or d (90s, 15m, 2h)")
    if value.isdigit():
        seconds = int(value)
        if seconds <= 0:
            raise ValueError(f"duration {text!r} must be positive")
        return timedelta(seconds=seconds)
    pos, total = 0, timedelta(0)
    for match in _PART.finditer(value):
        if match.start() != pos and value[pos : match.start()].strip():
            break
        total += timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
        pos = match.end()
    if not value or value[pos:].strip() or pos == 0:
        raise ValueError(f"duration {text!r}: use a number with s, m, h or d (90s, 15m, 2h)")
    if total <= timedelta(0):
        raise ValueError(f"duration {text!r} must be positive")
    return total


def format_duration(delta: timedelta) -> str:
    """The short form parse_duration reads back: ``15m``, ``1h30m``, ``45s``."""
    seconds = int(delta.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"
