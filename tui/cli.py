"""The ``boxoffice`` command (placeholder until the command line lands)."""

from __future__ import annotations


def main() -> int:
    raise SystemExit("boxoffice: the command line is not built yet")
