"""Simulated racers: many would-be audience members rushing one occurrence at once.

Why this exists: to show an audience, and give QA a load to aim, that capacity
holds when writers in different OS processes race on one database. Racers are
asyncio tasks spread over P processes started with ``spawn``; each racer has its
own ``Ledger`` (its own decisions; the ledgers of a process share one folded
state and one lane per occurrence, ``store.ledger.shared``) on its own store
connection, unless the process would run out of file descriptors, in which case
racers in that process share stores round-robin (``RaceSummary.stores`` says how
many there were). On PostgreSQL the stores of one process share one connection
pool (``store.eventstore.postgres``), so there the racers of a process share its connections.

Where things live:

- ``plan``: ``RacePlan``, the seeded plan (actors, placement, order, churn) and its limits;
- ``prepare``: ``prepare_occurrence`` and ``fresh_demo``, the occurrence to race on (a demo
  one unless the caller says otherwise);
- ``racer``: one racer's attempts, conflicts, backoff and churn;
- ``waiter``: with the waiting list, a racer told full waits for an offer and confirms it;
- ``child``: what runs in a spawned racer process (its stores, its racers, its outbox);
- ``pipes``: the messages between the parent and its children;
- ``events``: ``Kind`` and ``RacerEvent``, what a racer reports as it happens;
- ``tally``: ``RacerRecord`` and ``Tally``, the parent's running view of the racers;
- ``engine``: ``Race`` and ``run_race``, spawning, watching, stopping and reaping;
- ``verify``: ``verify``, the run judged from the stream alone;
- ``summary``: ``RaceSummary``, a finished or stopped run, as text or JSON;
- ``errors``: ``RaceError``, ``CapacityMismatch`` and ``RealOccurrence``;
- ``script``: the seam tests and benchmarks race through: what each racer process does
  (``HoldOnce``, ``HoldInTurn``, ``Alternate``, ``HoldThenConfirm``, and the fault
  harness's ``FaultMix`` with its random draw), the one ``Reply``, and the
  ``Client``/``Opener`` (``MixClient``/``MixOpener``) a script reaches the store by;
- ``clients``: the default opener, a store and ``Ledger`` per racer;
- ``swarm``: ``run_swarm`` and ``perform``, the one engine that runs scripts in spawned
  processes started together (or in this one, for a burst);
- ``mix``: ``perform_mix``, a ``FaultMix``'s racing loop, each command's start heard first;
- ``pool``: ``SwarmPool``, the same engine pooled: processes kept across runs, each
  command's start streamed to the parent (``Started``) so it can kill a racer mid-run.

Nothing here imports a user interface.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from store.audit.verify import Invariant, Verdict, verify
    from store.racers.engine import Race, run_race
    from store.racers.errors import CapacityMismatch, RaceError, RealOccurrence
    from store.racers.events import Kind, RacerEvent
    from store.racers.plan import MAX_PROCESSES, MAX_RACERS, RacePlan, new_seed
    from store.racers.prepare import HOLD_TTL, demo_key, fresh_demo, prepare_occurrence
    from store.racers.racer import BACKOFF_BASE, BACKOFF_CAP, CHURN_THINK
    from store.racers.summary import RaceSummary
    from store.racers.tally import RacerRecord, Tally

#: Where each name lives. They are imported on first use, not with the package: a
#: pooled fault racer (``store.racers.pool``) is spawned afresh after every kill, and
#: importing the demo engine it never runs made each of those spawns ~60 ms slower.
_HOMES = {
    "store.audit.verify": ("Invariant", "Verdict", "verify"),
    "store.racers.engine": ("Race", "run_race"),
    "store.racers.errors": ("CapacityMismatch", "RaceError", "RealOccurrence"),
    "store.racers.events": ("Kind", "RacerEvent"),
    "store.racers.plan": ("MAX_PROCESSES", "MAX_RACERS", "RacePlan", "new_seed"),
    "store.racers.prepare": ("HOLD_TTL", "demo_key", "fresh_demo", "prepare_occurrence"),
    "store.racers.racer": ("BACKOFF_BASE", "BACKOFF_CAP", "CHURN_THINK"),
    "store.racers.summary": ("RaceSummary",),
    "store.racers.tally": ("RacerRecord", "Tally"),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _HOME_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once found, an ordinary attribute
    return value


__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "CHURN_THINK",
    "HOLD_TTL",
    "MAX_PROCESSES",
    "MAX_RACERS",
    "CapacityMismatch",
    "Invariant",
    "Kind",
    "Race",
    "RaceError",
    "RacePlan",
    "RaceSummary",
    "RacerEvent",
    "RacerRecord",
    "RealOccurrence",
    "Tally",
    "Verdict",
    "demo_key",
    "fresh_demo",
    "new_seed",
    "prepare_occurrence",
    "run_race",
    "verify",
]
