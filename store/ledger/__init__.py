"""The booking ledger (SPEC §2-§4): commands decided on the fold, appended optimistically."""
