"""A second box-office terminal, as a separate process: ``python writer.py DB CLOCK CMD KEY ACTOR``.

The live tests run this to prove a commit made elsewhere reaches the app's
table with no key pressed. It imports only ``store/``, and prints the status.
"""

from __future__ import annotations

import asyncio
import sys
from datetime import datetime

from store import open_store
from store.booking import Ledger


async def main(db: str, clock: str, command: str, key: str, actor: str) -> str:
    moment = datetime.fromisoformat(clock)
    async with open_store(db) as store:
        ledger = Ledger(store, clock=lambda: moment, operator="other-terminal")
        outcome = await getattr(ledger, command)(key, actor)
        return str(outcome.status)


if __name__ == "__main__":
    print(asyncio.run(main(*sys.argv[1:6])))
