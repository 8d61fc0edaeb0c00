"""The pipes between the parent and its racer processes, and what travels on them.

One pipe per child carries its messages up, each a tuple naming the child:
``("ready", index, stores)`` once its stores are open, ``("events", index,
[RacerEvent, ...])`` as its racers report, ``("finished", index, stopped)``
when its racers are done, ``("error", index, line)`` if it failed, and
``("alive", index)`` when it has had nothing else to send for a while (the
watchdog's heartbeat, ``store.racers.watchdog``). The parent's
reader thread adds ``("eof", index)`` when a child's pipe closes, and ``stop()``
posts ``("closed", -1)`` to end a watcher still waiting; a timer in the parent
posts ``("look", -1)`` for the watchdog to look at who has gone silent. A second pipe per
child carries ``"go"`` and ``"stop"`` down.
"""

from __future__ import annotations

import contextlib
from multiprocessing.connection import Connection


def send(conn: Connection, message: object) -> None:
    """Send, ignoring a peer that is already gone: stopping must not fail on a dead child."""
    with contextlib.suppress(OSError, ValueError):
        conn.send(message)
