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

    def churn_choice(self, racer: int) -> str | None:
        """``"confirm"`` or ``"release"`` for a winner under churn, else None."""
        if not self.churn:
            return None
        return random.Random(f"{self.seed}:churn:{racer}").choice(("confirm", "release"))


def new_seed() -> int:
    return secrets.randbits(32)
