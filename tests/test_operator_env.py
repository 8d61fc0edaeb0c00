"""Issue 12 row 14: the login name used as the default operator is held to ``--operator``'s rule.

``LOGNAME=$'evil\\e[2J\\u202e'`` was stored unvalidated as the operator of every
event (``--operator`` and ``$BOXOFFICE_OPERATOR`` were validated). Decision: a
login name the rule refuses is *replaced*, not refused (the user never chose it,
and refusing would stop every command): by the account's name in the password
database if that passes, else ``operator``, with one warning line on stderr.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from store import open_store
from store.booking import Ledger
from store.ledger import provenance
from store.ledger.views import stream_of
from tui.cli.main import main

KEY = "k"
EVIL = ["evil\x1b[2J\u202e", "bell\x07", "rtl\u202eoverride", "zero\u200bwidth", "x" * 501]
ACCOUNT = pwd.getpwuid(os.getuid()).pw_name


@pytest.fixture
def house(db_path: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("BOXOFFICE_DB", db_path)
    monkeypatch.delenv("BOXOFFICE_OPERATOR", raising=False)
    for name in provenance.LOGIN_ENV:
        monkeypatch.delenv(name, raising=False)

    async def go() -> None:
        async with open_store(db_path, create=True) as store:
            await Ledger(store, operator="setup").create_occurrence(KEY, capacity=5)

    asyncio.run(go())
    return db_path


def last_operator(db_path: str) -> Any:
    async def go() -> Any:
        async with open_store(db_path) as store:
            return (await store.read(stream_of(KEY)))[-1].meta["operator"]

    return asyncio.run(go())


def _no_raw_controls(text: str) -> None:
    hidden = [ch for ch in text if unicodedata.category(ch) in ("Cc", "Cf") and ch != "\n"]
    assert not hidden, hidden


@pytest.mark.parametrize("variable", ["LOGNAME", "USER"])
@pytest.mark.parametrize("login", EVIL, ids=["escape", "bell", "bidi", "zero-width", "long"])
def test_a_bad_login_name_is_replaced_with_one_warning(
    house: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    variable: str,
    login: str,
) -> None:
    monkeypatch.setenv(variable, login)
    assert main(["book", KEY, "ada"]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"boxoffice: warning: ${variable} ")
    assert f"recording operator {ACCOUNT!r} instead (give --operator NAME)" in err
    _no_raw_controls(err)
    assert last_operator(house) == ACCOUNT


def test_a_good_login_name_is_used_without_a_word(
    house: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOGNAME", "Zoë Box-Office")
    assert main(["book", KEY, "ada"]) == 0
    assert capsys.readouterr().err == ""
    assert last_operator(house) == "Zoë Box-Office"


@pytest.mark.parametrize("given", [["--operator", "bob"], []])
def test_an_operator_given_wins_and_the_login_name_is_not_looked_at(
    house: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    given: list[str],
) -> None:
    monkeypatch.setenv("LOGNAME", EVIL[0])
    if not given:
        monkeypatch.setenv("BOXOFFICE_OPERATOR", "bob")
    assert main([*given, "book", KEY, "ada"]) == 0
    assert capsys.readouterr().err == ""
    assert last_operator(house) == "bob"


def test_without_a_usable_account_name_the_stand_in_is_operator(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LOGNAME", EVIL[0])
    monkeypatch.setattr(provenance.pwd, "getpwuid", lambda uid: pwd.struct_passwd(
        ("bad\x1bname", "x", uid, 0, "", "/", "/bin/sh")
    ))  # fmt: skip
    login = provenance.login_operator()
    assert login.name == provenance.FALLBACK_OPERATOR
    assert login.refused is not None and "U+001B" in login.refused


async def test_the_library_default_is_safe_too(
    store: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``Ledger(store)`` with no operator records the stand-in, on every backend."""
    for name in provenance.LOGIN_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("USER", EVIL[0])
    ledger = Ledger(store, clock=clock)
    await ledger.create_occurrence(KEY, capacity=1)
    assert (await store.read(stream_of(KEY)))[-1].meta["operator"] == ACCOUNT


def test_a_real_process_with_an_escape_in_logname(house: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in provenance.LOGIN_ENV}
    env["LOGNAME"] = EVIL[0]
    done = subprocess.run(
        [sys.executable, "-m", "tui.cli.main", "book", KEY, "ada"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("booked k: ada")
    assert done.stderr.count("\n") == 1 and "$LOGNAME" in done.stderr
    _no_raw_controls(done.stderr)
    assert last_operator(house) == ACCOUNT


def test_a_forked_child_records_its_own_terminal_not_its_parents() -> None:
    """The terminal id is made once per process: a fork must not inherit the parent's."""
    parent = provenance.terminal_id()
    assert parent.endswith(f":{os.getpid()}")
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.close(read)
        os.write(write, provenance.terminal_id().encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        seen = pipe.read().decode()
    os.waitpid(child, 0)
    assert seen.endswith(f":{child}")
    assert provenance.terminal_id() == parent
