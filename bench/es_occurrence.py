"""An Occurrence aggregate on the ``eventsourcing`` library (9.x), written as its docs teach.

The aggregate's command methods are decorated with ``@event`` (the method body is
the event's mutator); the application loads the aggregate from its repository,
checks the rule, calls the command and saves. A concurrent writer that saved
first makes ``save`` raise ``IntegrityError`` (``PRIMARY KEY (originator_id,
originator_version)``), and the command is tried again on a fresh copy: the
library's optimistic concurrency, with no limit, as a user would write it.

Variants (chosen through the library's own settings): plain (replay every event
on every command), snapshotting every ``SNAPSHOT_INTERVAL`` events, and the
aggregate cache (``AGGREGATE_CACHE_MAXSIZE``, fast-forwarded from the database).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from eventsourcing.persistence import IntegrityError

SNAPSHOT_INTERVAL = 100


class Occurrence(Aggregate):
    """One bookable occurrence: a capacity and the roster of actors holding a seat."""

    @staticmethod
    def create_id(key: str) -> UUID:
        return uuid5(NAMESPACE_URL, f"/occurrences/{key}")

    @event("Created")
    def __init__(self, key: str, capacity: int) -> None:
        self.key = key
        self.capacity = capacity
        self.roster: dict[str, str] = {}

    @event("Held")
    def hold(self, actor: str) -> None:
        self.roster[actor] = "held"

    @event("Booked")
    def book(self, actor: str) -> None:
        self.roster[actor] = "confirmed"


class BoxOffice(Application):
    """The application service: load, decide, save; retry when another writer won."""

    def create_occurrence(self, key: str, capacity: int) -> UUID:
        occurrence = Occurrence(key, capacity)
        self.save(occurrence)
        return occurrence.id

    def acquire(self, key: str, actor: str, kind: str) -> tuple[str, int]:
        """``(status, attempts)``: ``held``/``booked``, ``already`` or ``full``."""
        occurrence_id = Occurrence.create_id(key)
        attempts = 0
        while True:
            attempts += 1
            occurrence: Occurrence = self.repository.get(occurrence_id)
            if actor in occurrence.roster:
                return "already", attempts
            if len(occurrence.roster) >= occurrence.capacity:
                return "full", attempts
            if kind == "hold":
                occurrence.hold(actor)
            else:
                occurrence.book(actor)
            try:
                self.save(occurrence)
            except IntegrityError:
                continue
            return ("held" if kind == "hold" else "booked"), attempts

    def bulk_book(self, key: str, actors: list[str]) -> None:
        """Append many bookings in one save: for building a long stream fast."""
        occurrence: Occurrence = self.repository.get(Occurrence.create_id(key))
        for actor in actors:
            occurrence.book(actor)
        self.save(occurrence)


class SnapshottingBoxOffice(BoxOffice):
    snapshotting_intervals = {Occurrence: SNAPSHOT_INTERVAL}  # noqa: RUF012 (the library's API)


VARIANTS = {
    "plain": (BoxOffice, {}),
    "snapshots": (SnapshottingBoxOffice, {}),
    "cache": (BoxOffice, {"AGGREGATE_CACHE_MAXSIZE": "1000"}),
}


def open_app(path: str, variant: str) -> BoxOffice:
    cls, extra = VARIANTS[variant]
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.sqlite",
        "SQLITE_DBNAME": path,
        "SQLITE_LOCK_TIMEOUT": "10",  # as boxoffice's busy timeout
        **extra,
    }
    return cls(env=env)


def synchronous_setting(app: BoxOffice) -> str:
    """The ``PRAGMA synchronous`` its connections run with (the library leaves the default)."""
    pool = app.recorder.datastore.pool  # type: ignore[attr-defined]
    conn = pool.get_connection()
    try:
        value = conn._sqlite_conn.execute("PRAGMA synchronous").fetchone()[0]
    finally:
        pool.put_connection(conn)
    return {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(value, str(value))


def count_acquisitions(path: str, key: str) -> dict[str, int]:
    """Recount from the stored rows, trusting nothing the racers said.

    Reads the library's own ``stored_events`` table directly, so a lost or
    duplicated write would show: oversold = acquisitions beyond the capacity
    (nothing in these workloads frees a seat), duplicates = an actor seated twice.
    """
    occurrence_id = Occurrence.create_id(key).hex
    with contextlib.closing(sqlite3.connect(path)) as conn:
        rows = conn.execute(
            "SELECT topic, state FROM stored_events WHERE originator_id = ?"
            " ORDER BY originator_version",
            (occurrence_id,),
        ).fetchall()
    capacity = 0
    actors: list[str] = []
    for topic, state in rows:
        if topic.endswith(".Created"):
            capacity = json.loads(state)["capacity"]
        elif topic.endswith((".Held", ".Booked")):
            actors.append(json.loads(state)["actor"])
    return {
        "events": len(rows),
        "acquisitions": len(actors),
        "capacity": capacity,
        "oversold": max(0, len(actors) - capacity),
        "duplicates": len(actors) - len(set(actors)),
    }
