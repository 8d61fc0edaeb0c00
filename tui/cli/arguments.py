"""argparse value types whose errors an operator can act on (exit 2 via the parser)."""

from __future__ import annotations

import argparse
from datetime import timedelta

from store.ledger.rules import InvalidInput
from store.ledger.rules import request_id as checked_request_id
from tui.cli.durations import parse_duration


def whole_number(text: str) -> int:
    """A capacity: digits only, 0 or more (``10``, not ``10.0`` or ``ten``)."""
    value = text.strip()
    if not value.isdigit() or not value.isascii():
        raise argparse.ArgumentTypeError(f"must be a whole number, 0 or more (got {text!r})")
    return int(value)


def request_id(text: str) -> str:
    """``--request-id``: 1-64 ASCII letters, digits and ``- _ . :`` (SPEC §4.6)."""
    try:
        checked = checked_request_id(text)
    except InvalidInput as exc:
        raise argparse.ArgumentTypeError(exc.problem) from None
    assert checked is not None
    return checked


def add_request_id(parser: argparse.ArgumentParser) -> None:
    """``--request-id ID`` on a writing command: a retry with it never acts twice."""
    parser.add_argument(
        "--request-id",
        type=request_id,
        metavar="ID",
        help="make a retry safe: if this command was already written with ID, "
        "print its original answer instead of acting again",
    )


def duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``2h``."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_csv_raw(parser: argparse.ArgumentParser) -> None:
    """``--raw``: CSV cells as stored, without the ``'`` that disarms a formula."""
    parser.add_argument(
        "--raw",
        action="store_true",
        help="with --format csv: cells exactly as stored, for programs; by default a cell "
        "starting with = + - @ TAB or CR gets a ' first, so a spreadsheet shows it as text",
    )
