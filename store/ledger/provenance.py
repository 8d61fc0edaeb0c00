"""Who and where an event came from: the ``meta`` every ledger event carries."""

from __future__ import annotations

import getpass
import os
import socket
from datetime import datetime
from functools import cache


@cache
def _host() -> str:
    return socket.gethostname() or "localhost"


def default_operator() -> str:
    """The login name; containers without a passwd entry still get a name."""
    try:
        return getpass.getuser() or "operator"
    except (KeyError, OSError):
        return "operator"


def terminal_id() -> str:
    """Host and process id: two terminals on one machine stay distinguishable."""
    return f"{_host()}:{os.getpid()}"


def event_meta(operator: str, recorded_at: datetime) -> dict[str, str]:
    return {"operator": operator, "terminal": terminal_id(), "recorded_at": recorded_at.isoformat()}
