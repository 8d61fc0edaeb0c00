"""Why a race could not be set up or run."""

from __future__ import annotations


class RaceError(Exception):
    """The race could not be set up or run; the message is one line for a person."""


class CapacityMismatch(RaceError):
    """The occurrence exists with another capacity than the one asked for."""


class RealOccurrence(RaceError):
    """The occurrence is a real show (not ``demo``) and nobody said to race on it anyway."""
