"""SPEC §4.4: looking after occurrences (demo marks, updates, archive and restore)."""

from __future__ import annotations

import pytest

from store.booking import InvalidInput, Ledger, Status
from store.ledger.fold import stream_of

KEY = "hamlet"


async def test_a_demo_occurrence_carries_demo_true_in_its_created_data(ledger: Ledger) -> None:
    await ledger.create_occurrence("racers-1", capacity=5, demo=True)
    (created,) = await ledger.events("racers-1")
    assert created.data["demo"] is True
    assert (await ledger.occurrence("racers-1")).demo is True


async def test_a_real_occurrence_writes_no_demo_field_and_is_not_demo(ledger: Ledger) -> None:
    await ledger.create_occurrence(KEY, capacity=5)
    (created,) = await ledger.events(KEY)
    assert "demo" not in created.data  # exactly the §2 shape
    assert (await ledger.occurrence(KEY)).demo is False
    assert [r.demo for r in await ledger.occurrences()] == [False]


async def test_demo_must_be_a_bool_and_nothing_is_written(ledger: Ledger) -> None:
    with pytest.raises(InvalidInput, match=r"^demo: "):
        await ledger.create_occurrence(KEY, capacity=5, demo="yes")  # type: ignore[arg-type]
    assert await ledger.store.last_seq(stream_of(KEY)) == 0


async def test_only_a_literal_true_in_the_log_makes_a_demo(ledger: Ledger) -> None:
    """A tampered `demo: "false"` (truthy text) must not hide a real show from the racers' guard."""
    await ledger.store.append(stream_of(KEY), "created", {"capacity": 2, "demo": "false"})
    assert (await ledger.occurrence(KEY)).demo is False
    outcome = await ledger.book(KEY, "ada")
    assert outcome.status is Status.BOOKED
