"""The fold's snapshot cache as the ledger uses it: load with checks, save best effort.

A snapshot is trusted only as far as the log agrees: its seq must be an event
the stream holds (the tail read starts at that event, so it costs no extra
query), and every event after it is folded. Anything else (no snapshot, another
format, a damaged row, a seq the log does not hold) is a fold from seq 1, which
then leaves a fresh snapshot. A failure to read or write the cache is logged,
never the command's error: the log alone is the truth.
"""

from __future__ import annotations

import logging

from store.eventstore.contract import EventStore
from store.eventstore.errors import StoreError
from store.ledger.fold import OccurrenceState
from store.ledger.snapshot import decode, encode

#: Events a catch-up folds before it leaves a snapshot. A snapshot of 100,000 events
#: is encoded in tens of ms; once per this many events it stays off the hot path.
SNAPSHOT_EVERY = 1000

#: Longest a command waits for a busy database to write the cache: past it, no snapshot.
SAVE_WAIT_S = 0.25

log = logging.getLogger(__name__)


async def known(store: EventStore) -> set[str]:
    """The streams with a snapshot, asked once per ledger (empty if the cache cannot be read).

    A snapshot written later by another terminal is not seen: it costs that stream
    a fold from seq 1 here, never a wrong state.
    """
    try:
        return set(await store.snapshot_seqs())
    except StoreError as exc:
        log.warning("snapshots not listed (%s); folding from the log", exc)
        return set()


async def load(
    store: EventStore, stream: str, snapshotted: set[str]
) -> tuple[OccurrenceState, int]:
    """The stream's state from its snapshot and the log, and how many events were folded."""
    found = None
    try:
        if stream in snapshotted:
            found = await store.load_snapshot(stream)
    except StoreError as exc:
        log.warning("%s: snapshot not read (%s); folding from the log", stream, exc)
    state = decode(found[1], stream) if found is not None else None
    if found is not None and (state is None or state.seq != found[0]):
        log.warning("%s: snapshot at seq %s unusable; folding from the log", stream, found[0])
        state = None
    if state is not None:
        tail = await store.read(stream, after_seq=state.seq - 1)
        if tail and tail[0].seq == state.seq:
            for event in tail[1:]:
                state.apply(event)
            return state, len(tail) - 1
        log.warning(
            "%s: snapshot at seq %s is past the log; folding from the log", stream, state.seq
        )
    state = OccurrenceState(stream)
    events = await store.read(stream)
    for event in events:
        state.apply(event)
    # a snapshot that was there but unusable is rebuilt now, however short the stream
    return state, len(events) if found is None else max(len(events), SNAPSHOT_EVERY)


async def save(store: EventStore, state: OccurrenceState) -> None:
    """Leave ``state`` as the stream's snapshot; a failure only costs the next cold start."""
    if not state.seq:
        return
    try:
        await store.save_snapshot(state.stream, state.seq, encode(state), timeout=SAVE_WAIT_S)
    except (StoreError, ValueError) as exc:
        log.warning("%s: snapshot at seq %s not written (%s)", state.stream, state.seq, exc)
