"""SPEC §4.4: looking after occurrences (demo marks, updates, archive and restore)."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from store.booking import InvalidInput, Ledger, Status, UnknownOccurrence
from store.ledger.fold import stream_of

if TYPE_CHECKING:
    from support.clock import ManualClock as Clock

KEY = "hamlet"
HOUR = timedelta(hours=1)


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


# -- update_occurrence ---------------------------------------------------------------------


async def test_update_changes_only_the_fields_given(ledger: Ledger) -> None:
    await ledger.create_occurrence(
        KEY, capacity=5, title="Hamlet", starts_at="2026-12-01T19:30+01:00", hold_ttl=HOUR
    )
    outcome = await ledger.update_occurrence(KEY, title="Hamlet (matinee)")
    assert outcome.status is Status.UPDATED and outcome.ok
    assert (await ledger.events(KEY))[-1].type == "updated"
    assert (await ledger.events(KEY))[-1].data == {"title": "Hamlet (matinee)"}
    rec = await ledger.occurrence(KEY)
    assert (rec.title, rec.starts_at, rec.hold_ttl) == (
        "Hamlet (matinee)",
        "2026-12-01T19:30:00+01:00",
        HOUR,
    )


async def test_update_writes_every_field_under_its_created_name_and_null_clears(
    ledger: Ledger,
) -> None:
    await ledger.create_occurrence(KEY, capacity=5, title="Hamlet", hold_ttl=HOUR)
    await ledger.update_occurrence(
        KEY,
        title=None,
        starts_at="2026-12-02T14:00+00:00",
        hold_ttl=None,
        offer_ttl=timedelta(minutes=20),
    )
    assert (await ledger.events(KEY))[-1].data == {
        "title": None,
        "starts_at": "2026-12-02T14:00:00+00:00",
        "hold_ttl_s": None,
        "offer_ttl_s": 1200.0,
    }
    rec = await ledger.occurrence(KEY)
    assert rec.title is None and rec.hold_ttl is None
    assert rec.offer_ttl == timedelta(minutes=20)
    assert rec.starts_at == "2026-12-02T14:00:00+00:00"


async def test_a_new_hold_length_applies_to_the_next_hold(ledger: Ledger, clock: Clock) -> None:
    await ledger.create_occurrence(KEY, capacity=5, hold_ttl=HOUR)
    await ledger.update_occurrence(KEY, hold_ttl=timedelta(minutes=5))
    outcome = await ledger.hold(KEY, "ada")
    assert outcome.expires_at == clock.now + timedelta(minutes=5)
    assert await ledger.matches_full_fold(KEY)


async def test_update_with_no_field_is_invalid_and_writes_nothing(ledger: Ledger) -> None:
    await ledger.create_occurrence(KEY, capacity=5)
    with pytest.raises(InvalidInput, match="at least one"):
        await ledger.update_occurrence(KEY)
    assert await ledger.store.last_seq(stream_of(KEY)) == 1


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": ""}, "title"),
        ({"title": "a\x1b[2Jb"}, "title"),
        ({"starts_at": "tomorrow"}, "starts_at"),
        ({"hold_ttl": timedelta(0)}, "hold_ttl"),
        ({"offer_ttl": timedelta(days=36526)}, "offer_ttl"),
        ({"hold_ttl": 60}, "hold_ttl"),
    ],
)
async def test_update_refuses_bad_fields_by_name(
    ledger: Ledger, fields: dict[str, object], field: str
) -> None:
    await ledger.create_occurrence(KEY, capacity=5)
    with pytest.raises(InvalidInput) as caught:
        await ledger.update_occurrence(KEY, **fields)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert await ledger.store.last_seq(stream_of(KEY)) == 1


async def test_update_of_an_unknown_occurrence_raises(ledger: Ledger) -> None:
    with pytest.raises(UnknownOccurrence):
        await ledger.update_occurrence("nowhere", title="x")


# -- archive and restore -------------------------------------------------------------------


async def test_archive_and_restore_answer_and_write_events_without_data(ledger: Ledger) -> None:
    await ledger.create_occurrence(KEY, capacity=5)
    assert (await ledger.restore(KEY)).status is Status.NOT_ARCHIVED
    archived = await ledger.archive(KEY)
    assert archived.status is Status.ARCHIVED and archived.ok
    again = await ledger.archive(KEY)
    assert again.status is Status.ALREADY_ARCHIVED and not again.ok
    assert (await ledger.occurrence(KEY)).archived is True
    restored = await ledger.restore(KEY)
    assert restored.status is Status.RESTORED and restored.ok
    assert (await ledger.restore(KEY)).status is Status.NOT_ARCHIVED
    events = await ledger.events(KEY)
    assert [(e.type, e.data) for e in events[1:]] == [("archived", {}), ("restored", {})]
    assert (await ledger.occurrence(KEY)).archived is False
    assert await ledger.matches_full_fold(KEY)


async def test_occurrences_leaves_archived_ones_out_unless_asked(ledger: Ledger) -> None:
    await ledger.create_occurrence("a", capacity=1)
    await ledger.create_occurrence("b", capacity=1)
    await ledger.archive("a")
    assert [r.key for r in await ledger.occurrences()] == ["b"]
    everything = await ledger.occurrences(include_archived=True)
    assert [(r.key, r.archived) for r in everything] == [("a", True), ("b", False)]


async def test_book_and_hold_on_an_archived_occurrence_are_closed_and_write_nothing(
    ledger: Ledger,
) -> None:
    await ledger.create_occurrence(KEY, capacity=5)
    await ledger.book(KEY, "ada")
    await ledger.archive(KEY)
    last = await ledger.store.last_seq(stream_of(KEY))
    for outcome in (
        await ledger.book(KEY, "bob"),
        await ledger.hold(KEY, "cy"),
        await ledger.book(KEY, "ada"),
        await ledger.book_with_observed(KEY, "dee", ["ada"], last),
        await ledger.hold_with_observed(KEY, "dee", ["ada"], last),
    ):
        assert outcome.status is Status.CLOSED and not outcome.ok
    assert await ledger.store.last_seq(stream_of(KEY)) == last


async def test_every_other_command_works_on_an_archived_occurrence(
    ledger: Ledger, clock: Clock
) -> None:
    await ledger.create_occurrence(KEY, capacity=5, hold_ttl=HOUR)
    await ledger.hold(KEY, "ada")
    await ledger.hold(KEY, "bob")
    await ledger.book(KEY, "cy")
    await ledger.hold(KEY, "dee")
    await ledger.archive(KEY)
    assert (await ledger.confirm(KEY, "ada")).status is Status.CONFIRMED
    assert (await ledger.release(KEY, "bob")).status is Status.RELEASED
    assert (await ledger.cancel(KEY, "cy")).status is Status.CANCELLED
    assert (await ledger.set_capacity(KEY, 9)).status is Status.CAPACITY_SET
    assert (await ledger.update_occurrence(KEY, title="gone")).status is Status.UPDATED
    clock.advance(hours=2)  # the fold goes on: dee's hold lapses as anywhere else
    assert [o.actor for o in await ledger.expire_holds(KEY)] == ["dee"]
    assert await ledger.roster(KEY) == ["ada"]


async def test_archive_of_an_unknown_occurrence_raises(ledger: Ledger) -> None:
    with pytest.raises(UnknownOccurrence):
        await ledger.archive("nowhere")
    with pytest.raises(UnknownOccurrence):
        await ledger.restore("nowhere")


async def test_find_leaves_archived_occurrences_out_unless_asked(ledger: Ledger) -> None:
    await ledger.create_occurrence("a", capacity=2)
    await ledger.create_occurrence("b", capacity=2)
    await ledger.book("a", "ada lovelace")
    await ledger.book("b", "ada byron")
    await ledger.archive("a")
    assert [key for key, _ in await ledger.find("ada")] == ["b"]
    assert sorted(key for key, _ in await ledger.find("ada", include_archived=True)) == ["a", "b"]
    await ledger.restore("a")
    assert sorted(key for key, _ in await ledger.find("ada")) == ["a", "b"]
