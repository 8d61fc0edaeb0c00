"""``boxoffice roster``, ``export`` and ``log``: the occurrence as a list, and as its stream.

The roster is the ledger's view at now (lapsed holds gone); export and log show
the events exactly as recorded, and ``log --follow`` tails new ones as they land.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from datetime import timedelta
from typing import Any

from store.booking import SeatRecord, UnknownOccurrence
from store.eventstore.contract import EventStore
from store.eventstore.errors import StoreBusy, StoreReplaced, StoreUnreachable
from store.eventstore.events import Event
from store.ledger.rules import occurrence_key
from store.ledger.views import stream_of
from tui.cli import arguments
from tui.cli.commands.common import (
    EXIT_DATABASE,
    EXIT_OK,
    CommandError,
    Options,
    open_db,
    open_ledger,
    run,
)
from tui.cli.commands.outcomes import seat_range
from tui.cli.durations import format_duration
from tui.cli.output import cell, dumps, emit_json, line, record, table, write_csv
from tui.cli.safe_text import printable

#: The SPEC §2 columns first, so a script that reads them by place keeps working.
ROSTER_HEADERS = (
    "seat",
    "actor",
    "state",
    "joined",
    "expires",
    "operator",
    "seats",
    "ref",
    "checked in",
    "note",
)
EXPORT_HEADERS = (
    "stream",
    "seq",
    "position",
    "type",
    "recorded_at",
    "operator",
    "terminal",
    "actor",
    "data",
    "meta",
)
#: how long one wait for a new event lasts before ``--follow`` waits again
FOLLOW_POLL_S = 1.0
#: how long ``--follow`` waits between attempts to reach a server that went away
RECONNECT_PAUSE_S = 0.5


def register(subparsers: argparse._SubParsersAction) -> None:
    roster = subparsers.add_parser("roster", help="who has a seat, in seat order")
    roster.add_argument("key", metavar="KEY")
    roster.add_argument(
        "--format", choices=("table", "json", "csv"), help="default table (json with --json)"
    )
    arguments.add_csv_raw(roster)
    roster.set_defaults(handler=show_roster)

    export = subparsers.add_parser("export", help="the occurrence's whole stream, every event")
    export.add_argument("key", metavar="KEY")
    export.add_argument("--format", choices=("json", "csv"), default="json")
    arguments.add_csv_raw(export)
    export.set_defaults(handler=export_stream)

    log = subparsers.add_parser("log", help="the occurrence's events; --follow for new ones")
    log.add_argument("key", metavar="KEY")
    log.add_argument(
        "--follow", "-f", action="store_true", help="keep printing events as they land (Ctrl-C)"
    )
    log.set_defaults(handler=show_log)


# -- roster -------------------------------------------------------------------------


def seat_json(seat: SeatRecord) -> dict[str, Any]:
    return record(
        {
            "seat": seat.seat,
            "seats": seat.seats,
            "ref": seat.ref,
            "actor": seat.actor,
            "state": seat.state,
            "joined_at": seat.joined_at,
            "expires_at": seat.expires_at,
            "checked_in_at": seat.checked_in_at,
            "note": seat.note,
            "offered": seat.offered,
            "operator": seat.operator,
        }
    )


def _block(seat: SeatRecord) -> str:
    return seat_range(seat.seat, seat.seats) if seat.seat is not None else ""


def roster_row(seat: SeatRecord, place: object, ref: object = None) -> tuple[Any, ...]:
    return (
        place,
        seat.actor,
        seat.state,
        seat.joined_at,
        seat.expires_at,
        seat.operator,
        seat.seats,
        seat.ref if ref is None else ref,
        seat.checked_in_at,
        seat.note,
    )


def show_roster(opts: Options, args: argparse.Namespace) -> int:
    async def fetch() -> list[SeatRecord]:
        async with open_ledger(opts) as ledger:
            return await ledger.seats(args.key)

    seats = run(fetch())
    form = args.format or ("json" if opts.json else "table")
    if form == "json":
        emit_json([seat_json(s) for s in seats])
    elif form == "csv":
        write_csv(ROSTER_HEADERS, [roster_row(s, s.seat) for s in seats], raw=args.raw)
    else:  # a person reads a party's block as a range and its ref as #57
        table(ROSTER_HEADERS, [roster_row(s, _block(s), f"#{s.ref}") for s in seats])
    return EXIT_OK


# -- the stream ------------------------------------------------------------------------


def event_json(event: Event) -> dict[str, Any]:
    return {
        "stream": event.stream,
        "seq": event.seq,
        "position": event.position,
        "type": event.type,
        "data": event.data,
        "meta": event.meta,
    }


def _get(mapping: object, name: str) -> Any:
    return mapping.get(name) if isinstance(mapping, dict) else None


def event_row(event: Event) -> tuple[Any, ...]:
    return (
        event.stream,
        event.seq,
        event.position,
        event.type,
        _get(event.meta, "recorded_at"),
        _get(event.meta, "operator"),
        _get(event.meta, "terminal"),
        _get(event.data, "actor"),
        dumps(event.data),
        dumps(event.meta),
    )


def event_summary(event: Event) -> str:
    """What happened, in a few words: ``hold alice until 19:15``."""
    data = event.data if isinstance(event.data, dict) else {}
    parts: list[str] = []
    if "actor" in data:
        parts.append(cell(data["actor"]))
    if event.type == "created":
        if data.get("title"):
            parts.append(cell(data["title"]))
        parts.append(f"capacity {cell(data.get('capacity'))}")
        if data.get("starts_at"):
            parts.append(f"starts {cell(data['starts_at'])}")
        ttl = data.get("hold_ttl_s")
        if isinstance(ttl, int | float) and ttl > 0:
            parts.append(f"hold ttl {format_duration(timedelta(seconds=ttl))}")
    elif event.type == "capacity":
        parts.append(f"capacity {cell(data.get('capacity'))}")
    elif event.type == "hold" and data.get("expires_at"):
        parts.append(f"until {cell(data['expires_at'])}")
    return ", ".join(parts)


def event_line(event: Event) -> str:
    recorded = cell(_get(event.meta, "recorded_at") or "-")
    operator = cell(_get(event.meta, "operator") or "-")
    return (
        f"{event.seq:>6}  {recorded}  {cell(event.type):<8}  {event_summary(event)}  [{operator}]"
    )


async def _read_stream(store: EventStore, key: str) -> list[Event]:
    events = await store.read(stream_of(occurrence_key(key)))
    if not events:
        raise UnknownOccurrence(key)
    return events


def export_stream(opts: Options, args: argparse.Namespace) -> int:
    async def fetch() -> list[Event]:
        async with open_db(opts) as store:
            return await _read_stream(store, args.key)

    events = run(fetch())
    if args.format == "csv":
        write_csv(EXPORT_HEADERS, (event_row(e) for e in events), raw=args.raw)
    else:
        emit_json([event_json(e) for e in events])
    return EXIT_OK


def _print_events(opts: Options, events: list[Event]) -> None:
    for event in events:
        if opts.json:
            emit_json(event_json(event))
        else:
            line(event_line(event))
    if events:
        sys.stdout.flush()


async def _log(opts: Options, key: str, follow: bool) -> None:
    async with open_db(opts) as store:
        stream = stream_of(occurrence_key(key))
        # the head is taken before the read, so nothing committed in between is missed
        head = await store.head_position()
        events = await _read_stream(store, key)
        _print_events(opts, events)
        last_seq = events[-1].seq
        lost = False  # said once per outage, on stderr, so stdout stays the log alone
        stop = _stop_on_ctrl_c() if follow else None
        while stop is not None and not stop.is_set():
            try:
                if not await _wait_unless_stopped(store, head, stop):
                    lost = False
                    continue
                head = await store.head_position()
                events = await store.read(stream, after_seq=last_seq)
            except (StoreUnreachable, StoreBusy) as exc:
                # a restarting server: the follower waits it out and resumes after
                # ``last_seq``, so nothing is printed twice and nothing is skipped
                if not lost:
                    lost = True
                    text = (str(exc).splitlines() or [type(exc).__name__])[0]
                    print(f"boxoffice: {printable(text)}; still following, reconnecting",
                          file=sys.stderr, flush=True)  # fmt: skip
                await asyncio.sleep(RECONNECT_PAUSE_S)
                continue
            except StoreReplaced as exc:
                # the open file is no longer the one at the path: following it would
                # show an old night as if nothing more happened in it
                gone = str(exc).split(";", 1)[0]
                raise CommandError(
                    EXIT_DATABASE,
                    f"{gone}; stopped following (start it again to follow the file there now)",
                ) from None
            lost = False
            _print_events(opts, events)
            if events:
                last_seq = events[-1].seq


def _stop_on_ctrl_c() -> asyncio.Event:
    """Ctrl-C (and SIGTERM) end ``--follow`` by a flag the loop reads, not by cancelling it.

    A cancellation can be lost inside a wait that finishes at the same moment
    (``asyncio.wait_for`` on Python 3.11), which left a follower running after
    Ctrl-C; a flag cannot be lost, and the store then closes in the normal way.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, stop.set)
    return stop


async def _wait_unless_stopped(store: EventStore, head: int, stop: asyncio.Event) -> bool:
    """``wait_for_append``, given up at once when ``stop`` is set (then False)."""
    waiting = asyncio.ensure_future(store.wait_for_append(head, FOLLOW_POLL_S))
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait((waiting, stopping), return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        if not waiting.done():
            waiting.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await waiting
    return not stop.is_set() and waiting.result()


def show_log(opts: Options, args: argparse.Namespace) -> int:
    """With ``--follow``, runs until Ctrl-C, which is a normal end (exit 0).

    A database file replaced or removed under the follower ends it: exit 3, one line.
    """
    try:
        run(_log(opts, args.key, args.follow))
    except (KeyboardInterrupt, asyncio.CancelledError):
        if not args.follow:
            raise
    return EXIT_OK
