"""A snapshot's parties and request ids decoded on first use, not all at a cold start.

A new terminal's first hold on a stream of 100,000 parties needs one party (the
one holding) and the counters, not 100,000 decoded records: decoding them all
was 1.1 s of the 1.2 s that hold took. So a snapshot keeps those maps as sorted
lines, ``<key as JSON>\\t<row as JSON>``, and ``LazyDict`` is a ``dict`` that
finds a key's line by bisection (after one ``split`` of the text) and decodes
only that row. Anything that needs every entry (a whole roster, a comparison
with the full fold) decodes the rest first (``warm``); a snapshot written from a
lazy state reuses the untouched lines as they are.

A row that does not decode raises ``DamagedSnapshot``: the write path forgets
the state and folds the stream from its log instead (``store.ledger.lanes``).
"""

from __future__ import annotations

import json
from bisect import bisect_left
from collections.abc import Callable, ItemsView, Iterator, KeysView, ValuesView
from typing import Any, TypeVar

from store.eventstore.errors import StoreCorrupt
from store.ledger.seat_index import SeatIndex

V = TypeVar("V")
_MISSING = object()


class DamagedSnapshot(StoreCorrupt):
    """A lazily read snapshot row did not decode: fold the stream from its log instead."""


def key_text(key: str) -> str:
    return json.dumps(key, ensure_ascii=False)


def line(key: str, row: list[Any]) -> str:
    return key_text(key) + "\t" + json.dumps(row, separators=(",", ":"), ensure_ascii=False)


class ColdLines:
    """Sorted ``key\\trow`` lines of one text; split into a list on the first lookup."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._lines: list[str] | None = None

    @property
    def lines(self) -> list[str]:
        if self._lines is None:
            self._lines = self.text.split("\n") if self.text else []
        return self._lines

    def find(self, key: str) -> str | None:
        """The raw line of ``key``, or None (one bisection: no other line is decoded)."""
        lines, prefix = self.lines, key_text(key) + "\t"
        i = bisect_left(lines, prefix)
        if i < len(lines) and lines[i].startswith(prefix):
            return lines[i]
        return None

    @staticmethod
    def split_line(raw: str) -> tuple[str, Any]:
        try:
            head, _, row = raw.partition("\t")
            key = json.loads(head)
            if not isinstance(key, str):
                raise ValueError("a key is not text")
            return key, json.loads(row)
        except ValueError as exc:
            raise DamagedSnapshot(f"snapshot row {raw[:60]!r} does not decode") from exc


class LazyDict(dict[str, V]):
    """A dict whose entries not yet touched are still lines of a snapshot's text.

    Entries set, replaced or removed since the load live in the dict itself (and
    ``gone``); a lookup of any other key decodes its line, if it has one.
    """

    def __init__(self, cold: ColdLines, decode: Callable[[str, Any], V]) -> None:
        super().__init__()
        self.cold: ColdLines | None = cold
        self.gone: set[str] = set()
        self._decode = decode
        #: how the cold lines are spelled (``snapshot.Rows``), for a snapshot that keeps them
        self.context: Any = None

    def _fetch(self, key: str) -> Any:
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        cold = self.cold
        if cold is None or key in self.gone:
            return _MISSING
        raw = cold.find(key)
        if raw is None:
            return _MISSING
        _, row = ColdLines.split_line(raw)
        value = self._decoded(key, row)
        dict.__setitem__(self, key, value)
        return value

    def _decoded(self, key: str, row: Any) -> V:
        try:
            return self._decode(key, row)
        except (ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            raise DamagedSnapshot(f"snapshot row of {key!r} does not decode") from exc

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        found = self._fetch(key)
        return default if found is _MISSING else found

    def __getitem__(self, key: str) -> V:
        found = self._fetch(key)
        if found is _MISSING:
            raise KeyError(key)
        return found  # type: ignore[no-any-return]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._fetch(key) is not _MISSING

    def __setitem__(self, key: str, value: V) -> None:
        dict.__setitem__(self, key, value)
        self.gone.discard(key)

    def pop(self, key: str, *default: Any) -> Any:  # type: ignore[override]
        found = self._fetch(key)
        if found is not _MISSING and self.cold is not None:
            self.gone.add(key)
        if found is _MISSING:
            if default:
                return default[0]
            raise KeyError(key)
        dict.__delitem__(self, key)
        return found

    def warm(self) -> None:
        """Decode every entry still cold (a whole roster, a full comparison)."""
        cold = self.cold
        if cold is None:
            return
        for raw in cold.lines:
            key, row = ColdLines.split_line(raw)
            if not dict.__contains__(self, key) and key not in self.gone:
                dict.__setitem__(self, key, self._decoded(key, row))
        self.cold = None
        self.gone = set()

    def cold_lines(self) -> list[str]:
        """The lines of entries never touched since the load, verbatim (for a new snapshot)."""
        cold = self.cold
        if cold is None:
            return []
        touched = {key_text(k) for k in (*dict.keys(self), *self.gone)}
        return [raw for raw in cold.lines if raw.partition("\t")[0] not in touched]

    def hot_items(self) -> ItemsView[str, V]:
        """The entries decoded or set since the load, without warming the rest."""
        return dict.items(self)

    def values(self) -> ValuesView[V]:  # type: ignore[override]
        self.warm()
        return dict.values(self)

    def items(self) -> ItemsView[str, V]:  # type: ignore[override]
        self.warm()
        return dict.items(self)

    def keys(self) -> KeysView[str]:  # type: ignore[override]
        self.warm()
        return dict.keys(self)

    def __iter__(self) -> Iterator[str]:
        self.warm()
        return dict.__iter__(self)

    def __len__(self) -> int:
        self.warm()
        return dict.__len__(self)

    def __bool__(self) -> bool:
        return self.__len__() > 0

    def __delitem__(self, key: str) -> None:
        self.pop(key)

    def copy(self) -> dict[str, V]:
        self.warm()
        return dict(dict.items(self))


class LazySeatIndex(SeatIndex):
    """A seat tree kept as its snapshot text until a seat number is asked for.

    A hold at the end of the roster answers with occupied + 1 and never asks the
    tree; its own add waits in ``pending`` until one does.
    """

    def __init__(self, text: str) -> None:
        super().__init__()
        self._text: str | None = text
        self._pending: list[tuple[int, int]] = []

    def _load(self) -> None:
        text, self._text = self._text, None
        assert text is not None
        try:
            tree = json.loads(text)
            if not isinstance(tree, list) or len(tree) < 64 or len(tree) & (len(tree) - 1):
                raise ValueError("not a seat tree")
            if any(type(n) is not int for n in tree):
                raise ValueError("a seat count is not a whole number")
        except ValueError as exc:
            raise DamagedSnapshot("the snapshot's seat tree does not decode") from exc
        self.tree = tree
        pending, self._pending = self._pending, []
        for index, delta in pending:
            SeatIndex.add(self, index, delta)

    def add(self, index: int, delta: int) -> None:
        if self._text is not None:
            self._pending.append((index, delta))
        else:
            SeatIndex.add(self, index, delta)

    def prefix(self, index: int) -> int:
        if self._text is not None:
            self._load()
        return SeatIndex.prefix(self, index)

    def tree_now(self) -> list[int]:
        if self._text is not None:
            self._load()
        return self.tree
