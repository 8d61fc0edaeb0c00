"""A sequential model of one occurrence, written from SPEC §2 and §4.1-§4.5 alone.

It shares no code with ``store.ledger.fold`` (nor its value readers), so a bug in
the fold cannot hide itself from the checks that stand on this model:

* the history search (``store.audit.history``) asks ``step`` what a single
  sequential ledger would answer to a command decided at an instant;
* the log check (``offers_in_log``) replays a stream's events through it and
  lists the offers SPEC §4.5 derives, to hold against the offers the fold made.

The waiting list is the part worth a second implementation: offers are written
nowhere, so the log alone cannot show that one went to the wrong waiter. Here
time is played out instant by instant (``Scene.play_out``): every hold or offer
due at an instant lapses, then the list is walked once, first fit in join order,
and an offer lapses in its turn and passes on from the moment it lapsed. It is
written for clarity, not speed: each command the search tries copies the
occurrence (fine for the few dozen parties a checked history has), while the log
replay keeps one copy and a little bookkeeping (``Scene.taken`` and two lower
bounds), so ``boxoffice check`` replays 100,000 events with 10,000 waiters in
about a third of the fold's own time.

Instants are whatever the caller's clock is: whole ticks in a recorded history,
aware datetimes in a log; a ttl is then ticks or a ``timedelta``. Only ``<=``,
``==`` and ``+`` are used on them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

#: A command's reply when the occurrence does not exist (UnknownOccurrence).
UNKNOWN_OCCURRENCE = "unknown-occurrence"
#: A command's reply when its request id was used by another command or actor (InvalidInput).
INVALID_REQUEST = "invalid-request-id"

# A member is (actor, state, join, expires, lapse_recorded, seats, checked_in, offered);
# state is "held", "confirmed" or "lapsed". Joins are renumbered 0..n-1 whenever the
# model is frozen, so two runs that reach the same roster reach the same (hashable,
# memoisable) state.
Member = tuple[str, str, int, Any, bool, int, bool, bool]
#: A waiting party: (actor, seats), kept in list (join) order.
Waiting = tuple[str, int]
#: A reply: (status, seat, expires_at, lapsed actors, position on the list, replayed).
Reply = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class Model:
    created: bool = False
    capacity: int = 0
    hold_ttl: Any = None
    offer_ttl: Any = None
    high_water: Any = None  # T: the latest decision instant of a written event
    members: tuple[Member, ...] = ()  # sorted by actor
    waiters: tuple[Waiting, ...] = ()  # in list order
    # SPEC §4.6: (request id, kind, actor, reply) of each write made with an id, sorted
    requests: tuple[tuple[Any, ...], ...] = ()


def reply(
    status: str, seat: int | None = None, expires: Any = None, lapsed: Iterable[str] = (), **kw: Any
) -> Reply:
    return (status, seat, expires, tuple(lapsed), kw.get("position"), kw.get("replayed", False))


class Scene:
    """A working copy of a ``Model``: SPEC's rules as plain steps on dicts and lists."""

    def __init__(self, model: Model) -> None:
        self.created = model.created
        self.capacity = model.capacity
        self.hold_ttl = model.hold_ttl
        self.offer_ttl = model.offer_ttl
        self.members: dict[str, Member] = {m[0]: m for m in model.members}
        self.waiters: dict[str, int] = dict(model.waiters)  # actor: seats, in list order
        self.next_join = 1 + max((m[2] for m in model.members), default=-1)
        self.offers: list[tuple[str, Any]] = []  # (actor, instant) as they are derived
        # Bookkeeping only, so that replaying a long log stays linear (a sold-out house of
        # 90,000 with 10,000 waiters): the seats taken, a lower bound on every held party's
        # expiry and one on every waiting party's size. A bound only skips a scan that
        # would find nothing; when it may be stale, the scan runs and makes it exact.
        self.taken = sum(m[5] for m in model.members if m[1] != "lapsed")
        self.earliest: Any = min((m[3] for m in model.members if _expiring(m)), default=None)
        self.smallest = min(self.waiters.values(), default=None)

    # -- reads ------------------------------------------------------------------------------

    def roster(self) -> list[Member]:
        """Occupying parties in join order."""
        return sorted((m for m in self.members.values() if m[1] != "lapsed"), key=lambda m: m[2])

    def occupied(self) -> int:
        return self.taken

    def _put(self, member: Member) -> None:
        """Seat, change or unseat (``lapsed``) a member, keeping the bookkeeping."""
        old = self.members.get(member[0])
        if old is not None and old[1] != "lapsed":
            self.taken -= old[5]
        if member[1] != "lapsed":
            self.taken += member[5]
        if _expiring(member) and (self.earliest is None or member[3] < self.earliest):
            self.earliest = member[3]
        self.members[member[0]] = member

    def _drop(self, actor: str) -> None:
        old = self.members.pop(actor)
        if old[1] != "lapsed":
            self.taken -= old[5]

    def seat(self, actor: str) -> int | None:
        """The first seat of the actor's block, if it occupies any."""
        first = 1
        for m in self.roster():
            if m[0] == actor:
                return first
            first += m[5]
        return None

    def position(self, actor: str) -> int | None:
        return list(self.waiters).index(actor) + 1 if actor in self.waiters else None

    # -- time --------------------------------------------------------------------------------

    def play_out(self, t: Any) -> None:
        """Every lapse up to ``t`` in time order; after each instant, one walk of the list."""
        if t is None:
            return
        while self.earliest is not None and self.earliest <= t:
            due = [m[3] for m in self.members.values() if _held_until(m, t)]
            if not due:  # the bound was stale (that party left): make it exact
                later = [m[3] for m in self.members.values() if _expiring(m)]
                self.earliest = min(later, default=None)
                return
            instant = min(due)
            for m in list(self.members.values()):
                if m[1] == "held" and m[3] is not None and m[3] == instant:
                    self._put((m[0], "lapsed", m[2], m[3], False, m[5], False, m[7]))
            self.walk(instant)

    def walk(self, at: Any) -> None:
        """Every waiter whose party fits the seats still free is offered them, in list order."""
        free = self.capacity - self.occupied()
        if self.smallest is None or free < self.smallest:
            return  # nobody waiting fits (the bound is at most every waiting party's size)
        ttl = self.offer_ttl if self.offer_ttl is not None else self.hold_ttl
        for actor, seats in list(self.waiters.items()):
            if seats <= free:
                del self.waiters[actor]
                expires = _plus(at, ttl)
                self._put((actor, "held", self.next_join, expires, False, seats, False, True))
                self.next_join += 1
                free -= seats
                self.offers.append((actor, at))
        self.smallest = min(self.waiters.values(), default=None)

    # -- the events' effects (SPEC §2's table, §4.1-§4.5) ---------------------------------

    def occupies(self, actor: str) -> bool:
        m = self.members.get(actor)
        return m is not None and m[1] != "lapsed"

    def join(self, actor: str, held: bool, seats: int, expires: Any) -> None:
        """`booking` / `hold`: a party not seated joins at the end (and leaves the list)."""
        if self.occupies(actor):
            return
        self.waiters.pop(actor, None)
        state, until = ("held", expires) if held else ("confirmed", None)
        self._put((actor, state, self.next_join, until, False, seats, False, False))
        self.next_join += 1

    def wait(self, actor: str, seats: int) -> None:
        if self.occupies(actor) or actor in self.waiters:
            return
        self.waiters[actor] = seats
        self.smallest = seats if self.smallest is None else min(self.smallest, seats)

    def unwait(self, actor: str) -> None:
        self.waiters.pop(actor, None)

    def confirm(self, actor: str) -> None:
        m = self.members.get(actor)
        if m is not None and m[1] == "held":
            self._put((actor, "confirmed", m[2], None, False, m[5], False, False))

    def leave(self, actor: str, *, held_only: bool, fewer: int | None = None) -> None:
        """`release` (held only) or `cancel` (held or confirmed; ``fewer`` shrinks in place)."""
        m = self.members.get(actor)
        if m is None or m[1] == "lapsed" or (held_only and m[1] != "held"):
            return
        if fewer is not None and 1 <= fewer < m[5]:
            self._put((*m[:5], m[5] - fewer, *m[6:]))
        else:
            self._drop(actor)

    def check_in(self, actor: str) -> None:
        m = self.members.get(actor)
        if m is not None and m[1] == "confirmed":
            self._put((*m[:6], True, m[7]))

    def record_lapse(self, actor: str) -> None:
        """`expire`: a held party leaves as lapsed; a lapse not yet recorded is recorded."""
        m = self.members.get(actor)
        if m is not None and m[1] in ("held", "lapsed") and not m[4]:
            self._put((actor, "lapsed", m[2], m[3], True, m[5], False, m[7]))

    def freeze(self, high_water: Any) -> Model:
        """The state as a hashable ``Model``: joins renumbered, recorded lapses out of order."""
        ranked = sorted((m for m in self.members.values() if not m[4]), key=lambda m: m[2])
        rank = {m[0]: i for i, m in enumerate(ranked)}
        members = tuple(
            sorted((m[0], m[1], rank.get(m[0], -1), *m[3:]) for m in self.members.values())
        )
        return Model(
            self.created,
            self.capacity,
            self.hold_ttl,
            self.offer_ttl,
            high_water,
            members,
            tuple(self.waiters.items()),
        )


def _expiring(m: Member) -> bool:
    return m[1] == "held" and m[3] is not None


def _held_until(m: Member, t: Any) -> bool:
    return _expiring(m) and m[3] <= t


def _plus(at: Any, ttl: Any) -> Any:
    if at is None or ttl is None:
        return None
    try:
        return at + ttl
    except OverflowError:  # a log at the calendar's end: never, in effect
        return datetime.max.replace(tzinfo=UTC)


# -- commands (the history search's model) -------------------------------------------------


def step(model: Model, op: Any, t: Any) -> tuple[Reply, Model]:
    """What a sequential ledger answers to ``op`` decided at ``t``, and its state after.

    SPEC §4.6 first: a request id the model has seen written replays that write's
    reply (same command and actor) or is refused; a write made with an id is kept.
    """
    rid = getattr(op, "request_id", None)
    for known, kind, actor, said in model.requests if rid is not None else ():
        if known == rid:
            if (kind, actor) != (op.kind, op.actor):
                return reply(INVALID_REQUEST), model
            return (*said[:5], True), model
    said, after = _step(model, op, t)
    if after is not model:  # a write: the index goes on (``Scene.freeze`` knows none of it)
        made = ((rid, op.kind, op.actor, said),) if rid is not None else ()
        after = replace(after, requests=tuple(sorted((*model.requests, *made), key=str)))
    return said, after


def _step(model: Model, op: Any, t: Any) -> tuple[Reply, Model]:
    """``step`` without the request id (SPEC §2, §4.1-§4.5).

    ``op`` is a ``store.audit.history.Op``. The occurrence is played out to ``t``
    first (lapses and the offers they pass on); a command that writes nothing
    leaves the model as it was, because a decision's clock is not in the log.
    """
    scene = Scene(model)
    if op.kind == "create":
        if model.created:
            return reply("exists"), model
        scene.created, scene.capacity = True, op.value or 0
        scene.hold_ttl, scene.offer_ttl = op.ttl, op.offer_ttl
        return reply("created"), scene.freeze(t)
    if not model.created:
        return reply(UNKNOWN_OCCURRENCE), model
    scene.play_out(t)
    answer = _decide(scene, op, t)
    if answer is None:
        raise ValueError(f"unknown command kind {op.kind!r}")
    said, wrote = answer
    if not wrote:
        return said, model
    scene.walk(t)  # whatever the event freed goes to the waiters first (SPEC §4.5)
    if op.kind == "wait":  # the reply is the walk's: offered if it was, else its place
        actor = op.actor or ""
        seat = scene.seat(actor)
        if seat is not None:
            said = reply("offered", seat, scene.members[actor][3])
        else:
            said = reply("waiting", position=scene.position(actor))
    return said, scene.freeze(t)


def _decide(scene: Scene, op: Any, t: Any) -> tuple[Reply, bool] | None:
    """The reply, and whether an event was written (applied to ``scene`` if so)."""
    actor = op.actor or ""
    kind = op.kind
    member = scene.members.get(actor)
    seat = scene.seat(actor)
    lapsed = member is not None and member[1] == "lapsed"
    if kind == "capacity":
        scene.capacity = op.value or 0
        return reply("capacity-set"), True
    if kind in ("book", "hold", "wait"):
        party = op.seats if op.seats is not None else 1
        if seat is not None:
            assert member is not None
            return reply("already", seat, member[3]), False
        if kind == "wait":
            if scene.position(actor) is not None:
                return reply("already", position=scene.position(actor)), False
            scene.wait(actor, party)
            return reply("waiting"), True  # the walk decides offered or waiting
        if scene.occupied() + party > scene.capacity:
            return reply("full"), False
        at_seat = scene.occupied() + 1
        if kind == "book":
            scene.join(actor, False, party, None)
            return reply("booked", at_seat), True
        expires = _plus(t, op.ttl if op.ttl is not None else scene.hold_ttl)
        scene.join(actor, True, party, expires)
        return reply("held", at_seat, expires), True
    if kind == "unwait":
        if scene.position(actor) is None:
            return reply("not-waiting"), False
        scene.unwait(actor)
        return reply("left"), True
    if kind == "checkin":
        if member is None or seat is None:
            return reply("not-booked"), False
        if member[1] == "held":
            return reply("not-confirmed", seat, member[3]), False
        if member[6]:
            return reply("already-checked-in", seat), False
        scene.check_in(actor)
        return reply("checked-in", seat), True
    if kind == "note":
        if scene.position(actor) is not None:
            return reply("noted", position=scene.position(actor)), True
        if member is None or seat is None:
            return reply("not-booked"), False
        return reply("noted", seat, member[3]), True
    if kind == "confirm":
        if member is None:
            return reply("not-held"), False
        if lapsed:
            scene.record_lapse(actor)
            return reply("expired", None, member[3]), not member[4]
        if member[1] == "confirmed":
            return reply("already-confirmed", seat), False
        scene.confirm(actor)
        return reply("confirmed", seat), True
    if kind in ("release", "cancel"):
        refusal = "not-held" if kind == "release" else "not-booked"
        if member is None or lapsed:
            return reply(refusal), False
        if kind == "release" and member[1] != "held":
            return reply(refusal, seat), False  # confirmed: keeps its seat
        if kind == "cancel" and op.seats is not None and op.seats < member[5]:
            scene.leave(actor, held_only=False, fewer=op.seats)
            return reply("cancelled", seat, member[3]), True
        scene.leave(actor, held_only=kind == "release")
        return reply("released" if kind == "release" else "cancelled"), True
    if kind == "expire":
        lapses = sorted(
            (m for m in scene.members.values() if m[1] == "lapsed" and not m[4]),
            key=lambda m: m[2],
        )
        for m in lapses:
            scene.record_lapse(m[0])
        return reply("expired", lapsed=[m[0] for m in lapses]), bool(lapses)
    return None


# -- the log (the log check's model) --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Offer:
    """An offer SPEC §4.5 derives: to whom, while which event was applied, from when."""

    seq: int
    actor: str
    at: datetime | None


def offers_in_log(events: Iterable[Any]) -> list[Offer]:
    """Replay a stream's events through the model; every offer it derives, in order.

    Each event is applied at T, the latest ``recorded_at`` so far: time is played
    out to T first (lapses, and the offers they pass on), then the event, then one
    walk of the list at T. An offer is attributed to the event being applied.
    One scene is kept across the stream; each event costs a scan of its parties,
    so a stream of n events costs O(n * parties): a checker's price, not a ledger's.
    """
    scene, t, offers = Scene(Model()), None, []
    for event in events:
        meta = event.meta if isinstance(event.meta, dict) else {}
        recorded = _instant(meta.get("recorded_at"))
        if recorded is not None and (t is None or recorded > t):
            t = recorded
        scene.play_out(t)
        _apply(scene, event.type, event.data if isinstance(event.data, dict) else {})
        if scene.waiters:
            scene.walk(t)
        offers += [Offer(event.seq, actor, at) for actor, at in scene.offers]
        scene.offers.clear()
    return offers


def _apply(scene: Scene, kind: str, data: dict[str, Any]) -> None:
    """One event, read as SPEC says (a value the SPEC does not allow reads as its default)."""
    if kind == "created":
        if not scene.created:
            scene.created, scene.capacity = True, _count(data.get("capacity")) or 0
            scene.hold_ttl = _length(data.get("hold_ttl_s"))
            scene.offer_ttl = _length(data.get("offer_ttl_s"))
        return
    if kind == "capacity":
        capacity = _count(data.get("capacity"))
        scene.capacity = scene.capacity if capacity is None else capacity
        return
    if kind == "updated":
        if scene.created and "hold_ttl_s" in data:
            scene.hold_ttl = _length(data["hold_ttl_s"])
        if scene.created and "offer_ttl_s" in data:
            scene.offer_ttl = _length(data["offer_ttl_s"])
        return
    actor = data.get("actor")
    if not isinstance(actor, str):
        return
    seats = data.get("seats")
    party = seats if type(seats) is int and seats >= 1 else 1
    if kind in ("booking", "hold"):
        scene.join(actor, kind == "hold", party, _instant(data.get("expires_at")))
    elif kind == "wait":
        scene.wait(actor, party)
    elif kind == "unwait":
        scene.unwait(actor)
    elif kind == "confirm":
        scene.confirm(actor)
    elif kind in ("release", "cancel"):
        fewer = seats if type(seats) is int else None
        scene.leave(actor, held_only=kind == "release", fewer=fewer if kind == "cancel" else None)
    elif kind == "checkin":
        scene.check_in(actor)
    elif kind == "expire":
        scene.record_lapse(actor)


def _instant(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.isascii():
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None else moment.replace(tzinfo=UTC)


def _count(value: Any) -> int | None:
    return value if type(value) is int and value >= 0 else None


def _length(value: Any) -> timedelta | None:
    """A ttl in seconds: a positive, finite number of at most 100 years (SPEC §4.4)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value) or not 0 < value <= 36525 * 86400:
        return None
    return timedelta(seconds=value)


__all__ = ["UNKNOWN_OCCURRENCE", "Model", "Offer", "Scene", "offers_in_log", "step"]
