"""``open_store``: one entry point from a path or URL to the right backend."""

from __future__ import annotations

import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from store.eventstore.contract import EventStore

#: Query parameters that carry a secret: never shown (libpq's spellings, which asyncpg reads).
SECRET_PARAMETERS = frozenset({"password", "sslpassword"})

POSTGRES_SCHEMES = ("postgresql", "postgres")


def shown_url(url: str) -> str:
    """``url`` as it may be printed: a password (in the user part or as a parameter) is ``***``.

    Every message, ``doctor``, ``check``, ``init`` and the app's header show a
    database through this. A URL too malformed to take apart shows only its scheme.
    """
    if "://" not in url:
        return url
    try:
        parts = urllib.parse.urlsplit(url)
        password = parts.password
        query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:
        return url.split("://", 1)[0] + "://…"
    if password is not None:
        host = parts.netloc.rsplit("@", 1)[1]
        parts = parts._replace(netloc=f"{parts.username or ''}:***@{host}")
    if any(key in SECRET_PARAMETERS for key, _ in query):
        hidden = [(k, "***" if k in SECRET_PARAMETERS else v) for k, v in query]
        parts = parts._replace(query=urllib.parse.urlencode(hidden, safe="*"))
    return urllib.parse.urlunsplit(parts)


def _unknown_scheme(url: str) -> ValueError:
    """A one-line refusal that names the scheme and echoes nothing after it (a password)."""
    scheme = url.split("://", 1)[0]
    lowered = scheme.lower()
    if lowered in POSTGRES_SCHEMES or lowered == "sqlite":
        hint = f"write it in lower case: {lowered}://"
    elif lowered.split("+", 1)[0] in POSTGRES_SCHEMES:
        hint = "boxoffice picks its own driver: write postgresql:// without the +driver"
    else:
        hint = "use a file path, sqlite:///path or postgresql://user@host/database"
    shown = scheme if scheme.isascii() and scheme.isprintable() else ascii(scheme)
    return ValueError(f"unknown database scheme {shown[:40]}:// ({hint})")


def sqlite_path(url: str) -> str | None:
    """The file path a SQLite URL or plain path names, or None for another scheme.

    ``sqlite:///rel.db`` is relative and ``sqlite:////abs.db`` absolute, as
    SQLAlchemy reads them.
    """
    if url.startswith("sqlite://"):
        rest = url[len("sqlite://") :]
        if not rest.startswith("/") or rest == "/":
            raise ValueError(
                f"{shown_url(url)}: give a file, as sqlite:///relative.db or sqlite:////abs.db"
            )
        path = rest[1:].split("?", 1)[0]
        if path in ("", ":memory:"):
            raise ValueError(f"{shown_url(url)}: in-memory databases cannot be shared; give a file")
        return path
    if "://" in url:
        return None
    if url in ("", ":memory:"):
        raise ValueError("database: give a file path or a postgresql:// URL")
    return url


def is_postgres(url: str) -> bool:
    return url.startswith(tuple(f"{scheme}://" for scheme in POSTGRES_SCHEMES))


@asynccontextmanager
async def open_store(
    url: str, *, create: bool = False, **options: Any
) -> AsyncIterator[EventStore]:
    """Open the store at ``url`` for the length of an ``async with`` block.

    A missing SQLite file raises ``StoreNotFound`` unless ``create=True``: a
    mistyped path must never look like an empty, all-seats-free ledger.
    """
    store: EventStore
    if is_postgres(url):
        from store.eventstore.postgres import PostgresStore  # asyncpg is an optional extra

        store = await PostgresStore(url, **options).open(create=create)
    else:
        path = sqlite_path(url)
        if path is None:
            raise _unknown_scheme(url)
        from store.eventstore.sqlite import SQLiteStore

        store = await SQLiteStore(path, **options).open(create=create)
    try:
        yield store
    finally:
        await store.close()
