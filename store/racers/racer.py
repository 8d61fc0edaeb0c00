"""One racer's try for a seat, reported step by step.

As terminals (each racer its own ledger), a racer drives
``Ledger.hold_with_observed`` itself instead of calling ``Ledger.hold``, so that
every attempt and every conflict is visible as it happens: it reads one view
(roster and seq together), decides against it, and appends at that seq; when
another writer got there first it gets a ``conflict`` (expected vs actual seq),
backs off with full jitter and reads again. With ``algorithm="seed"`` it runs
the seed's two-read attempt instead (``store.racers.seed``: unsafe, demo only).
As processes (racers sharing one ledger), a racer calls ``Ledger.hold``, whose
group commit batches its neighbours' holds; the ledger's own retries are then
reported after the answer, from ``Outcome.attempts``.

With churn, a racer that got a hold then confirms or releases it through the
ledger's own retrying commands (their retries are counted from
``Outcome.attempts``, not shown one by one). A racer told ``full`` is done, even
if a seat frees later under churn: "full" was true of the snapshot it decided on.
With the waiting list, a winner confirms or cancels, and a racer told ``full``
joins the list and confirms the seat it is offered (``store.racers.waiter``).
At a pace below 1 a racer thinks before every attempt, so a room can follow.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from store.booking import Ledger
from store.eventstore.errors import StoreBusy
from store.ledger.outcomes import Status
from store.racers.events import Kind, RacerEvent
from store.racers.plan import RacePlan
from store.racers.seed import seed_attempt
from store.racers.waiter import until_sold_out, wait_for_an_offer

#: Backoff after the n-th conflict in a row: uniform(0, min(cap, base * 2**n)) seconds.
BACKOFF_BASE = 0.002
BACKOFF_CAP = 0.05
#: With churn, a winner waits up to this long before confirming or releasing.
CHURN_THINK = 0.05


@dataclass(frozen=True, slots=True)
class _Try:
    """One attempt's answer, whichever algorithm made it."""

    status: str  # held, full, already, conflict
    expected: int | None
    actual: int | None = None
    seat: int | None = None
    detail: str | None = None


async def run_racer(
    plan: RacePlan, ledger: Ledger, racer: int, process: int, out: Callable[[RacerEvent], None]
) -> None:
    """Race for a seat until held, full, already seated or out of time; then churn if planned.

    Every step goes to ``out`` as it happens. A failure is reported as an
    ``error`` event, not raised, so one racer cannot end its neighbours.
    """
    actor = plan.actor(racer)
    jitter = random.Random(f"{plan.seed}:backoff:{racer}")
    slow = 1 / plan.pace

    told: list[Kind] = []

    def emit(kind: Kind, **fields: Any) -> None:
        told.append(kind)
        out(RacerEvent(kind, racer, actor, process, time.monotonic(), **fields))

    attempt = 0
    try:
        if plan.shape == "processes":
            held = await _hold_in_batches(plan, ledger, actor, jitter, emit)
        else:
            held = await _race_for_a_seat(plan, ledger, actor, jitter, emit)
    except Exception as exc:
        emit(Kind.ERROR, attempt=attempt, detail=f"{type(exc).__name__}: {exc}")
        return
    choice = plan.churn_choice(racer)
    if not held and plan.waitlist and told and told[-1] is Kind.FULL:
        try:
            await wait_for_an_offer(plan, ledger, actor, emit)
        except Exception as exc:
            emit(Kind.ERROR, attempt=1, detail=f"waiting list: {type(exc).__name__}: {exc}")
        return
    if not held or choice is None:
        return
    try:
        await asyncio.sleep(jitter.uniform(0, CHURN_THINK * slow))
        if choice == "confirm":
            outcome = await ledger.confirm(plan.occurrence, actor)
        elif choice == "cancel":
            await until_sold_out(plan, ledger)
            outcome = await ledger.cancel(plan.occurrence, actor)
        else:
            outcome = await ledger.release(plan.occurrence, actor)
    except Exception as exc:
        emit(Kind.ERROR, attempt=1, detail=f"{choice}: {type(exc).__name__}: {exc}")
        return
    if outcome.status is Status.CONFIRMED:
        emit(Kind.CONFIRMED, attempt=outcome.attempts)
    elif outcome.status is Status.RELEASED:
        emit(Kind.RELEASED, attempt=outcome.attempts)
    elif outcome.status is Status.CANCELLED:
        emit(Kind.CANCELLED, attempt=outcome.attempts)
    else:
        emit(Kind.ERROR, attempt=outcome.attempts, detail=f"{choice} answered {outcome.status}")


async def _race_for_a_seat(
    plan: RacePlan,
    ledger: Ledger,
    actor: str,
    jitter: random.Random,
    emit: Callable[..., None],
) -> bool:
    """Attempt, and after each conflict back off and read again; True once held."""
    key = plan.occurrence
    hold_for = timedelta(seconds=plan.hold_ttl_s)
    capacity = (await ledger.view(key, rows=False)).record.capacity  # the seed's argument
    give_up = time.monotonic() + plan.deadline
    attempt = 0
    while True:
        if plan.think_s:
            await asyncio.sleep(jitter.uniform(0, plan.think_s))
        busy: StoreBusy | None = None
        try:
            attempt += 1
            answer = await _attempt(plan, ledger, actor, capacity, hold_for, attempt, emit)
        except StoreBusy as exc:
            # The write never began (SQLite refuses BEGIN IMMEDIATE, so nothing
            # was written): an attempt that did not happen, retried like a conflict.
            busy = exc
        if busy is not None or answer.status == "conflict":
            if busy is None:
                emit(Kind.CONFLICT, attempt=attempt, expected=answer.expected, actual=answer.actual)
            if time.monotonic() >= give_up:
                emit(Kind.GAVE_UP, attempt=attempt, detail=f"still losing after {attempt}")
                return False
            if plan.algorithm == "seed":
                delay = 0.0  # ``ev-acquire!`` recurses at once: the seed has no backoff
            else:
                delay = jitter.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** min(attempt, 20)))
            delay /= plan.pace
            why = f"busy: {busy}" if busy is not None else None
            emit(Kind.RETRY, attempt=attempt, delay=delay, detail=why)
            await asyncio.sleep(delay)
            continue
        if answer.status == "held":
            seq = (answer.expected or 0) + 1
            emit(Kind.HELD, attempt=attempt, expected=answer.expected, seq=seq, seat=answer.seat)
            return True
        if answer.status == "full":
            emit(Kind.FULL, attempt=attempt, expected=answer.expected, detail=answer.detail)
        else:
            emit(Kind.ALREADY, attempt=attempt, expected=answer.expected, seat=answer.seat)
        return False


async def _attempt(
    plan: RacePlan,
    ledger: Ledger,
    actor: str,
    capacity: int,
    hold_for: timedelta,
    attempt: int,
    emit: Callable[..., None],
) -> _Try:
    key = plan.occurrence
    if plan.algorithm == "seed":
        tried = await seed_attempt(
            ledger.store, key, capacity, actor, ttl=hold_for, operator=ledger.operator
        )
        emit(Kind.ATTEMPT, attempt=attempt, expected=tried.expected)
        return _Try(tried.status, tried.expected, tried.actual, tried.seat, f"capacity {capacity}")
    view = await ledger.view(key)
    observed, seq = [r.actor for r in view.roster], view.seq
    emit(Kind.ATTEMPT, attempt=attempt, expected=seq)
    outcome = await ledger.hold_with_observed(key, actor, observed, seq, hold_for)
    full = f"capacity {outcome.capacity}" if outcome.status is Status.FULL else None
    return _Try(str(outcome.status), seq, outcome.actual, outcome.seat, full)


async def _hold_in_batches(
    plan: RacePlan,
    ledger: Ledger,
    actor: str,
    jitter: random.Random,
    emit: Callable[..., None],
) -> bool:
    """One ``Ledger.hold`` on a ledger shared by the process; its retries told after the answer."""
    key = plan.occurrence
    if plan.think_s:
        await asyncio.sleep(jitter.uniform(0, plan.think_s))
    emit(Kind.ATTEMPT, attempt=1)
    outcome = await ledger.hold(key, actor, timedelta(seconds=plan.hold_ttl_s))
    for attempt in range(1, outcome.attempts):
        emit(Kind.CONFLICT, attempt=attempt, detail="inside the ledger's group commit")
        emit(Kind.RETRY, attempt=attempt, delay=0.0, detail="inside the ledger")
        emit(Kind.ATTEMPT, attempt=attempt + 1)
    attempts = outcome.attempts
    if outcome.status is Status.HELD:
        row = next(r for r in (await ledger.view(key)).roster if r.actor == actor)
        emit(Kind.HELD, attempt=attempts, seq=row.ref, seat=outcome.seat)
        return True
    if outcome.status is Status.FULL:
        emit(Kind.FULL, attempt=attempts, detail=f"capacity {outcome.capacity}")
    elif outcome.status is Status.ALREADY:
        emit(Kind.ALREADY, attempt=attempts, seat=outcome.seat)
    elif outcome.status is Status.CONFLICT:
        emit(Kind.GAVE_UP, attempt=attempts, detail=f"still losing after {attempts}")
    else:
        emit(Kind.ERROR, attempt=attempts, detail=f"hold answered {outcome.status}")
    return False
