"""``boxoffice update|archive|restore`` and ``occurrences --all`` (SPEC §4.4, §4.7), in-process."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path

import pytest

from store import open_store
from store.booking import Ledger
from tui.cli.main import main


@pytest.fixture
def house(db_path: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    """Occurrences ``k`` (capacity 2, title Hamlet, holds 15m) and ``other``, by $BOXOFFICE_DB."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("BOXOFFICE_DB", db_path)
    monkeypatch.setenv("BOXOFFICE_TZ", "Europe/Berlin")
    monkeypatch.delenv("BOXOFFICE_OPERATOR", raising=False)

    async def go() -> None:
        async with open_store(db_path, create=True) as store:
            ledger = Ledger(store, operator="setup")
            await ledger.create_occurrence(
                "k", capacity=2, title="Hamlet", hold_ttl=timedelta(minutes=15)
            )
            await ledger.create_occurrence("other", capacity=1)

    asyncio.run(go())
    return db_path


def events(db_path: str, key: str = "k") -> list[tuple[str, dict[str, object]]]:
    async def go() -> list[tuple[str, dict[str, object]]]:
        async with open_store(db_path) as store:
            return [(e.type, e.data) for e in await store.read("booking:" + key)]

    return asyncio.run(go())


def last_json(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    out: dict[str, object] = json.loads(capsys.readouterr().out.splitlines()[-1])
    return out


def test_update_writes_only_the_fields_given_and_exits_0(
    house: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["update", "k", "--title", "Hamlet (matinee)", "--json"]) == 0
    assert last_json(capsys)["status"] == "updated"
    assert events(house)[-1] == ("updated", {"title": "Hamlet (matinee)"})
    assert main(["update", "k", "--starts", "2026-12-01T19:30", "--hold-ttl", "5m"]) == 0
    assert capsys.readouterr().out.startswith("updated k")
    # a naive time is the venue's zone ($BOXOFFICE_TZ), stored with its offset
    assert events(house)[-1] == (
        "updated",
        {"starts_at": "2026-12-01T19:30:00+01:00", "hold_ttl_s": 300.0},
    )
    assert main(["update", "k", "--offer-ttl", "2m", "--clear", "title"]) == 0
    assert events(house)[-1] == ("updated", {"offer_ttl_s": 120.0, "title": None})
    capsys.readouterr()
    assert main(["occurrences", "--json"]) == 0
    listed = {r["key"]: r for r in json.loads(capsys.readouterr().out)}
    k = listed["k"]
    assert (k["title"], k["hold_ttl_s"], k["offer_ttl_s"]) == (None, 300.0, 120.0)
    assert k["starts_at"] == "2026-12-01T19:30:00+01:00"


@pytest.mark.parametrize(
    ("argv", "needles"),
    [
        (["update", "k"], ["at least one"]),
        (["update", "k", "--title", ""], ["title:", "empty"]),
        (["update", "k", "--title", "x", "--clear", "title"], ["--clear title"]),
        (["update", "k", "--clear", "capacity"], ["--clear", "invalid choice"]),
        (["update", "k", "--starts", "0001-01-01T00:00+00:00"], ["starts_at:", "1900"]),
        (["update", "k", "--hold-ttl", "0s"], ["--hold-ttl", "positive"]),
        (["update", "bad key", "--title", "x"], ["key:"]),
        (["create", "bad", "--capacity", "1", "--starts", "9999-12-31T23:59+00:00"], ["1900"]),
        (["archive"], ["KEY"]),
    ],
)
def test_bad_update_is_exit_2_naming_it_and_writes_nothing(
    house: str, capsys: pytest.CaptureFixture[str], argv: list[str], needles: list[str]
) -> None:
    before = events(house)
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1, err
    for needle in needles:
        assert needle in err, err
    assert events(house) == before


def test_update_of_an_unknown_occurrence_is_exit_1(
    house: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["update", "nowhere", "--title", "x"]) == 1
    assert "no occurrence" in capsys.readouterr().err


def test_archive_restore_and_occurrences_all(
    house: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["archive", "k"]) == 0
    assert capsys.readouterr().out.strip() == "archived k"
    assert main(["archive", "k"]) == 1  # already-archived
    assert capsys.readouterr().out.strip() == "already-archived k"
    assert main(["occurrences", "--json"]) == 0
    assert [r["key"] for r in json.loads(capsys.readouterr().out)] == ["other"]
    assert main(["occurrences", "--all", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(r["key"], r["archived"]) for r in listed] == [("k", True), ("other", False)]
    assert main(["occurrences", "--all"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[-1] == "archived"
    assert table[1].startswith("k ") and table[1].rstrip().endswith("archived")
    assert not table[2].rstrip().endswith("archived")
    # book and hold answer closed (exit 1) and write nothing
    before = events(house)
    assert main(["book", "k", "ada", "--json"]) == 1
    assert last_json(capsys)["status"] == "closed"
    assert main(["hold", "k", "ada"]) == 1
    assert capsys.readouterr().out.startswith("closed k")
    assert events(house) == before
    assert main(["restore", "k"]) == 0
    assert main(["restore", "k"]) == 1  # not-archived
    assert capsys.readouterr().out.splitlines() == ["restored k", "not-archived k"]
    assert main(["book", "k", "ada"]) == 0
    assert [t for t, _ in events(house)][-3:] == ["archived", "restored", "booking"]


@pytest.mark.parametrize("typed", ["１２s", "١٢m", "12ｓ", "１２"])
def test_durations_take_ascii_digits_only_like_capacity(
    house: str, capsys: pytest.CaptureFixture[str], typed: str
) -> None:
    """Issue 12 row 4: ``--ttl '１２s'`` was taken as 12 s while capacity refused ``３``."""
    before = events(house)
    assert main(["hold", "k", "ada", "--ttl", typed]) == 2
    err = capsys.readouterr().err
    assert "--ttl" in err and "ASCII" in err and err.count("\n") == 1
    assert events(house) == before
