"""The fixtures every fault-harness suite shares: its racer processes and its printed seed."""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator

import pytest

from store.racers.pool import SwarmPool


def racer_pool() -> Callable[..., Iterator[SwarmPool]]:
    """A module-scoped ``pool`` fixture: spawned racers kept across a module's runs."""

    @pytest.fixture(scope="module")
    def pool() -> Iterator[SwarmPool]:
        racers = SwarmPool()
        try:
            yield racers
        finally:
            racers.close()

    return pool


def printed_seed(suite: str) -> Callable[[], int]:
    """A module-scoped ``base_seed`` fixture: random, printed, ``BOXOFFICE_FAULT_SEED`` replays."""

    @pytest.fixture(scope="module")
    def base_seed() -> int:
        seed = int(os.environ.get("BOXOFFICE_FAULT_SEED", random.randrange(2**32)))
        print(f"\n{suite} seed {seed} (replay: BOXOFFICE_FAULT_SEED={seed})")
        return seed

    return base_seed
