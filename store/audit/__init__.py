"""The oracles: refold checks, linearizability of histories, a race's claims against its log."""
