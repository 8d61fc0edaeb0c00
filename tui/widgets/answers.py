"""The ledger's answers in the words a box-office operator reads at a glance.

The status word alone ("full") is for scripts; at the window the operator
needs the reason and the number: "Full: capacity 40", "Already holds seat 12".
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from store.ledger.outcomes import Outcome, Status
from tui.cli.safe_text import printable
from tui.widgets.timefmt import local


def _who(outcome: Outcome) -> str:
    return printable(outcome.actor) if outcome.actor is not None else "?"


def _until(moment: datetime | None, tz: tzinfo | None) -> str:
    return f" until {local(moment, tz):%H:%M:%S}" if moment is not None else ""


def answer(outcome: Outcome, tz: tzinfo | None = None) -> str:
    """One line that says what the command did (or why it did nothing).

    A replay (SPEC §4.6) says so: the write is the same request's earlier one.
    """
    said = _words(outcome, tz)
    return f"{said} (already written by this request)" if outcome.replayed else said


def _words(outcome: Outcome, tz: tzinfo | None) -> str:
    who, seat = _who(outcome), outcome.seat
    match outcome.status:
        case Status.CREATED:
            return f"Created: capacity {outcome.capacity}"
        case Status.EXISTS:
            return f"Exists already: capacity {outcome.capacity}"
        case Status.CAPACITY_SET:
            return f"Capacity set to {outcome.capacity}"
        case Status.BOOKED:
            return f"Booked: seat {seat} for {who}"
        case Status.HELD:
            return f"Held: seat {seat} for {who}{_until(outcome.expires_at, tz)}"
        case Status.ALREADY if seat is None and outcome.position is not None:
            return f"Already waiting: {who} is number {outcome.position} on the list"
        case Status.ALREADY:
            return f"Already holds seat {seat}: {who}"
        case Status.FULL:
            return f"Full: capacity {outcome.capacity}"
        case Status.CONFIRMED:
            return f"Confirmed: seat {seat} for {who}"
        case Status.ALREADY_CONFIRMED:
            return f"Already confirmed: seat {seat} for {who}"
        case Status.NOT_HELD:
            return f"Not held: {who} has no hold to act on"
        case Status.EXPIRED:
            return f"Hold lapsed: not confirmed ({who})"
        case Status.RELEASED:
            return f"Released: {who}'s hold; the seat is free again"
        case Status.CANCELLED:
            return f"Cancelled: {who}'s seat; it is free again"
        case Status.NOT_BOOKED:
            return f"Not booked: {who} has no seat"
        case Status.ARCHIVED:
            return "Archived: off the lists, closed for booking (restore with a again)"
        case Status.ALREADY_ARCHIVED:
            return "Already archived"
        case Status.RESTORED:
            return "Restored: back on the lists and open for booking"
        case Status.NOT_ARCHIVED:
            return "Not archived: nothing to restore"
        case Status.CLOSED:
            return "Closed: this occurrence is archived (restore it first)"
        case Status.WAITING:
            return f"Waiting: {who} is number {outcome.position} on the list"
        case Status.OFFERED:
            size = outcome.seats or 1
            seats = f"seats {seat}-{(seat or 0) + size - 1}" if size > 1 else f"seat {seat}"
            return f"Offered at once: {seats} free for {who}{_until(outcome.expires_at, tz)}"
        case Status.LEFT:
            return f"Left the waiting list: {who}"
        case Status.NOT_WAITING:
            return f"Not waiting: {who} is not on the list (an offer is declined with release)"
        case Status.CONFLICT:
            if outcome.reason:  # who held it, as the ledger learnt it (issue 12 row 9)
                return f"Busy: {printable(outcome.reason)}; nothing written, try again"
            return (
                "Busy: other writers or a locked database held it past the deadline; "
                "nothing written, try again"
            )
    return f"{outcome.status}: {who}"


def expired_answer(outcomes: list[Outcome]) -> str:
    """What ``expire lapsed holds`` recorded."""
    if not outcomes:
        return "No lapsed holds to expire"
    names = ", ".join(_who(o) for o in outcomes[:5])
    more = f" and {len(outcomes) - 5} more" if len(outcomes) > 5 else ""
    plural = "hold" if len(outcomes) == 1 else "holds"
    return f"Expired {len(outcomes)} lapsed {plural}: {names}{more}"
