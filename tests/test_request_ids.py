"""Request ids (SPEC §4.6): a retried command replays its original answer and writes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import pytest
from support.wrapped_store import ForwardingStore

from store import Event, EventStore
from store.booking import InvalidInput, Ledger, Outcome, Status
from store.ledger.fold import fold

if TYPE_CHECKING:
    from support.clock import ManualClock

KEY = "hamlet"
STREAM = "booking:" + KEY


async def events(ledger: Ledger) -> list[Event]:
    return await ledger.events(KEY)


def same_answer(first: Outcome, again: Outcome) -> None:
    """Everything SPEC §4.6 names is as it was, and the replay says it is one."""
    fields = ("status", "actor", "seat", "seats", "ref", "expires_at", "capacity", "position")
    assert [getattr(again, f) for f in fields] == [getattr(first, f) for f in fields]
    assert (first.replayed, again.replayed) == (False, True)


Command = Callable[[Ledger, str], Awaitable[Outcome]]

#: Each writing command, run on an occurrence set up so that it writes.
COMMANDS: dict[str, tuple[Callable[[Ledger], Awaitable[Any]], Command]] = {}


def command(name: str, setup: Callable[[Ledger], Awaitable[Any]] | None = None) -> Any:
    async def nothing(ledger: Ledger) -> None:
        return None

    def register(run: Command) -> Command:
        COMMANDS[name] = (setup or nothing, run)
        return run

    return register


async def _held(ledger: Ledger) -> None:
    await ledger.hold(KEY, "ada", timedelta(minutes=5))


async def _booked(ledger: Ledger) -> None:
    await ledger.book(KEY, "ada", seats=3)


async def _archived(ledger: Ledger) -> None:
    await ledger.archive(KEY)


async def _full_then_waiting(ledger: Ledger) -> None:
    await ledger.book(KEY, "ann", seats=4)
    await ledger.join_waitlist(KEY, "ada")


command("book")(lambda led, rid: led.book(KEY, "ada", seats=2, request_id=rid))
command("hold")(lambda led, rid: led.hold(KEY, "ada", timedelta(minutes=5), request_id=rid))
command("confirm", _held)(lambda led, rid: led.confirm(KEY, "ada", request_id=rid))
command("release", _held)(lambda led, rid: led.release(KEY, "ada", request_id=rid))
command("cancel", _booked)(lambda led, rid: led.cancel(KEY, "ada", seats=1, request_id=rid))
command("check_in", _booked)(lambda led, rid: led.check_in(KEY, "ada", request_id=rid))
command("annotate", _booked)(lambda led, rid: led.annotate(KEY, "ada", "paid", request_id=rid))
command("join_waitlist")(lambda led, rid: led.join_waitlist(KEY, "ada", request_id=rid))
command("leave_waitlist", _full_then_waiting)(
    lambda led, rid: led.leave_waitlist(KEY, "ada", request_id=rid)
)
command("update_occurrence")(lambda led, rid: led.update_occurrence(KEY, title="X", request_id=rid))
command("archive")(lambda led, rid: led.archive(KEY, request_id=rid))
command("restore", _archived)(lambda led, rid: led.restore(KEY, request_id=rid))
command("set_capacity")(lambda led, rid: led.set_capacity(KEY, 9, request_id=rid))
command("create_occurrence")(
    lambda led, rid: led.create_occurrence("other", capacity=2, request_id=rid)
)


@pytest.mark.parametrize("name", sorted(COMMANDS))
async def test_every_command_replays_its_answer_and_writes_nothing(
    ledger: Ledger, clock: ManualClock, name: str
) -> None:
    await ledger.create_occurrence(KEY, capacity=4, hold_ttl=timedelta(minutes=10))
    setup, run = COMMANDS[name]
    await setup(ledger)
    first = await run(ledger, "req-1")
    assert first.ok, first
    key = "other" if name == "create_occurrence" else KEY
    written = await ledger.events(key)
    clock.advance(seconds=30)
    again = await run(ledger, "req-1")
    same_answer(first, again)
    assert await ledger.events(key) == written  # nothing new
    assert written[-1].meta["request"]["id"] == "req-1"
    assert written[-1].meta["request"]["command"] == name
    assert await ledger.matches_full_fold(key)


async def test_the_replay_is_the_answer_as_written_not_as_now(
    ledger: Ledger, clock: ManualClock
) -> None:
    await ledger.create_occurrence(KEY, capacity=3)
    await ledger.book(KEY, "ann")
    first = await ledger.hold(KEY, "ada", timedelta(minutes=5), request_id="r")
    assert (first.seat, first.ref) == (2, 3)
    await ledger.cancel(KEY, "ann")  # ada now sits in seat 1
    clock.advance(minutes=10)  # and her hold has lapsed
    again = await ledger.hold(KEY, "ada", timedelta(minutes=5), request_id="r")
    same_answer(first, again)
    assert again.status is Status.HELD and again.seat == 2


async def test_a_replay_comes_before_closed_and_full(ledger: Ledger) -> None:
    await ledger.create_occurrence(KEY, capacity=1)
    first = await ledger.book(KEY, "ada", request_id="r")
    assert (await ledger.book(KEY, "bob")).status is Status.FULL
    same_answer(first, await ledger.book(KEY, "ada", request_id="r"))
    await ledger.archive(KEY)
    assert (await ledger.book(KEY, "ada")).status is Status.CLOSED
    same_answer(first, await ledger.book(KEY, "ada", request_id="r"))


async def test_another_command_or_actor_with_the_id_is_refused(ledger: Ledger) -> None:
    await ledger.create_occurrence(KEY, capacity=3)
    await ledger.book(KEY, "ada", request_id="r")
    before = await events(ledger)
    with pytest.raises(InvalidInput, match="request_id") as caught:
        await ledger.hold(KEY, "ada", request_id="r")
    assert caught.value.field == "request_id"
    with pytest.raises(InvalidInput, match="request_id"):
        await ledger.book(KEY, "bob", request_id="r")
    with pytest.raises(InvalidInput, match="request_id"):
        await ledger.archive(KEY, request_id="r")
    assert await events(ledger) == before


async def test_request_ids_are_per_stream(ledger: Ledger) -> None:
    await ledger.create_occurrence(KEY, capacity=3)
    await ledger.create_occurrence("other", capacity=3)
    await ledger.book(KEY, "ada", request_id="r")
    on_other = await ledger.book("other", "ada", request_id="r")
    assert on_other.status is Status.BOOKED and not on_other.replayed


async def test_a_command_that_wrote_nothing_decides_again(ledger: Ledger) -> None:
    await ledger.create_occurrence(KEY, capacity=1)
    await ledger.book(KEY, "ann")
    assert (await ledger.book(KEY, "ada", request_id="r")).status is Status.FULL
    await ledger.cancel(KEY, "ann")
    again = await ledger.book(KEY, "ada", request_id="r")
    assert again.status is Status.BOOKED and not again.replayed


@pytest.mark.parametrize(
    "bad", ["", "a" * 65, "two words", "caf\u00e9", "line\n", "\u0661\u0662", "semi;colon", 7]
)
async def test_a_malformed_request_id_is_refused_naming_it(ledger: Ledger, bad: Any) -> None:
    await ledger.create_occurrence(KEY, capacity=1)
    with pytest.raises(InvalidInput) as caught:
        await ledger.book(KEY, "ada", request_id=bad)
    assert caught.value.field == "request_id"
    assert [e.type for e in await events(ledger)] == ["created"]


async def test_the_longest_id_and_every_allowed_character_are_taken(ledger: Ledger) -> None:
    await ledger.create_occurrence(KEY, capacity=2)
    assert (await ledger.book(KEY, "ada", request_id="aZ0-_.:" + "x" * 57)).ok
    assert (await ledger.book(KEY, "bob", request_id="y" * 64)).ok


async def test_a_double_submit_in_one_batch_acts_once(ledger: Ledger) -> None:
    await ledger.create_occurrence(KEY, capacity=5)
    both = await asyncio.gather(*(ledger.book(KEY, "ada", request_id="r") for _ in range(2)))
    assert sorted(o.replayed for o in both) == [False, True]
    assert {(o.status, o.seat, o.ref) for o in both} == {(Status.BOOKED, 1, 2)}
    assert [e.type for e in await events(ledger)] == ["created", "booking"]


async def test_expire_holds_replays_the_lapses_it_recorded(
    ledger: Ledger, clock: ManualClock
) -> None:
    await ledger.create_occurrence(KEY, capacity=3)
    await ledger.hold(KEY, "ada", timedelta(minutes=1))
    await ledger.hold(KEY, "bob", timedelta(minutes=1))
    clock.advance(minutes=2)
    first = await ledger.expire_holds(KEY, request_id="sweep")
    assert [o.actor for o in first] == ["ada", "bob"]
    again = await ledger.expire_holds(KEY, request_id="sweep")
    for a, b in zip(first, again, strict=True):
        same_answer(a, b)
    assert len(again) == 2
    assert [e.type for e in await events(ledger)].count("expire") == 2


class _RivalFirst(ForwardingStore):
    """Lets another terminal's write (same request id) in just before this one's append."""

    def __init__(self, inner: EventStore, rival: Callable[[], Awaitable[Any]]) -> None:
        super().__init__(inner)
        self.rival: Callable[[], Awaitable[Any]] | None = rival

    async def before_append(self) -> None:
        rival, self.rival = self.rival, None
        if rival is not None:
            await rival()


async def test_the_retry_after_a_lost_race_replays_the_winners_write(
    ledger: Ledger, store: EventStore, clock: ManualClock
) -> None:
    """The in-transaction decide path checks the index too: the same id from two terminals."""
    await ledger.create_occurrence(KEY, capacity=5)
    other = Ledger(store, clock=clock, operator="other")
    won: list[Outcome] = []

    async def rival() -> None:
        won.append(await other.book(KEY, "ada", request_id="r"))

    racing = Ledger(_RivalFirst(store, rival), clock=clock, operator="racing")
    lost = await racing.book(KEY, "ada", request_id="r")
    assert lost.attempts == 2  # its first append conflicted with the rival's
    same_answer(won[0], lost)
    assert [e.type for e in await events(ledger)] == ["created", "booking"]
    assert await racing.matches_full_fold(KEY)


async def test_old_and_tampered_request_meta_folds_as_before(
    ledger: Ledger, store: EventStore, clock: ManualClock
) -> None:
    await ledger.create_occurrence(KEY, capacity=10)
    stamp = clock.now.isoformat()
    odd = [
        None,
        ["a list"],
        {"id": "bad id", "command": "book", "actor": "x", "answer": {"status": "booked"}},
        {"id": "r", "command": "book", "actor": "x", "answer": {"status": "no-such-word"}},
        {"id": "r", "command": 5, "actor": "x", "answer": {"status": "booked"}},
    ]
    for n, request in enumerate(odd):
        meta: dict[str, Any] = {"operator": "o", "terminal": "t:1", "recorded_at": stamp}
        if request is not None:
            meta["request"] = request
        await store.append(STREAM, "booking", {"actor": f"p{n}"}, meta)
    state = fold(await store.read(STREAM), STREAM)
    assert state.requests.written == {}
    assert await ledger.roster(KEY) == ["p0", "p1", "p2", "p3", "p4"]
    # none of them counts as a write of "r": a book with it decides afresh
    fresh = await ledger.book(KEY, "x", request_id="r")
    assert fresh.status is Status.BOOKED and not fresh.replayed
