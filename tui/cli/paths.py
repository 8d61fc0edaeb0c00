"""Where boxoffice keeps its database when none is named."""

from __future__ import annotations

import os
from pathlib import Path

DB_ENV = "BOXOFFICE_DB"
OPERATOR_ENV = "BOXOFFICE_OPERATOR"


def default_db_path() -> Path:
    """``$XDG_DATA_HOME/boxoffice/boxoffice.db`` (``~/.local/share`` when unset)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "boxoffice" / "boxoffice.db"
