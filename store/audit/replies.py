"""Acknowledged replies against the log: every success has exactly one event (SPEC §3).

Apart from ``store.audit.history``'s search because it asks another question: not
whether the replies fit one order, but whether the log holds what they claim.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from store.audit.history import Op

#: The event each successful command writes.
EVENT_OF = {
    "create": "created",
    "capacity": "capacity",
    "book": "booking",
    "hold": "hold",
    "confirm": "confirm",
    "release": "release",
    "cancel": "cancel",
    "checkin": "checkin",
    "note": "note",
    "wait": "wait",
    "unwait": "unwait",
}


@dataclass(slots=True)
class StreamAudit:
    """Acknowledged commands with no event (lost), and events no command accounts for."""

    lost: list[str] = field(default_factory=list)
    unexplained: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.lost and not self.unexplained


def audit_stream(ops: Iterable[Op], events: Iterable[Any]) -> StreamAudit:
    """Every success reply has exactly one event from its terminal (SPEC §3).

    A replayed reply (SPEC §4.6) is not a second acquisition: it needs only an event
    that carries its request id, whichever terminal wrote it.

    Events are counted per (terminal, type, actor): at least one per success
    reply, at most that plus one per unknown command that could have written it
    (and per ``expired`` reply to a confirm, whose `expire` may already have been
    in the log).
    """
    low: Counter[tuple[str, str, str | None]] = Counter()
    high: Counter[tuple[str, str, str | None]] = Counter()
    #: unknown ``expire`` commands per terminal: each may have written one `expire` for
    #: every actor whose lapse was unrecorded, so this bounds each actor's excess
    any_expire: Counter[str] = Counter()
    audit = StreamAudit()
    events = list(events)
    carried = {_request_id(e.meta) for e in events} - {None}
    for op in ops:
        if op.outcome == "replayed":  # SPEC §4.6: no event of its own; its request's must exist
            if op.request_id not in carried:
                audit.lost.append(f"{op.id}: replayed {op.request_id!r}; no event carries it")
            continue
        if op.kind == "expire":
            for actor in op.lapsed:
                low[op.terminal, "expire", actor] += 1
                high[op.terminal, "expire", actor] += 1
            any_expire[op.terminal] += op.complete is None
            continue
        slot = (op.terminal, EVENT_OF[op.kind], op.actor)
        if op.outcome == "ok":
            low[slot] += 1
            high[slot] += 1
        elif op.outcome == "unknown":
            high[slot] += 1
        if op.kind == "confirm" and op.status in (None, "expired"):
            high[op.terminal, "expire", op.actor] += 1
    seen: Counter[tuple[str, str, str | None]] = Counter()
    for event in events:
        who = event.data.get("actor") if isinstance(event.data, dict) else None
        seen[
            str(event.meta.get("terminal")), event.type, who if isinstance(who, str) else None
        ] += 1
    for slot in sorted(set(low) | set(seen), key=str):
        if seen[slot] < low[slot]:
            audit.lost.append(f"{slot}: {low[slot]} acknowledged, {seen[slot]} in the log")
        excess = seen[slot] - high[slot]
        if slot[1] == "expire" and 0 < excess <= any_expire[slot[0]]:
            excess = 0  # each unknown ``expire_holds`` may have recorded each lapse once
        if excess > 0:
            audit.unexplained.append(f"{slot}: {seen[slot]} in the log, at most {high[slot]} sent")
    return audit


def _request_id(meta: Any) -> str | None:
    request = meta.get("request") if isinstance(meta, dict) else None
    rid = request.get("id") if isinstance(request, dict) else None
    return rid if isinstance(rid, str) else None
