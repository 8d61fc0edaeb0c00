"""Instants and durations as an operator reads them at a glance."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, tzinfo

from store.ledger.views import parse_time


def local(moment: datetime, tz: tzinfo | None) -> datetime:
    """``moment`` in the app's display zone (the machine's own when ``tz`` is None)."""
    return moment.astimezone(tz) if tz is not None else moment.astimezone()


def when(starts_at: str | None, tz: tzinfo | None) -> str:
    """A curtain time: ``02 Dec 19:30``; ``—`` when none was given."""
    moment = parse_time(starts_at)
    if moment is None:
        return "—"
    return local(moment, tz).strftime("%d %b %H:%M")


def stamp(moment: datetime | None, now: datetime, tz: tzinfo | None) -> str:
    """``19:03:12`` today, ``01 Dec 19:03`` on another day; ``—`` when unknown."""
    if moment is None:
        return "—"
    shown = local(moment, tz)
    if shown.date() == local(now, tz).date():
        return shown.strftime("%H:%M:%S")
    return shown.strftime("%d %b %H:%M")


def countdown(remaining: timedelta) -> str:
    """``4:07`` in the last ten minutes (ticking by the second), ``14m``, ``1h05m``, ``2d03h``.

    Rounded up: 0.2 s left still reads ``0:01``, and a hold never looks shorter
    than it is. Seconds only where they matter keeps a full house calm (and cheap
    to draw): a screenful of long holds changes once a minute.
    """
    seconds = max(0, math.ceil(remaining.total_seconds()))
    if seconds < 600:
        return f"{seconds // 60}:{seconds % 60:02d}"
    if seconds < 3600:
        return f"{math.ceil(seconds / 60)}m"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"
