"""What every command shares: the resolved global options, the ledger, exit codes.

Command handlers are ``handler(opts, args) -> int``; they raise instead of
printing errors, and ``tui.cli.main.main`` turns any exception into one line on
stderr and the exit code ``error_exit_code`` picks, so every command maps a
database problem, bad input or a refusal the same way.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from store.booking import Ledger, UnknownOccurrence
from store.eventstore.contract import EventStore
from store.eventstore.errors import StoreBusy, StoreError, StoreReadOnly
from store.ledger.provenance import login_operator
from tui.cli.safe_text import printable

T = TypeVar("T")

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_DATABASE = 3


class CommandError(Exception):
    """A failure a command has already worded, with its exit code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Options:
    """The global options after the environment and defaults are applied."""

    db: str
    #: ``--db`` or ``$BOXOFFICE_DB`` as given, None when the default path applies
    db_explicit: str | None
    operator: str | None
    json: bool


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@asynccontextmanager
async def open_db(opts: Options) -> AsyncIterator[EventStore]:
    """The raw event store at ``opts.db``, for commands that read the log itself."""
    from store import open_store

    async with open_store(opts.db) as store:
        yield store


def operator_of(opts: Options) -> str:
    """``--operator`` / ``$BOXOFFICE_OPERATOR`` (validated by the ledger), else the login name.

    A login name that fails the operator rule is replaced by a safe one
    (``store.ledger.provenance.login_operator``) with a one-line warning on stderr.
    """
    if opts.operator is not None:
        return opts.operator
    login = login_operator()
    if login.refused is not None:
        print(
            f"boxoffice: warning: {printable(login.refused)}; recording operator "
            f"{printable(login.name)!r} instead (give --operator NAME)",
            file=sys.stderr,
        )
    return login.name


@asynccontextmanager
async def open_ledger(opts: Options) -> AsyncIterator[Ledger]:
    """The ledger on the existing database ``opts.db`` (a missing one is refused, exit 3)."""
    async with open_db(opts) as store:
        yield Ledger(store, operator=operator_of(opts))


def error_exit_code(exc: BaseException) -> int:
    """0/1/2/3 for an exception that ended a command (see ``tui.cli.main``)."""
    if isinstance(exc, CommandError):
        return exc.code
    if isinstance(exc, UnknownOccurrence):
        return EXIT_REFUSED  # well-formed, but this database has no such occurrence
    if isinstance(exc, StoreError):
        return EXIT_DATABASE
    if isinstance(exc, ValueError):
        return EXIT_USAGE  # InvalidInput, a bad duration, an unusable database URL
    return EXIT_DATABASE  # OSError, a missing driver, anything the database threw


def error_message(exc: BaseException) -> str:
    """One line naming what was wrong and, where it helps, what to do."""
    text = str(exc) or type(exc).__name__
    if isinstance(exc, UnknownOccurrence):
        return f"{text} (list them with `boxoffice occurrences`)"
    if isinstance(exc, StoreBusy):
        return f"{text}; try again when the other process is done"
    if isinstance(exc, StoreReadOnly):
        return f"{text}; check the file's permissions"
    if isinstance(exc, ModuleNotFoundError) and exc.name == "asyncpg":
        return "PostgreSQL support is not installed: pip install 'boxoffice[postgres]'"
    if isinstance(exc, CommandError | StoreError | ValueError | LookupError):
        return text
    if isinstance(exc, OSError):
        return f"database: {text}"
    return f"internal error: {type(exc).__name__}: {text} (BOXOFFICE_DEBUG=1 shows the traceback)"


def fail(code: int, exc: BaseException) -> int:
    print(f"boxoffice: {printable(error_message(exc))}", file=sys.stderr)
    return code
