"""``boxoffice init``: the one command that creates a database.

Every other command refuses a missing one (exit 3), because a mistyped path
must never look like an empty house with every seat free.
"""

from __future__ import annotations

import argparse
import os

from store.eventstore.opening import sqlite_path
from tui.cli.commands.common import EXIT_OK, Options, run
from tui.cli.output import cell, emit_json, line


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "init",
        help="create the database (--db PATH); harmless on an existing one",
        description="Create a boxoffice database at --db (or $BOXOFFICE_DB, or the default).",
    )
    parser.set_defaults(handler=init)


def init(opts: Options, args: argparse.Namespace) -> int:
    path = sqlite_path(opts.db)
    existed = path is not None and os.path.exists(path)

    async def create() -> tuple[dict[str, object], bool | None]:
        from store import open_store

        async with open_store(opts.db, create=True) as store:
            return store.describe(), store.created

    facts, laid_down = run(create())
    # the store decides under its write lock (of concurrent inits exactly one created
    # it; a 0-byte file is created, not "already a database"); the file's existence
    # before is only a fallback for a backend that cannot tell
    created = laid_down if laid_down is not None else not existed
    shown = str(facts.get("url", opts.db))  # the store's spelling: no password
    if opts.json:
        version = facts.get("schema_version")
        emit_json({"db": shown, "created": created, "schema_version": version})
    elif created is None:
        line(f"ready {cell(shown)}")
    elif created:
        line(f"created {cell(shown)}")
    else:
        line(f"exists {cell(shown)}: already a boxoffice database")
    return EXIT_OK
