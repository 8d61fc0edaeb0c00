"""boxoffice's core: an append-only event store and the booking ledger on it.

Nothing in this package imports a user interface; the app and the command line
in ``tui/`` stand on it, as do the racers and the checkers.
"""

from store.eventstore.contract import EventStore
from store.eventstore.errors import (
    SchemaTooNew,
    StoreBusy,
    StoreCorrupt,
    StoreError,
    StoreFull,
    StoreNotFound,
    StoreReadOnly,
)
from store.eventstore.events import Conflict, Event, NewEvent
from store.eventstore.opening import open_store

__all__ = [
    "Conflict",
    "Event",
    "EventStore",
    "NewEvent",
    "SchemaTooNew",
    "StoreBusy",
    "StoreCorrupt",
    "StoreError",
    "StoreFull",
    "StoreNotFound",
    "StoreReadOnly",
    "open_store",
]
