"""One racer's try for a seat, reported step by step.

A racer drives ``Ledger.hold_with_observed`` itself instead of calling
``Ledger.hold``, so that every attempt and every conflict is visible as it
happens: it reads the roster and the stream's last seq, decides against that
snapshot, and appends at that seq; when another writer got there first it gets a
``conflict`` (expected vs actual seq), backs off with full jitter and reads again.
With churn, a racer that got a hold then confirms or releases it through the
ledger's own retrying commands (their retries are counted from
``Outcome.attempts``, not shown one by one). A racer told ``full`` is done, even
if a seat frees later under churn: "full" was true of the snapshot it decided on.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from store.booking import Ledger
from store.eventstore.errors import StoreBusy
from store.ledger.outcomes import Status
from store.racers.events import Kind, RacerEvent
from store.racers.plan import RacePlan

#: Backoff after the n-th conflict in a row: uniform(0, min(cap, base * 2**n)) seconds.
BACKOFF_BASE = 0.002
BACKOFF_CAP = 0.05
#: With churn, a winner waits up to this long before confirming or releasing.
CHURN_THINK = 0.05


async def run_racer(
    plan: RacePlan, ledger: Ledger, racer: int, process: int, out: Callable[[RacerEvent], None]
) -> None:
    """Race for a seat until held, full, already seated or out of time; then churn if planned.

    Every step goes to ``out`` as it happens. A failure is reported as an
    ``error`` event, not raised, so one racer cannot end its neighbours.
    """
    actor = plan.actor(racer)
    key = plan.occurrence
    jitter = random.Random(f"{plan.seed}:backoff:{racer}")

    def emit(kind: Kind, **fields: Any) -> None:
        out(RacerEvent(kind, racer, actor, process, time.monotonic(), **fields))

    hold_for = timedelta(seconds=plan.hold_ttl_s)
    attempt = 0
    give_up = time.monotonic() + plan.deadline
    try:
        while True:
            busy: StoreBusy | None = None
            try:
                view = await ledger.view(key)
                observed, seq = [r.actor for r in view.roster], view.seq
                attempt += 1
                emit(Kind.ATTEMPT, attempt=attempt, expected=seq)
                outcome = await ledger.hold_with_observed(key, actor, observed, seq, hold_for)
            except StoreBusy as exc:
                # The write never began (SQLite refuses BEGIN IMMEDIATE, so nothing
                # was written): an attempt that did not happen, retried like a conflict.
                busy = exc
            if busy is not None or outcome.status is Status.CONFLICT:
                if busy is None:
                    emit(Kind.CONFLICT, attempt=attempt, expected=seq, actual=outcome.actual)
                if time.monotonic() >= give_up:
                    emit(Kind.GAVE_UP, attempt=attempt, detail=f"still losing after {attempt}")
                    return
                delay = jitter.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** min(attempt, 20)))
                why = f"busy: {busy}" if busy is not None else None
                emit(Kind.RETRY, attempt=attempt, delay=delay, detail=why)
                await asyncio.sleep(delay)
                continue
            if outcome.status is Status.HELD:
                emit(Kind.HELD, attempt=attempt, expected=seq, seq=seq + 1, seat=outcome.seat)
                break
            if outcome.status is Status.FULL:
                full = f"capacity {outcome.capacity}"
                emit(Kind.FULL, attempt=attempt, expected=seq, detail=full)
            else:
                emit(Kind.ALREADY, attempt=attempt, expected=seq, seat=outcome.seat)
            return
    except Exception as exc:
        emit(Kind.ERROR, attempt=attempt, detail=f"{type(exc).__name__}: {exc}")
        return
    choice = plan.churn_choice(racer)
    if choice is None:
        return
    try:
        await asyncio.sleep(jitter.uniform(0, CHURN_THINK))
        if choice == "confirm":
            outcome = await ledger.confirm(key, actor)
        else:
            outcome = await ledger.release(key, actor)
    except Exception as exc:
        emit(Kind.ERROR, attempt=1, detail=f"{choice}: {type(exc).__name__}: {exc}")
        return
    if outcome.status is Status.CONFIRMED:
        emit(Kind.CONFIRMED, attempt=outcome.attempts)
    elif outcome.status is Status.RELEASED:
        emit(Kind.RELEASED, attempt=outcome.attempts)
    else:
        emit(Kind.ERROR, attempt=outcome.attempts, detail=f"{choice} answered {outcome.status}")
