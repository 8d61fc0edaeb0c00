"""A ledger ``Outcome`` as a line for people or a JSON object for scripts, and its exit code.

Exit 0 only when the ledger did what was asked (``Outcome.ok``: it wrote the
event); every other answer (``already``, ``exists``, ``full``, ``not-held``,
``expired``, ``conflict``...) is exit 1, so ``boxoffice hold K A && pay`` never
pays for a seat the script did not just get. The status word is printed first
either way, for scripts that accept ``already``.
"""

from __future__ import annotations

from typing import Any

from store.booking import Outcome

__all__ = ["Outcome", "outcome_json", "outcome_text", "report", "seat_range"]
from tui.cli.commands.common import EXIT_OK, EXIT_REFUSED, Options
from tui.cli.output import cell, emit_json, line

#: Said after a replayed answer (SPEC §4.6): the write is the earlier run's, not this one's.
REPLAYED = " (replayed: already written by this request)"


def outcome_json(key: str, outcome: Outcome) -> dict[str, Any]:
    return {
        "status": str(outcome.status),
        "ok": outcome.ok,
        "key": key,
        "actor": outcome.actor,
        "seat": outcome.seat,
        "seats": outcome.seats,
        "ref": outcome.ref,
        "capacity": outcome.capacity,
        "seats_left": outcome.seats_left,
        "position": outcome.position,
        "expires_at": outcome.expires_at.isoformat() if outcome.expires_at else None,
        "actual": outcome.actual,
        "attempts": outcome.attempts,
        "reason": outcome.reason,
        "replayed": outcome.replayed,
    }


def seat_range(seat: int, seats: int) -> str:
    """A party's block as people read it: ``5-8``, or ``5`` for one seat."""
    return f"{seat}-{seat + seats - 1}" if seats > 1 else str(seat)


def seat_words(seat: int, seats: int) -> str:
    return f"seats {seat_range(seat, seats)}" if seats > 1 else f"seat {seat}"


def outcome_text(key: str, outcome: Outcome) -> str:
    """``booked hamlet: alice, seat 3``; the status word always comes first."""
    details = []
    if outcome.actor is not None:
        details.append(cell(outcome.actor))
    if outcome.seat is not None:
        details.append(seat_words(outcome.seat, outcome.seats or 1))
    if outcome.ref is not None:
        details.append(f"ref #{outcome.ref}")
    if outcome.position is not None:
        details.append(f"place {outcome.position} in the waiting list")
    if outcome.capacity is not None:
        details.append(f"capacity {outcome.capacity}")
    if outcome.seats_left is not None:
        details.append(f"{outcome.seats_left} left")
    if outcome.expires_at is not None:
        details.append(f"expires {cell(outcome.expires_at)}")
    if outcome.actual is not None:
        details.append(f"stream moved to seq {outcome.actual}")
    if outcome.reason is not None:
        details.append(cell(outcome.reason))
    text = f"{outcome.status} {key}"
    text = f"{text}: {', '.join(details)}" if details else text
    return text + REPLAYED if outcome.replayed else text


def report(opts: Options, key: str, outcome: Outcome) -> int:
    if opts.json:
        emit_json(outcome_json(key, outcome))
    else:
        line(outcome_text(key, outcome))
    return EXIT_OK if outcome.ok else EXIT_REFUSED
