"""``boxoffice check [KEY]``: trust nothing but the log, and verify SPEC §3 from it.

Every booking stream is refolded event by event (``store.audit.check.check_stream``):
no acquisition that joined may leave occupied above capacity at its own
``recorded_at``, and seqs must run 1, 2, 3... without gaps. A fresh ledger's
incremental state must equal the full fold, the file must pass SQLite's
``PRAGMA integrity_check``, and the schema version must be one this code knows.
No event may be recorded more than 5 minutes ahead of the database's now (a
terminal whose clock ran ahead wrote it: ``store.ledger.clock_check``).
Any violation is exit 1, naming the first offending stream and seq.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from store.audit.check import StreamReport, check_stream, snapshot_problem, summary_problem
from store.booking import Ledger, UnknownOccurrence
from store.eventstore.contract import EventStore
from store.eventstore.events import Event
from store.ledger import clock_check
from store.ledger.rules import InvalidInput, occurrence_key
from store.ledger.views import STREAM_PREFIX, stream_of
from tui.cli.commands.common import EXIT_OK, EXIT_REFUSED, Options, open_db, run
from tui.cli.output import cell, emit_json, line
from tui.cli.safe_text import printable


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check",
        help="refold every stream and verify nothing was oversold (exit 1 if anything was)",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
    )
    parser.add_argument("key", metavar="KEY", nargs="?", help="check one occurrence only")
    parser.set_defaults(handler=check)


@dataclass(slots=True)
class StreamResult:
    report: StreamReport
    #: None when the stream name is not an occurrence key the ledger can open
    matches_full_fold: bool | None
    #: the first event recorded ahead of the database's now, and why that is wrong
    ahead: tuple[int, str] | None = None
    #: what is wrong with the stream's stored snapshot (``snapshot_problem``)
    snapshot: str | None = None
    #: what is wrong with the stream's stored house summary (``summary_problem``)
    summary: str | None = None

    @property
    def problems(self) -> list[tuple[int | None, str]]:
        found: list[tuple[int | None, str]] = [(v.seq, v.problem) for v in self.report.violations]
        if self.matches_full_fold is False:
            found.append((None, "the incremental state differs from the full fold"))
        if self.ahead is not None:
            found.append(self.ahead)
        if self.snapshot is not None:
            found.append((None, self.snapshot))
        if self.summary is not None:
            found.append((None, self.summary))
        return found


@dataclass(slots=True)
class CheckReport:
    db: str
    schema_version: Any = None
    integrity: list[str] | None = None
    streams: list[StreamResult] = field(default_factory=list)

    @property
    def database_problems(self) -> list[str]:
        found = []
        if self.integrity is not None and self.integrity != ["ok"]:
            found.append("integrity_check: " + "; ".join(self.integrity[:5]))
        version = self.schema_version
        if version is not None and (type(version) is not int or version < 1):
            found.append(f"unknown schema version {version!r}")
        return found

    @property
    def first_problem(self) -> str | None:
        for result in self.streams:
            for seq, problem in result.problems:
                where = f"{result.report.stream} seq {seq}" if seq else result.report.stream
                return f"{where}: {problem}"
        for problem in self.database_problems:
            return f"database: {problem}"
        return None


async def _check(store: EventStore, key: str | None) -> CheckReport:
    facts = store.describe()
    report = CheckReport(db=store.url, schema_version=facts.get("schema_version"))
    integrity = getattr(store, "integrity_check", None)
    if callable(integrity):
        report.integrity = await integrity()
    if key is not None:
        streams = [stream_of(occurrence_key(key))]
    else:
        streams = await store.streams(STREAM_PREFIX)
    ledger = Ledger(store, operator="boxoffice-check")
    now, source = await clock_check.database_now(store)
    for stream in streams:
        events = await store.read(stream)
        if not events and key is not None:
            raise UnknownOccurrence(key)
        stream_report = check_stream(events, stream)
        snapshot = snapshot_problem(await store.load_snapshot(stream), events, stream)
        matches: bool | None = None
        # a gap no fold can cross is the violation reported; a stream written by hand
        # under a name no command could use cannot be opened by the ledger
        if not stream_report.gap:
            with contextlib.suppress(InvalidInput):
                matches = await ledger.matches_full_fold(stream[len(STREAM_PREFIX) :])
        ahead = _ahead(events, now, source)
        summary = summary_problem(await store.load_summary(stream), events, stream)
        report.streams.append(StreamResult(stream_report, matches, ahead, snapshot, summary))
    return report


def _ahead(events: list[Event], now: datetime, source: str) -> tuple[int, str] | None:
    found = clock_check.first_ahead(events, now)
    if found is None:
        return None
    seq, recorded = found
    return seq, (
        f"recorded at {recorded.isoformat()}, {clock_check.spell(recorded - now)} ahead of "
        f"{source}: a terminal whose clock ran ahead wrote it (every hold lapsed at that time)"
    )


def _stream_json(result: StreamResult) -> dict[str, Any]:
    r = result.report
    return {
        "stream": r.stream,
        "ok": not result.problems,
        "events": r.events,
        "acquisitions": r.acquisitions,
        "capacity": r.capacity,
        "occupied": r.occupied,
        "max_occupied": r.max_occupied,
        "matches_full_fold": result.matches_full_fold,
        "violations": [{"seq": seq, "problem": problem} for seq, problem in result.problems],
    }


def _print_text(report: CheckReport) -> None:
    integrity = "not available" if report.integrity is None else "; ".join(report.integrity[:5])
    version = "not reported" if report.schema_version is None else report.schema_version
    line(
        f"database {cell(report.db)}: schema version {cell(version)}, "
        f"integrity_check {cell(integrity)}"
    )
    for result in report.streams:
        r = result.report
        verdict = "ok" if not result.problems else "VIOLATION"
        fold = {True: "", False: ", incremental fold differs", None: ", fold not compared"}
        line(
            f"{verdict:<9}  {cell(r.stream)}  {r.events} events, capacity {r.capacity}, "
            f"occupied {r.occupied}, at most {r.max_occupied}{fold[result.matches_full_fold]}"
        )
        for seq, problem in result.problems:
            where = f"seq {seq}" if seq else "stream"
            line(f"           {where}: {printable(problem)}")
    events = sum(r.report.events for r in report.streams)
    bad = sum(1 for r in report.streams if r.problems)
    verdict = "ok" if report.first_problem is None else f"{bad} stream(s) with violations"
    line(f"checked {len(report.streams)} stream(s), {events} event(s): {verdict}")


def check(opts: Options, args: argparse.Namespace) -> int:
    async def go() -> CheckReport:
        async with open_db(opts) as store:
            return await _check(store, args.key)

    report = run(go())
    first = report.first_problem
    if opts.json:
        emit_json(
            {
                "ok": first is None,
                "db": report.db,
                "schema_version": report.schema_version,
                "integrity": report.integrity,
                "database_problems": report.database_problems,
                "first_violation": first,
                "streams": [_stream_json(r) for r in report.streams],
            }
        )
    else:
        _print_text(report)
    if first is None:
        return EXIT_OK
    print(f"boxoffice: check failed: {printable(first)}", file=sys.stderr)
    return EXIT_REFUSED
