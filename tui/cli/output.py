"""Printing for people and for scripts; user text never reaches the terminal raw.

Tables and CSV cells go through ``printable``. JSON keeps names readable in
UTF-8 but escapes every control, format or separator character as ``\\uXXXX``:
``json.dumps`` alone escapes only U+0000-U+001F, which would let DEL, C1
controls (U+009B is a CSI) and bidi overrides through to a terminal.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from tui.cli.durations import format_duration
from tui.cli.safe_text import printable

_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value: Any) -> str:
    """One line of JSON, safe to print (see the module docstring)."""
    text = json.dumps(value, ensure_ascii=False, default=_plain)
    if text.isascii() and text.isprintable():
        return text
    # outside strings json.dumps emits only printable ASCII, so every hidden
    # character is inside a string, where its ASCII escape means the same
    return "".join(
        json.dumps(ch)[1:-1] if unicodedata.category(ch) in _HIDDEN else ch for ch in text
    )


def emit_json(value: Any) -> None:
    sys.stdout.write(dumps(value) + "\n")
    sys.stdout.flush()


def line(text: str) -> None:
    """A line already made of safe parts."""
    sys.stdout.write(text + "\n")


def cell(value: Any) -> str:
    """A value as a table or CSV shows it."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, timedelta):
        return format_duration(value)
    return printable(value)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Columns padded to their widest cell (wide East Asian characters count double)."""
    cells = [[cell(v) for v in row] for row in rows]
    widths = [_width(h) for h in headers]
    for row in cells:
        widths = [max(w, _width(c)) for w, c in zip(widths, row, strict=True)]

    def render(values: Sequence[str]) -> str:
        padded = [v + " " * (w - _width(v)) for v, w in zip(values, widths, strict=True)]
        return "  ".join(padded).rstrip()

    out = [render(headers)]
    out.extend(render(row) for row in cells)
    sys.stdout.write("\n".join(out) + "\n")


#: What a spreadsheet takes as the start of a formula (or, TAB and CR, a way to
#: hide one): ``=HYPERLINK("http://evil/","x")`` as a name runs when the file is
#: opened (OWASP "CSV injection"; issue 12 row 10).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any, raw: bool = False) -> str:
    """A CSV cell: text that a spreadsheet would run as a formula gets a ``'`` first.

    Numbers, times and durations are never text a person typed, so they stay as
    they are (a seq is never ``'5``). ``raw`` keeps text as stored, for programs
    that read the file; hidden characters are still shown as ``\\u{XXXX}``
    either way (``cell``), and no name the ledger accepts holds one.
    """
    text = cell(value)
    if raw or not isinstance(value, str) or not text.startswith(FORMULA_STARTS):
        return text
    return "'" + text


def write_csv(headers: Sequence[str], rows: Iterable[Sequence[Any]], raw: bool = False) -> None:
    """Rows as CSV on stdout, neutralised for spreadsheets unless ``raw`` (``csv_cell``)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow([csv_cell(v, raw) for v in row])
    sys.stdout.write(buffer.getvalue())


def record(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """A dict ready for ``emit_json`` (datetimes and durations made plain)."""
    return {k: _plain(v) if isinstance(v, datetime | timedelta) else v for k, v in mapping.items()}
