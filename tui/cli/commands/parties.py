"""``boxoffice checkin KEY ACTOR``, ``note KEY ACTOR TEXT`` and ``find TEXT`` (SPEC §4.2, §4.3).

``checkin`` and ``note`` exit 0 only when they wrote (``checked-in``, ``noted``);
``find`` exits 0 when some party matched and 1 when none did, like ``grep``, so
a script can ask "is Ada booked anywhere?" by exit code alone.
"""

from __future__ import annotations

import argparse
from typing import Any

from store.booking import Ledger, OccurrenceRecord, SeatRecord
from tui.cli import arguments
from tui.cli.commands import outcomes
from tui.cli.commands.common import EXIT_OK, EXIT_REFUSED, Options, open_ledger, run
from tui.cli.commands.outcomes import seat_range
from tui.cli.output import emit_json, line, record, table

FIND_HEADERS = ("starts", "key", "title", "ref", "seats", "actor", "state", "note")


def register(subparsers: argparse._SubParsersAction) -> None:
    checkin = subparsers.add_parser(
        "checkin",
        help="check a confirmed party in at the door",
        description="Check a confirmed party in at the door (a held party must confirm first).",
    )
    checkin.add_argument("key", metavar="KEY", help="the occurrence")
    checkin.add_argument("actor", metavar="ACTOR", help="the party's name")
    arguments.add_request_id(checkin)
    checkin.set_defaults(handler=check_in)

    note = subparsers.add_parser(
        "note",
        help="replace the note kept with a party",
        description="Replace the note kept with a seated party; an empty TEXT clears it.",
    )
    note.add_argument("key", metavar="KEY", help="the occurrence")
    note.add_argument("actor", metavar="ACTOR", help="the party's name")
    note.add_argument("text", metavar="TEXT", help="a phone number, a payment reference...")
    arguments.add_request_id(note)
    note.set_defaults(handler=annotate)

    find = subparsers.add_parser(
        "find",
        help="which show is a party on? (a piece of the name, or a ref)",
        description="Every seated party whose name contains TEXT (any case) or whose ref is "
        "TEXT (#57 or 57), soonest show first. Exit 1 when nothing matches.",
    )
    find.add_argument("text", metavar="TEXT")
    find.set_defaults(handler=find_parties)


def check_in(opts: Options, args: argparse.Namespace) -> int:
    async def act() -> outcomes.Outcome:
        async with open_ledger(opts) as ledger:
            return await ledger.check_in(args.key, args.actor, request_id=args.request_id)

    return outcomes.report(opts, args.key, run(act()))


def annotate(opts: Options, args: argparse.Namespace) -> int:
    async def act() -> outcomes.Outcome:
        async with open_ledger(opts) as ledger:
            return await ledger.annotate(
                args.key, args.actor, args.text, request_id=args.request_id
            )

    return outcomes.report(opts, args.key, run(act()))


def found_json(occurrence: OccurrenceRecord, seat: SeatRecord) -> dict[str, Any]:
    return record(
        {
            "key": occurrence.key,
            "title": occurrence.title,
            "starts_at": occurrence.starts_at,
            "seat": seat.seat,
            "seats": seat.seats,
            "ref": seat.ref,
            "actor": seat.actor,
            "state": seat.state,
            "expires_at": seat.expires_at,
            "checked_in_at": seat.checked_in_at,
            "note": seat.note,
        }
    )


async def _find(ledger: Ledger, text: str) -> list[tuple[OccurrenceRecord, SeatRecord]]:
    found = await ledger.find(text)
    shows = {key: await ledger.occurrence(key) for key in dict.fromkeys(k for k, _ in found)}
    return [(shows[key], seat) for key, seat in found]


def find_parties(opts: Options, args: argparse.Namespace) -> int:
    async def search() -> list[tuple[OccurrenceRecord, SeatRecord]]:
        async with open_ledger(opts) as ledger:
            return await _find(ledger, args.text)

    found = run(search())
    if opts.json:
        emit_json([found_json(o, s) for o, s in found])
    elif found:
        table(
            FIND_HEADERS,
            (
                (
                    o.starts_at,
                    o.key,
                    o.title,
                    f"#{s.ref}",
                    seat_range(s.seat, s.seats) if s.seat is not None else "",
                    s.actor,
                    s.state,
                    s.note,
                )
                for o, s in found
            ),
        )
    else:
        line("no party matches")
    return EXIT_OK if found else EXIT_REFUSED
