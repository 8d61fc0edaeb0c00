"""The booking ledger's public names (SPEC §2), where SPEC says to import them from.

The ledger itself lives in ``store/ledger/``: ``api`` (commands and reads),
``fold`` (the stream into live state), ``outcomes`` and ``rules``.
"""

from store.ledger.api import Ledger, UnknownOccurrence
from store.ledger.outcomes import OccurrenceRecord, Outcome, SeatRecord, Status
from store.ledger.rules import InvalidInput

__all__ = [
    "InvalidInput",
    "Ledger",
    "OccurrenceRecord",
    "Outcome",
    "SeatRecord",
    "Status",
    "UnknownOccurrence",
]
