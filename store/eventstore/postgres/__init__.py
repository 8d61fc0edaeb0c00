"""The shared event store on PostgreSQL (asyncpg): terminals on several machines.

- ``store``: ``PostgresStore``, the store itself (reads, appends, tailing, clock);
- ``schema``: the tables, the append function, the readers' horizon, the lock keys;
- ``live``: announcing commits after they are made, and waiting for them;
- ``pools``: connection pools shared by the stores of one event loop on one URL;
- ``errors``: asyncpg's and the network's errors as the store's own;
- ``urls``: ``postgresql://`` URLs: the DSN, the ``schema`` parameter, the shown form.
"""

from store.eventstore.postgres.schema import PG_SCHEMA_VERSION as SCHEMA_VERSION
from store.eventstore.postgres.store import PostgresStore
from store.eventstore.postgres.urls import split_url

__all__ = ["SCHEMA_VERSION", "PostgresStore", "split_url"]
