"""What both SQL backends share: the read queries, the event codec and the schema check.

SQLite and PostgreSQL store events in the same shape (position, stream, seq,
type, data and meta as JSON text) and differ only in spelling: the table's name,
how a parameter is written, how "no limit" is said. A ``Dialect`` holds those
differences; ``SQLEventStore`` writes each read once, on top of the one query
primitive a backend provides (``_fetch``), so a fix to a read, to decoding or to
the schema message lands in both at once.
"""

from __future__ import annotations

import abc
import json
import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from store.eventstore.contract import EventStore
from store.eventstore.errors import SchemaTooNew, StoreCorrupt
from store.eventstore.events import Event, NewEvent

#: The schema this boxoffice writes and understands; an older one is opened as is,
#: a newer one refused (``check_schema_version``). SQLite's; PostgreSQL has moved on
#: to its own (``postgres.schema.PG_SCHEMA_VERSION``).
SCHEMA_VERSION = 1

COLUMNS = "position, stream, seq, type, data, meta"

#: The fold's cache (``store.ledger.snapshot``), one row per stream. Laid down by
#: every open that lacks it, without a schema version bump: a boxoffice that does not
#: know it leaves it stale, and a stale snapshot only costs its tail's fold.
SNAPSHOTS = "boxoffice_snapshots"
SNAPSHOTS_DDL = (
    f"CREATE TABLE IF NOT EXISTS {SNAPSHOTS} ("
    "stream TEXT PRIMARY KEY, seq BIGINT NOT NULL CHECK (seq >= 1), state TEXT NOT NULL)"
)
#: The house's cache (``store.ledger.summary``): per stream, what its line in the house
#: shows, at a seq. Laid down with the snapshots; read for every stream in one query.
SUMMARIES = "boxoffice_summaries"
SUMMARIES_DDL = (
    f"CREATE TABLE IF NOT EXISTS {SUMMARIES} ("
    "stream TEXT PRIMARY KEY, seq BIGINT NOT NULL CHECK (seq >= 1), summary TEXT NOT NULL)"
)
#: Most summaries one statement writes (3 parameters each, well under both databases' cap).
SUMMARIES_PER_STATEMENT = 500

Row = Sequence[Any]


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one database spells the shared queries."""

    table: str
    #: placeholder for the n-th parameter (1-based): ``?1`` or ``$1``
    placeholder: str
    #: the LIMIT value that means "every row"
    unlimited: int | None
    #: ``streams_mentioning``'s spelling: a data field as text ({field}), whether it
    #: is a string, the stored data as text, and "{hay} contains {pattern}" where the
    #: pattern, made by ``pattern(piece)``, ignores the case of ASCII letters only
    field_text: str
    field_is_text: str
    data_text: str
    contains: str
    pattern: Callable[[str], str]
    #: whether {hay} holds any character outside ASCII (one cheap pass, no matching)
    has_non_ascii: str
    #: after the table's name in a search across every event: read the table in
    #: order, not through an index (SQLite's planner walks the (stream, seq) index
    #: for DISTINCT stream and looks every row up: 92 ms against 66 ms, interleaved)
    scan_hint: str = ""
    #: where a database's commits can become visible out of position order: the SQL
    #: for the highest position a reader holding every event up to ``{after}`` may
    #: read up to (``read_all`` stops there, ``head_position`` is it for 0). None
    #: where positions become visible in order (SQLite: one writer at a time)
    visible_head: str | None = None
    #: after the table's name where a query lists streams by their seq 1: the index of
    #: first events (SQLite's planner otherwise walks the whole (stream, seq) index)
    heads_hint: str = ""


@dataclass(frozen=True, slots=True)
class Queries:
    """The five reads, in one dialect; each takes its parameters in the order named."""

    read: str  # (stream, after_seq)
    last_seq: str  # (stream,)
    read_all: str  # (after_position, limit)
    head_position: str  # ()
    streams: str  # (prefix,)
    unlimited: int | None  # read_all's limit when the caller gives none
    dialect: Dialect

    @classmethod
    def for_dialect(cls, d: Dialect) -> Queries:
        def p(n: int) -> str:
            return d.placeholder.format(n)

        below = head = ""
        if d.visible_head is not None:
            below = f" AND position <= (SELECT {d.visible_head.format(after=p(1))})"
            head = f"SELECT {d.visible_head.format(after=0)}"
        return cls(
            read=f"SELECT {COLUMNS} FROM {d.table} WHERE stream = {p(1)} AND seq > {p(2)}"
            " ORDER BY seq",
            last_seq=f"SELECT COALESCE(MAX(seq), 0) FROM {d.table} WHERE stream = {p(1)}",
            read_all=f"SELECT {COLUMNS} FROM {d.table} WHERE position > {p(1)}{below}"
            f" ORDER BY position LIMIT {p(2)}",
            head_position=head or f"SELECT COALESCE(MAX(position), 0) FROM {d.table}",
            # every stream has exactly one seq 1, and an index on it
            streams=f"SELECT stream FROM {d.table} WHERE seq = 1"
            f" AND substr(stream, 1, length({p(1)})) = {p(1)} ORDER BY stream",
            unlimited=d.unlimited,
            dialect=d,
        )


def like_pattern(piece: str) -> str:
    """``%piece%`` for SQLite's ``LIKE ... ESCAPE '\\'``, which ignores ASCII case only."""
    escaped = piece.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def regex_pattern(piece: str) -> str:
    """A PostgreSQL regular expression matching ``piece`` with ASCII letters in any case.

    Spelled ``[Aa]`` letter by letter rather than with ``ILIKE``, whose idea of case
    follows the database's locale (in a Turkish one ``I`` is not ``i``'s capital).
    Every character that is not a letter or digit is escaped, which ARE reads as itself.
    """
    out = []
    for char in piece:
        if char.isascii() and char.isalpha():
            out.append(f"[{char.upper()}{char.lower()}]")
        elif char.isalnum():
            out.append(char)
        else:
            out.append("\\" + char)
    return "".join(out)


#: What the encoder escapes in a string (``ensure_ascii=False``): a piece holding one
#: of these is not verbatim in the stored text, so the cheap test cannot be used.
_ESCAPED = re.compile(r'[\x00-\x1f"\\]')
_FIELD = re.compile(r"[a-z_]{1,40}")


def mentioning_query(
    d: Dialect,
    prefix: str,
    types: Sequence[str],
    field: str,
    pieces: Sequence[str],
    seq: int | None,
) -> tuple[str, tuple[Any, ...]] | None:
    """``streams_mentioning`` as one query and its parameters (None: nothing can match).

    The stored data as text is tested first because it is cheap: every event's data
    is stored as ``dumps`` wrote it (PostgreSQL's ``json`` keeps the text as given),
    so a field holding a piece puts the piece verbatim in that text unless the
    piece holds a character the encoder escapes. Rows without it are passed over
    without parsing their JSON; the others are then tested on the field itself.
    Measured on 201,000 events (SQLite, load 13): one ``LIKE`` pass 170-250 ms, and
    one per piece outside ASCII on top (7 pieces: 900 ms), hence ``has_non_ascii``.
    """
    if not _FIELD.fullmatch(field):
        raise ValueError(f"field: {field!r} is not a plain field name")
    if not types or (not pieces and seq is None):
        return None
    params: list[Any] = []

    def p(value: Any) -> str:
        params.append(value)
        return d.placeholder.format(len(params))

    kinds = ", ".join(p(t) for t in types)
    either = []
    if seq is not None:
        either.append(f"seq = {p(seq)}")
    if pieces:
        patterns = [p(d.pattern(piece)) for piece in pieces]
        value = d.field_text.format(field=field)
        exact = " OR ".join(d.contains.format(hay=value, pattern=x) for x in patterns)
        test = f"{d.field_is_text.format(field=field)} AND ({exact})"
        if not any(_ESCAPED.search(piece) for piece in pieces):
            # Pieces outside ASCII are one test, not one pass each: a text holding one
            # holds a character outside ASCII (searching for "ss" asks for ß, ſ, ẞ ...).
            raw = [
                d.contains.format(hay=d.data_text, pattern=x)
                for x, piece in zip(patterns, pieces, strict=True)
                if piece.isascii()
            ]
            if not all(piece.isascii() for piece in pieces):
                raw.append(d.has_non_ascii.format(hay=d.data_text))
            test = f"({' OR '.join(raw)}) AND {test}"
        either.append(f"({test})")
    prefix_p = p(prefix)
    sql = (
        f"SELECT DISTINCT stream FROM {d.table}{d.scan_hint} WHERE type IN ({kinds})"
        f" AND ({' OR '.join(either)})"
        f" AND substr(stream, 1, length({prefix_p})) = {prefix_p} ORDER BY stream"
    )
    return sql, tuple(params)


class UnstorableValue(ValueError):
    """Event data or meta that is not JSON (NaN, Infinity): refused before anything is written."""


# One encoder for every event: ``json.dumps`` with options builds a new one per call.
# ``allow_nan=False``: NaN and Infinity are not JSON, and PostgreSQL's json type
# refuses them; SQLite would store them. Both backends refuse them here, the same way.
_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def dumps(value: dict[str, Any], field: str = "data") -> str:
    """``value`` as stored JSON text; ``UnstorableValue`` names what JSON cannot hold."""
    try:
        return _encoder.encode(value)
    except ValueError as exc:
        found = _unstorable(value, field)
        raise UnstorableValue(f"event {found or f'{field}: {exc}'}") from exc
    except TypeError as exc:
        raise UnstorableValue(f"event {field}: {exc}") from exc


def _unstorable(value: Any, path: str) -> str | None:
    """Where in ``value`` a float JSON cannot represent sits, for the error message."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"{path} is {value!r}, which JSON cannot represent; nothing was written"
    if isinstance(value, dict):
        items: Iterable[tuple[Any, Any]] = value.items()
    elif isinstance(value, (list, tuple)):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _unstorable(item, f"{path}[{key!r}]")
        if found:
            return found
    return None


_NO_META = object()


def encode(events: Sequence[NewEvent]) -> list[tuple[str, str, str]]:
    """``(type, data, meta)`` as stored; a batch's events share one meta, encoded once."""
    rows = []
    meta: object = _NO_META  # not None: a meta of None must still be encoded ("null")
    meta_text = ""
    for event in events:
        if event.meta is not meta:
            meta, meta_text = event.meta, dumps(event.meta, "meta")
        rows.append((event.type, dumps(event.data), meta_text))
    return rows


def decode(row: Row, where: str) -> Event:
    """One stored row as an ``Event``; bytes the encoder never wrote are ``StoreCorrupt``.

    Lenient where it can be: a NaN an older boxoffice let into SQLite still reads.
    """
    position, stream, seq, type_, data, meta = row
    try:
        return Event(stream, seq, position, type_, json.loads(data), json.loads(meta))
    except (TypeError, ValueError) as exc:
        raise StoreCorrupt(
            f"{where}: damaged: event at position {position} does not decode ({exc})"
        ) from exc


def check_schema_version(version: int | None, where: str, understood: int = SCHEMA_VERSION) -> None:
    """Refuse a database this boxoffice cannot safely read or write (``understood``: the
    backend's own version, where it has one)."""
    if version is None:
        raise StoreCorrupt(f"{where}: the boxoffice schema table is empty")
    if version > understood:
        raise SchemaTooNew(
            f"{where}: schema version {version} is newer than this boxoffice "
            f"understands ({understood}); upgrade boxoffice to open it"
        )


class SQLEventStore(EventStore):
    """The reads and ``describe()`` of a backend that stores events in one SQL table."""

    #: the dialect's queries (a class attribute of each backend)
    queries: Queries
    #: facts read at open, for ``describe()`` (engine, versions, settings)
    _facts: dict[str, Any]

    @abc.abstractmethod
    async def _fetch(self, sql: str, params: tuple[Any, ...]) -> Sequence[Row]:
        """Run one read and return its rows; driver errors leave as store errors."""

    async def _execute(self, sql: str, params: tuple[Any, ...], timeout: float | None) -> None:
        """Run one write statement outside any append (the snapshot cache's upsert)."""
        raise NotImplementedError

    async def load_snapshot(self, stream: str) -> tuple[int, str] | None:
        p = self.queries.dialect.placeholder.format
        rows = await self._fetch(
            f"SELECT seq, state FROM {SNAPSHOTS} WHERE stream = {p(1)}", (stream,)
        )
        if not rows:
            return None
        seq, state = rows[0]
        return (seq, state) if type(seq) is int and isinstance(state, str) else None

    async def snapshot_seqs(self) -> dict[str, int]:
        rows = await self._fetch(f"SELECT stream, seq FROM {SNAPSHOTS}", ())
        return {r[0]: int(r[1]) for r in rows}

    async def save_snapshot(
        self, stream: str, seq: int, state: str, *, timeout: float | None = None
    ) -> None:
        p = self.queries.dialect.placeholder.format
        # an older snapshot never replaces a newer one; an equal one may (a rebuild)
        await self._execute(
            f"INSERT INTO {SNAPSHOTS} (stream, seq, state) VALUES ({p(1)}, {p(2)}, {p(3)})"
            f" ON CONFLICT (stream) DO UPDATE SET seq = excluded.seq, state = excluded.state"
            f" WHERE excluded.seq >= {SNAPSHOTS}.seq",
            (stream, seq, state),
            timeout,
        )

    async def stream_summaries(self, prefix: str) -> list[tuple[str, int, int | None, str | None]]:
        d = self.queries.dialect
        p = d.placeholder.format
        # each last seq is one index seek (ORDER BY seq DESC LIMIT 1), so the query costs
        # the number of streams, never the number of events
        rows = await self._fetch(
            f"SELECT h.stream, (SELECT e.seq FROM {d.table} e WHERE e.stream = h.stream"
            f" ORDER BY e.seq DESC LIMIT 1), s.seq, s.summary"
            f" FROM {d.table} h{d.heads_hint} LEFT JOIN {SUMMARIES} s ON s.stream = h.stream"
            f" WHERE h.seq = 1 AND substr(h.stream, 1, length({p(1)})) = {p(1)}"
            " ORDER BY h.stream",
            (prefix,),
        )
        return [
            (r[0], int(r[1]), *((int(r[2]), r[3]) if isinstance(r[3], str) else (None, None)))
            for r in rows
        ]

    async def load_summary(self, stream: str) -> tuple[int, str] | None:
        p = self.queries.dialect.placeholder.format
        rows = await self._fetch(
            f"SELECT seq, summary FROM {SUMMARIES} WHERE stream = {p(1)}", (stream,)
        )
        if not rows:
            return None
        seq, summary = rows[0]
        return (seq, summary) if type(seq) is int and isinstance(summary, str) else None

    async def save_summaries(
        self, rows: Sequence[tuple[str, int, str]], *, timeout: float | None = None
    ) -> None:
        p = self.queries.dialect.placeholder.format
        rows = list(rows)
        for start in range(0, len(rows), SUMMARIES_PER_STATEMENT):
            chunk = rows[start : start + SUMMARIES_PER_STATEMENT]
            values = ", ".join(
                f"({p(3 * i + 1)}, {p(3 * i + 2)}, {p(3 * i + 3)})" for i in range(len(chunk))
            )
            # one statement: one transaction (one fsync) for a whole house's worth;
            # the latest write wins whatever its seq, since a summary past the log
            # must be replaceable (a reader uses one only at the stream's last seq)
            await self._execute(
                f"INSERT INTO {SUMMARIES} (stream, seq, summary) VALUES {values}"
                " ON CONFLICT (stream) DO UPDATE"
                " SET seq = excluded.seq, summary = excluded.summary",
                tuple(x for row in chunk for x in row),
                timeout,
            )

    async def read(self, stream: str, after_seq: int = 0) -> list[Event]:
        rows = await self._fetch(self.queries.read, (stream, after_seq))
        return [decode(r, self.url) for r in rows]

    async def last_seq(self, stream: str) -> int:
        rows = await self._fetch(self.queries.last_seq, (stream,))
        return int(rows[0][0])

    async def read_all(self, after_position: int = 0, limit: int | None = None) -> list[Event]:
        if limit is None:
            limit = self.queries.unlimited
        rows = await self._fetch(self.queries.read_all, (after_position, limit))
        return [decode(r, self.url) for r in rows]

    async def head_position(self) -> int:
        rows = await self._fetch(self.queries.head_position, ())
        return int(rows[0][0])

    async def streams(self, prefix: str = "") -> list[str]:
        rows = await self._fetch(self.queries.streams, (prefix,))
        return [r[0] for r in rows]

    async def streams_mentioning(
        self,
        prefix: str,
        types: Sequence[str],
        field: str,
        pieces: Sequence[str],
        seq: int | None = None,
    ) -> list[str]:
        query = mentioning_query(self.queries.dialect, prefix, types, field, pieces, seq)
        if query is None:
            return []
        rows = await self._fetch(*query)
        return [r[0] for r in rows]

    def describe(self) -> dict[str, Any]:
        return {"url": self.url, **self._facts}
