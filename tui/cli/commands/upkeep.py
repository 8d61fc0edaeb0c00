"""``boxoffice update KEY …``, ``archive KEY`` and ``restore KEY``: looking after occurrences.

An update changes only the fields given (SPEC §4.4), so a script fixing a
typo in a title cannot also reset the hold length by leaving an option out;
``--clear FIELD`` empties one on purpose.
"""

from __future__ import annotations

import argparse
from typing import Any

from store.booking import Outcome
from tui.cli import arguments
from tui.cli.commands import outcomes
from tui.cli.commands.common import EXIT_USAGE, CommandError, Options, open_ledger, run

#: ``--clear`` names (as typed) and the ``update_occurrence`` field each one empties.
CLEARABLE = {
    "title": "title",
    "starts": "starts_at",
    "hold-ttl": "hold_ttl",
    "offer-ttl": "offer_ttl",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    update = subparsers.add_parser(
        "update",
        help="change an occurrence's title, start time or hold lengths",
        description="Change only the fields given; --clear FIELD empties one.",
    )
    update.add_argument("key", metavar="KEY")
    update.add_argument("--title", metavar="T")
    update.add_argument(
        "--starts", metavar="ISO", help="ISO 8601 date-time; without a zone, the venue's"
    )
    update.add_argument(
        "--hold-ttl", type=arguments.duration, metavar="DURATION", help="90s, 15m, 2h"
    )
    update.add_argument(
        "--offer-ttl",
        type=arguments.duration,
        metavar="DURATION",
        help="how long a waiting-list offer lasts (default: the hold ttl)",
    )
    update.add_argument(
        "--clear",
        action="append",
        default=[],
        choices=sorted(CLEARABLE),
        metavar="FIELD",
        help=f"empty a field ({', '.join(sorted(CLEARABLE))}); repeatable",
    )
    arguments.add_request_id(update)
    update.set_defaults(handler=update_occurrence)

    for name, summary in (
        ("archive", "take an occurrence off the lists and stop new bookings"),
        ("restore", "bring an archived occurrence back"),
    ):
        parser = subparsers.add_parser(name, help=summary, description=summary.capitalize() + ".")
        parser.add_argument("key", metavar="KEY")
        arguments.add_request_id(parser)
        parser.set_defaults(handler=archive_or_restore, action=name)


def _fields(args: argparse.Namespace) -> dict[str, Any]:
    given = {
        "title": args.title,
        "starts_at": args.starts,
        "hold_ttl": args.hold_ttl,
        "offer_ttl": args.offer_ttl,
    }
    fields = {name: value for name, value in given.items() if value is not None}
    for typed in args.clear:
        name = CLEARABLE[typed]
        if name in fields:
            raise CommandError(EXIT_USAGE, f"--clear {typed} and a new value for it: give one")
        fields[name] = None
    if not fields:
        raise CommandError(
            EXIT_USAGE,
            "update: give at least one of --title, --starts, --hold-ttl, --offer-ttl, --clear",
        )
    return fields


def update_occurrence(opts: Options, args: argparse.Namespace) -> int:
    fields = _fields(args)

    async def apply() -> Outcome:
        async with open_ledger(opts) as ledger:
            return await ledger.update_occurrence(args.key, **fields, request_id=args.request_id)

    return outcomes.report(opts, args.key, run(apply()))


def archive_or_restore(opts: Options, args: argparse.Namespace) -> int:
    async def apply() -> Outcome:
        async with open_ledger(opts) as ledger:
            if args.action == "archive":
                return await ledger.archive(args.key, request_id=args.request_id)
            return await ledger.restore(args.key, request_id=args.request_id)

    return outcomes.report(opts, args.key, run(apply()))
