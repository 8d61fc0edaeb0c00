"""A finished (or stopped) run: what the command line prints, the panel shows, --json gives."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from store.audit.verify import Verdict
from store.racers.plan import RacePlan
from store.racers.tally import Tally


@dataclass(slots=True)
class RaceSummary:
    """A finished (or stopped) run: its plan, its counts and what the stream says."""

    plan: RacePlan
    tally: Tally
    verdict: Verdict
    elapsed: float
    start_seq: int
    stores: int
    stopped: bool = False
    errors: list[str] = field(default_factory=list)
    started_at: float | None = None  # time.monotonic() of the start signal

    @property
    def ok(self) -> bool:
        return self.verdict.ok and not self.errors

    @property
    def holds_per_s(self) -> float:
        """Holds over the whole run, the stragglers who then found it full included."""
        return self.tally.held / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def last_hold_s(self) -> float | None:
        """Seconds from the start signal to the last hold (the sell-out, when it sold out)."""
        if self.tally.last_hold_at is None or self.started_at is None:
            return None
        return max(0.0, self.tally.last_hold_at - self.started_at)

    @property
    def oversold_seqs(self) -> list[int]:
        """The seqs of the acquisitions that found the house already full."""
        report = self.verdict.report
        return [v.seq for v in report.violations if v.problem.startswith("oversold")]

    def to_json(self) -> dict[str, Any]:
        t = self.tally
        return {
            "occurrence": self.plan.occurrence,
            "seed": self.plan.seed,
            "algorithm": self.plan.algorithm,
            "shape": self.plan.shape,
            "pace": self.plan.pace,
            "start_seq": self.start_seq,
            "racer_count": self.plan.racers,
            "processes": self.plan.workers,
            "stores": self.stores,
            "churn": self.plan.churn,
            "waitlist": self.plan.waitlist,
            "elapsed_s": round(self.elapsed, 3),
            "stopped": self.stopped,
            "errors": self.errors,
            "totals": {
                "attempts": t.attempts,
                "conflicts": t.conflicts,
                "retries": t.retries,
                "max_retries": t.max_retries,
                "held": t.held,
                "full": t.full,
                "already": t.already,
                "gave_up": t.gave_up,
                "errors": t.errors,
                "confirmed": t.confirmed,
                "released": t.released,
                "churn_retries": t.churn_retries,
                "cancelled": t.cancelled,
                "waits": t.waits,
                "offers": t.offers,
                "offers_confirmed": t.offers_confirmed,
                "left": t.left,
                "busy_retries": t.busy,
                "holds_per_s": round(self.holds_per_s, 1),
                "last_hold_s": None if self.last_hold_s is None else round(self.last_hold_s, 3),
            },
            "invariants": {
                "ok": self.verdict.ok,
                "line": self.verdict.line(),
                "capacity": self.verdict.capacity,
                "occupied": self.verdict.occupied,
                "oversold": self.verdict.oversold,
                "first_offending_seq": self.verdict.first_seq,
                "oversold_seqs": self.oversold_seqs,
                "checks": [asdict(i) for i in self.verdict.invariants],
            },
            "racers": [
                {
                    "racer": r.racer,
                    "actor": r.actor,
                    "process": r.process,
                    "outcome": r.state,
                    "attempts": r.attempts,
                    "conflicts": r.conflicts,
                    "retries": r.retries,
                    "seat": r.seat,
                    "seq": r.seq,
                    "churn": r.churn,
                    "churn_attempts": r.churn_attempts,
                    "detail": r.detail,
                }
                for r in t.racers
            ],
        }
