"""``find`` folds only the streams the store says mention the text (issue 14, performance).

Three layers, each able to fail on its own:

- the store's ``streams_mentioning`` (every backend, through the ``store`` fixture):
  exact answers on names with escapes, wildcards, regex characters and non-ASCII case,
  and the same answer as the contract's reference over ``read_all``;
- ``casefolds.pieces``: every name whose casefold holds the text holds a piece (a
  Hypothesis property over the characters that fold oddly), and its tables match the
  running Python's Unicode;
- the ledger: ``find`` answers exactly what a search over every folded stream answers,
  reads only the streams that mention the text, and folds the season once for a broad
  text, after which it answers from memory.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.wrapped_store import ForwardingStore

from store import Event, EventStore
from store.booking import Ledger
from store.eventstore.contract import ascii_lower
from store.ledger import catalog
from store.ledger.casefolds import FOLDING_LIMIT, INTO_ASCII, _folds_into, pieces
from store.ledger.fold import stream_of

JOINS = ["booking", "hold", "wait"]

# -- the store: streams_mentioning -------------------------------------------------------


async def _seed_mentions(store: EventStore) -> None:
    rows: list[tuple[str, str, dict[str, Any]]] = [
        ("booking:a", "booking", {"actor": "Ada Lovelace"}),
        ("booking:b", "hold", {"actor": "ADA"}),
        ("booking:c", "wait", {"actor": 'say "ada" \\ back'}),
        ("booking:d", "booking", {"actor": "Straße"}),
        ("booking:e", "cancel", {"actor": "Ada"}),  # not a join: never a mention
        ("booking:f", "booking", {"actor": 42, "note": "ada"}),  # the field is not text
        ("other:g", "booking", {"actor": "Ada"}),  # another prefix
        ("booking:h", "booking", {"actor": "100%_sure"}),
        ("booking:i", "booking", {"actor": "axb"}),
        ("booking:j", "booking", {"actor": "Émile"}),
        ("booking:k", "created", {"title": "ada"}),
    ]
    for stream, kind, data in rows:
        await store.append(stream, kind, data)
    await store.append("booking:h", "booking", {"actor": "Zed"})  # seq 2 of h


#: (pieces, seq, the streams expected)
MENTION_CASES: list[tuple[list[str], int | None, list[str]]] = [
    (["ada"], None, ["booking:a", "booking:b", "booking:c"]),
    (["ADA"], None, ["booking:a", "booking:b", "booking:c"]),
    (['"ada"'], None, ["booking:c"]),  # a piece the encoder escapes
    (["\\ b"], None, ["booking:c"]),
    (["ß"], None, ["booking:d"]),
    (["SS"], None, []),  # the store folds ASCII case only
    (["0%_s"], None, ["booking:h"]),
    (["a_b"], None, []),  # "_" is not a wildcard
    (["a.b"], None, []),  # "." is not a regex
    (["%"], None, ["booking:h"]),
    (["é"], None, []),  # no case folding outside ASCII
    (["É"], None, ["booking:j"]),
    (["nobody", "lovelace"], None, ["booking:a"]),
    (["nobody"], 2, ["booking:h"]),
    (
        [],
        1,
        [
            "booking:a",
            "booking:b",
            "booking:c",
            "booking:d",
            "booking:f",
            "booking:h",
            "booking:i",
            "booking:j",
        ],
    ),
    ([], None, []),
]


async def test_streams_mentioning_is_exact_on_every_backend(store: EventStore) -> None:
    await _seed_mentions(store)
    for texts, seq, expected in MENTION_CASES:
        found = await store.streams_mentioning("booking:", JOINS, "actor", texts, seq)
        assert found == expected, (texts, seq)
        reference = await EventStore.streams_mentioning(
            store, "booking:", JOINS, "actor", texts, seq
        )
        assert found == reference, (texts, seq)


async def test_streams_mentioning_refuses_a_field_that_is_not_a_name(store: EventStore) -> None:
    await store.append("booking:a", "booking", {"actor": "Ada"})
    with pytest.raises(ValueError, match="field"):
        await store.streams_mentioning("booking:", JOINS, "actor') OR 1=1 --", ["x"])


# -- pieces: a superset of what casefold matches ---------------------------------------------

_ODD = "aAsSkKiIfFlLtT ßſẞKİıﬁﬂﬅﬆẚŉǰéÉ山"


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=_ODD, max_size=8), st.text(alphabet=_ODD, min_size=1, max_size=3))
def test_every_name_that_matches_holds_a_piece(name: str, text: str) -> None:
    name = unicodedata.normalize("NFC", name)
    folded = unicodedata.normalize("NFC", text).casefold()
    if folded in name.casefold():
        assert any(ascii_lower(p) in ascii_lower(name) for p in pieces(folded)), (name, text)


def test_the_folding_tables_match_this_python() -> None:
    table = _folds_into()
    computed = {
        part: "".join(sorted(c for c in chars if not c.isascii()))
        for part, chars in table.items()
        if part.isascii()
    }
    assert {k: v for k, v in computed.items() if v} == INTO_ASCII
    beyond = [cp for cp in range(FOLDING_LIMIT, 0x110000) if chr(cp).casefold() != chr(cp)]
    assert beyond == []


# -- the ledger: find reads only what mentions the text --------------------------------------


class CountingStore(ForwardingStore):
    """Records which streams are read one by one and how often the season is read whole."""

    def __init__(self, inner: EventStore) -> None:
        super().__init__(inner)
        self.streams_read: list[str] = []
        self.read_alls = 0
        self.mentions = 0

    async def read(self, stream: str, after_seq: int = 0) -> list[Event]:
        self.streams_read.append(stream)
        return await super().read(stream, after_seq)

    async def read_all(self, after_position: int = 0, limit: int | None = None) -> list[Event]:
        self.read_alls += 1
        return await super().read_all(after_position, limit)

    async def streams_mentioning(self, *args: Any, **kwargs: Any) -> list[str]:
        self.mentions += 1
        return await super().streams_mentioning(*args, **kwargs)


async def _season(ledger: Ledger, shows: int) -> None:
    names = ["Ada Lovelace", "Grace Hopper", "Straße", "Ǆemal", "Zoë", "Kim"]
    for n in range(shows):
        key = f"show-{n}"
        await ledger.create_occurrence(
            key, capacity=50, starts_at=f"2027-01-{1 + n % 28:02d}T19:30Z"
        )
        await ledger.book(key, f"{names[n % len(names)]} {n}", seats=1 + n % 3)
        await ledger.hold(key, f"guest {n}")
        if n % 4 == 0:
            await ledger.join_waitlist(key, f"waiter {names[n % len(names)]}", seats=60)
    await ledger.archive("show-3")


async def _brute_force(ledger: Ledger, text: str) -> list[tuple[str, str, int | None, str]]:
    """What find must answer, from every stream's own view (no narrowing, no catalog)."""
    folded = unicodedata.normalize("NFC", text).strip().casefold()
    digits = folded.removeprefix("#")
    found: list[tuple[str, str, int | None, str]] = []
    records = [r for r in await ledger.occurrences()]
    records.sort(key=lambda r: (r.starts_at is None, r.starts_at or "", r.key))
    for record in records:
        rows = [(r.actor, r.ref, r.state) for r in await ledger.seats(record.key)]
        rows += [(w.actor, w.ref, "waiting") for w in await ledger.waitlist(record.key)]
        for actor, ref, state in rows:
            if folded in actor.casefold() or (digits.isdigit() and ref == int(digits)):
                found.append((record.key, actor, ref, state))
    return found


@pytest.mark.parametrize("narrow_at_most", [100, 0], ids=["narrowed", "whole-season"])
async def test_find_answers_what_a_search_of_every_stream_answers(
    store: EventStore, clock: Any, narrow_at_most: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(catalog, "NARROW_AT_MOST", narrow_at_most)
    await _season(Ledger(store, clock=clock, operator="seed"), 12)
    for text in ["ada", "ADA", "ss", "ǆ", "zoe\u0308", "kim 1", "#2", "3", "waiter"]:
        fresh = Ledger(store, clock=clock, operator="finder")  # a cold catalog each time
        found = [(k, r.actor, r.ref, r.state) for k, r in await fresh.find(text)]
        assert found == await _brute_force(fresh, text), text
        assert found, text  # every text above names someone


async def test_find_folds_only_the_streams_that_mention_the_text(db_path: str, clock: Any) -> None:
    from store import open_store

    async with open_store(db_path, create=True) as inner:
        await _season(Ledger(inner, clock=clock, operator="seed"), 30)
        counting = CountingStore(inner)
        ledger = Ledger(counting, clock=clock, operator="finder")
        found = await ledger.find("grace")
        assert sorted({k for k, _ in found}) == sorted(f"show-{n}" for n in range(1, 30, 6))
        assert counting.read_alls == 0
        assert sorted(set(counting.streams_read)) == sorted(
            stream_of(f"show-{n}") for n in range(1, 30, 6)
        )
        await ledger.book("show-7", "Grace again")  # a later commit is seen by the next search
        assert ("show-7", "Grace again") in [(k, r.actor) for k, r in await ledger.find("grace")]


async def test_a_broad_search_folds_the_season_once_then_answers_from_memory(
    db_path: str, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from store import open_store

    monkeypatch.setattr(catalog, "NARROW_AT_MOST", 5)
    async with open_store(db_path, create=True) as inner:
        await _season(Ledger(inner, clock=clock, operator="seed"), 12)
        counting = CountingStore(inner)
        ledger = Ledger(counting, clock=clock, operator="finder")
        broad = await ledger.find("guest")  # every show: more than 5 streams
        assert len({k for k, _ in broad}) == 11  # show-3 is archived
        assert counting.read_alls >= 1 and counting.mentions == 1
        await ledger.book("show-5", "Late Ada")
        found = await ledger.find("late ada")
        assert [(k, r.actor) for k, r in found] == [("show-5", "Late Ada")]
        assert counting.mentions == 1  # the whole catalog tails by position now
