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
    """Time left, always as a clock: ``4:07``, ``14:00``, ``1:05:00``, ``2d 03:00:00``.

    One format for every hold, so two badges are compared at a glance. Rounded
    up: 0.2 s left still reads ``0:01``, and a hold never looks shorter than it is.
    """
    seconds = max(0, math.ceil(remaining.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}:{minutes:02d}:{secs:02d}"
    if hours:
        return f"{hours}:{minutes:02d}:{secs:02d}"
    return f"{minutes}:{secs:02d}"


def zone_name(moment: datetime, tz: tzinfo | None) -> str:
    """The zone times are shown in: its IANA name when it has one (``Europe/Berlin``), else
    its abbreviation at ``moment`` (``UTC``, ``CET``)."""
    key = getattr(tz, "key", None)
    if isinstance(key, str):
        return key
    return local(moment, tz).tzname() or "local"


def wall_clock(moment: datetime, tz: tzinfo | None) -> str:
    """The header's clock: ``19:02:10 Europe/Berlin``."""
    return f"{local(moment, tz):%H:%M:%S} {zone_name(moment, tz)}"
