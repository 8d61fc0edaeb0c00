"""The audit oracles learn request ids (SPEC §4.6): a replayed answer is not a second acquisition.

The history checker's model (written from the SPEC, no code shared with the fold)
must accept a killed ``book`` followed by its replayed retry, and still catch a
replay nothing was written for; the log audit must not count the replay as a second
booking; the refold check must flag a request id written twice.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from store.audit.check import check_stream
from store.audit.history import Op, Recorder, audit_stream, check_history, load
from store.eventstore.events import Event

KEY = "k"
CREATE = Op("c", "host:1", KEY, "create", value=1, invoke=1, complete=2, status="created")


def book(n: int, at: tuple[int, int | None], status: str | None, **extra: Any) -> Op:
    done = status is not None
    return Op(
        f"op{n}",
        extra.pop("terminal", f"host:{n}"),
        KEY,
        extra.pop("kind", "book"),
        extra.pop("actor", "ada"),
        invoke=at[0],
        complete=at[1] if done else None,
        status=status,
        seat=extra.pop("seat", 1 if status == "booked" else None),
        **extra,
    )


def linearizable(*ops: Op) -> bool:
    (verdict,) = check_history([CREATE, *ops], clock_end=0)
    return verdict.ok


def test_a_killed_book_and_its_replayed_retry_are_one_booking() -> None:
    killed = book(1, (10, None), None, request_id="r")
    retry = book(2, (20, 21), "booked", request_id="r", replayed=True)
    assert linearizable(killed, retry)
    # and the seat stays taken: a third party finds the house full
    assert linearizable(killed, retry, book(3, (30, 31), "full", actor="bob"))
    assert not linearizable(killed, retry, book(3, (30, 31), "booked", actor="bob"))


def test_without_the_id_the_retry_must_answer_already() -> None:
    killed = book(1, (10, None), None)
    assert linearizable(killed, book(2, (20, 21), "already", seat=1))
    assert not linearizable(killed, book(2, (20, 21), "booked", replayed=True))


def test_a_replay_with_no_write_behind_it_is_flagged() -> None:
    refused = book(1, (10, 11), "full", actor="bob", request_id="r")
    full_house = book(0, (5, 6), "booked", actor="cy")
    retry = book(2, (20, 21), "full", actor="bob", request_id="r", replayed=True)
    assert not linearizable(full_house, refused, retry)  # `full` wrote nothing to replay
    assert linearizable(full_house, refused, replace(retry, replayed=False))


def test_a_replay_claimed_by_another_command_is_flagged() -> None:
    first = book(1, (10, 11), "booked", request_id="r")
    as_hold = book(2, (20, 21), "booked", kind="hold", request_id="r", replayed=True)
    assert not linearizable(first, as_hold)
    refused = book(2, (20, 21), "invalid-request-id", kind="hold", request_id="r")
    assert linearizable(first, replace(refused, seat=None))


def test_a_replayed_answer_is_the_original_not_a_new_decision() -> None:
    first = book(1, (10, 11), "booked", request_id="r")
    other_seat = book(2, (20, 21), "booked", request_id="r", replayed=True, seat=2)
    assert not linearizable(first, other_seat)


def _event(seq: int, type_: str, actor: str, terminal: str, rid: str | None = None) -> Event:
    meta: dict[str, Any] = {"terminal": terminal, "operator": "o"}
    if rid is not None:
        answer = {"status": "booked", "seat": 1}
        meta["request"] = {"id": rid, "command": "book", "actor": actor, "answer": answer}
    return Event("booking:" + KEY, seq, seq, type_, {"actor": actor}, meta)


def test_the_log_audit_counts_a_replay_once() -> None:
    killed = book(1, (10, None), None, request_id="r", terminal="host:1")
    retry = book(2, (20, 21), "booked", request_id="r", replayed=True, terminal="host:2")
    log = [_event(2, "booking", "ada", "host:1", "r")]
    assert audit_stream([killed, retry], log).ok
    lost = audit_stream([killed, retry], [])
    assert lost.lost and "replayed 'r'" in lost.lost[0]
    # counted as an acquisition of its own, the replay would claim a second booking
    assert not audit_stream([killed, replace(retry, replayed=False)], log).ok


def test_the_refold_check_flags_a_request_written_twice() -> None:
    created = Event("booking:" + KEY, 1, 1, "created", {"capacity": 5}, {})
    once = [created, _event(2, "booking", "ada", "h:1", "r")]
    assert check_stream(once).ok
    twice = [*once, _event(3, "booking", "bob", "h:1"), _event(4, "booking", "ada", "h:1", "r")]
    report = check_stream(twice)
    assert [v.seq for v in report.violations] == [4]
    assert "a retry acted twice" in report.violations[0].problem


def test_the_recorder_keeps_request_ids_and_replays(tmp_path: Any) -> None:
    path = tmp_path / "history.jsonl"
    recorder = Recorder(path, "host:1")
    first = recorder.invoke(KEY, "book", "ada", clock=0, request_id="r")
    recorder.complete(first, "booked", clock=0, seat=1, replayed=True)
    recorder.close()
    (loaded,) = load([path])
    assert (loaded.request_id, loaded.replayed, loaded.outcome) == ("r", True, "replayed")
