"""What the suite's tests share, and what ``bench/`` may import (``tests.support``).

- ``clock``: ``ManualClock``, the clock tests move by hand;
- ``wrapped_store``: ``ForwardingStore`` and the stores that watch or perturb appends;
- ``workers``: racers in spawned processes (also run as a script for kill tests);
- ``faultrun``: the fault harness (plans, the recorded clients and the broken ledger it
  hands ``store.racers.pool``, the verdict), shared with the soak;
- ``pgcluster``: a PostgreSQL cluster of the suite's own, for restarts;
- ``pilot``: helpers for driving the app with Textual's Pilot.
"""
