"""A demo house: a few upcoming occurrences with seats booked, held and about to lapse.

A newcomer's first look at an empty database should be a living house, not a
blank table: the app offers this on first run and ``boxoffice --demo`` does it
without asking. Everything goes through the ledger, so the demo's events are
ordinary events (operator, recorded_at and all) and a checker treats them like
any others.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from store.booking import Ledger, Status


@dataclass(frozen=True, slots=True)
class _Show:
    slug: str
    title: str
    days_ahead: int
    curtain: time
    capacity: int
    booked: tuple[str, ...]
    held: tuple[str, ...]


_NAMES = (
    "Ada Lovelace",
    "Grace Hopper",
    "Alan Turing",
    "Zoë Ångström",
    "José Núñez",
    "王芳",
    "Margaret Hamilton",
    "Edsger Dijkstra",
    "Barbara Liskov",
    "Ken Thompson",
    "Frances Allen",
    "Donald Knuth",
    "Radia Perlman",
    "Tim Berners-Lee",
)

_SHOWS = (
    _Show("hamlet", "Hamlet", 1, time(19, 30), 24, _NAMES[:9], _NAMES[9:12]),
    _Show("tempest", "The Tempest", 3, time(14, 0), 40, _NAMES[3:8], _NAMES[12:]),
    _Show("macbeth", "Macbeth", 6, time(20, 0), 12, _NAMES[:12], ()),
)

#: Holds last this long unless a show says otherwise (a customer paying at the window).
DEMO_HOLD_TTL = timedelta(minutes=15)
#: The one hold the demo sets to lapse soon, so a newcomer sees LAPSED happen.
LAPSING_TTL = timedelta(seconds=90)


def demo_key(slug: str, now: datetime, days_ahead: int) -> str:
    return f"{slug}-{(now + timedelta(days=days_ahead)).date().isoformat()}"


async def seed_demo(ledger: Ledger, now: datetime) -> list[str]:
    """Create the demo occurrences on dates after ``now``; returns the keys it created.

    An occurrence that already exists is left alone (seeding twice adds nothing).
    Bookings on one occurrence are issued together so the ledger commits them
    as one group: seeding stays quick even with ``synchronous=FULL``.
    """
    created: list[str] = []
    lapsing_placed = False
    for show in _SHOWS:
        key = demo_key(show.slug, now, show.days_ahead)
        starts = datetime.combine(
            (now + timedelta(days=show.days_ahead)).date(), show.curtain, tzinfo=now.tzinfo
        )
        outcome = await ledger.create_occurrence(
            key,
            capacity=show.capacity,
            title=show.title,
            starts_at=starts,
            hold_ttl=DEMO_HOLD_TTL,
            demo=True,
        )
        if outcome.status is not Status.CREATED:
            continue
        created.append(key)
        await asyncio.gather(*(ledger.book(key, actor) for actor in show.booked))
        holds = []
        for actor in show.held:
            ttl = None
            if not lapsing_placed:
                ttl, lapsing_placed = LAPSING_TTL, True
            holds.append(ledger.hold(key, actor, ttl=ttl))
        await asyncio.gather(*holds)
    return created
