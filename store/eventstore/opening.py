"""``open_store``: one entry point from a path or URL to the right backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from store.eventstore.contract import EventStore


def sqlite_path(url: str) -> str | None:
    """The file path a SQLite URL or plain path names, or None for another scheme.

    ``sqlite:///rel.db`` is relative and ``sqlite:////abs.db`` absolute, as
    SQLAlchemy reads them.
    """
    if url.startswith("sqlite://"):
        rest = url[len("sqlite://") :]
        if not rest.startswith("/") or rest == "/":
            raise ValueError(f"{url}: give a file, as sqlite:///relative.db or sqlite:////abs.db")
        path = rest[1:].split("?", 1)[0]
        if path in ("", ":memory:"):
            raise ValueError(f"{url}: in-memory databases cannot be shared; give a file")
        return path
    if "://" in url:
        return None
    if url in ("", ":memory:"):
        raise ValueError("database: give a file path or a postgresql:// URL")
    return url


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


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
            raise ValueError(f"{url}: unknown database scheme (use a path or postgresql://)")
        from store.eventstore.sqlite import SQLiteStore

        store = await SQLiteStore(path, **options).open(create=create)
    try:
        yield store
    finally:
        await store.close()
