"""The venue's time zone: where a start time typed without a zone is taken to be.

A box office types curtain times as its own wall clock (``2026-12-01T19:30``).
Reading that as UTC moved the README's example show by an hour in Berlin, so a
naive time is the venue's: ``$BOXOFFICE_TZ`` when set (one switch for every
terminal of a venue, whatever each machine's own zone), else the configured
zone, else the machine's.
"""

from __future__ import annotations

import os
from datetime import tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from store.ledger.rules import InvalidInput

ZONE_ENV = "BOXOFFICE_TZ"


class UnknownZone(InvalidInput):
    """A zone name that is not in the time zone database (names the setting)."""

    def __init__(self, setting: str, name: str) -> None:
        super().__init__(setting, f"unknown time zone {name!r} (for example 'Europe/Berlin')")


def zone_named(name: str, setting: str) -> ZoneInfo:
    """An IANA zone by name; ``setting`` says where the name came from, for the error."""
    clean = name.strip()
    if not clean or not clean.isascii() or not clean.isprintable() or len(clean) > 100:
        raise UnknownZone(setting, name)
    try:
        return ZoneInfo(clean)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise UnknownZone(setting, name) from None


def venue_zone(configured: tzinfo | None = None) -> tzinfo | None:
    """``$BOXOFFICE_TZ``, else ``configured``; None means the machine's own zone."""
    named = os.environ.get(ZONE_ENV, "")
    if named.strip():
        return zone_named(named, ZONE_ENV)
    return configured
