"""The seeded plan of a run.

Validated when made, so a bad request fails before any process starts; seeded,
so the same seed names the same actors, placement, order and churn choices again.
"""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass

from store.ledger.rules import InvalidInput
from store.ledger.rules import occurrence_key as _valid_key
from store.ledger.rules import text as _valid_text

MAX_RACERS = 10_000
MAX_PROCESSES = 64
#: "ours": boxoffice's one-snapshot decision; "seed": the seed's two reads (UNSAFE, demo only).
ALGORITHMS = ("ours", "seed")
#: "terminals": each racer its own store and ledger; "processes": one ledger per process,
#: shared by its racers (the ledger's group commit batches their holds).
SHAPES = ("terminals", "processes")
#: The slow-motion paces offered (1 is full speed; 1/16 lets a room follow 200 racers).
PACES = (1.0, 0.25, 0.0625)
#: At pace p a racer thinks uniform(0, THINK_S * (1/p - 1)) seconds before each attempt.
THINK_S = 0.1


@dataclass(frozen=True, slots=True)
class RacePlan:
    """Everything that decides a run; the seed fixes actors, placement, order and churn."""

    store_url: str
    occurrence: str
    racers: int
    processes: int
    seed: int
    churn: bool = False
    operator: str = "racer"
    deadline: float = 60.0  # a racer still conflicting after this long gives up
    hold_ttl_s: float = 600.0  # every racer hold lapses after this long (never a forever hold)
    algorithm: str = "ours"
    shape: str = "terminals"
    pace: float = 1.0  # 1 full speed; below 1, racers think between attempts (slow motion)
    # waiting-list churn (SPEC §4.5): a racer told full joins the waiting list and confirms
    # the seat it is offered; each winner confirms or cancels, so seats free up for waiters
    waitlist: bool = False

    def __post_init__(self) -> None:
        _valid_key(self.occurrence, "occurrence")
        _valid_text(self.operator, "operator")
        for name, value, top in (
            ("racers", self.racers, MAX_RACERS),
            ("processes", self.processes, MAX_PROCESSES),
        ):
            if type(value) is not int or not 1 <= value <= top:
                raise InvalidInput(name, f"must be a whole number from 1 to {top:,}, not {value!r}")
        if type(self.seed) is not int or self.seed < 0:
            raise InvalidInput("seed", f"must be a whole number, 0 or more (got {self.seed!r})")
        if not self.deadline > 0:
            raise InvalidInput("deadline", "must be a positive number of seconds")
        if self.algorithm not in ALGORITHMS:
            raise InvalidInput("algorithm", f"must be one of {', '.join(ALGORITHMS)}")
        if self.shape not in SHAPES:
            raise InvalidInput("shape", f"must be one of {', '.join(SHAPES)}")
        if self.algorithm == "seed" and self.shape != "terminals":
            raise InvalidInput("shape", "the seed's algorithm races as terminals only")
        if self.waitlist and self.algorithm == "seed":
            raise InvalidInput("waitlist", "the seed's algorithm has no waiting list")
        if not 1 / 64 <= self.pace <= 1:
            raise InvalidInput("pace", "must be from 1/64 (slowest) to 1 (full speed)")
        if not 0 < self.hold_ttl_s <= 86_400:
            raise InvalidInput("hold_ttl", "must be a positive number of seconds, at most a day")

    @property
    def workers(self) -> int:
        """Processes actually started: never more than there are racers."""
        return min(self.processes, self.racers)

    def actor(self, racer: int) -> str:
        """The racer's name: the same seed names the same actors, another seed others."""
        return f"racer-{self.seed:x}-{racer:04d}"

    def placement(self) -> list[list[int]]:
        """Racer numbers per process, in launch order (a seeded shuffle, dealt round-robin)."""
        order = list(range(self.racers))
        random.Random(f"{self.seed}:order").shuffle(order)
        return [order[p :: self.workers] for p in range(self.workers)]

    @property
    def think_s(self) -> float:
        """The most a racer thinks before each attempt: 0 at full speed, more as pace slows."""
        return THINK_S * (1 / self.pace - 1)

    def churn_choice(self, racer: int) -> str | None:
        """``"confirm"`` or ``"release"`` for a winner under churn (``"confirm"`` or
        ``"cancel"`` with the waiting list, whose waiters the cancels serve), else None."""
        choices = ("confirm", "cancel") if self.waitlist else ("confirm", "release")
        if not self.churn and not self.waitlist:
            return None
        return random.Random(f"{self.seed}:churn:{racer}").choice(choices)


def new_seed() -> int:
    return secrets.randbits(32)
