"""Issue 12 row 18: a 10 MB actor, note or title is refused without looking at its characters.

It was refused, after 1.5-2.4 s of CPU: every character was categorised (and the
whole string normalised) before the length was checked. The proof here is no
timing: ``unicodedata`` as the rules see it is replaced by a counter, and the
refusal of a 10 MB name must make no call to it at all, so its cost cannot grow
with the name. A name of 500 characters still passes every check.
"""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Callable
from typing import Any

import pytest

from store.booking import Ledger
from store.ledger import party_input, rules
from store.ledger.rules import MAX_TEXT, MOST_PER_CHARACTER, InvalidInput

KEY = "k"
TEN_MB = 10_000_000


class CountingUnicodedata:
    """``unicodedata`` with a count of every character handed to it.

    Past ``limit`` characters it raises, so an unfixed rule fails fast instead of
    categorising ten million characters.
    """

    def __init__(self, limit: int = 4 * MAX_TEXT * MOST_PER_CHARACTER) -> None:
        self.characters = 0
        self.limit = limit

    def _count(self, n: int) -> None:
        self.characters += n
        if self.characters > self.limit:
            raise AssertionError(f"the rules looked at more than {self.limit} characters")

    def normalize(self, form: Any, text: str) -> str:
        self._count(len(text))
        return unicodedata.normalize(form, text)

    def category(self, ch: str) -> str:
        self._count(1)
        return unicodedata.category(ch)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> CountingUnicodedata:
    counter = CountingUnicodedata()
    for module in (rules, party_input):
        monkeypatch.setattr(module, "unicodedata", counter, raising=False)
    return counter


@pytest.fixture
async def house(store: Any, clock: Any) -> Ledger:
    ledger = Ledger(store, clock=clock, operator="tester")
    await ledger.create_occurrence(KEY, capacity=2)
    return ledger


HUGE = {
    "ascii": "x" * TEN_MB,
    "decomposed": "e\u0301" * (TEN_MB // 2),  # NFC alone took 2.5 s on this
    "hidden-at-the-end": "x" * TEN_MB + "\u202e",
}


def _commands(value: str) -> dict[str, Callable[[Ledger], Any]]:
    return {
        "actor": lambda h: h.book(KEY, value),
        "note": lambda h: h.book(KEY, "ada", note=value),
        "title": lambda h: h.create_occurrence("other", capacity=1, title=value),
        "text": lambda h: h.find(value),
    }


@pytest.mark.parametrize("field", ["actor", "note", "title", "text"])
@pytest.mark.parametrize("shape", list(HUGE))
async def test_a_10mb_text_is_refused_without_a_character_looked_at(
    house: Ledger, counted: CountingUnicodedata, field: str, shape: str
) -> None:
    before = await house.store.head_position()
    with pytest.raises(InvalidInput) as refused:
        await _commands(HUGE[shape])[field](house)
    assert refused.value.field == field
    assert f"must be at most {MAX_TEXT} characters" in refused.value.problem
    # nothing of the 10 MB was looked at (the note's command checks its actor "ada" first)
    assert counted.characters <= 2 * len("ada")
    assert await house.store.head_position() == before


async def test_the_longest_name_is_still_checked_character_by_character(
    house: Ledger, counted: CountingUnicodedata
) -> None:
    """The early refusal stops nothing it should not: 500 characters pass, 501 do not,
    and a hidden character in a 500-character name is still found.

    A printable ASCII name is checked whole at C speed (``str.isprintable``: no
    letter of it can hide anything); any other is categorised character by character.
    """
    assert (await house.book(KEY, "a" * MAX_TEXT)).ok
    assert (await house.book(KEY, "é" * MAX_TEXT)).ok
    assert counted.characters >= MAX_TEXT  # the accented one was looked at, letter by letter
    with pytest.raises(InvalidInput, match="at most 500"):
        await house.book(KEY, "b" * (MAX_TEXT + 1))
    with pytest.raises(InvalidInput, match="U\\+202E"):
        await house.book(KEY, "c" * (MAX_TEXT - 1) + "\u202e")
    with pytest.raises(InvalidInput, match="U\\+0007"):  # a control inside plain ASCII
        await house.book(KEY, "d" * (MAX_TEXT // 2) + "\a" + "d" * (MAX_TEXT // 2 - 1))


def test_a_decomposed_name_of_500_letters_passes() -> None:
    """The early bound is 4 code points per character: 500 letters each written as
    base + 3 combining marks (2,000 code points) compose back to 500 and pass."""
    one = unicodedata.normalize("NFD", "\u1f82")  # alpha, psili, varia, ypogegrammeni
    assert len(one) == MOST_PER_CHARACTER
    assert rules.actor(one * MAX_TEXT) == "\u1f82" * MAX_TEXT


def test_no_character_decomposes_into_more_than_the_bound() -> None:
    """The bound's premise, on this Python's Unicode tables."""
    longest = max(
        len(unicodedata.normalize("NFD", chr(c)))
        for c in range(sys.maxunicode + 1)
        if not 0xD800 <= c < 0xE000
    )
    assert longest <= MOST_PER_CHARACTER
