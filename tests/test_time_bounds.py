"""SPEC §4.4's time rules and issue 12 row 1: no accepted or stored time makes a reader fail.

Start times are aware, between 1900 and 9000, and stored with their offset; a
naive one is the venue's zone. A log written before these rules (or tampered
with) may still hold ``0001-01-01`` or a hold length of 1e300 seconds: every
reader, down to the app's time formatting in far-off zones, must still answer.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from store import EventStore
from store.booking import InvalidInput, Ledger, Status
from store.ledger.fold import stream_of
from store.ledger.venue import ZONE_ENV
from tui.widgets.timefmt import countdown, stamp, when

KEY = "hamlet"
ZONES = [ZoneInfo("America/New_York"), ZoneInfo("Asia/Tokyo"), ZoneInfo("Pacific/Kiritimati")]


@pytest.fixture(autouse=True)
def no_venue_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ZONE_ENV, raising=False)


@pytest.fixture
def machine_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's zone as Europe/Berlin for one test (TZ is read by the C library)."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(
    "starts",
    [
        "0001-01-01T00:00+00:00",
        "9999-12-31T23:59+00:00",
        "1899-12-31T23:59+00:00",
        "9000-01-01T00:00:01+00:00",
        "1900-01-01T00:30+01:00",  # 1899-12-31 23:30 UTC
        "0001-01-01T00:00",
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(9999, 12, 31, 23, 59),
    ],
)
async def test_start_times_outside_1900_to_9000_are_refused(ledger: Ledger, starts: object) -> None:
    with pytest.raises(InvalidInput) as caught:
        await ledger.create_occurrence(KEY, capacity=1, starts_at=starts)  # type: ignore[arg-type]
    assert caught.value.field == "starts_at"
    assert "1900" in str(caught.value) and "\n" not in str(caught.value)
    assert await ledger.store.last_seq(stream_of(KEY)) == 0


@pytest.mark.parametrize(
    ("starts", "stored"),
    [
        ("1900-01-01T00:00+00:00", "1900-01-01T00:00:00+00:00"),
        ("9000-01-01T00:00Z", "9000-01-01T00:00:00+00:00"),
        ("2026-12-01T19:30-05:00", "2026-12-01T19:30:00-05:00"),
    ],
)
async def test_start_times_inside_the_bounds_keep_their_offset(
    ledger: Ledger, starts: str, stored: str
) -> None:
    await ledger.create_occurrence(KEY, capacity=1, starts_at=starts)
    assert (await ledger.occurrence(KEY)).starts_at == stored
    assert (await ledger.events(KEY))[0].data["starts_at"] == stored


async def test_a_start_time_in_another_script_s_digits_is_refused(ledger: Ledger) -> None:
    with pytest.raises(InvalidInput, match="starts_at"):
        await ledger.create_occurrence(KEY, capacity=1, starts_at="２０２６-12-01T19:30+00:00")


async def test_naive_start_is_the_configured_venue_zone(store: EventStore) -> None:
    ledger = Ledger(store, operator="t", zone=ZoneInfo("Asia/Tokyo"))
    await ledger.create_occurrence(KEY, capacity=1, starts_at="2026-12-01T19:30")
    assert (await ledger.occurrence(KEY)).starts_at == "2026-12-01T19:30:00+09:00"


async def test_boxoffice_tz_wins_over_the_configured_zone(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ZONE_ENV, "Europe/Berlin")
    ledger = Ledger(store, operator="t", zone=ZoneInfo("Asia/Tokyo"))
    await ledger.create_occurrence(KEY, capacity=1, starts_at="2026-12-01T19:30")
    await ledger.create_occurrence("summer", capacity=1, starts_at=datetime(2026, 7, 1, 19, 30))
    assert (await ledger.occurrence(KEY)).starts_at == "2026-12-01T19:30:00+01:00"
    assert (await ledger.occurrence("summer")).starts_at == "2026-07-01T19:30:00+02:00"


async def test_naive_start_without_any_zone_is_the_machine_s(
    store: EventStore, machine_zone: None
) -> None:
    ledger = Ledger(store, operator="t")
    await ledger.create_occurrence(KEY, capacity=1, starts_at="2026-07-01T19:30")
    assert (await ledger.occurrence(KEY)).starts_at == "2026-07-01T19:30:00+02:00"


async def test_an_unknown_boxoffice_tz_is_invalid_input_naming_it(
    store: EventStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ZONE_ENV, "Mars/Olympus")
    with pytest.raises(InvalidInput) as caught:
        Ledger(store, operator="t")
    assert caught.value.field == ZONE_ENV


@pytest.mark.parametrize("ttl", [timedelta(days=36526), timedelta.max])
async def test_a_ttl_over_100_years_is_refused(ledger: Ledger, ttl: timedelta) -> None:
    with pytest.raises(InvalidInput, match="hold_ttl"):
        await ledger.create_occurrence(KEY, capacity=1, hold_ttl=ttl)
    await ledger.create_occurrence(KEY, capacity=1)
    with pytest.raises(InvalidInput, match="ttl"):
        await ledger.hold(KEY, "ada", ttl=ttl)


async def test_the_longest_accepted_values_never_make_a_reader_fail(ledger: Ledger) -> None:
    longest = timedelta(days=36525)
    await ledger.create_occurrence(
        KEY, capacity=2, starts_at="9000-01-01T00:00+00:00", hold_ttl=longest
    )
    held = await ledger.hold(KEY, "ada")
    assert held.status is Status.HELD
    _every_reader_answers(await ledger.view(KEY), ledger)


def _every_reader_answers(view: object, ledger: Ledger) -> None:
    """What the app does with a view at start, in far-off zones: format every time."""
    from store.ledger.views import OccurrenceView

    assert isinstance(view, OccurrenceView)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    for tz in [*ZONES, None]:
        assert when(view.record.starts_at, tz)
        for row in view.rows:
            stamp(row.joined_at, now, tz)
            stamp(row.expires_at, now, tz)
            if row.expires_at is not None:
                countdown(row.expires_at - now)
        if view.next_expiry is not None:
            stamp(view.next_expiry, now, tz)
    if view.record.hold_ttl is not None:
        assert view.record.hold_ttl <= timedelta(days=36525)


@pytest.mark.parametrize(
    "starts", ["0001-01-01T00:00+00:00", "9999-12-31T23:59+00:00", "0001-01-01T00:00"]
)
async def test_an_old_log_with_an_odd_start_time_still_reads(ledger: Ledger, starts: str) -> None:
    """Row 1: these were accepted before, and the app died on start in NY or Tokyo."""
    await ledger.store.append(
        stream_of(KEY), "created", {"capacity": 2, "starts_at": starts, "hold_ttl_s": 1e300}
    )
    rec = (await ledger.occurrences())[0]
    assert rec.starts_at is None  # shown as no start time, never a crash
    assert rec.hold_ttl is None
    _every_reader_answers(await ledger.view(KEY), ledger)
    for tz in ZONES:
        assert when(starts, tz)  # the formatter itself is total on the raw text too


async def test_an_old_log_with_times_at_the_calendar_s_ends_still_reads(
    ledger: Ledger, clock: object
) -> None:
    store = ledger.store
    stream = stream_of(KEY)
    await store.append(stream, "created", {"capacity": 3, "hold_ttl_s": 1e308})
    meta = {"operator": "x", "recorded_at": "0001-01-01T00:00:00+00:00"}
    await store.append(
        stream, "hold", {"actor": "a", "expires_at": "9999-12-31T23:59:59+00:00"}, meta
    )
    await store.append(
        stream, "hold", {"actor": "b", "expires_at": "0001-01-01T00:00:00-23:00"}, meta
    )
    late = {"operator": "x", "recorded_at": "9999-12-31T23:59:59.999999-23:59"}
    await store.append(stream, "hold", {"actor": "c", "expires_at": None}, late)
    _every_reader_answers(await ledger.view(KEY), ledger)
    for seq in range(1, 5):
        _every_reader_answers(await ledger.view_at(KEY, seq), ledger)
    # and a command still decides (its hold would end past the calendar: never, in effect)
    outcome = await ledger.hold(KEY, "d", ttl=timedelta(days=3))
    assert outcome.status in (Status.HELD, Status.FULL)
    _every_reader_answers(await ledger.view(KEY), ledger)
    assert await ledger.matches_full_fold(KEY)
