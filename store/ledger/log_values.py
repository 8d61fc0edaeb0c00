"""Values as the fold reads them from a log: whatever was written, never a reader's crash.

A log may be old, or written by another tool: each reader here takes the raw
JSON value and returns something every reader can show and compare, or None
(or the SPEC's default), never an exception.
"""

from __future__ import annotations

import functools
import math
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "MAX_DURATION_S",
    "duration_s",
    "parse_time",
    "party_note",
    "party_size",
    "start_time",
    "whole",
]


_EARLIEST_START = datetime(1900, 1, 1, tzinfo=UTC)
_LATEST_START = datetime(9000, 1, 1, tzinfo=UTC)
#: Two days inside the calendar's ends: any instant between them can be shown in any
#: zone (offsets are under a day) and compared, so no stored time makes a reader fail.
_FIRST = datetime.min.replace(tzinfo=UTC) + timedelta(days=2)
_LAST = datetime.max.replace(tzinfo=UTC) - timedelta(days=2)


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 instant from the log; naive times are UTC, garbage is None.

    An instant at the calendar's very ends (``0001-01-01``, ``9999-12-31``, only in
    an old or tampered log) is moved two days inwards: its order against every
    real time is kept, and showing it in a zone can no longer overflow.
    """
    if not isinstance(value, str) or not value.isascii():
        return None
    # an instant is about 32 characters: a longer string (garbage) is not kept
    return _instant(value) if len(value) <= 64 else _instant.__wrapped__(value)


@functools.lru_cache(maxsize=256)
def _instant(value: str) -> datetime | None:
    """``parse_time`` of a string, remembered: the events of a batch share their
    ``recorded_at`` and holds their ``expires_at``, and a datetime is immutable."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None or moment.utcoffset() is None:
        moment = moment.replace(tzinfo=UTC)
    if moment < _FIRST:
        return _FIRST
    if moment > _LAST:
        return _LAST
    return moment


#: The longest duration a log may set (rules.MAX_TTL, 100 years, in seconds); beyond it a
#: tampered or old value would overflow a reader's ``timedelta`` (issue 12 row 1).
MAX_DURATION_S = 36525 * 86400.0


def duration_s(value: Any) -> float | None:
    """A hold or offer length from the log: positive, finite and at most 100 years, else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or not 0 < value <= MAX_DURATION_S:
        return None
    return float(value)


def start_time(value: Any) -> str | None:
    """A start time from the log, kept only when any reader can show it (1900-9000, aware)."""
    moment = parse_time(value)
    if moment is None or not isinstance(value, str):
        return None
    if not _EARLIEST_START <= moment <= _LATEST_START:
        return None
    return value


def whole(value: Any) -> int | None:
    return value if type(value) is int and value >= 0 else None


def party_size(value: Any) -> int:
    """A party's size from the log: a missing or malformed `seats` is one seat."""
    return value if type(value) is int and value >= 1 else 1


def party_note(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
