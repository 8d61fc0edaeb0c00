"""The schema boxoffice keeps in PostgreSQL: its tables, the append function, its lock keys.

An append is one call of ``boxoffice_append`` (one round trip, one implicit
transaction). Appends to different streams run in parallel; what keeps a tailing
reader from skipping an event is the pair of rules below, proved in
``boxoffice_visible_head``'s comment:

1. **Positions follow transaction ids.** Each append takes the box office's short
   *position lock* (a session-level advisory lock, released before commit, so no
   fsync is ever waited for under it) around exactly two things: getting its
   transaction id and inserting its rows (positions from the identity). So among
   appends, xid order is position order. The append must be its transaction's first
   write: an xid got earlier, outside the lock, would break the rule, so the
   function refuses to run then.
2. **Readers stop at the first position they cannot vouch for.** A visible row is
   returned if the row just below it is visible too (nothing can ever appear
   between them), or if its xid is below the snapshot's ``xmin`` (every transaction
   that could still commit a smaller position has a larger xid than it).

The seq of a stream is guarded by a per-stream advisory lock held to commit, so two
appends to one stream see each other's commit; unrelated streams never wait for
each other beyond the position lock's few microseconds. Nothing is notified inside
the transaction (PostgreSQL serialises every notifying commit, fsync included, on
one instance-wide lock): the client notifies after its commit (``postgres.live``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from store.eventstore.events import NewEvent
from store.eventstore.sql import SNAPSHOTS, SNAPSHOTS_DDL, SUMMARIES, SUMMARIES_DDL, encode

#: The schema this boxoffice writes and understands on PostgreSQL. Version 2 added
#: the ``xid`` column, parallel appends and the readers' horizon: a version-1
#: database is migrated on open (``MIGRATE_TO_2``), and a boxoffice that knows only
#: version 1 (whose readers have no horizon) refuses a migrated one. SQLite's
#: schema did not change and keeps its own number (``store.eventstore.sql``).
PG_SCHEMA_VERSION = 2

#: First half of every two-part advisory lock key boxoffice takes ("boxo"); the
#: second half names the table (the position lock) or the schema (``init``), so box
#: offices in other schemas or databases never wait for each other. A stream's lock
#: is one 64-bit key: the table's oid, then the stream name's hash.
LOCK_CLASS = 0x626F786F
INIT_LOCK_CLASS = 0x626F7869

#: Lower case only: PostgreSQL folds an unquoted name to lower case, so ``RT_B`` in
#: the search path and a quoted ``"RT_B"`` schema are two different places.
SCHEMA_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

#: SQLSTATE of the refusal to append after another write in the same transaction.
NOT_FIRST_WRITE = "BO001"

APPEND_FUNCTION = f"""
CREATE OR REPLACE FUNCTION boxoffice_append(
    p_stream text, p_expected bigint, p_types text[], p_data text[], p_meta text[],
    p_lock_timeout_ms integer, p_unlock_stream boolean
) RETURNS TABLE (out_seq bigint, out_position bigint)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    v_last bigint;
    v_table integer := 'boxoffice_events'::regclass::oid::integer;
    v_data json[];
    v_meta json[];
BEGIN
    -- A stale expectation fails here, before queueing for the lock.
    IF p_expected IS NOT NULL THEN
        SELECT COALESCE(MAX(seq), 0) INTO v_last FROM boxoffice_events WHERE stream = p_stream;
        IF v_last <> p_expected THEN
            out_seq := v_last; out_position := NULL; RETURN NEXT; RETURN;
        END IF;
    END IF;
    -- Rule 1 needs this transaction's xid to be got under the position lock below.
    IF pg_current_xact_id_if_assigned() IS NOT NULL THEN
        RAISE EXCEPTION 'boxoffice_append must be the first write of its transaction'
            USING ERRCODE = '{NOT_FIRST_WRITE}';
    END IF;
    -- The stream's appends one at a time, to commit: each statement below gets a
    -- fresh snapshot (READ COMMITTED), so the seq read after the lock sees the
    -- previous holder's commit. A wait past the caller's timeout fails the whole
    -- call (lock_not_available): nothing is written.
    PERFORM set_config('lock_timeout', greatest(p_lock_timeout_ms, 1) || 'ms', true);
    PERFORM pg_advisory_xact_lock(boxoffice_stream_key(p_stream));
    -- append_decided's session-level hold (boxoffice_lock_stream) on the same key:
    -- the transaction's hold, just taken, keeps the stream to commit from here on
    IF p_unlock_stream THEN
        PERFORM pg_advisory_unlock(boxoffice_stream_key(p_stream));
    END IF;
    SELECT COALESCE(MAX(seq), 0) INTO v_last FROM boxoffice_events WHERE stream = p_stream;
    IF p_expected IS NOT NULL AND v_last <> p_expected THEN
        out_seq := v_last; out_position := NULL; RETURN NEXT; RETURN;
    END IF;
    v_data := p_data::json[];  -- parsed before the position lock, not under it
    v_meta := p_meta::json[];
    BEGIN
        -- The position lock: the xid and the positions, nothing else (rule 1).
        PERFORM pg_advisory_lock({LOCK_CLASS}, v_table);
        PERFORM pg_current_xact_id();
        FOR i IN 1 .. cardinality(p_types) LOOP
            INSERT INTO boxoffice_events (stream, seq, type, data, meta, xid)
            VALUES (p_stream, v_last + i, p_types[i], v_data[i], v_meta[i], pg_current_xact_id())
            RETURNING seq, position INTO out_seq, out_position;
            RETURN NEXT;
        END LOOP;
        PERFORM pg_advisory_unlock({LOCK_CLASS}, v_table);
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        -- A session lock outlives the transaction: leaked, it would stop every
        -- append made on this pooled connection's server session. (OTHERS alone
        -- leaves out a cancel: a caller's timeout, pg_cancel_backend.)
        IF EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'
                   AND pid = pg_backend_pid() AND classid = {LOCK_CLASS}::oid
                   AND objid = v_table::oid AND objsubid = 2) THEN
            PERFORM pg_advisory_unlock({LOCK_CLASS}, v_table);
        END IF;
        RAISE;
    END;
END
$$"""

STREAM_KEY_FUNCTION = """
CREATE OR REPLACE FUNCTION boxoffice_stream_key(p_stream text) RETURNS bigint
LANGUAGE sql STABLE AS $$
    -- the table's oid, then the stream name's hash: box offices never share a key
    SELECT ('boxoffice_events'::regclass::oid::bigint << 32)
        | (hashtext(p_stream)::bigint & 4294967295)
$$"""

LOCK_STREAM_FUNCTION = """
CREATE OR REPLACE FUNCTION boxoffice_lock_stream(
    p_stream text, p_after bigint, p_lock_timeout_ms integer
) RETURNS TABLE (o_position bigint, o_stream text, o_seq bigint, o_type text, o_data json,
                 o_meta json)
LANGUAGE plpgsql VOLATILE AS $$
-- append_decided's first round trip: the stream's lock, held by the session (not
-- by a transaction, so no transaction stays open while the caller decides), and
-- the stream's tail read after it, with a fresh snapshot that sees the previous
-- holder's commit. The caller's boxoffice_append(..., true) hands the hold over to
-- its own transaction; a caller that appends nothing unlocks.
BEGIN
    PERFORM set_config('lock_timeout', greatest(p_lock_timeout_ms, 1) || 'ms', true);
    PERFORM pg_advisory_lock(boxoffice_stream_key(p_stream));
    BEGIN
        RETURN QUERY SELECT e.position, e.stream, e.seq, e.type, e.data, e.meta
            FROM boxoffice_events e WHERE e.stream = p_stream AND e.seq > p_after
            ORDER BY e.seq;
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        PERFORM pg_advisory_unlock(boxoffice_stream_key(p_stream));
        RAISE;
    END;
END
$$"""

VISIBLE_HEAD_FUNCTION = """
CREATE OR REPLACE FUNCTION boxoffice_visible_head(p_after bigint) RETURNS bigint
LANGUAGE plpgsql STABLE AS $$
-- The highest position a reader that has everything up to p_after may read up to:
-- every position in (p_after, result] is visible in this statement's snapshot or
-- will never be (an append rolled back). STABLE: it reads with the calling
-- statement's snapshot, the one the caller's own rows come from.
--
-- Proof. Walk the visible rows above p_after. A row whose predecessor position is
-- visible (or is p_after) is safe: nothing can ever be inserted between the two.
-- A row r with xid < xmin is safe: a transaction that has not committed yet is
-- still running, so its xid is >= xmin > r's xid; xids and positions are got
-- together under the position lock, so its positions are all above r's. Everything
-- at or below a safe row of the second kind is safe too (same argument), so the
-- walk goes down from the top and stops at the first such row: it reads only the
-- rows above p_after that are younger than the oldest running transaction of the
-- server (a tail's cursor is near the top, so a tail reads a few; a transaction
-- left open for long makes head_position, which starts at 0, read more).
DECLARE
    v_xmin xid8 := pg_snapshot_xmin(pg_current_snapshot());
    v_run bigint;    -- top of the contiguous run that the row in hand belongs to
    v_above bigint;  -- the row walked just before (one position up, if contiguous)
    r record;
BEGIN
    FOR r IN SELECT position, xid FROM boxoffice_events WHERE position > p_after
             ORDER BY position DESC LOOP
        IF v_above IS NULL OR r.position + 1 <> v_above THEN
            v_run := r.position;  -- what lies above a gap among young rows waits
        END IF;
        IF r.xid < v_xmin THEN
            RETURN v_run;
        END IF;
        v_above := r.position;
    END LOOP;
    -- every row above p_after is young: the lowest run counts only if it follows p_after
    IF v_above IS NULL OR v_above = p_after + 1 THEN
        RETURN COALESCE(v_run, p_after);
    END IF;
    RETURN p_after;
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
        -- the appending transaction's id, got under the position lock (rule 1)
        xid      xid8 NOT NULL DEFAULT pg_current_xact_id(),
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
    STREAM_KEY_FUNCTION,
    APPEND_FUNCTION,
    LOCK_STREAM_FUNCTION,
    VISIBLE_HEAD_FUNCTION,
)

#: A version-1 database made current, in ``open``'s transaction under the init lock.
#: Its rows get xid 0, below every horizon: they were committed before any of this.
#: Adding the column with a constant default rewrites nothing; the default for new
#: rows is set after it.
MIGRATE_TO_2 = (
    "ALTER TABLE boxoffice_events ADD COLUMN IF NOT EXISTS xid xid8 NOT NULL DEFAULT '0'",
    "ALTER TABLE boxoffice_events ALTER COLUMN xid SET DEFAULT pg_current_xact_id()",
    "DROP FUNCTION IF EXISTS boxoffice_append(text, bigint, text[], text[], text[], integer)",
    STREAM_KEY_FUNCTION,
    APPEND_FUNCTION,
    LOCK_STREAM_FUNCTION,
    VISIBLE_HEAD_FUNCTION,
    f"UPDATE boxoffice_schema SET version = {PG_SCHEMA_VERSION}",
)

APPEND = "SELECT out_seq, out_position FROM boxoffice_append($1, $2, $3, $4, $5, $6, false)"
#: The append that also releases ``LOCK_STREAM``'s session-level hold.
APPEND_LOCKED = "SELECT out_seq, out_position FROM boxoffice_append($1, $2, $3, $4, $5, $6, true)"
LOCK_STREAM = "SELECT * FROM boxoffice_lock_stream($1, $2, $3)"
UNLOCK_STREAM = "SELECT pg_advisory_unlock(boxoffice_stream_key($1))"


def columns(events: Sequence[NewEvent]) -> tuple[list[str], list[str], list[str]]:
    """The append function's three arrays: types, data and meta as stored JSON text."""
    rows = encode(events)
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]


async def migrate(conn: Any, schema: str | None, version: int) -> int | None:
    """Bring an older PostgreSQL schema up to ``PG_SCHEMA_VERSION`` (in ``open``'s
    transaction), one opener at a time; the version it is at afterwards."""
    if version >= PG_SCHEMA_VERSION:
        return version
    await conn.execute(
        "SELECT pg_advisory_xact_lock($1, hashtext($2))", INIT_LOCK_CLASS, schema or ""
    )
    version = await conn.fetchval("SELECT MAX(version) FROM boxoffice_schema")
    if version is not None and version < PG_SCHEMA_VERSION:
        for statement in MIGRATE_TO_2:
            await conn.execute(statement)
        version = PG_SCHEMA_VERSION
    return None if version is None else int(version)


async def lay_down_snapshots(conn: Any, schema: str | None) -> None:
    """The snapshot cache's table, in a new database or one from before it (in ``init``'s
    transaction): one opener at a time lays it down. The house's summaries likewise."""
    for table, ddl in ((SNAPSHOTS, SNAPSHOTS_DDL), (SUMMARIES, SUMMARIES_DDL)):
        if not await conn.fetchval(f"SELECT to_regclass('{table}') IS NOT NULL"):
            await conn.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))", INIT_LOCK_CLASS, schema or ""
            )
            await conn.execute(ddl)
