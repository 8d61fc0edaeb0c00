"""``boxoffice occurrences``, ``create`` and ``capacity``: what is on, and how big."""

from __future__ import annotations

import argparse
from datetime import timedelta

from store.booking import OccurrenceRecord
from tui.cli import arguments
from tui.cli.commands import outcomes
from tui.cli.commands.common import EXIT_OK, Options, open_ledger, run
from tui.cli.output import emit_json, record, table

HEADERS = ("key", "title", "starts", "capacity", "held", "confirmed", "left", "hold ttl")


def register(subparsers: argparse._SubParsersAction) -> None:
    listing = subparsers.add_parser("occurrences", help="list the occurrences and their seats")
    listing.add_argument(
        "--all", action="store_true", help="archived occurrences too (marked in their own column)"
    )
    listing.set_defaults(handler=lambda opts, args: list_occurrences(opts, everything=args.all))

    create = subparsers.add_parser("create", help="create an occurrence")
    create.add_argument("key", metavar="KEY", help="1-120 letters, digits and . _ : -")
    create.add_argument("--capacity", required=True, type=arguments.whole_number, metavar="N")
    create.add_argument("--title", metavar="T")
    create.add_argument("--starts", metavar="ISO", help="ISO 8601 date-time")
    create.add_argument(
        "--hold-ttl",
        type=arguments.duration,
        metavar="DURATION",
        help="how long a hold lasts unless given (90s, 15m, 2h); default: holds never lapse",
    )
    create.add_argument(
        "--offer-ttl",
        type=arguments.duration,
        metavar="DURATION",
        help="how long a waiting-list offer lasts; default: the hold ttl",
    )
    arguments.add_request_id(create)
    create.set_defaults(handler=create_occurrence)

    capacity = subparsers.add_parser(
        "capacity",
        help="set an occurrence's capacity",
        description="Lowering below the seats taken keeps every seat; it only stops new ones.",
    )
    capacity.add_argument("key", metavar="KEY")
    capacity.add_argument("capacity", metavar="N", type=arguments.whole_number)
    arguments.add_request_id(capacity)
    capacity.set_defaults(handler=set_capacity)


def occurrence_json(rec: OccurrenceRecord) -> dict[str, object]:
    data = record(
        {
            "key": rec.key,
            "title": rec.title,
            "starts_at": rec.starts_at,
            "capacity": rec.capacity,
            "occupied": rec.occupied,
            "held": rec.held,
            "confirmed": rec.confirmed,
            "seats_left": rec.seats_left,
            "hold_ttl_s": rec.hold_ttl.total_seconds() if rec.hold_ttl is not None else None,
            "offer_ttl_s": rec.offer_ttl.total_seconds() if rec.offer_ttl is not None else None,
            "archived": rec.archived,
            "demo": rec.demo,
            "seq": rec.seq,
        }
    )
    return data


def _ttl(value: timedelta | None) -> timedelta | str:
    return value if value is not None else "never"


def list_occurrences(opts: Options, *, everything: bool = False) -> int:
    """The occurrences on; ``everything`` adds the archived ones, with a column saying so."""

    async def fetch() -> list[OccurrenceRecord]:
        async with open_ledger(opts) as ledger:
            return await ledger.occurrences(include_archived=everything)

    records = run(fetch())
    if opts.json:
        emit_json([occurrence_json(r) for r in records])
        return EXIT_OK
    rows = [
        (
            r.key,
            r.title,
            r.starts_at,
            r.capacity,
            r.held,
            r.confirmed,
            r.seats_left,
            _ttl(r.hold_ttl),
            *(("archived" if r.archived else "",) if everything else ()),
        )
        for r in records
    ]
    table((*HEADERS, "archived") if everything else HEADERS, rows)
    return EXIT_OK


def create_occurrence(opts: Options, args: argparse.Namespace) -> int:
    async def create() -> outcomes.Outcome:
        async with open_ledger(opts) as ledger:
            return await ledger.create_occurrence(
                args.key,
                capacity=args.capacity,
                title=args.title,
                starts_at=args.starts,
                hold_ttl=args.hold_ttl,
                offer_ttl=args.offer_ttl,
                request_id=args.request_id,
            )

    return outcomes.report(opts, args.key, run(create()))


def set_capacity(opts: Options, args: argparse.Namespace) -> int:
    async def apply() -> outcomes.Outcome:
        async with open_ledger(opts) as ledger:
            return await ledger.set_capacity(args.key, args.capacity, request_id=args.request_id)

    return outcomes.report(opts, args.key, run(apply()))
