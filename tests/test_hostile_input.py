"""The hostile-input catalogue: every bad input is one clear error that changes nothing,
and every odd-but-valid name is kept verbatim and shown literally.

Each entry of the catalogue is its own test, at three levels: the ledger (refused
with the field named, or stored verbatim), the command line (exit 2 with one
clean line, or the name printed literally in every output format), and the app
(the name drawn literally in every widget that shows it, and never acted on as
markup). ``CATALOGUE_SIZE`` counts the entries for the README's figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import unicodedata
from collections.abc import Iterator
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest

from store import EventStore, open_store
from store.booking import InvalidInput, Ledger, Status
from store.ledger.fold import stream_of
from store.ledger.provenance import event_meta
from tui.cli import main as cli

KEY = "gala"
HIDDEN = {"Cc", "Cf", "Cs", "Zl", "Zp"}

# -- the catalogue ------------------------------------------------------------------------------

#: Actor names the ledger must refuse: (test id, value).
REFUSED_NAMES: list[tuple[str, object]] = [
    ("empty", ""),
    ("spaces", "   "),
    ("tabs-and-newlines", "\t\n\r"),
    ("over-500", "x" * 501),
    ("huge", "y" * 1_000_000),
    ("nul", "a\x00b"),
    ("bell", "ring\x07"),
    ("carriage-return", "ada\rmallory"),
    ("newline-inside", "two\nlines"),
    ("c1-nel", "a\x85b"),
    ("c1-csi", "a\x9b31mred"),
    ("escape-clear-screen", "\x1b[2J\x1b[H"),
    ("escape-colour", "\x1b[31mred\x1b[0m"),
    ("escape-osc8-link", "\x1b]8;;https://evil.example\x1b\\pay\x1b]8;;\x1b\\"),
    ("escape-title", "\x1b]0;pwned\x07"),
    ("bidi-override", "\u202eevil.exe"),
    ("bidi-embedding", "\u202aabc\u202c"),
    ("bidi-isolate", "\u2066abc\u2069"),
    ("rtl-mark", "abc\u200f"),
    ("zero-width-space", "a\u200bb"),
    ("zero-width-joiner", "a\u200db"),
    ("zero-width-non-joiner", "a\u200cb"),
    ("word-joiner", "a\u2060b"),
    ("byte-order-mark", "\ufeffada"),
    ("soft-hyphen", "ad\u00ada"),
    ("line-separator", "a\u2028b"),
    ("paragraph-separator", "a\u2029b"),
    ("lone-high-surrogate", "a\ud800b"),
    ("lone-low-surrogate", "\udfff"),
    ("none", None),
    ("int", 42),
    ("bytes", b"ada"),
    ("list", ["ada"]),
]

#: Valid names, kept verbatim after NFC and stripping: (test id, given, stored).
KEPT_NAMES: list[tuple[str, str, str]] = [
    ("markup-close", "[/]", "[/]"),
    ("markup-click", "[@click=app.quit]x", "[@click=app.quit]x"),
    ("markup-variable", "[$accent]x", "[$accent]x"),
    (
        "markup-link",
        "[link=https://evil.example]pay[/link]",
        "[link=https://evil.example]pay[/link]",
    ),
    ("markup-bold", "[bold]x[/bold]", "[bold]x[/bold]"),
    ("markup-unclosed", "[b", "[b"),
    ("backslash-escape-text", "\\x1b[2J", "\\x1b[2J"),
    ("html", "<script>alert(1)</script>", "<script>alert(1)</script>"),
    ("sql", "'; DROP TABLE events; --", "'; DROP TABLE events; --"),
    ("quotes", 'O\'Brien "Bob"', 'O\'Brien "Bob"'),
    ("url", "https://example.org/?a=1&b=2", "https://example.org/?a=1&b=2"),
    ("emoji", "💺 Ada 🎭", "💺 Ada 🎭"),
    ("arabic", "عائشة", "عائشة"),
    ("cjk", "山田太郎", "山田太郎"),
    ("combining-nfd", "Zoe\u0308", "Zoë"),
    ("surrounding-spaces", "  Ada Lovelace \u3000", "Ada Lovelace"),
    ("exactly-500", "z" * 500, "z" * 500),
]

#: Capacities: (test id, value, accepted).
CAPACITIES: list[tuple[str, object, bool]] = [
    ("zero", 0, True),
    ("huge", 10**18, True),
    ("negative", -1, False),
    ("float", 2.5, False),
    ("whole-float", 2.0, False),
    ("bool", True, False),
    ("string", "5", False),
    ("none", None, False),
]

#: Hold ttls the ledger must refuse.
REFUSED_TTLS: list[tuple[str, object]] = [
    ("zero", timedelta(0)),
    ("negative", timedelta(minutes=-5)),
    ("int", 900),
    ("string", "15m"),
]

#: Commands in an order that does not fit, and the answers SPEC §2 gives.
SEQUENCES = ["confirm-after-release", "release-after-confirm", "double-cancel", "expiry-instant"]

CATALOGUE_SIZE = (
    len(REFUSED_NAMES) + len(KEPT_NAMES) + 1 + len(CAPACITIES) + len(REFUSED_TTLS) + len(SEQUENCES)
)  # +1: the NFC/NFD pair


def _ids(table: list[Any]) -> list[str]:
    return [row[0] for row in table]


# -- fixtures -----------------------------------------------------------------------------------


async def _head(store: EventStore) -> int:
    return await store.head_position()


@pytest.fixture
async def house(db_path: str, clock: Any) -> Any:
    async with open_store(db_path, create=True) as store:
        ledger = Ledger(store, clock=clock, operator="tester")
        await ledger.create_occurrence(KEY, capacity=10, hold_ttl=timedelta(minutes=10))
        await ledger.book(KEY, "ada")
        await ledger.hold(KEY, "bob")
        yield ledger


def _clean_one_line(message: str) -> None:
    assert "\n" not in message.strip()
    hidden = [ch for ch in message if unicodedata.category(ch) in HIDDEN and ch != "\n"]
    assert not hidden, f"message carries hidden characters: {message!r}"


# -- the ledger ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [row[1] for row in REFUSED_NAMES], ids=_ids(REFUSED_NAMES))
async def test_ledger_refuses_name(house: Ledger, value: Any) -> None:
    before = await _head(house.store)
    for command in (house.book, house.hold, house.confirm, house.release, house.cancel):
        with pytest.raises(InvalidInput) as raised:
            await command(KEY, value)
        assert raised.value.field == "actor"
        _clean_one_line(str(raised.value))
        assert len(str(raised.value)) < 200  # a huge name is not echoed back
    with pytest.raises(InvalidInput):
        await house.seat_state(KEY, value)
    assert await _head(house.store) == before
    assert await house.roster(KEY) == ["ada", "bob"]


@pytest.mark.parametrize(("given", "stored"), [r[1:] for r in KEPT_NAMES], ids=_ids(KEPT_NAMES))
async def test_ledger_keeps_name_verbatim(house: Ledger, given: str, stored: str) -> None:
    held = await house.hold(KEY, given)
    assert (held.status, held.actor, held.seat) == (Status.HELD, stored, 3)
    assert await house.roster(KEY) == ["ada", "bob", stored]
    assert (await house.seats(KEY))[2].actor == stored
    events = await house.store.read(stream_of(KEY))
    assert events[-1].data["actor"] == stored
    assert (await house.confirm(KEY, given)).status is Status.CONFIRMED


async def test_nfc_and_nfd_spellings_are_one_actor(house: Ledger) -> None:
    nfc, nfd = "Zoë Ångström", unicodedata.normalize("NFD", "Zoë Ångström")
    assert nfc != nfd
    assert (await house.hold(KEY, nfd)).status is Status.HELD
    again = await house.book(KEY, nfc)
    assert (again.status, again.seat) == (Status.ALREADY, 3)
    assert await house.roster(KEY) == ["ada", "bob", nfc]
    assert await house.seat_state(KEY, nfd) == "held"
    assert (await house.confirm(KEY, nfc)).status is Status.CONFIRMED
    assert (await house.cancel(KEY, nfd)).status is Status.CANCELLED
    assert await house.roster(KEY) == ["ada", "bob"]


@pytest.mark.parametrize(("value", "accepted"), [r[1:] for r in CAPACITIES], ids=_ids(CAPACITIES))
async def test_capacity(house: Ledger, value: Any, accepted: bool) -> None:
    before = await _head(house.store)
    if not accepted:
        with pytest.raises(InvalidInput, match="capacity"):
            await house.create_occurrence("other", capacity=value)
        with pytest.raises(InvalidInput, match="capacity"):
            await house.set_capacity(KEY, value)
        assert await _head(house.store) == before
        assert (await house.occurrence(KEY)).capacity == 10
        return
    assert (await house.create_occurrence("other", capacity=value)).status is Status.CREATED
    assert (await house.set_capacity(KEY, value)).status is Status.CAPACITY_SET
    record = await house.occurrence(KEY)
    assert record.capacity == value
    assert record.seats_left == max(0, value - 2)  # lowering keeps every seat already taken
    assert await house.roster(KEY) == ["ada", "bob"]
    expected = Status.FULL if value <= 2 else Status.HELD
    assert (await house.hold(KEY, "cy")).status is expected


@pytest.mark.parametrize("value", [r[1] for r in REFUSED_TTLS], ids=_ids(REFUSED_TTLS))
async def test_ledger_refuses_ttl(house: Ledger, value: Any) -> None:
    before = await _head(house.store)
    with pytest.raises(InvalidInput, match="ttl"):
        await house.hold(KEY, "cy", value)
    with pytest.raises(InvalidInput, match="hold_ttl"):
        await house.create_occurrence("other", capacity=1, hold_ttl=value)
    assert await _head(house.store) == before


async def test_confirm_after_release(house: Ledger) -> None:
    assert (await house.release(KEY, "bob")).status is Status.RELEASED
    assert (await house.confirm(KEY, "bob")).status is Status.NOT_HELD
    assert await house.roster(KEY) == ["ada"]


async def test_release_after_confirm(house: Ledger) -> None:
    assert (await house.confirm(KEY, "bob")).status is Status.CONFIRMED
    before = await _head(house.store)
    late = await house.release(KEY, "bob")
    assert late.status is Status.NOT_HELD
    assert await _head(house.store) == before
    assert await house.seat_state(KEY, "bob") == "confirmed"


async def test_double_cancel(house: Ledger) -> None:
    assert (await house.cancel(KEY, "ada")).status is Status.CANCELLED
    before = await _head(house.store)
    assert (await house.cancel(KEY, "ada")).status is Status.NOT_BOOKED
    assert await _head(house.store) == before


async def test_confirm_at_the_expiry_instant_is_expired(house: Ledger, clock: Any) -> None:
    expires = (await house.seats(KEY))[1].expires_at
    assert expires is not None
    clock.now = expires - timedelta(microseconds=1)
    assert await house.seat_state(KEY, "bob") == "held"  # a microsecond before: still held
    clock.now = expires
    late = await house.confirm(KEY, "bob")
    assert (late.status, late.seat, late.expires_at) == (Status.EXPIRED, None, expires)
    events = await house.store.read(stream_of(KEY))
    assert (events[-1].type, events[-1].data["actor"]) == ("expire", "bob")
    assert await house.roster(KEY) == ["ada"]


# -- the command line ---------------------------------------------------------------------------


@pytest.fixture
def cli_db(tmp_path: Path, clock: Any) -> str:
    db = str(tmp_path / "cli.db")

    async def seed() -> None:
        async with open_store(db, create=True) as store:
            ledger = Ledger(store, clock=clock, operator="[red]op[/]")
            await ledger.create_occurrence(KEY, capacity=100, title="[@click=app.quit]Gala[/]")
            for _, given, _ in KEPT_NAMES:
                await ledger.book(KEY, given)
            for actor in OLD_NAMES:  # old data, written past today's validation
                meta = event_meta("old\x1b[5mversion", clock())
                await store.append(stream_of(KEY), "booking", {"actor": actor}, meta)

    asyncio.run(seed())
    return db


#: Names in a database written before validation existed (or by hand).
OLD_NAMES = ["\x1b[2J\x1b[31mred", "bell\x07", "\u202eevil", "a\u200bb"]


def run_cli(*argv: str) -> tuple[int, str, str]:
    """``boxoffice`` in this process (a real argv can carry neither NUL nor lone surrogates)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(argv))
    return code, out.getvalue(), err.getvalue()


def _no_raw_controls(text: str) -> None:
    raw = [ch for ch in text if unicodedata.category(ch) in HIDDEN and ch not in "\n"]
    assert not raw, f"output carries raw control/format characters: {raw!r}"


_CLI_REFUSALS = [(i, v) for i, v in REFUSED_NAMES if isinstance(v, str)]


@pytest.mark.parametrize("value", [r[1] for r in _CLI_REFUSALS], ids=_ids(_CLI_REFUSALS))
def test_cli_refuses_name_in_one_clean_line(cli_db: str, value: str) -> None:
    before = run_cli("--db", cli_db, "--json", "export", KEY)[1]
    code, out, err = run_cli("--db", cli_db, "hold", KEY, value)
    assert (code, out) == (2, "")
    assert err.startswith("boxoffice: actor: ") and err.count("\n") == 1, err
    _no_raw_controls(err)
    assert len(err) < 200
    assert run_cli("--db", cli_db, "--json", "export", KEY)[1] == before


@pytest.mark.parametrize("stored", [r[2] for r in KEPT_NAMES], ids=_ids(KEPT_NAMES))
def test_cli_prints_name_literally(cli_db: str, stored: str) -> None:
    code, table, _ = run_cli("--db", cli_db, "roster", KEY)
    assert code == 0 and stored in table
    code, listing, _ = run_cli("--db", cli_db, "--json", "roster", KEY)
    assert stored in [row["actor"] for row in json.loads(listing)]
    code, csv, _ = run_cli("--db", cli_db, "roster", KEY, "--format", "csv")
    assert code == 0 and (stored in csv or stored.replace('"', '""') in csv)
    code, log, _ = run_cli("--db", cli_db, "log", KEY)
    assert code == 0 and stored in log
    code, said, _ = run_cli("--db", cli_db, "book", KEY, stored)
    assert code == 1 and stored in said  # `already`, naming the actor literally
    for output in (table, csv, log, said):
        _no_raw_controls(output)


def test_cli_shows_old_hidden_characters_as_visible_codes(cli_db: str) -> None:
    for argv in (["roster", KEY], ["log", KEY], ["occurrences"], ["export", KEY]):
        code, out, _ = run_cli("--db", cli_db, *argv)
        assert code == 0
        _no_raw_controls(out)
    table = run_cli("--db", cli_db, "roster", KEY)[1]
    assert "\\u{001B}[2J\\u{001B}[31mred" in table and "\\u{202E}evil" in table
    assert "[red]op[/]" in table and "old\\u{001B}[5mversion" in table
    assert "[@click=app.quit]Gala[/]" in run_cli("--db", cli_db, "occurrences")[1]
    exported = json.loads(run_cli("--db", cli_db, "--json", "export", KEY)[1])
    assert OLD_NAMES[0] in [e["data"].get("actor") for e in exported]  # JSON keeps the truth


# -- the app ------------------------------------------------------------------------------------

APP_NAMES = [r for r in KEPT_NAMES if r[0].startswith("markup") or r[0] == "backslash-escape-text"]


@contextlib.contextmanager
def _no_app() -> Iterator[None]:
    try:
        import tui.app  # noqa: F401
    except ModuleNotFoundError:  # pragma: no cover - the app is optional for store-only installs
        pytest.skip("the app is not installed")
    yield


async def _until(pilot: Any, condition: Any, what: str) -> None:
    for _ in range(500):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.parametrize("name", [r[2] for r in APP_NAMES], ids=_ids(APP_NAMES))
async def test_app_draws_name_literally_everywhere(tmp_path: Path, clock: Any, name: str) -> None:
    with _no_app():
        from textual.notifications import Notify
        from textual.widgets import Static

        from tui.app import BoxOfficeApp
        from tui.screens.confirm import ConfirmScreen

    db = str(tmp_path / "app.db")
    async with open_store(db, create=True) as store:
        ledger = Ledger(store, clock=clock, operator=name)
        await ledger.create_occurrence(KEY, capacity=5, title=name)
        await ledger.book(KEY, "ada")
        await ledger.hold(KEY, name)

    def plain(value: Any) -> str:
        """The text a cell or widget draws: Content, Text and the app's cells all have it."""
        return str(value.plain) if hasattr(value, "plain") else str(value)

    notices: list[Any] = []

    def seen(message: Any) -> None:
        if isinstance(message, Notify):
            notices.append(message.notification)

    app = BoxOfficeApp(db, clock=clock, operator=name, tz=UTC, tick=None)
    async with app.run_test(size=(160, 40), message_hook=seen) as pilot:
        await _until(pilot, lambda: name in app.main.roster.shown_actors, "the roster")
        roster = app.main.roster
        assert roster.shown_actors == ["ada", name]
        assert plain(roster.get_cell(name, "actor")) == name
        assert plain(roster.get_cell(name, "operator")) == name
        assert plain(app.main.house.get_cell(KEY, "show")) == f"{name} {KEY}"  # title, key
        header = app.query_one("#header").render()
        assert name in plain(header)  # the operator
        await pilot.press("l")
        await _until(pilot, lambda: app.main.log_table.last_seq == 3, "the event log")
        assert plain(app.main.log_table.get_cell("3", "actor")) == name
        # act on the row: the answer and its notice quote the name, never parse it
        roster.focus()
        roster.move_cursor(row=1)
        assert roster.selected_actor == name
        await pilot.press("c")  # asks first, naming the actor literally
        await _until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        assert name in plain(app.screen.query_one(".form-heading", Static).render())
        await pilot.click("#yes")
        confirmed = lambda: "confirmed" in plain(roster.get_cell(name, "state")).lower()  # noqa: E731
        await _until(pilot, confirmed, "the confirm to land")
        said = lambda: [n for n in notices if name in n.message]  # noqa: E731
        await _until(pilot, said, "a notice naming the actor")
        assert all(n.markup is False for n in said())
        # the cancel question quotes it literally too
        await pilot.press("d")
        await _until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the cancel question")
        question = app.screen.query_one(".form-heading", Static).render()
        assert name in plain(question)
        await pilot.press("n")
        await _until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "the question gone")
        await pilot.click("#roster", offset=(12, 3))  # a click on the name is not a link
        await pilot.pause()
        assert app.is_running and app.return_code is None
        screenshot = app.export_screenshot()
        assert "\x1b" not in screenshot
    assert app.return_code in (None, 0)
