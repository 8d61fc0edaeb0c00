"""The ``boxoffice`` command: scripts and QA drive the same ledger the app does.

Exit codes are the contract scripts rely on:

* 0: done (the ledger wrote what was asked, or a read succeeded);
* 1: the ledger answered with anything but success (``full``, ``not-held``,
  ``already``, ``exists``, ``expired``, ``conflict``...), the occurrence does not
  exist, or ``check`` found a violation;
* 2: usage or invalid input (bad key, actor, capacity, duration, option);
* 3: a database problem (missing, locked past the deadline, corrupt,
  read-only, newer schema).

Errors are one line on stderr, never a traceback. Subcommands live in
``tui.cli.commands`` (one module per job, listed in ``COMMANDS``); with none,
``boxoffice`` starts the Textual app, imported only then, so scripted commands
never pay for (or depend on) the UI.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from tui.cli.commands import COMMANDS
from tui.cli.commands.common import (
    EXIT_OK,
    EXIT_USAGE,
    CommandError,
    Options,
    error_exit_code,
    fail,
)
from tui.cli.paths import DB_ENV, OPERATOR_ENV, default_db_path

PROG = "boxoffice"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise CommandError(EXIT_USAGE, f"{message} (see `{self.prog} --help`)")


def _global_options(suppress: bool) -> argparse.ArgumentParser:
    """The options accepted before and after the subcommand (``init --db PATH``).

    On subcommands the defaults are SUPPRESS, so a value given before the
    subcommand is not overwritten by the subparser's default.
    """
    default = argparse.SUPPRESS if suppress else None
    parent = _Parser(add_help=False)
    parent.add_argument(
        "--db",
        metavar="PATH|URL",
        default=default,
        help=f"database file or postgresql:// URL (env {DB_ENV}; default {default_db_path()})",
    )
    parent.add_argument(
        "--operator",
        metavar="NAME",
        default=default,
        help=f"name recorded on every event (env {OPERATOR_ENV}; default the login name)",
    )
    parent.add_argument(
        "--json",
        action="store_true",
        default=argparse.SUPPRESS if suppress else False,
        help="machine-readable output (JSON)",
    )
    return parent


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="A capacity-safe box office: book, hold, confirm, release, cancel.",
        epilog="With no command, starts the terminal app. "
        "Exit codes: 0 done, 1 refused by the ledger, 2 bad input, 3 database problem.",
        parents=[_global_options(suppress=False)],
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument(
        "--demo", action="store_true", help="start the app on a demo database (app only)"
    )
    parser.add_argument(
        "--side-by-side",
        dest="panel_side_by_side",
        action="store_true",
        help="open the racers panel racing the seed's algorithm beside ours (app only)",
    )
    parser.add_argument(
        "--play",
        dest="panel_play",
        metavar="FILE",
        help="open the racers panel playing back a `race --record` FILE, no database (app only)",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    common = _global_options(suppress=True)
    for module in COMMANDS:
        module.register(_Subparsers(subparsers, common))
    return parser


class _Subparsers:
    """Hands each command module ``add_parser`` with the global options already in."""

    def __init__(self, action: argparse._SubParsersAction, common: argparse.ArgumentParser):
        self._action = action
        self._common = common

    def add_parser(self, name: str, **kwargs: object) -> argparse.ArgumentParser:
        parents = [self._common, *kwargs.pop("parents", [])]  # type: ignore[misc]
        return self._action.add_parser(name, parents=parents, **kwargs)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> object:
        return getattr(self._action, name)


def _options(args: argparse.Namespace) -> Options:
    db_explicit = args.db or os.environ.get(DB_ENV) or None
    return Options(
        db=db_explicit or str(default_db_path()),
        db_explicit=db_explicit,
        operator=args.operator or os.environ.get(OPERATOR_ENV) or None,
        json=bool(args.json),
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("boxoffice")
    except PackageNotFoundError:
        return "unknown"


def _start_app(opts: Options, demo: bool) -> int:
    """No subcommand: the Textual app (imported only here)."""
    try:
        from tui.cli.launch import launch
    except ModuleNotFoundError as exc:
        if exc.name != "tui.cli.launch":
            raise
        from tui.cli.commands.occurrences import list_occurrences

        return list_occurrences(opts)  # the app is not built yet: show what the db holds
    return launch(opts.db_explicit, opts.operator, demo)


def _start_panel(opts: Options, play: str | None, side_by_side: bool) -> int:
    """``--play FILE`` / ``--side-by-side``: the racers panel alone (imported only here)."""
    if play and side_by_side:
        raise CommandError(EXIT_USAGE, "--play and --side-by-side: one or the other")
    from tui.cli.launch import launch_panel

    return launch_panel(opts.db_explicit, opts.operator, play=play, side_by_side=side_by_side)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``boxoffice`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    try:
        args = build_parser().parse_args(argv)
        if args.version:
            print(f"{PROG} {_version()}")
            return EXIT_OK
        opts = _options(args)
        if args.command is None:
            if args.panel_play or args.panel_side_by_side:
                return _start_panel(opts, args.panel_play, args.panel_side_by_side)
            return _start_app(opts, args.demo)
        # (``race --play FILE`` is the race command's own option, not these)
        app_only = (
            ("--demo", args.demo),
            ("--side-by-side", args.panel_side_by_side),
            ("--play", args.panel_play),
        )
        for flag, given in app_only:
            if given:
                raise CommandError(EXIT_USAGE, f"{flag} only applies when starting the app")
        return int(args.handler(opts, args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # the reader went away (`boxoffice log KEY | head`): not an error
        _silence_stdout()
        return EXIT_OK
    except Exception as exc:  # every failure leaves as one line and an exit code
        code = error_exit_code(exc)
        if os.environ.get("BOXOFFICE_DEBUG"):
            import traceback

            traceback.print_exc()
        return fail(code, exc)


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush does not raise again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


if __name__ == "__main__":
    sys.exit(main())
