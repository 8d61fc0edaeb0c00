"""The shared event store on PostgreSQL (asyncpg): terminals on several machines.

- ``store``: ``PostgresStore``, the store itself (reads, appends, tailing, clock);
- ``schema``: the tables, the append function and the advisory lock keys;
- ``pools``: connection pools shared by the stores of one event loop on one URL;
- ``errors``: asyncpg's and the network's errors as the store's own;
- ``urls``: ``postgresql://`` URLs: the DSN, the ``schema`` parameter, the shown form.
"""

from store.eventstore.postgres.store import PostgresStore
from store.eventstore.postgres.urls import split_url
from store.eventstore.sql import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "PostgresStore", "split_url"]
