"""Starting the app: the default database is created, a named one must exist."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from tui.cli import main as cli
from tui.cli.launch import _probe, launch, resolve
from tui.cli.paths import DB_ENV


def test_a_mistyped_database_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "typo.db"
    assert launch(str(missing), None, False) == 3
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("boxoffice: ")
    assert "no such database" in err
    assert not missing.exists(), "never an empty house in its place"


def test_the_command_line_starts_the_app_through_launch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DB_ENV, str(tmp_path / "nope.db"))
    assert cli.main([]) == 3
    assert "no such database" in capsys.readouterr().err
    assert not (tmp_path / "nope.db").exists()


def test_not_a_database_and_a_bad_operator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    assert launch(str(junk), None, False) == 3
    assert capsys.readouterr().err.startswith("boxoffice: ")
    assert launch(str(junk), "bell\x07", False) == 2
    assert "operator" in capsys.readouterr().err


def test_the_default_database_is_created_on_first_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    url, create = resolve(None)
    assert url == str(tmp_path / "data" / "boxoffice" / "boxoffice.db") and create
    asyncio.run(_probe(url, create))
    assert os.path.exists(url)
    assert resolve("other.db") == ("other.db", False)
