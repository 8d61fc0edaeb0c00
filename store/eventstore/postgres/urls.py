"""A ``postgresql://`` URL split into the DSN asyncpg gets, the schema, and the shown form."""

from __future__ import annotations

import urllib.parse

from store.eventstore.opening import shown_url
from store.eventstore.postgres.errors import one_line
from store.eventstore.postgres.schema import SCHEMA_NAME


def split_url(url: str) -> tuple[str, str | None, str]:
    """``(dsn for asyncpg, schema or None, url safe to show)``.

    ``schema`` is boxoffice's own query parameter; every other parameter goes
    to asyncpg (which passes unknown ones to the server as settings). The shown
    URL hides the password, in the user part or as ``?password=``.
    """
    shown = shown_url(url)
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError as exc:
        raise ValueError(f"database: {shown}: not a usable URL ({one_line(exc)})") from None
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port is not None and port < 1:
        raise ValueError(f"port: {shown}: the port must be a number from 1 to 65535")
    query = urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
    schemas = [value for key, value in query if key == "schema"]
    if len(schemas) > 1:
        # which one would win is a guess; a guess of "public" puts a box office
        # in the shared schema without a word
        raise ValueError(
            f"schema: given {len(schemas)} times ({', '.join(map(ascii, schemas))}); give it once"
        )
    schema = schemas[0] if schemas else None
    if schema is not None and not SCHEMA_NAME.fullmatch(schema):
        raise ValueError(
            f"schema: {ascii(schema)[:70]} is not a schema name boxoffice accepts: 1-63 "
            "lower-case ASCII letters, digits and _, not starting with a digit"
            + (
                f" (did you mean {schema.lower()}?)"
                if SCHEMA_NAME.fullmatch(schema.lower())
                else ""
            )
        )
    rest = urllib.parse.urlencode([(k, v) for k, v in query if k != "schema"])
    dsn = urllib.parse.urlunsplit(parts._replace(query=rest))
    return dsn, schema, shown
