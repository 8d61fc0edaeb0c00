"""The house: every occurrence's line from one query, folding only what the summaries miss.

``EventStore.stream_summaries`` lists every booking stream with its last seq and
its stored summary (``store.ledger.summary``) in one query. A summary at the
stream's last seq answers that line; any other stream (no summary, an older
format, a damaged one, events after it, or a lapse due while parties wait) is
read through the lanes as any read is (its snapshot, then its tail), and its
summary is written back in one statement for the whole house, best effort, so
the next terminal finds it. A house of 1,000 shows thus costs one query and
1,000 small decodes, whatever their history.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from store.eventstore.errors import StoreError
from store.ledger import rules as v
from store.ledger.fold import STREAM_PREFIX, OccurrenceState
from store.ledger.lanes import Caller, Lanes
from store.ledger.rules import InvalidInput
from store.ledger.summary import decode, encode, house_line
from store.ledger.views import OccurrenceView, occurrence_view

#: Longest the house waits for a busy database to write summaries back: past it, none.
SAVE_WAIT_S = 0.25

log = logging.getLogger(__name__)


def _line_of(key: str) -> Callable[[OccurrenceState, datetime | None], OccurrenceView]:
    return lambda state, now: occurrence_view(key, state, now, rows=False)


async def house_lines(lanes: Lanes, caller: Caller, clock: datetime) -> list[OccurrenceView]:
    """Every created occurrence's view without rows, by key, as of ``clock``."""
    found: list[OccurrenceView] = []
    stale: list[tuple[str, int, str]] = []
    for stream, head, seq, text in await caller.store.stream_summaries(STREAM_PREFIX):
        try:
            key = v.occurrence_key(stream[len(STREAM_PREFIX) :])
        except InvalidInput:
            continue  # a foreign name no command could use: the ledger never opens it
        summary = decode(text, stream) if text is not None and seq == head else None
        usable = summary is not None and summary.seq == head
        if summary is not None and usable:
            if not summary.created:
                continue
            line = house_line(key, summary, clock)
            if line is not None:
                found.append(line)
                continue
        view, current = await lanes.read_with_summary(caller, key, head, clock, _line_of(key))
        if not usable and current.seq:
            stale.append((stream, current.seq, encode(current)))
        if view is not None:
            found.append(view)
    if stale:
        try:
            await caller.store.save_summaries(stale, timeout=SAVE_WAIT_S)
        except StoreError as exc:
            log.warning("%d house summaries not written (%s)", len(stale), exc)
    return found
