"""A racer on the waiting list (``RacePlan.waitlist``): join when full, confirm an offer.

A winner that is to cancel first waits for the sell-out (``until_sold_out``), so
that its seat returns while racers wait for one, as a returned ticket would.

A racer told ``full`` joins the list (one seat). Offers are derived by the fold,
not written (SPEC §4.5), so it learns of one by reading its own seat state after
every commit anywhere in the store (``Ledger.changes``), and confirms it at once.
Nothing tells a waiter that no more seats will free up, so once the store has
been quiet for ``WAIT_QUIET`` seconds (scaled by the pace), or the plan's deadline
passes, it leaves the list; if that answers ``not-waiting`` it was offered in the
meantime and confirms after all.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from store.booking import Ledger
from store.ledger.outcomes import OccurrenceRecord, Status
from store.racers.events import Kind
from store.racers.plan import RacePlan

#: A waiter leaves the list after this long without a commit anywhere in the store.
WAIT_QUIET = 1.0


async def wait_for_an_offer(
    plan: RacePlan, ledger: Ledger, actor: str, emit: Callable[..., None]
) -> None:
    """Join the list; confirm the seat if offered, else leave once the house is quiet."""
    key = plan.occurrence
    joined = await ledger.join_waitlist(key, actor)
    if joined.status is Status.OFFERED:  # a seat freed between the full and the join
        emit(Kind.OFFERED, attempt=joined.attempts, seq=joined.ref, seat=joined.seat)
        await _confirm_offer(ledger, key, actor, emit)
        return
    if joined.status is not Status.WAITING:
        emit(Kind.ERROR, attempt=joined.attempts, detail=f"wait answered {joined.status}")
        return
    emit(Kind.WAIT_LISTED, attempt=joined.attempts, detail=f"position {joined.position}")
    quiet = WAIT_QUIET / plan.pace
    give_up = time.monotonic() + plan.deadline
    position = await ledger.head()
    while True:
        if await ledger.seat_state(key, actor) == "held":  # offered (it never held before)
            row = next(r for r in (await ledger.view(key)).roster if r.actor == actor)
            emit(Kind.OFFERED, seq=row.ref, seat=row.seat)
            await _confirm_offer(ledger, key, actor, emit)
            return
        changes = await ledger.changes(position, timeout=quiet)
        if changes.position != position and time.monotonic() < give_up:
            position = changes.position
            continue
        left = await ledger.leave_waitlist(key, actor)
        if left.status is Status.LEFT:
            emit(Kind.LEFT, attempt=left.attempts)
            return
        position = await ledger.head()  # not waiting any more: offered meanwhile


async def until_sold_out(plan: RacePlan, ledger: Ledger) -> None:
    """Return once the house has no seat left and a racer waits (or the store went quiet).

    A winner that will cancel waits for this first, so its seat comes back when
    racers have been told full and wait for it: a return, not a change of mind.
    (Sold out alone was not enough: a seat returned before anyone had joined the
    list went to a racer still walking up, and the race offered nothing.)
    """
    quiet = WAIT_QUIET / plan.pace
    position = await ledger.head()
    while not _sold_out_with_waiters((await ledger.view(plan.occurrence, rows=False)).record):
        changes = await ledger.changes(position, timeout=quiet)
        if changes.position == position:
            return  # nothing moves: it will not sell out
        position = changes.position


async def _confirm_offer(ledger: Ledger, key: str, actor: str, emit: Callable[..., None]) -> None:
    outcome = await ledger.confirm(key, actor)
    if outcome.status is Status.CONFIRMED:
        emit(Kind.CONFIRMED, attempt=outcome.attempts)
    else:
        emit(Kind.ERROR, attempt=outcome.attempts, detail=f"confirm answered {outcome.status}")


def _sold_out_with_waiters(record: OccurrenceRecord) -> bool:
    return record.seats_left <= 0 and record.waiting > 0
