"""``boxoffice door KEY``: the list the door works from (SPEC §4.3, §4.7).

Confirmed parties by name (held ones have not paid, so they are not on it),
each with its ref, its seats and whether it is in; the header names the show
and its time, and counts the seats already in. ``--format csv`` repeats the
show on every row so the file stands alone; ``json`` nests the parties.
"""

from __future__ import annotations

import argparse
from typing import Any

from store.booking import OccurrenceRecord, SeatRecord
from store.ledger.views import OccurrenceView
from tui.cli import arguments
from tui.cli.commands.common import EXIT_OK, Options, open_ledger, run
from tui.cli.commands.outcomes import seat_range
from tui.cli.output import cell, emit_json, line, record, table, write_csv

DOOR_HEADERS = ("name", "ref", "seats", "in")
CSV_HEADERS = ("key", "title", "starts_at", "actor", "ref", "seat", "seats", "checked_in_at")


def register(subparsers: argparse._SubParsersAction) -> None:
    door = subparsers.add_parser(
        "door",
        help="the door list: confirmed parties by name, with ref, seats and check-in",
        description="The door list of KEY: confirmed parties by name, with ref, seats and "
        "whether each is checked in.",
    )
    door.add_argument("key", metavar="KEY")
    door.add_argument(
        "--format", choices=("table", "csv", "json"), help="default table (json with --json)"
    )
    arguments.add_csv_raw(door)
    door.set_defaults(handler=show_door)


def door_list(rows: tuple[SeatRecord, ...]) -> list[SeatRecord]:
    """The confirmed parties in name order (case-insensitive), refs breaking ties."""
    confirmed = [r for r in rows if r.state == "confirmed" and r.seat is not None]
    return sorted(confirmed, key=lambda r: (r.actor.casefold(), r.ref))


def header(show: OccurrenceRecord) -> str:
    """``Hamlet · 2026-12-01T19:30:00+00:00 · 12 of 40 seats in``."""
    name = cell(show.title) or cell(show.key)
    when = cell(show.starts_at) or "no start time"
    return f"{name} · {when} · {show.checked_in} of {show.confirmed} seats in"


def party_json(seat: SeatRecord) -> dict[str, Any]:
    return record(
        {
            "actor": seat.actor,
            "ref": seat.ref,
            "seat": seat.seat,
            "seats": seat.seats,
            "checked_in_at": seat.checked_in_at,
        }
    )


def show_door(opts: Options, args: argparse.Namespace) -> int:
    async def fetch() -> OccurrenceView:
        async with open_ledger(opts) as ledger:
            return await ledger.view(args.key)

    view = run(fetch())
    show, parties = view.record, door_list(view.rows)
    form = args.format or ("json" if opts.json else "table")
    if form == "json":
        emit_json(
            record(
                {
                    "key": show.key,
                    "title": show.title,
                    "starts_at": show.starts_at,
                    "confirmed": show.confirmed,
                    "checked_in": show.checked_in,
                    "parties": [party_json(p) for p in parties],
                }
            )
        )
    elif form == "csv":
        write_csv(
            CSV_HEADERS,
            (
                (
                    *(show.key, show.title, show.starts_at),
                    *(p.actor, p.ref, p.seat, p.seats, p.checked_in_at),
                )
                for p in parties
            ),
            raw=args.raw,
        )
    else:
        line(header(show))
        table(
            DOOR_HEADERS,
            (
                (
                    p.actor,
                    f"#{p.ref}",
                    seat_range(p.seat, p.seats) if p.seat is not None else "",
                    "in" if p.checked_in_at is not None else "",
                )
                for p in parties
            ),
        )
    return EXIT_OK
