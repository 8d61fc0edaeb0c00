"""``boxoffice book|hold|confirm|release|cancel KEY ACTOR`` and ``expire [KEY]``.

``book``/``hold`` take ``--seats N`` (a party) and ``--note TEXT``; ``cancel``
takes ``--seats K`` to give back only some of a party's seats.

The same ledger as the app: each command is decided on the stream's latest
state and appended at its seq, so a script racing the box office can never
oversell.
"""

from __future__ import annotations

import argparse

from store.booking import Ledger, Outcome
from tui.cli import arguments
from tui.cli.commands import outcomes
from tui.cli.commands.common import EXIT_OK, Options, open_ledger, run
from tui.cli.output import emit_json, line

ACTIONS = {
    "book": "book a confirmed seat",
    "hold": "hold a seat while the customer pays (--ttl, else the occurrence's hold ttl)",
    "confirm": "confirm a held seat",
    "release": "give a held seat back",
    "cancel": "cancel a held or confirmed seat",
}


def register(subparsers: argparse._SubParsersAction) -> None:
    for action, summary in ACTIONS.items():
        parser = subparsers.add_parser(
            action, help=summary, description=summary[0].upper() + summary[1:] + "."
        )
        parser.add_argument("key", metavar="KEY", help="the occurrence")
        parser.add_argument("actor", metavar="ACTOR", help="who the seat is for")
        if action == "hold":
            parser.add_argument(
                "--ttl", type=arguments.duration, metavar="DURATION", help="90s, 15m, 2h"
            )
        if action in ("book", "hold"):
            parser.add_argument(
                "--seats",
                type=arguments.whole_number,
                default=1,
                metavar="N",
                help="the party's size, 1-100 (default 1)",
            )
            parser.add_argument("--note", metavar="TEXT", help="a phone or payment note")
        if action == "cancel":
            parser.add_argument(
                "--seats",
                type=arguments.whole_number,
                metavar="K",
                help="give back only K of the party's seats (default: all of them)",
            )
        arguments.add_request_id(parser)
        parser.set_defaults(handler=seat_command, action=action)

    expire = subparsers.add_parser(
        "expire",
        help="write `expire` events for lapsed holds",
        description="Record every lapsed hold not yet recorded, for KEY or every occurrence.",
    )
    expire.add_argument("key", metavar="KEY", nargs="?")
    arguments.add_request_id(expire)
    expire.set_defaults(handler=expire_holds)


async def _act(ledger: Ledger, args: argparse.Namespace) -> Outcome:
    key, actor, rid = args.key, args.actor, args.request_id
    if args.action == "book":
        return await ledger.book(key, actor, seats=args.seats, note=args.note, request_id=rid)
    if args.action == "hold":
        return await ledger.hold(
            key, actor, ttl=args.ttl, seats=args.seats, note=args.note, request_id=rid
        )
    if args.action == "confirm":
        return await ledger.confirm(key, actor, request_id=rid)
    if args.action == "release":
        return await ledger.release(key, actor, request_id=rid)
    return await ledger.cancel(key, actor, seats=args.seats, request_id=rid)


def seat_command(opts: Options, args: argparse.Namespace) -> int:
    async def act() -> Outcome:
        async with open_ledger(opts) as ledger:
            return await _act(ledger, args)

    return outcomes.report(opts, args.key, run(act()))


def expire_holds(opts: Options, args: argparse.Namespace) -> int:
    """Exit 0 whether or not anything lapsed: recording lapses is never refused."""

    async def expire() -> list[tuple[str, Outcome]]:
        async with open_ledger(opts) as ledger:
            if args.key is not None:
                keys = [args.key]
            else:
                keys = [r.key for r in await ledger.occurrences(include_archived=True)]
            done: list[tuple[str, Outcome]] = []
            for key in keys:
                lapses = await ledger.expire_holds(key, request_id=args.request_id)
                done.extend((key, o) for o in lapses)
            return done

    expired = run(expire())
    if opts.json:
        emit_json([outcomes.outcome_json(key, o) for key, o in expired])
    else:
        for key, outcome in expired:
            line(outcomes.outcome_text(key, outcome))
        if not expired:
            line("no lapsed holds to record")
    return EXIT_OK
