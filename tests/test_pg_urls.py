"""PostgreSQL URLs as a hostile (or hurried) user types them.

- A password, in the user part or as ``?password=``, is never printed: not by
  ``init``, ``doctor``, ``check``, an error, nor the app's header.
- A misspelt scheme is a one-line usage error that names the scheme only.
- ``?schema=``: a name PostgreSQL would fold (``RT_B``) is refused saying what a
  valid one is; a repeated ``schema`` is refused (it must never land in
  ``public``); a search path with no schema in it is a clear message.
- Ten ``init`` processes at once: exactly one says "created".

The CLI runs in this process through ``tui.cli.main.main`` (what the console
script calls), except the concurrent ``init``s, which are real processes.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from urllib.parse import urlsplit

import asyncpg
import pytest
from conftest import PG_URL

from store.eventstore.opening import shown_url
from store.eventstore.postgres import split_url
from tui.cli.main import main
from tui.widgets.header import shown_location

pytestmark = pytest.mark.postgres

SECRET = "hunter2-s3cret"


def _with(url: str, **params: str) -> str:
    extra = "&".join(f"{k}={v}" for k, v in params.items())
    return f"{url}&{extra}" if "?" in url else f"{url}?{extra}"


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _user_password_url(pg_url: str) -> str:
    """``pg_url`` with a password in the user part (trust auth ignores it)."""
    parts = urlsplit(pg_url)
    return pg_url.replace(
        f"//{parts.netloc}", f"//{parts.username}:{SECRET}@{parts.hostname}:{parts.port or 5432}", 1
    )


async def _schemas_named(*names: str) -> list[str]:
    dsn = split_url(PG_URL)[0]
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT nspname FROM pg_namespace WHERE nspname = ANY($1)", names)
        return [r[0] for r in rows]
    finally:
        await conn.close()


async def _public_has_boxoffice() -> bool:
    conn = await asyncpg.connect(split_url(PG_URL)[0])
    try:
        return bool(
            await conn.fetchval("SELECT to_regclass('public.boxoffice_events') IS NOT NULL")
        )
    finally:
        await conn.close()


# -- passwords ---------------------------------------------------------------------------------


def test_shown_urls_hide_every_password() -> None:
    for url, shown in [
        ("postgresql://u:pw@h:5433/bo?schema=s", "postgresql://u:***@h:5433/bo?schema=s"),
        ("postgresql://u@h/bo?password=pw&schema=s", "postgresql://u@h/bo?password=***&schema=s"),
        ("postgresql://h/bo?sslpassword=pw", "postgresql://h/bo?sslpassword=***"),
        ("postgresql://u:pw@[::1/bo", "postgresql://…"),
        ("box.db", "box.db"),
    ]:
        assert shown_url(url) == shown
        assert shown_location(url) == shown  # the app's header
    assert "pw" not in split_url("postgresql://u@h/bo?password=pw")[2]


def test_a_password_is_never_printed_by_init_doctor_check_or_an_error(
    pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    in_user = _user_password_url(pg_url)
    in_query = _with(pg_url, password=SECRET)
    missing = _cli(capsys, "--db", in_user, "doctor")  # an error that names the URL
    assert missing[0] == 3 and "boxoffice init --db postgresql://" in missing[2]
    assert SECRET not in missing[1] + missing[2]
    for url in (in_user, in_query):
        outputs = [
            _cli(capsys, "--db", url, "init"),
            _cli(capsys, "--db", url, "doctor"),
            _cli(capsys, "--db", url, "check"),
            _cli(capsys, "--db", url, "log", "nope"),
            _cli(capsys, "--db", url, "--json", "init"),
            _cli(capsys, "--db", url, "--json", "doctor"),
        ]
        for _, out, err in outputs:
            assert SECRET not in out + err
        assert [code for code, _, _ in outputs] == [0, 0, 0, 1, 0, 0]
        assert "***" in outputs[1][1]  # doctor shows where, without the secret


@pytest.mark.parametrize(
    ("scheme", "hint"),
    [
        ("postgresql+asyncpg", "without the +driver"),
        ("POSTGRESQL", "lower case"),
        ("Postgres", "lower case"),
        ("mysql", "postgresql://user@host/database"),
    ],
)
def test_a_misspelt_scheme_is_one_line_naming_it_without_the_password(
    scheme: str, hint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for command in ("doctor", "check", "init"):
        code, out, err = _cli(capsys, "--db", f"{scheme}://u:{SECRET}@127.0.0.1/x", command)
        assert code == 2 and out == ""
        assert len(err.strip().splitlines()) == 1, err
        assert f"unknown database scheme {scheme}://" in err and hint in err
        assert SECRET not in err


# -- schemas -----------------------------------------------------------------------------------


def test_a_schema_name_postgresql_would_fold_is_refused_saying_what_is_valid(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = _with(PG_URL, schema="RT_B")
    code, _, err = _cli(capsys, "--db", url, "init")
    assert code == 2, err
    assert "schema:" in err and "lower-case ASCII letters" in err and "did you mean rt_b" in err
    assert asyncio.run(_schemas_named("RT_B", "rt_b")) == []


def test_a_repeated_schema_is_refused_and_nothing_lands_in_public(
    pg_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = asyncio.run(_public_has_boxoffice())  # False, unless someone put one there
    code, _, err = _cli(capsys, "--db", _with(pg_url, schema="public"), "init")
    assert code == 2 and "schema: given 2 times" in err and "give it once" in err
    assert asyncio.run(_public_has_boxoffice()) == before


def test_no_schema_to_create_in_is_a_clear_message(capsys: pytest.CaptureFixture[str]) -> None:
    url = _with(PG_URL, search_path="bo_test_no_such_schema")
    code, _, err = _cli(capsys, "--db", url, "init")
    assert code == 3
    assert "no schema to put the boxoffice tables in" in err and "?schema=name" in err
    assert len(err.strip().splitlines()) == 1


def test_ten_concurrent_inits_exactly_one_says_created(pg_url: str) -> None:
    command = [sys.executable, "-m", "tui.cli.main", "--db", pg_url, "--json", "init"]
    procs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(10)
    ]
    answers = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        answers.append(json.loads(out)["created"])
    assert sorted(answers) == [False] * 9 + [True]


def test_init_says_created_then_exists(pg_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(capsys, "--db", pg_url, "init")[1].startswith("created postgresql://")
    code, out, _ = _cli(capsys, "--db", pg_url, "init")
    assert code == 0 and out.startswith("exists postgresql://")


def test_split_url_refuses_bad_spellings_before_connecting() -> None:
    for bad, needle in [
        ("postgresql://h/bo?schema=a&schema=b", "given 2 times"),
        ("postgresql://h/bo?schema=RT_B", "lower-case"),
        ("postgresql://h:99999/bo", "port:"),
        ("postgresql://h:x/bo", "port:"),
    ]:
        with pytest.raises(ValueError, match=needle):
            split_url(bad)
