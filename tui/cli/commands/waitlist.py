"""``boxoffice wait KEY ACTOR``, ``unwait KEY ACTOR`` and ``waitlist KEY`` (SPEC §4.5).

Joining answers ``waiting`` (with its place) or ``offered`` when seats are free at
once; both exit 0, as does ``left``. Offers need no command: the ledger derives
them from the log and the clock, so the roster shows an offered party
(``offered: true`` with its expiry) the moment its seats free up.
"""

from __future__ import annotations

import argparse
from typing import Any

from store.booking import Ledger
from store.ledger.outcomes import WaiterRecord
from tui.cli import arguments
from tui.cli.commands import outcomes
from tui.cli.commands.common import EXIT_OK, Options, open_ledger, run
from tui.cli.output import emit_json, record, table, write_csv

HEADERS = ("place", "actor", "seats", "ref", "joined", "note")


def register(subparsers: argparse._SubParsersAction) -> None:
    wait = subparsers.add_parser(
        "wait",
        help="join the waiting list (offered at once if seats are free)",
        description="Join KEY's waiting list; seats that free up are offered in join order.",
    )
    wait.add_argument("key", metavar="KEY")
    wait.add_argument("actor", metavar="ACTOR")
    wait.add_argument(
        "--seats", type=arguments.whole_number, default=1, metavar="N", help="party size, 1-100"
    )
    wait.add_argument("--note", metavar="TEXT", help="a phone or payment note")
    arguments.add_request_id(wait)
    wait.set_defaults(handler=join)

    unwait = subparsers.add_parser(
        "unwait",
        help="leave the waiting list (an offered party declines with release)",
        description="Leave KEY's waiting list; an offered party declines with `release`.",
    )
    unwait.add_argument("key", metavar="KEY")
    unwait.add_argument("actor", metavar="ACTOR")
    arguments.add_request_id(unwait)
    unwait.set_defaults(handler=leave)

    listing = subparsers.add_parser("waitlist", help="the waiting list, in order")
    listing.add_argument("key", metavar="KEY")
    listing.add_argument(
        "--format", choices=("table", "json", "csv"), help="default table (json with --json)"
    )
    arguments.add_csv_raw(listing)
    listing.set_defaults(handler=show)


def join(opts: Options, args: argparse.Namespace) -> int:
    async def act() -> outcomes.Outcome:
        async with open_ledger(opts) as ledger:
            return await ledger.join_waitlist(
                args.key, args.actor, seats=args.seats, note=args.note, request_id=args.request_id
            )

    return outcomes.report(opts, args.key, run(act()))


def leave(opts: Options, args: argparse.Namespace) -> int:
    async def act() -> outcomes.Outcome:
        async with open_ledger(opts) as ledger:
            return await ledger.leave_waitlist(args.key, args.actor, request_id=args.request_id)

    return outcomes.report(opts, args.key, run(act()))


def waiter_json(waiter: WaiterRecord) -> dict[str, Any]:
    return record(
        {
            "position": waiter.position,
            "actor": waiter.actor,
            "seats": waiter.seats,
            "ref": waiter.ref,
            "joined_at": waiter.joined_at,
            "note": waiter.note,
        }
    )


def show(opts: Options, args: argparse.Namespace) -> int:
    async def fetch(ledger: Ledger) -> list[WaiterRecord]:
        return await ledger.waitlist(args.key)

    async def go() -> list[WaiterRecord]:
        async with open_ledger(opts) as ledger:
            return await fetch(ledger)

    waiters = run(go())
    form = args.format or ("json" if opts.json else "table")
    rows = [(w.position, w.actor, w.seats, w.ref, w.joined_at, w.note) for w in waiters]
    if form == "json":
        emit_json([waiter_json(w) for w in waiters])
    elif form == "csv":
        write_csv(HEADERS, rows, raw=args.raw)
    else:
        table(HEADERS, [(p, a, s, f"#{r}", j, n) for p, a, s, r, j, n in rows])
    return EXIT_OK
