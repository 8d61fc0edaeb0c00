"""Request ids (SPEC §4.6): a retried command never acts twice.

A client that was killed after its command committed cannot know it did; it
retries with the same request id. Each event a command writes carries, in its
``meta["request"]``, the id, the command's name and actor, and the answer the
command gave. The fold indexes those per stream (``RequestIndex``), one entry
per request, so the check costs the same on the 10th event as on the 100,000th;
a retry is then answered from the log alone, as the answer was when written,
without deciding again. A command that wrote nothing leaves nothing to replay.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from store.ledger.log_values import parse_time
from store.ledger.outcomes import Outcome, Status
from store.ledger.rules import REQUEST_ID_PATTERN, InvalidInput, request_id

#: Commands that answer with a list of outcomes, one per event written.
MANY = frozenset({"expire_holds"})
_WORDS = frozenset(str(s) for s in Status)
_NUMBERS = ("seat", "seats", "ref", "capacity", "position", "seats_left")


@dataclass(frozen=True, slots=True)
class Request:
    """What a command was asked as: its id, its name and its actor (None for an occurrence)."""

    id: str
    command: str
    actor: str | None


@dataclass(frozen=True, slots=True)
class Written:
    """A request's write as the log holds it: its events' seqs and the answers given.

    The answers are kept as recorded and read only on a replay: a fold of a long
    log then pays a few type checks per event, not a date parse and an ``Outcome``.
    """

    command: str
    actor: str | None
    first: int
    last: int
    answers: tuple[dict[str, Any], ...]


def request_of(rid: str | None, command: str, actor: str | None) -> Request | None:
    """The request a command was asked as (SPEC §4.6), or None without an id.

    A bad id raises ``InvalidInput`` before anything is queued.
    """
    checked = request_id(rid)
    return Request(checked, command, actor) if checked is not None else None


def request_meta(request: Request, answer: Outcome) -> dict[str, Any]:
    """The ``meta["request"]`` value of an event written for ``request``."""
    recorded: dict[str, Any] = {"status": str(answer.status)}
    if answer.actor is not None and answer.actor != request.actor:
        recorded["actor"] = answer.actor  # an occurrence command's answer about a party
    for name in _NUMBERS:
        value = getattr(answer, name)
        if value is not None:
            recorded[name] = value
    if answer.expires_at is not None:
        recorded["expires_at"] = answer.expires_at.isoformat()
    return {
        "id": request.id,
        "command": request.command,
        "actor": request.actor,
        "answer": recorded,
    }


def _whole(value: object) -> int | None:
    return value if type(value) is int and value >= 0 else None


def read_request(meta: object) -> tuple[Request, dict[str, Any]] | None:
    """The request and its recorded answer in an event's meta; None for anything else (total)."""
    # runs for every event a fold applies: plain lookups, no generator, the cheapest test first
    entry = meta.get("request") if type(meta) is dict else None
    if type(entry) is not dict:
        return None
    rid, command, actor = entry.get("id"), entry.get("command"), entry.get("actor")
    answer = entry.get("answer")
    if type(rid) is not str or len(rid) > 64 or not REQUEST_ID_PATTERN.fullmatch(rid):
        return None
    if type(command) is not str or not (actor is None or type(actor) is str):
        return None
    if type(answer) is not dict or answer.get("status") not in _WORDS:
        return None
    return Request(rid, command, actor), answer


def answer_of(answer: dict[str, Any], actor: str | None) -> Outcome:
    """A recorded answer (status already checked by ``read_request``) as the Outcome it was."""
    expires: datetime | None = parse_time(answer.get("expires_at"))
    number = {name: _whole(answer.get(name)) for name in _NUMBERS}
    who = answer.get("actor")
    return Outcome(
        Status(answer["status"]),
        who if isinstance(who, str) else actor,
        seat=number["seat"],
        capacity=number["capacity"],
        expires_at=expires,
        seats=number["seats"],
        ref=number["ref"],
        position=number["position"],
        seats_left=number["seats_left"],
    )


class RequestIndex:
    """Per stream: request id -> its write. The first write of an id wins; a later event
    with the same id continues it only when it directly follows (one command's events)."""

    def __init__(self) -> None:
        self.written: dict[str, Written] = {}

    def note(self, seq: int, meta: object) -> tuple[str, Written | None] | None:
        """Index the event at ``seq``; returns (id, what it replaced) for a journal, or None."""
        found = read_request(meta)
        if found is None:
            return None
        request, answer = found
        old = self.written.get(request.id)
        if old is None:
            self.written[request.id] = Written(request.command, request.actor, seq, seq, (answer,))
        elif old.last == seq - 1 and (old.command, old.actor) == (request.command, request.actor):
            self.written[request.id] = replace(old, last=seq, answers=(*old.answers, answer))
        else:
            return None
        return request.id, old

    def undo(self, rid: str, old: Written | None) -> None:
        if old is None:
            self.written.pop(rid, None)
        else:
            self.written[rid] = old

    def canonical(self) -> tuple[Any, ...]:
        return tuple(
            (rid, w.command, w.actor, w.first, w.last, w.answers)
            for rid, w in sorted(self.written.items())
        )

    def replay(self, request: Request) -> Outcome | list[Outcome] | None:
        """The original answer when ``request.id`` was written here, else None.

        Raises:
            InvalidInput: the id was written by another command or for another actor.
        """
        written = self.written.get(request.id)
        if written is None:
            return None
        if (written.command, written.actor) != (request.command, request.actor):
            who = f" for {written.actor!r}" if written.actor is not None else ""
            raise InvalidInput(
                "request_id",
                f"{request.id!r} was already used by {written.command}{who} (seq {written.first})",
            )
        answers = [replace(answer_of(a, written.actor), replayed=True) for a in written.answers]
        return answers if request.command in MANY else answers[0]
