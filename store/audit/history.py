"""Histories of ledger commands, and a linearizability check against a sequential model.

A racer records every command twice: an *invoke* line before it calls the
ledger and a *complete* line with the reply after. A command whose process was
killed (or that raised) has no reply: it is *unknown*, it may or may not have
taken effect. ``check_history`` then asks, per occurrence, whether there is one
order of all commands, consistent with real time, in which a single sequential
ledger would have answered every reply (SPEC §3 "Replies are linearizable").

Two clocks, both recorded around each command:

* **Real-time order** is ``time.time_ns()`` (CLOCK_REALTIME): one clock for every
  process on a machine, so an invoke in one racer can be compared with a reply in
  another. Commands whose windows overlap may be ordered either way.
* **The ledger's clock** decides expiry. Racers run the ledger on a stepped clock
  (an integer *tick* times a grain) and record the tick just before the invoke and
  just after the reply; the command decided at some tick in that window. Ticks
  keep the search finite: a command is tried at each tick of its window.

The sequential model (``store.audit.model``) is written from SPEC §2 and §4.1-§4.5
and shares no code with ``store.ledger.fold``, so a bug in the fold cannot hide
itself from this check; it derives the waiting list's offers itself, so a reply
that only a wrong offer explains (a confirm by a waiter who should not have been
offered, an offer while seats were short) fits no order. The
search is Wing & Gong's, with Lowe's memoisation on (commands linearized, model
state), as in Porcupine.
"""

from __future__ import annotations

import json
import os
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from store.audit.model import UNKNOWN_OCCURRENCE, Model, step

#: Replies that mean the command's own event was written.
SUCCESS = frozenset(
    {
        "created",
        "capacity-set",
        "booked",
        "held",
        "confirmed",
        "released",
        "cancelled",
        "checked-in",
        "noted",
        "waiting",
        "offered",
        "left",
    }
)
#: The widest ledger-clock window a command may have, in ticks.
MAX_WINDOW = 10_000


# -- the record ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Op:
    """One command: what was asked, when, and what came back (``status`` None: unknown).

    ``value`` is the capacity for ``create``/``capacity``; ``ttl`` the hold ttl
    (for ``create``, the occurrence's default) in ticks. ``seats`` is the party's
    size for ``book``/``hold`` and the seats given back for ``cancel`` (None: all).
    ``lapsed`` lists the actors an ``expire`` command answered ``expired`` for;
    ``position`` is a waiter's place on the list (``waiting``, ``already``, ``noted``);
    ``offer_ttl`` the occurrence's offer length for ``create``, in ticks.
    """

    id: str
    terminal: str
    key: str
    kind: str
    actor: str | None = None
    value: int | None = None
    ttl: int | None = None
    seats: int | None = None
    offer_ttl: int | None = None
    invoke: int = 0
    complete: int | None = None
    clock_lo: int = 0
    clock_hi: int | None = None
    status: str | None = None
    seat: int | None = None
    expires_at: int | None = None
    lapsed: tuple[str, ...] = ()
    position: int | None = None
    attempts: int = 1  # tries the ledger needed (retries = attempts - 1); not checked
    request_id: str | None = None  # SPEC §4.6: a retry with it replays, never acts twice
    replayed: bool = False  # the reply was the replay of the request's earlier write

    @property
    def outcome(self) -> str:
        """``ok`` (its event was written), ``refused`` (a definite other answer), ``replayed``
        (the earlier write's answer again: no event of its own) or ``unknown``."""
        if self.complete is None:
            return "unknown"
        if self.replayed:
            return "replayed"
        wrote = self.status in SUCCESS or (self.kind == "expire" and bool(self.lapsed))
        return "ok" if wrote else "refused"

    def reply(self) -> tuple[Any, ...]:
        return (self.status, self.seat, self.expires_at, self.lapsed, self.position, self.replayed)


class Recorder:
    """Appends a JSON line per invoke and per reply to ``path``.

    Each line is one ``os.write`` on an ``O_APPEND`` descriptor, so it is in the
    kernel before the command runs: a ``kill -9`` loses no line written before it,
    and several recorders may share one file.
    """

    def __init__(self, path: str | os.PathLike[str], terminal: str, client: str = "") -> None:
        self.terminal = terminal
        self.client = client or terminal
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._next = 0

    def invoke(
        self,
        key: str,
        kind: str,
        actor: str | None = None,
        *,
        clock: int,
        value: int | None = None,
        ttl: int | None = None,
        seats: int | None = None,
        offer_ttl: int | None = None,
        request_id: str | None = None,
    ) -> str:
        self._next += 1
        op_id = f"{self.client}/{self._next}"
        self._line(
            {"id": op_id, "terminal": self.terminal, "key": key, "kind": kind, "actor": actor,
             "value": value, "ttl": ttl, "seats": seats, "offer_ttl": offer_ttl,
             "invoke": time.time_ns(),
             "clock_lo": clock, "request_id": request_id}
        )  # fmt: skip
        return op_id

    def complete(
        self,
        op_id: str,
        status: str,
        *,
        clock: int,
        seat: int | None = None,
        expires_at: int | None = None,
        lapsed: Sequence[str] = (),
        attempts: int = 1,
        position: int | None = None,
        replayed: bool = False,
    ) -> None:
        self._line(
            {"id": op_id, "complete": time.time_ns(), "clock_hi": clock, "status": status,
             "seat": seat, "expires_at": expires_at, "lapsed": list(lapsed), "attempts": attempts,
             "position": position, "replayed": replayed}
        )  # fmt: skip

    def _line(self, record: dict[str, Any]) -> None:
        os.write(self._fd, (json.dumps(record, ensure_ascii=False) + "\n").encode())

    def close(self) -> None:
        os.close(self._fd)


def load(paths: Iterable[str | os.PathLike[str]]) -> list[Op]:
    """The commands recorded in ``paths``; an invoke with no reply line is unknown.

    A torn last line (the writer died inside ``write``) is ignored: it carried no
    reply anyone saw.
    """
    invokes: dict[str, dict[str, Any]] = {}
    replies: dict[str, dict[str, Any]] = {}
    for path in paths:
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                (replies if "complete" in record else invokes)[record["id"]] = record
    ops = []
    for op_id, record in invokes.items():
        reply = replies.get(op_id, {})
        ops.append(
            Op(
                **record,
                complete=reply.get("complete"),
                clock_hi=reply.get("clock_hi"),
                status=reply.get("status"),
                seat=reply.get("seat"),
                expires_at=reply.get("expires_at"),
                lapsed=tuple(reply.get("lapsed", ())),
                position=reply.get("position"),
                attempts=reply.get("attempts", 1),
                replayed=reply.get("replayed", False) is True,
            )
        )
    return sorted(ops, key=lambda op: op.invoke)


# -- the search --------------------------------------------------------------------------------


class Undecided(RuntimeError):
    """The search ran past its budget: the history is too concurrent to check whole."""


@dataclass(slots=True)
class Verdict:
    """Whether one occurrence's history is linearizable, and if not, where it breaks."""

    key: str
    ok: bool
    ops: int
    explored: int
    order: list[str] = field(default_factory=list)  # a linearization, when ok
    problem: str = ""

    def __str__(self) -> str:
        if self.ok:
            return f"{self.key}: linearizable ({self.ops} commands, {self.explored} states)"
        return f"{self.key}: NOT linearizable: {self.problem}"


def _window(model: Model, op: Op, clock_end: int) -> range:
    """The ticks ``op`` may have decided at: inside its window and not before T.

    SPEC §2 decides at max(now, T). Racers share one clock, so both lie in the
    window: ``now`` was read inside it, and T is the reading of a writer whose
    event this command saw before it replied. A tick below T is impossible.
    """
    lo = op.clock_lo if model.high_water is None else max(op.clock_lo, model.high_water)
    hi = op.clock_hi if op.clock_hi is not None else max(clock_end, op.clock_lo)
    if hi - lo > MAX_WINDOW:
        raise ValueError(f"{op.id}: clock window {lo}..{hi} is too wide; step the clock coarser")
    return range(lo, hi + 1)


def _successors(model: Model, op: Op, clock_end: int) -> list[Model]:
    """Every state the model may be in after ``op`` answered as recorded.

    Among decision ticks that lead to the same roster, only the earliest is
    kept: a lower T never rules out a later command that a higher T allows.
    An unknown command may also never have happened.
    """
    if op.status == "conflict":
        return [model]  # the deadline passed: nothing was written
    unknown = op.complete is None
    found: dict[Model, Model] = {replace(model, high_water=None): model} if unknown else {}
    for t in _window(model, op, clock_end):
        reply, after = step(model, op, t)
        if unknown or reply == op.reply():
            found.setdefault(replace(after, high_water=None), after)
    return list(found.values())


def _describe(op: Op) -> str:
    what = f"{op.kind} {op.actor!r}" if op.actor is not None else op.kind
    reply = "no reply (unknown)" if op.complete is None else f"answered {op.reply()}"
    return f"{op.id} {what} at ticks {op.clock_lo}..{op.clock_hi}, {reply}"


def check_occurrence(
    key: str, ops: Sequence[Op], *, clock_end: int, budget: int = 1_000_000
) -> Verdict:
    """Search for a linearization of one occurrence's commands (Wing-Gong with memoisation).

    Raises:
        Undecided: more than ``budget`` distinct (linearized set, state) pairs.
    """
    ops = sorted(ops, key=lambda op: op.invoke)
    done_all = (1 << len(ops)) - 1
    seen: set[tuple[int, Model]] = set()
    path: list[int] = []
    deepest: tuple[list[int], Model] = ([], Model())

    def search(done: int, model: Model) -> bool:
        nonlocal deepest
        if done == done_all:
            return True
        if (done, model) in seen:
            return False
        seen.add((done, model))
        if len(seen) > budget:
            raise Undecided(f"{key}: more than {budget} states; record fewer, shorter races")
        if len(path) >= len(deepest[0]):
            deepest = (path.copy(), model)
        pending = [i for i in range(len(ops)) if not done >> i & 1]
        # An op may go next only if no pending op returned before it was invoked.
        horizon = min((c for i in pending if (c := ops[i].complete) is not None), default=None)
        for i in pending:
            if horizon is not None and ops[i].invoke > horizon:
                break
            for after in _successors(model, ops[i], clock_end):
                path.append(i)
                if search(done | 1 << i, after):
                    return True
                path.pop()
        return False

    if search(0, Model()):
        return Verdict(key, True, len(ops), len(seen), [ops[i].id for i in path])
    return Verdict(key, False, len(ops), len(seen), problem=_explain(ops, *deepest, clock_end))


def _explain(ops: Sequence[Op], prefix: list[int], model: Model, clock_end: int) -> str:
    """The longest explained prefix, and what the model would answer to what came next."""
    placed = set(prefix)
    lines = [f"{len(prefix)} of {len(ops)} commands fit one order; the rest cannot follow them."]
    lines += [f"  last placed: {_describe(ops[i])}" for i in prefix[-3:]]
    for i, op in enumerate(ops):
        if i in placed or op.complete is None:
            continue
        answers = {str(step(model, op, t)[0]) for t in _window(model, op, clock_end)}
        said = sorted(answers) or ["(no tick in its window)"]
        lines.append(f"  next: {_describe(op)}; the model answers {said}")
        if len(lines) > 8:
            break
    return "\n".join(lines)


def check_history(ops: Iterable[Op], *, clock_end: int | None = None) -> list[Verdict]:
    """``check_occurrence`` for each occurrence in ``ops``.

    ``clock_end`` bounds when an unknown command may have taken effect (default:
    the latest tick recorded anywhere).
    """
    by_key: dict[str, list[Op]] = defaultdict(list)
    for op in ops:
        by_key[op.key].append(op)
    if clock_end is None:
        ticks = [t for op in ops for t in (op.clock_lo, op.clock_hi) if t is not None]
        clock_end = max(ticks, default=0)
    return [check_occurrence(k, by_key[k], clock_end=clock_end) for k in sorted(by_key)]


# the log against the replies lives beside the search; kept importable from here
from store.audit.replies import StreamAudit, audit_stream  # noqa: E402

__all__ = [
    "SUCCESS",
    "UNKNOWN_OCCURRENCE",
    "Op",
    "Recorder",
    "StreamAudit",
    "Verdict",
    "audit_stream",
    "check_history",
    "load",
    "step",
]
