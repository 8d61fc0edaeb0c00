"""The parent's view of the racers, kept event by event.

A live view redraws from these counts as the events arrive.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from store.racers.events import Kind, RacerEvent
from store.racers.plan import RacePlan


@dataclass(slots=True)
class RacerRecord:
    """One racer as the parent has heard of it so far."""

    racer: int
    actor: str
    process: int
    state: str = "waiting"  # waiting, retrying, then the deciding Kind, confirmed or released
    attempts: int = 0
    conflicts: int = 0
    retries: int = 0
    seat: int | None = None
    seq: int | None = None  # the seq of its hold
    churn: str | None = None  # "confirmed", "released" or the ledger's other answer
    churn_attempts: int = 0
    detail: str | None = None
    tries: list[Try] = field(default_factory=list)  # every attempt, as the racer saw it
    waited: bool = False  # it joined the waiting list (told full, ``RacePlan.waitlist``)
    offered: bool = False  # the fold offered it seats; ``seq`` is then its `wait` event's


@dataclass(slots=True)
class Try:
    """One attempt of one racer: the seq it decided on, and what became of it."""

    attempt: int
    expected: int | None  # the seq its snapshot had
    outcome: str = "pending"  # conflict, held, full, already, ...
    actual: int | None = None  # the stream's seq when a conflict refused it


@dataclass(slots=True)
class Tally:
    """Running counts of a race, updated event by event (what a live view shows)."""

    racers: list[RacerRecord]
    attempts: int = 0
    conflicts: int = 0
    retries: int = 0
    held: int = 0
    full: int = 0
    already: int = 0
    gave_up: int = 0
    errors: int = 0
    confirmed: int = 0
    released: int = 0
    churn_retries: int = 0
    busy: int = 0  # retries because the database stayed locked past its busy timeout
    cancelled: int = 0  # winners who cancelled, freeing seats for the waiting list
    waits: int = 0  # racers who joined the waiting list
    offers: int = 0  # of them, those the fold offered seats
    offers_confirmed: int = 0  # of them, those who confirmed their offer
    left: int = 0  # waiters who left the list unoffered
    last_hold_at: float | None = None  # RacerEvent.at of the latest hold
    last_conflict: RacerEvent | None = None  # for a caption of what a conflict is

    @classmethod
    def for_plan(cls, plan: RacePlan) -> Tally:
        records = [RacerRecord(i, plan.actor(i), -1) for i in range(plan.racers)]
        for process, racers in enumerate(plan.placement()):
            for i in racers:
                records[i].process = process
        return cls(records)

    @property
    def decided(self) -> int:
        return self.held + self.full + self.already + self.gave_up + self.errors

    @property
    def max_retries(self) -> int:
        return max((r.retries for r in self.racers), default=0)

    def apply(self, event: RacerEvent) -> RacerRecord:
        record = self.racers[event.racer]
        kind = event.kind
        if kind is Kind.ATTEMPT:
            self.attempts += 1
            record.attempts = event.attempt
            record.tries.append(Try(event.attempt, event.expected))
        elif kind is Kind.CONFLICT:
            self.conflicts += 1
            record.conflicts += 1
            if record.tries:
                record.tries[-1].outcome, record.tries[-1].actual = "conflict", event.actual
            if event.expected is not None:
                self.last_conflict = event
        elif kind is Kind.RETRY:
            self.retries += 1
            record.retries += 1
            record.state = "retrying"
            if event.detail is not None and event.detail.startswith("busy"):
                self.busy += 1
        elif kind in (Kind.WAIT_LISTED, Kind.OFFERED, Kind.LEFT) or (
            record.waited and kind in (Kind.CONFIRMED, Kind.ERROR)
        ):
            self._waiting_list(record, event)
        elif kind in (Kind.CONFIRMED, Kind.RELEASED, Kind.CANCELLED) or (
            kind is Kind.ERROR and record.state == str(Kind.HELD)
        ):
            record.churn = event.detail or str(kind)
            record.churn_attempts = event.attempt
            self.churn_retries += max(0, event.attempt - 1)
            if kind is Kind.CONFIRMED:
                self.confirmed += 1
                record.state = str(kind)
            elif kind is Kind.RELEASED:
                self.released += 1
                record.state = str(kind)
                record.seat = None
            elif kind is Kind.CANCELLED:
                self.cancelled += 1
                record.state = str(kind)
                record.seat = None
            else:
                self.errors += 1
                record.detail = event.detail
        else:
            if record.tries and record.tries[-1].outcome == "pending":
                record.tries[-1].outcome = str(kind)
            record.state = str(kind)
            record.seat = event.seat
            record.seq = event.seq
            record.detail = event.detail
            if kind is Kind.HELD:
                self.held += 1
                self.last_hold_at = max(event.at, self.last_hold_at or event.at)
            elif kind is Kind.FULL:
                self.full += 1
            elif kind is Kind.ALREADY:
                self.already += 1
            elif kind is Kind.GAVE_UP:
                self.gave_up += 1
            else:
                self.errors += 1
        return record

    def _waiting_list(self, record: RacerRecord, event: RacerEvent) -> None:
        """A racer told full, on the waiting list: joined, offered, confirmed or left."""
        kind = event.kind
        if not record.waited:
            record.waited = True
            self.waits += 1
        if kind is Kind.OFFERED:
            self.offers += 1
            record.offered = True
            record.seat, record.seq = event.seat, event.seq
        elif kind is Kind.CONFIRMED:
            self.offers_confirmed += 1
            record.churn, record.churn_attempts = str(kind), event.attempt
        elif kind is Kind.LEFT:
            self.left += 1
        elif kind is Kind.ERROR:
            self.errors += 1
            record.detail = event.detail
            return
        record.state = str(kind)
        record.detail = event.detail
