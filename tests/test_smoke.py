"""The thinnest end-to-end path: create, hold, read back, on every backend."""

from store.booking import Ledger, Status


async def test_hold_then_roster(ledger: Ledger) -> None:
    assert (await ledger.create_occurrence("smoke", capacity=1)).status is Status.CREATED
    held = await ledger.hold("smoke", "ada")
    assert (held.status, held.seat) == (Status.HELD, 1)
    assert (await ledger.hold("smoke", "bob")).status is Status.FULL
    assert await ledger.roster("smoke") == ["ada"]
    assert await ledger.matches_full_fold("smoke")
