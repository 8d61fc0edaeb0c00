"""``boxoffice doctor``: the facts support asks for first, read without writing anything.

Which SQLite the process actually loaded, whether the file is in WAL mode and
syncs every commit (``synchronous=FULL``: an acknowledged booking survives a
power loss), which schema version it holds and which this boxoffice
understands, where the data lives and how big it is, and the database's sense
of now. Settings that weaken a promise are marked ``warning``, and so is an
occurrence whose recorded times run ahead of now (a terminal's clock ran ahead).
"""

from __future__ import annotations

import argparse
import os
import platform
from typing import Any

from store.booking import Ledger
from store.ledger import clock_check
from tui.cli.commands.common import EXIT_OK, Options, open_db, run
from tui.cli.output import cell, emit_json, line

#: synchronous settings under which a commit is on disk before it is acknowledged
DURABLE = ("FULL", "EXTRA", "on", "remote_apply", "remote_write")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="report the database: engine version, journal mode, synchronous, schema, size",
        description="Report the database's engine, settings and schema (changes nothing).",
    )
    parser.set_defaults(handler=doctor)


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("boxoffice")
    except PackageNotFoundError:
        return "unknown"


async def _facts(opts: Options) -> dict[str, Any]:
    async with open_db(opts) as store:
        facts: dict[str, Any] = {"boxoffice": _version(), "python": platform.python_version()}
        facts.update(store.describe())
        facts["occurrences"] = len(await store.streams("booking:"))
        facts["events"] = await store.head_position()
        path = getattr(store, "path", None)
        if facts.get("engine") == "sqlite" and isinstance(path, str):
            from store.eventstore.sqlite import SCHEMA_VERSION

            facts["path"] = os.path.abspath(path)
            facts["size_bytes"] = os.path.getsize(path)
            wal = path + "-wal"
            facts["wal_bytes"] = os.path.getsize(wal) if os.path.exists(wal) else 0
            facts["busy_timeout_s"] = getattr(store, "busy_timeout", None)
            facts["schema_understood"] = SCHEMA_VERSION
        elif facts.get("engine") == "postgresql":
            from store.eventstore.postgres import SCHEMA_VERSION as PG_SCHEMA

            facts["schema_understood"] = PG_SCHEMA
        now, source = await clock_check.database_now(store)
        facts["clock"] = f"{now.isoformat(timespec='seconds')} ({source})"
        facts["clock_ahead"] = [
            f"{view.record.key}: recorded times run "
            f"{clock_check.spell(view.recorded_until - now)} ahead of {source}"
            for view in await Ledger(store, operator="boxoffice-doctor").views(rows=False)
            if view.recorded_until is not None
            and clock_check.ahead_of_now(view.recorded_until, now)
        ]
    return facts


def warnings(facts: dict[str, Any]) -> list[str]:
    """Settings that weaken a promise the README makes."""
    found = []
    if facts.get("engine") == "sqlite":
        if str(facts.get("journal_mode", "")).lower() != "wal":
            found.append(f"journal mode is {facts.get('journal_mode')}, not wal")
        if str(facts.get("synchronous", "")).upper() not in ("FULL", "EXTRA"):
            setting = facts.get("synchronous")
            found.append(f"synchronous is {setting}: a power loss can undo acknowledged writes")
    found.extend(
        f"{ahead} (a terminal's clock ran ahead: every hold lapsed at that time)"
        for ahead in facts.get("clock_ahead", [])
    )
    sync = facts.get("synchronous_commit")
    if sync is not None and str(sync) not in DURABLE:
        found.append(f"synchronous_commit is {sync}: a crash can undo acknowledged writes")
    return found


def doctor(opts: Options, args: argparse.Namespace) -> int:
    facts = run(_facts(opts))
    problems = warnings(facts)
    if opts.json:
        emit_json({**facts, "warnings": problems})
        return EXIT_OK
    shown = {k: v for k, v in facts.items() if k != "clock_ahead"}
    width = max(len(k) for k in shown)
    for key, value in shown.items():
        line(f"{key.replace('_', ' '):<{width}}  {cell(value)}")
    for problem in problems:
        line(f"warning: {cell(problem)}")
    if not problems:
        line("ok: no setting weakens durability, no recorded time runs ahead of now")
    return EXIT_OK
