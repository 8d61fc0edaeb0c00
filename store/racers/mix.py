"""The fault mix's racing loop: each client's commands in order, every start reported first.

It runs in whatever process holds the clients: a pooled racer process
(``store.racers.pool``) or, for a test that needs no processes, this one.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import Callable, Sequence

from store.racers.script import FaultMix, Gate, MixClient, MixCommand, Reply
from store.racers.swarm import BARRIER_TIMEOUT


async def perform_mix(
    script: FaultMix,
    clients: Sequence[MixClient],
    process: int = 0,
    gate: Gate | None = None,
    on_start: Callable[[int], object] | None = None,
) -> list[Reply]:
    """Warm the clients, wait at ``gate``, then run every client's commands concurrently.

    ``on_start`` hears a client's number just before each of its commands is sent,
    so a kill timed by it lands before, during or after that command. A command that
    raises ends its client (a ``crash`` reply with the traceback); the others race on.
    """
    for client in {id(c): c for c in clients}.values():
        await client.warm()
    if gate is not None:
        # Blocking the loop here is deliberate: no command runs before the word to go.
        gate.wait(BARRIER_TIMEOUT)
    replies: list[Reply] = []

    async def racer(number: int, client: MixClient, commands: Sequence[MixCommand]) -> None:
        for index, command in enumerate(commands):
            actor = command[1] or ""
            if on_start is not None:
                on_start(number)
            try:
                status = await client.send(command)
            except Exception:
                error = traceback.format_exc()
                replies.append(Reply(actor, "crash", 1, None, index, process=process, error=error))
                return
            replies.append(Reply(actor, status, 1, None, index, process=process))

    await asyncio.gather(
        *(
            racer(n, client, commands)
            for n, (client, commands) in enumerate(zip(clients, script.clients, strict=True))
        )
    )
    return replies
