"""The event store (SPEC §1): append-only streams in SQLite or PostgreSQL; no booking words."""
