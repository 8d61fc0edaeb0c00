"""The schema boxoffice keeps in PostgreSQL: its tables, the append function, its lock keys.

An append is one call of ``boxoffice_append`` (one round trip, one implicit
transaction) that takes the table's advisory lock, checks the expected seq, inserts
and ``NOTIFY``s the new head position.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from store.eventstore.events import NewEvent
from store.eventstore.sql import SNAPSHOTS, SNAPSHOTS_DDL, SUMMARIES, SUMMARIES_DDL, encode

#: First half of every advisory lock key boxoffice takes ("boxo"); the second half
#: names the table (appends) or the schema (``init``), so box offices in other
#: schemas or databases never wait for each other.
LOCK_CLASS = 0x626F786F
INIT_LOCK_CLASS = 0x626F7869

#: Lower case only: PostgreSQL folds an unquoted name to lower case, so ``RT_B`` in
#: the search path and a quoted ``"RT_B"`` schema are two different places.
SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

APPEND_FUNCTION = f"""
CREATE FUNCTION boxoffice_append(
    p_stream text, p_expected bigint, p_types text[], p_data text[], p_meta text[],
    p_lock_timeout_ms integer
) RETURNS TABLE (out_seq bigint, out_position bigint)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_last bigint;
BEGIN
    -- A stale expectation fails here, before queueing for the lock.
    IF p_expected IS NOT NULL THEN
        SELECT COALESCE(MAX(seq), 0) INTO v_last FROM boxoffice_events WHERE stream = p_stream;
        IF v_last <> p_expected THEN
            out_seq := v_last; out_position := NULL; RETURN NEXT; RETURN;
        END IF;
    END IF;
    -- One appender at a time from here to commit: positions are taken in commit
    -- order. Each statement below gets a fresh snapshot (READ COMMITTED), so the
    -- seq read after the lock sees the previous holder's commit. A wait past the
    -- caller's timeout fails the whole call (lock_not_available): nothing is written.
    PERFORM set_config('lock_timeout', greatest(p_lock_timeout_ms, 1) || 'ms', true);
    PERFORM pg_advisory_xact_lock({LOCK_CLASS}, 'boxoffice_events'::regclass::oid::integer);
    SELECT COALESCE(MAX(seq), 0) INTO v_last FROM boxoffice_events WHERE stream = p_stream;
    IF p_expected IS NOT NULL AND v_last <> p_expected THEN
        out_seq := v_last; out_position := NULL; RETURN NEXT; RETURN;
    END IF;
    FOR i IN 1 .. cardinality(p_types) LOOP
        INSERT INTO boxoffice_events (stream, seq, type, data, meta)
        VALUES (p_stream, v_last + i, p_types[i], p_data[i]::json, p_meta[i]::json)
        RETURNING seq, position INTO out_seq, out_position;
        RETURN NEXT;
    END LOOP;
    PERFORM pg_notify('boxoffice_' || md5(current_schema()), out_position::text);
END
$$"""

SCHEMA = (
    "CREATE TABLE boxoffice_schema (version integer NOT NULL)",
    """CREATE TABLE boxoffice_events (
        position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        stream   text COLLATE "C" NOT NULL,
        seq      bigint NOT NULL CHECK (seq >= 1),
        type     text NOT NULL,
        data     json NOT NULL,
        meta     json NOT NULL,
        UNIQUE (stream, seq)
    )""",
    # Every stream has exactly one seq 1: a small index that lists the streams.
    "CREATE INDEX boxoffice_events_stream_heads ON boxoffice_events (stream) WHERE seq = 1",
    """CREATE FUNCTION boxoffice_refuse_change() RETURNS trigger
       LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'events are append-only'; END $$""",
    """CREATE TRIGGER boxoffice_events_append_only BEFORE UPDATE OR DELETE ON boxoffice_events
       FOR EACH ROW EXECUTE FUNCTION boxoffice_refuse_change()""",
    """CREATE TRIGGER boxoffice_events_no_truncate BEFORE TRUNCATE ON boxoffice_events
       FOR EACH STATEMENT EXECUTE FUNCTION boxoffice_refuse_change()""",
    APPEND_FUNCTION,
)

APPEND = "SELECT out_seq, out_position FROM boxoffice_append($1, $2, $3, $4, $5, $6)"


def columns(events: Sequence[NewEvent]) -> tuple[list[str], list[str], list[str]]:
    """The append function's three arrays: types, data and meta as stored JSON text."""
    rows = encode(events)
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]


async def lay_down_snapshots(conn: Any, schema: str | None) -> None:
    """The snapshot cache's table, in a new database or one from before it (in ``init``'s
    transaction): one opener at a time lays it down. The house's summaries likewise."""
    for table, ddl in ((SNAPSHOTS, SNAPSHOTS_DDL), (SUMMARIES, SUMMARIES_DDL)):
        if not await conn.fetchval(f"SELECT to_regclass('{table}') IS NOT NULL"):
            await conn.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))", INIT_LOCK_CLASS, schema or ""
            )
            await conn.execute(ddl)
