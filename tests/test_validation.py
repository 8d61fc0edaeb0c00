"""SPEC §2's input rules: bad input raises ``InvalidInput`` naming the field and writes nothing.

Every refusal is checked against the store itself: the global head position
and the occurrence's last seq must not move. Messages must be one line and carry
no control or format characters, so an operator's screen shows them as text.
"""

from __future__ import annotations

import asyncio
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from store import EventStore, open_store
from store.booking import InvalidInput, Ledger, Outcome, Status, UnknownOccurrence
from store.ledger import decide, rules

KEY = "hamlet"
STREAM = "booking:" + KEY
if TYPE_CHECKING:
    from support.clock import ManualClock

Call = Callable[[Ledger], Awaitable[Any]]

_HIDDEN = {"Cc", "Cf", "Cs", "Zl", "Zp"}


async def _furnish(ledger: Ledger) -> Ledger:
    """An occurrence with a booked, a held and an empty seat."""
    await ledger.create_occurrence(KEY, capacity=3, hold_ttl=timedelta(minutes=10))
    await ledger.book(KEY, "ada")
    await ledger.hold(KEY, "bob")
    return ledger


@pytest.fixture
async def house(db_path: str, clock: ManualClock) -> AsyncIterator[Ledger]:
    """The big matrices: validation happens before any backend is touched, so SQLite
    (without fsync, for speed) stands for all; ``any_house`` samples every backend."""
    async with open_store(db_path, create=True, synchronous="OFF") as store:
        yield await _furnish(Ledger(store, clock=clock, operator="tester"))


@pytest.fixture
async def any_house(ledger: Ledger) -> Ledger:
    return await _furnish(ledger)


async def refused(ledger: Ledger, call: Call, field: str) -> InvalidInput:
    """Run ``call``; it must raise InvalidInput naming ``field`` and leave the store as it was."""
    store: EventStore = ledger.store
    head = await store.head_position()
    last = await store.last_seq(STREAM)
    streams = await store.streams()
    with pytest.raises(InvalidInput) as caught:
        await call(ledger)
    error = caught.value
    assert isinstance(error, ValueError)
    message = str(error)
    assert field in message, f"{message!r} does not name {field!r}"
    assert message.startswith(field), message
    assert "\n" not in message and "\r" not in message
    assert not any(unicodedata.category(ch) in _HIDDEN for ch in message), repr(message)
    assert await store.read_all(head) == []
    assert await store.head_position() == head
    assert await store.last_seq(STREAM) == last
    assert await store.streams() == streams
    return error


# -- occurrence keys -----------------------------------------------------------------------

BAD_KEYS: list[object] = [
    "",  # length 0
    "k" * 121,  # one too many
    "café",  # non-ASCII
    "ｋｅｙ",  # fullwidth letters
    "show\u0663",  # an Arabic-Indic digit
    "a b",
    "a/b",
    "../etc",
    "a#b",
    "a*b",
    "a,b",
    "a;b",
    "a'b",
    'a"b',
    "a\nb",
    "key\n",  # a trailing newline must not slip past a `$` anchor
    " key",
    "key\x00",
    "key\x1b[31m",
    None,
    5,
    b"key",
    ["key"],
]

KEY_CALLS: dict[str, Callable[[object], Call]] = {
    "create_occurrence": lambda k: lambda L: L.create_occurrence(k, capacity=1),  # type: ignore[arg-type]
    "set_capacity": lambda k: lambda L: L.set_capacity(k, 1),  # type: ignore[arg-type]
    "book": lambda k: lambda L: L.book(k, "cy"),  # type: ignore[arg-type]
    "hold": lambda k: lambda L: L.hold(k, "cy"),  # type: ignore[arg-type]
    "confirm": lambda k: lambda L: L.confirm(k, "bob"),  # type: ignore[arg-type]
    "release": lambda k: lambda L: L.release(k, "bob"),  # type: ignore[arg-type]
    "cancel": lambda k: lambda L: L.cancel(k, "ada"),  # type: ignore[arg-type]
    "expire_holds": lambda k: lambda L: L.expire_holds(k),  # type: ignore[arg-type]
    "book_with_observed": lambda k: lambda L: L.book_with_observed(k, "cy", [], 3),  # type: ignore[arg-type]
    "hold_with_observed": lambda k: lambda L: L.hold_with_observed(k, "cy", [], 3),  # type: ignore[arg-type]
    "seat_state": lambda k: lambda L: L.seat_state(k, "ada"),  # type: ignore[arg-type]
    "roster": lambda k: lambda L: L.roster(k),  # type: ignore[arg-type]
    "seats": lambda k: lambda L: L.seats(k),  # type: ignore[arg-type]
    "seats_left": lambda k: lambda L: L.seats_left(k),  # type: ignore[arg-type]
    "occurrence": lambda k: lambda L: L.occurrence(k),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("bad", BAD_KEYS, ids=repr)
async def test_bad_key_refused_by_create(house: Ledger, bad: object) -> None:
    await refused(house, KEY_CALLS["create_occurrence"](bad), "key")


@pytest.mark.parametrize("command", sorted(KEY_CALLS))
@pytest.mark.parametrize("bad", ["", "k" * 121, "café", "a b", "key\n", None, 7], ids=repr)
async def test_bad_key_refused_by_every_call(house: Ledger, command: str, bad: object) -> None:
    await refused(house, KEY_CALLS[command](bad), "key")


@pytest.mark.parametrize("good", ["k", "k" * 120, "Az09._:-", "hamlet:2026-12-01T19.30"])
async def test_good_keys_of_length_1_to_120(ledger: Ledger, good: str) -> None:
    assert (await ledger.create_occurrence(good, capacity=1)).status is Status.CREATED
    assert await ledger.store.streams("booking:") == ["booking:" + good]
    assert (await ledger.occurrence(good)).key == good


# -- actors --------------------------------------------------------------------------------

FORBIDDEN_ACTORS = {
    "Cc NUL": "a\x00b",
    "Cc BEL": "a\x07b",
    "Cc ESC sequence": "ada\x1b[31mRED",
    "Cc ESC title": "\x1b]0;owned\x07ada",
    "Cc tab inside": "a\tb",
    "Cc newline inside": "a\nb",
    "Cc carriage return inside": "ada\rbob",
    "Cc DEL": "a\x7fb",
    "Cc C1 NEL": "a\x85b",
    "Cc C1 CSI": "a\x9b31mb",
    "Cf bidi override": "ada\u202eevil",
    "Cf bidi isolate": "ada\u2066x\u2069",
    "Cf zero-width space": "a\u200bda",
    "Cf zero-width joiner": "a\u200dda",
    "Cf soft hyphen": "a\u00adda",
    "Cf byte-order mark": "\ufeffada",
    "Cs lone high surrogate": "ada\ud800",
    "Cs lone low surrogate": "a\udfffb",
    "Zl line separator": "a\u2028b",
    "Zp paragraph separator": "a\u2029b",
}

ACTOR_CALLS: dict[str, Callable[[object], Call]] = {
    "book": lambda a: lambda L: L.book(KEY, a),  # type: ignore[arg-type]
    "hold": lambda a: lambda L: L.hold(KEY, a),  # type: ignore[arg-type]
    "confirm": lambda a: lambda L: L.confirm(KEY, a),  # type: ignore[arg-type]
    "release": lambda a: lambda L: L.release(KEY, a),  # type: ignore[arg-type]
    "cancel": lambda a: lambda L: L.cancel(KEY, a),  # type: ignore[arg-type]
    "seat_state": lambda a: lambda L: L.seat_state(KEY, a),  # type: ignore[arg-type]
    "book_with_observed": lambda a: lambda L: L.book_with_observed(KEY, a, [], 3),  # type: ignore[arg-type]
    "hold_with_observed": lambda a: lambda L: L.hold_with_observed(KEY, a, [], 3),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("bad", list(FORBIDDEN_ACTORS.values()), ids=list(FORBIDDEN_ACTORS))
async def test_actor_with_hidden_characters_refused(house: Ledger, bad: str) -> None:
    assert unicodedata.category(next(c for c in bad if unicodedata.category(c) in _HIDDEN))
    error = await refused(house, ACTOR_CALLS["book"](bad), "actor")
    assert "U+" in str(error)  # the message names the code point instead of echoing it


@pytest.mark.parametrize("command", sorted(ACTOR_CALLS))
@pytest.mark.parametrize(
    "bad",
    ["", "   ", "\u3000", "x" * 501, "a\x1bb", "a\u202eb", "a\u200bb", "a\u2028b", None, 3, b"ada"],
    ids=repr,
)
async def test_bad_actor_refused_by_every_call(house: Ledger, command: str, bad: object) -> None:
    await refused(house, ACTOR_CALLS[command](bad), "actor")


@pytest.mark.parametrize("blank", ["", " ", "\t\n ", "\u3000", "\u00a0\u2003"], ids=repr)
async def test_empty_or_white_space_only_actor_refused(house: Ledger, blank: str) -> None:
    await refused(house, ACTOR_CALLS["hold"](blank), "actor")


async def test_actor_length_is_counted_after_normalising(house: Ledger) -> None:
    await house.set_capacity(KEY, 10)
    assert (await house.book(KEY, "x" * 500)).status is Status.BOOKED
    assert (await house.book(KEY, f"  {'y' * 500}\u3000")).actor == "y" * 500
    nfd = unicodedata.normalize("NFD", "é" * 300)  # 600 code points, 300 after NFC
    assert len(nfd) == 600
    assert (await house.book(KEY, nfd)).actor == "é" * 300
    await refused(house, ACTOR_CALLS["book"]("z" * 501), "actor")
    await refused(house, ACTOR_CALLS["book"](f" {'z' * 501} "), "actor")
    assert await house.matches_full_fold(KEY)


async def test_actor_is_nfc_normalised_and_stripped(any_house: Ledger) -> None:
    nfd = unicodedata.normalize("NFD", "Zoë Ångström")
    booked = await any_house.book(KEY, f"  {nfd} \u00a0")
    assert booked.actor == "Zoë Ångström"
    assert (await any_house.store.read(STREAM))[-1].data == {"actor": "Zoë Ångström"}
    assert await any_house.seat_state(KEY, "Zoë Ångström") == "confirmed"


async def test_surrounding_white_space_controls_are_stripped_not_refused(any_house: Ledger) -> None:
    """SPEC: normalise and strip first, then check; a pasted trailing newline is white space."""
    booked = await any_house.book(KEY, "\tcy\r\n")
    assert (booked.status, booked.actor) == (Status.BOOKED, "cy")


@pytest.mark.parametrize(
    "name",
    [
        "https://example.com/path?q=1&r=<2>#frag",
        'O\'Brien & "Sons"',
        "[red]Not[/red] markup {braces} (parens) <tags>",
        "王小明",
        "Фёдор Достоевский",
        "ﺳﻼﻡ عليكم",
        "नमस्ते",
        "🎭🎟️ group of 4",
        "a  b   c",  # inner white space is kept
        "$(rm -rf /); `x`",
        "%s %d {0} \\n",
    ],
)
async def test_names_are_accepted_and_kept_verbatim(house: Ledger, name: str) -> None:
    assert unicodedata.normalize("NFC", name) == name
    booked = await house.book(KEY, name)
    assert (booked.status, booked.actor) == (Status.BOOKED, name)
    assert (await house.store.read(STREAM))[-1].data == {"actor": name}
    assert name in await house.roster(KEY)


# -- capacity ------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [True, False, 1.0, 2.5, "3", -1, -100, None, 3j], ids=repr)
async def test_bad_capacity_refused_by_create(house: Ledger, bad: object) -> None:
    await refused(house, lambda L: L.create_occurrence("other", capacity=bad), "capacity")  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [True, False, 1.0, "3", -1, None], ids=repr)
async def test_bad_capacity_refused_by_set_capacity(house: Ledger, bad: object) -> None:
    await refused(house, lambda L: L.set_capacity(KEY, bad), "capacity")  # type: ignore[arg-type]
    assert (await house.occurrence(KEY)).capacity == 3


async def test_capacity_zero_is_a_whole_number(house: Ledger) -> None:
    assert (await house.set_capacity(KEY, 0)).status is Status.CAPACITY_SET
    assert (await house.create_occurrence("zero", capacity=0)).status is Status.CREATED


# -- ttl -----------------------------------------------------------------------------------

BAD_TTLS: list[object] = [
    timedelta(0),
    timedelta(seconds=-1),
    timedelta(days=-1, seconds=1),
    60,
    60.0,
    "5m",
    "PT5M",
]


@pytest.mark.parametrize("bad", BAD_TTLS, ids=repr)
async def test_bad_ttl_refused_by_hold(house: Ledger, bad: object) -> None:
    await refused(house, lambda L: L.hold(KEY, "cy", ttl=bad), "ttl")  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", BAD_TTLS, ids=repr)
async def test_bad_ttl_refused_by_hold_with_observed(house: Ledger, bad: object) -> None:
    await refused(
        house,
        lambda L: L.hold_with_observed(KEY, "cy", ["ada", "bob"], 3, ttl=bad),  # type: ignore[arg-type]
        "ttl",
    )


@pytest.mark.parametrize("bad", [*BAD_TTLS, 0], ids=repr)
async def test_bad_hold_ttl_refused_by_create(house: Ledger, bad: object) -> None:
    await refused(
        house,
        lambda L: L.create_occurrence("other", capacity=1, hold_ttl=bad),  # type: ignore[arg-type]
        "hold_ttl",
    )


async def test_tiny_positive_ttl_is_a_ttl(house: Ledger) -> None:
    held = await house.hold(KEY, "cy", ttl=timedelta(microseconds=1))
    assert held.status is Status.HELD


async def _hold_for(ttl: timedelta, ledger: Ledger) -> Outcome:
    return await ledger.hold(KEY, "cy", ttl=ttl)


async def _create_with_hold_ttl(ttl: timedelta, ledger: Ledger) -> Outcome:
    return await ledger.create_occurrence("other", capacity=1, hold_ttl=ttl)


async def test_absurd_ttl_is_refused(any_house: Ledger) -> None:
    """A ttl past the calendar's end is bad input, not an OverflowError."""
    for ttl in (timedelta.max, timedelta(days=10**6)):
        await refused(any_house, partial(_hold_for, ttl), "ttl")
        await refused(any_house, partial(_create_with_hold_ttl, ttl), "hold_ttl")
    held = await any_house.hold(KEY, "cy", ttl=timedelta(days=3650))
    assert held.status is Status.HELD


async def test_one_failing_command_spares_its_batch(
    any_house: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A decision that raises (a planted fault in the hold's expiry) fails only its command.

    The log's own odd values no longer serve: the fold bounds a hold length from
    the log to 100 years (issue 12 row 1), so a planted fault stands in for one.
    """
    store = any_house.store
    meta = {"operator": "x", "terminal": "x:1", "recorded_at": "2026-12-01T19:00:00+00:00"}
    data = {"title": None, "starts_at": None, "capacity": 5, "hold_ttl_s": 60}
    await store.append("booking:odd", "created", data, meta)

    def planted(*args: object) -> None:
        raise OverflowError("planted")

    monkeypatch.setattr(decide, "expiry", planted)
    doomed, ordinary = await asyncio.gather(
        any_house.hold("odd", "cy"), any_house.book("odd", "dee"), return_exceptions=True
    )
    assert isinstance(doomed, OverflowError)
    assert not isinstance(ordinary, BaseException) and ordinary.status is Status.BOOKED
    assert await any_house.roster("odd") == ["dee"]
    assert [e.type for e in await store.read("booking:odd")] == ["created", "booking"]
    assert await any_house.matches_full_fold("odd")


# -- title, starts_at, expected_seq, operator ----------------------------------------------


@pytest.mark.parametrize(
    "bad", [5, b"t", "", "   ", "a\x1bb", "a\u202eb", "t" * 501, ["Hamlet"]], ids=repr
)
async def test_bad_title_refused(house: Ledger, bad: object) -> None:
    await refused(house, lambda L: L.create_occurrence("other", capacity=1, title=bad), "title")  # type: ignore[arg-type]


async def test_title_is_normalised_and_kept(ledger: Ledger) -> None:
    title = "Hamlet [Act I] <matinée> «€5»"
    await ledger.create_occurrence(
        "t", capacity=1, title=f"  {unicodedata.normalize('NFD', title)} "
    )
    assert (await ledger.occurrence("t")).title == title


@pytest.mark.parametrize("bad", ["tomorrow", "2026-13-01", "19:30", 5, 1.5], ids=repr)
async def test_bad_starts_at_refused(house: Ledger, bad: object) -> None:
    await refused(
        house,
        lambda L: L.create_occurrence("other", capacity=1, starts_at=bad),  # type: ignore[arg-type]
        "starts_at",
    )


@pytest.mark.parametrize("bad", [-1, "2", True, 2.0, None], ids=repr)
async def test_bad_expected_seq_refused(house: Ledger, bad: object) -> None:
    await refused(house, lambda L: L.book_with_observed(KEY, "cy", [], bad), "expected_seq")  # type: ignore[arg-type]
    await refused(house, lambda L: L.hold_with_observed(KEY, "cy", [], bad), "expected_seq")  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["", "  ", "op\x1b[2J", "op\u202e", 5], ids=repr)
async def test_bad_operator_refused(house: Ledger, bad: object) -> None:
    with pytest.raises(InvalidInput, match=r"^operator"):
        Ledger(house.store, operator=bad)  # type: ignore[arg-type]


ONE_PER_FIELD: dict[str, Call] = {
    "key": lambda L: L.book("a b", "cy"),
    "actor": lambda L: L.hold(KEY, "cy\x1b[2J"),
    "capacity": lambda L: L.set_capacity(KEY, 2.0),  # type: ignore[arg-type]
    "ttl": lambda L: L.hold(KEY, "cy", ttl=timedelta(0)),
    "hold_ttl": lambda L: L.create_occurrence("other", capacity=1, hold_ttl=60),  # type: ignore[arg-type]
    "title": lambda L: L.create_occurrence("other", capacity=1, title="a\u202eb"),
    "starts_at": lambda L: L.create_occurrence("other", capacity=1, starts_at="soon"),
    "expected_seq": lambda L: L.hold_with_observed(KEY, "cy", [], -1),
}


@pytest.mark.parametrize("field", list(ONE_PER_FIELD))
async def test_one_refusal_per_field_on_every_backend(any_house: Ledger, field: str) -> None:
    await refused(any_house, ONE_PER_FIELD[field], field)


# -- bad input wins over an unknown occurrence ---------------------------------------------

UNKNOWN_WITH_BAD_INPUT: dict[str, tuple[Call, str]] = {
    "book bad actor": (lambda L: L.book("no-such-show", "a\x1bb"), "actor"),
    "hold bad actor": (lambda L: L.hold("no-such-show", ""), "actor"),
    "hold bad ttl": (lambda L: L.hold("no-such-show", "ada", ttl=timedelta(0)), "ttl"),
    "confirm bad actor": (lambda L: L.confirm("no-such-show", "a\u200bb"), "actor"),
    "release bad actor": (lambda L: L.release("no-such-show", None), "actor"),  # type: ignore[arg-type]
    "cancel bad actor": (lambda L: L.cancel("no-such-show", "x" * 501), "actor"),
    "set_capacity bad": (lambda L: L.set_capacity("no-such-show", -1), "capacity"),
    "seat_state bad actor": (lambda L: L.seat_state("no-such-show", "\u2029"), "actor"),
    "observed bad seq": (
        lambda L: L.book_with_observed("no-such-show", "ada", [], -1),
        "expected_seq",
    ),
    "observed bad ttl": (
        lambda L: L.hold_with_observed("no-such-show", "ada", [], 0, ttl=timedelta(-1)),
        "ttl",
    ),
    "create bad capacity": (
        lambda L: L.create_occurrence("no-such-show", capacity=True),
        "capacity",
    ),
}


@pytest.mark.parametrize("case", list(UNKNOWN_WITH_BAD_INPUT))
async def test_bad_input_beats_unknown_occurrence(any_house: Ledger, case: str) -> None:
    call, field = UNKNOWN_WITH_BAD_INPUT[case]
    error = await refused(any_house, call, field)
    assert not isinstance(error, UnknownOccurrence)
    assert await any_house.store.streams("booking:no-such") == []


async def test_a_refused_command_leaves_the_ledger_usable(any_house: Ledger) -> None:
    with pytest.raises(InvalidInput):
        await any_house.book(KEY, "a\x1bb")
    booked = await any_house.book(KEY, "cy")
    assert (booked.status, booked.seat) == (Status.BOOKED, 3)
    assert await any_house.matches_full_fold(KEY)


def _text_rule(value: str, empty_ok: bool) -> str:
    """SPEC §2's text rule, spelled out: what ``clean_text`` must answer for ``value``."""
    normal = unicodedata.normalize("NFC", value.strip()).strip()
    if len(normal) > 500:
        return "refused: too long"
    if any(unicodedata.category(ch) in _HIDDEN for ch in normal):
        return "refused: hidden"
    if not normal and not empty_ok:
        return "refused: empty"
    return normal


@settings(max_examples=400, deadline=None)
@given(
    st.one_of(
        st.text(st.characters(max_codepoint=0x7F), max_size=520),  # the ASCII fast path
        st.text(st.characters(max_codepoint=0x7F), min_size=495, max_size=505),
        st.text(max_size=40),  # and the rest of Unicode, through the full path
    ),
    st.booleans(),
)
def test_text_is_cleaned_by_the_rule_on_both_paths(value: str, empty_ok: bool) -> None:
    want = _text_rule(value, empty_ok)
    try:
        got = rules.clean_text(value, "actor", empty_ok=empty_ok)
    except InvalidInput as exc:
        message = str(exc)
        assert want.startswith("refused"), (value, message)
        reason = {"too long": "at most", "hidden": "contains a", "empty": "must not be empty"}
        assert reason[want.removeprefix("refused: ")] in message
    else:
        assert got == want
