"""Which characters case-fold into a given one: what lets SQL narrow a search exactly.

``find`` matches names the Unicode way (``str.casefold``: ``ß`` matches ``ss``,
``ſ`` matches ``s``), but the event store can only compare with ASCII case
ignored (``EventStore.streams_mentioning``), which every backend's SQL can do
the same way. ``pieces`` turns a folded search text into texts one of which
every matching name must contain, so the store's answer is a superset of the
streams that match: never a stream missed, rarely one too many.
"""

from __future__ import annotations

import functools

#: Case folding changes no character beyond the first two planes (Unicode 15);
#: ``tests/test_find_narrowing.py`` checks this against the running Python.
FOLDING_LIMIT = 0x20000


#: The characters outside ASCII whose casefold holds an ASCII letter, by that letter:
#: all an ASCII search needs, so it never builds the whole table (the test above
#: checks this against ``_folds_into``).
INTO_ASCII: dict[str, str] = {
    "a": "\u1e9a",
    "f": "\ufb00\ufb01\ufb02\ufb03\ufb04",
    "h": "\u1e96",
    "i": "\u0130\ufb01\ufb03",
    "j": "\u01f0",
    "k": "\u212a",
    "l": "\ufb02\ufb04",
    "n": "\u0149",
    "s": "\u00df\u017f\u1e9e\ufb05\ufb06",
    "t": "\u1e97\ufb05\ufb06",
    "w": "\u1e98",
    "y": "\u1e99",
}


@functools.cache
def _folds_into() -> dict[str, frozenset[str]]:
    """Each character to the characters whose casefold contains it (built once, ~10 ms).

    Blocks of 256 code points that casefolding leaves alone are skipped whole.
    """
    found: dict[str, set[str]] = {}
    for start in range(0, FOLDING_LIMIT, 256):
        block = "".join(map(chr, range(start, start + 256)))
        if block.casefold() == block:
            continue
        for char in block:
            folded = char.casefold()
            if folded != char:
                for part in set(folded):
                    found.setdefault(part, set()).add(char)
    return {part: frozenset(chars) for part, chars in found.items()}


def sources(char: str) -> frozenset[str]:
    """``char`` and every character whose casefold contains it."""
    return _folds_into().get(char, frozenset()) | {char}


def pieces(folded: str) -> list[str]:
    """Texts such that every string whose casefold contains ``folded`` holds one of them.

    Holding is judged with ASCII letters in any case. An ASCII ``folded`` is held
    as itself, unless the match uses a character outside ASCII that folds into
    part of it (``ß`` for ``ss``), so those characters are pieces too. Otherwise a
    character outside ASCII in ``folded`` must come from one of its ``sources``.
    """
    if folded.isascii():
        extra = {c for part in set(folded) for c in INTO_ASCII.get(part, "")}
        return [folded, *sorted(extra)]
    rare = min((c for c in set(folded) if not c.isascii()), key=lambda c: (len(sources(c)), c))
    return sorted(sources(rare))
