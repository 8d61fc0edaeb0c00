"""The racers panel's settings: read from the form, checked, before anything starts.

A bad setting is one line under the form and starts nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from store.racers.plan import PACES

NEW = "\x00new-demo"  # the Select value for "create a fresh demo occurrence" (never a key)
MAX_PANEL_RACERS = 1000
MAX_PANEL_PROCESSES = 8


def pace_label(pace: float) -> str:
    """``1×``, ``1/4×``, ``1/16×``."""
    return f"{Fraction(pace).limit_denominator(64)}×"


PACE_OPTIONS = [(pace_label(p), p) for p in PACES]


def next_pace(pace: float) -> float:
    """The next slower pace, back to full speed after the slowest."""
    index = PACES.index(pace) if pace in PACES else -1
    return PACES[(index + 1) % len(PACES)]


@dataclass(frozen=True, slots=True)
class RaceSetup:
    """What the form asked for, already checked."""

    key: str | None  # None: create a fresh demo occurrence
    capacity: int | None
    real: bool  # the chosen occurrence is a real show (not a demo): ask before racing
    racers: int
    processes: int
    churn: bool
    pace: float = 1.0
    shape: str = "terminals"  # or "processes": one ledger per process (store.racers.plan)


class SetupError(ValueError):
    pass


def whole(text: str, field: str, low: int, high: int) -> int:
    """A whole number from ``low`` to ``high`` typed in ``field``, else ``SetupError``."""
    value = text.strip()
    if not value.isdigit() or not value.isascii() or not low <= int(value) <= high:
        raise SetupError(f"{field}: a whole number from {low:,} to {high:,}")
    return int(value)
