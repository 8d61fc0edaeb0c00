"""Real races on one occurrence: spawned processes, and many tasks on one store object.

No mocks and no sleeps standing in for synchronisation: racers open their own
connections first, then start together at a multiprocessing barrier (or an
asyncio event), and the verdict comes from the committed stream refolded by
``store.audit.check``. What must hold (SPEC §3): exactly ``capacity`` winners, each
with exactly one event, no event for a loser, seats handed out in commit order,
and conflicts that really happened and were retried.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Sequence

import pytest
from support import workers
from support.workers import Reply
from support.wrapped_store import ForwardingStore

from store import EventStore, open_store
from store.audit.check import check_stream
from store.booking import Ledger, Status
from store.eventstore.events import Conflict, Event
from store.ledger.fold import stream_of

PROCESSES = 4
RACERS_PER_PROCESS = 25
RACERS = PROCESSES * RACERS_PER_PROCESS
CAPACITY = 40  # below RACERS, so most racers lose
CONFIRM_RELEASE_ROUNDS = 30


async def _create(url: str, key: str, capacity: int) -> None:
    async with open_store(url, create=True) as store:
        outcome = await Ledger(store, operator="setup").create_occurrence(key, capacity=capacity)
        assert outcome.status is Status.CREATED


def assert_fair_race(
    replies: Sequence[Reply], events: Sequence[Event], capacity: int, *, must_conflict: bool
) -> dict[str, int]:
    """The verdict shared by every hold race; returns figures for the report."""
    statuses = Counter(r.status for r in replies)
    assert set(statuses) <= {"held", "full"}, f"unexpected answers: {statuses}"
    winners = {r.actor: r for r in replies if r.status == "held"}
    assert len(winners) == capacity, statuses
    assert len({r.actor for r in replies}) == len(replies), "each racer is a distinct actor"

    holds = [e for e in events if e.type == "hold"]
    assert Counter(e.data["actor"] for e in holds) == Counter(list(winners)), (
        "the stream's holds must be exactly the winners, once each"
    )
    assert len(events) == 1 + capacity, "only `created` and the winners' holds were written"
    # Linearizable seats: with nobody leaving, the k-th hold committed got seat k.
    assert [winners[e.data["actor"]].seat for e in holds] == list(range(1, capacity + 1))

    report = check_stream(events)
    assert report.ok, [str(v) for v in report.violations]
    assert (report.occupied, report.capacity) == (capacity, capacity)

    attempts = sum(r.attempts for r in replies)
    # A conflict means another write committed in between, and only `capacity` holds
    # were ever written after the racer's first snapshot: no racer can lose more often.
    assert max(r.attempts for r in replies) <= capacity + 1
    if must_conflict:
        assert attempts > len(replies), "the racers never actually collided"
    return {
        "racers": len(replies),
        "attempts": attempts,
        "conflicts": attempts - len(replies),
        "most_attempts": max(r.attempts for r in replies),
    }


# -- 1. racers in spawned processes, each on its own connection ------------------------------


@pytest.mark.slow
async def test_processes_race_for_fewer_seats_than_racers(store_url: str) -> None:
    key = "race"
    await _create(store_url, key, CAPACITY)
    replies = await workers.run_hold_race(store_url, key, RACERS_PER_PROCESS, PROCESSES)
    assert len(replies) == RACERS

    async with open_store(store_url) as store:
        events = await store.read(stream_of(key))
        ledger = Ledger(store, operator="verifier")
        assert await ledger.matches_full_fold(key)
        assert await ledger.seats_left(key) == 0
    figures = assert_fair_race(replies, events, CAPACITY, must_conflict=True)
    print(f"{PROCESSES} processes x {RACERS_PER_PROCESS} racers: {figures}")


@pytest.mark.slow
async def test_processes_race_parties_of_random_sizes_and_never_oversell_seats(
    store_url: str,
) -> None:
    key = "party-race"
    await _create(store_url, key, CAPACITY)
    replies = await workers.run_party_race(store_url, key, RACERS_PER_PROCESS, PROCESSES)
    assert len(replies) == RACERS
    async with open_store(store_url) as store:
        events = await store.read(stream_of(key))
        assert await Ledger(store, operator="verifier").matches_full_fold(key)
    report = check_stream(events)
    assert report.ok, [str(v) for v in report.violations]
    assert Counter(r.status for r in replies).keys() <= {"held", "full"}
    winners = {r.actor: r for r in replies if r.status == "held"}
    holds = [e for e in events if e.type == "hold"]
    assert [e.data["actor"] for e in holds] == sorted(winners, key=lambda a: winners[a].seat or 0)
    occupied = 0
    for hold in holds:  # nobody leaves: each party's first seat follows the seats before it
        actor, size = hold.data["actor"], workers.party_size(hold.data["actor"])
        assert hold.data.get("seats", 1) == size
        assert winners[actor].seat == occupied + 1
        occupied += size
    assert occupied == report.occupied <= CAPACITY
    # seats are only ever taken here, so a party told `full` cannot fit even at the end
    for reply in replies:
        if reply.status == "full":
            assert occupied + workers.party_size(reply.actor) > CAPACITY, reply
    print(f"party race: {len(winners)} parties seated in {occupied} of {CAPACITY} seats")


# -- 2. many tasks sharing one store object ---------------------------------------------------


class CountingStore(ForwardingStore):
    """Delegates every call to a real store and counts append transactions.

    Not a mock: the wrapped store does all the work. It only makes group commit
    observable (how many transactions carried the holds).
    """

    def __init__(self, inner: EventStore) -> None:
        super().__init__(inner)
        self.transactions = 0
        self.written = 0

    def after_append(self, written: list[Event] | Conflict) -> None:
        if not isinstance(written, Conflict):
            self.transactions += 1
            self.written += len(written)


@pytest.fixture
async def counting(store: EventStore) -> AsyncIterator[CountingStore]:
    yield CountingStore(store)


@pytest.mark.parametrize(
    "ledgers", [RACERS, 4, 1], ids=["ledger-per-task", "4-ledgers", "1-ledger"]
)
async def test_tasks_sharing_one_store_race(counting: CountingStore, ledgers: int) -> None:
    """Every task on its own ledger (pure OCC), a few ledgers (both), one ledger (group commit).

    Whether a given race collides is timing: with a few ledgers, a loaded machine can
    run their batches one after another. Every race must be fair; with more than one
    ledger, at least one of up to three must have collided, or the test proved nothing.
    """
    collided = False
    for round_ in range(3):
        key = f"shared-{round_}"
        setup = Ledger(counting, operator="setup")
        assert (await setup.create_occurrence(key, capacity=CAPACITY)).status is Status.CREATED
        counting.transactions = counting.written = 0
        pool = [
            Ledger(counting, operator=f"l{n}", deadline=workers.RACER_DEADLINE)
            for n in range(ledgers)
        ]
        go = asyncio.Event()

        async def racer(
            ledger: Ledger, actor: str, key: str = key, go: asyncio.Event = go
        ) -> Reply:
            await go.wait()
            outcome = await ledger.hold(key, actor)
            return Reply(actor, str(outcome.status), outcome.attempts, outcome.seat)

        tasks = [asyncio.create_task(racer(pool[i % ledgers], f"t{i}")) for i in range(RACERS)]
        await asyncio.sleep(0)  # park every racer on `go`, then release them together
        go.set()
        replies = await asyncio.gather(*tasks)

        events = await counting.read(stream_of(key))
        figures = assert_fair_race(replies, events, CAPACITY, must_conflict=False)
        assert counting.written == CAPACITY
        if ledgers == 1:
            # One lane decides everything against live state: it never conflicts with
            # itself, and the burst went out in fewer transactions than holds.
            assert figures["conflicts"] == 0
            assert counting.transactions < CAPACITY
        for ledger in pool:
            assert await ledger.matches_full_fold(key)
        print(f"{ledgers} ledger(s) on one store: {figures}, transactions {counting.transactions}")
        collided = figures["conflicts"] > 0
        if ledgers == 1 or collided:
            break
    assert ledgers == 1 or collided, "in three races the racers never actually collided"


# -- 3. confirm racing release for the same hold -------------------------------------------


def assert_one_winner_each_round(
    rounds: Sequence[tuple[Reply, Reply]], events: Sequence[Event], final: dict[str, str]
) -> Counter[str]:
    """Exactly one of confirm/release wins a round; the loser's answer agrees with the fold."""
    outcome_events = Counter(
        (e.type, e.data["actor"]) for e in events if e.type in ("confirm", "release")
    )
    winners: Counter[str] = Counter()
    for confirm, release in rounds:
        actor = confirm.actor
        assert release.actor == actor
        answers = (confirm.status, release.status)
        assert answers in {("confirmed", "not-held"), ("not-held", "released")}, (actor, answers)
        won = "confirm" if confirm.status == "confirmed" else "release"
        winners[won] += 1
        assert outcome_events[(won, actor)] == 1
        lost = "release" if won == "confirm" else "confirm"
        assert outcome_events[(lost, actor)] == 0
        assert final[actor] == ("confirmed" if won == "confirm" else "none")
    assert check_stream(events).ok
    return winners


async def _hold_all(url: str, key: str, actors: list[str]) -> None:
    async with open_store(url, create=True) as store:
        ledger = Ledger(store, operator="setup")
        assert (await ledger.create_occurrence(key, capacity=len(actors))).status is Status.CREATED
        for actor in actors:
            assert (await ledger.hold(key, actor)).status is Status.HELD


async def _final_states(
    url: str, key: str, actors: list[str]
) -> tuple[list[Event], dict[str, str]]:
    async with open_store(url) as store:
        ledger = Ledger(store, operator="verifier")
        assert await ledger.matches_full_fold(key)
        final = {actor: await ledger.seat_state(key, actor) for actor in actors}
        return await store.read(stream_of(key)), final


@pytest.mark.slow
async def test_confirm_races_release_across_processes(store_url: str) -> None:
    key = "confirm-vs-release"
    actors = [f"guest-{i}" for i in range(CONFIRM_RELEASE_ROUNDS)]
    await _hold_all(store_url, key, actors)
    collected = await workers.run_confirm_release(store_url, key, actors)
    rounds = []
    for even, odd in zip(collected["even"], collected["odd"], strict=True):
        confirm, release = (even, odd) if even.round % 2 == 0 else (odd, even)
        rounds.append((confirm, release))
    events, final = await _final_states(store_url, key, actors)
    winners = assert_one_winner_each_round(rounds, events, final)
    retried = sum(1 for c, r in rounds if max(c.attempts, r.attempts) > 1)
    assert retried > 0, "the two processes never decided on the same snapshot"
    print(f"confirm vs release, {len(rounds)} rounds: {dict(winners)}, rounds retried {retried}")


async def test_confirm_races_release_on_two_connections(store_url: str) -> None:
    """The same race in one process: two ledgers, each on its own store connection."""
    key = "confirm-vs-release"
    actors = [f"guest-{i}" for i in range(CONFIRM_RELEASE_ROUNDS)]
    await _hold_all(store_url, key, actors)
    async with open_store(store_url) as one, open_store(store_url) as two:
        # not sharing one fold: each side is a terminal of its own (store.ledger.shared)
        sides = (
            Ledger(one, operator="one", share=False),
            Ledger(two, operator="two", share=False),
        )
        rounds = []
        for i, actor in enumerate(actors):
            confirmer, releaser = sides if i % 2 == 0 else sides[::-1]
            confirmed, released = await asyncio.gather(
                confirmer.confirm(key, actor), releaser.release(key, actor)
            )
            rounds.append(
                (
                    Reply(actor, str(confirmed.status), confirmed.attempts, confirmed.seat),
                    Reply(actor, str(released.status), released.attempts, released.seat),
                )
            )
    events, final = await _final_states(store_url, key, actors)
    winners = assert_one_winner_each_round(rounds, events, final)
    retried = sum(1 for c, r in rounds if max(c.attempts, r.attempts) > 1)
    assert retried > 0, "both sides decided on the same snapshot at least once"
    print(f"confirm vs release in one process: {dict(winners)}, rounds retried {retried}")
