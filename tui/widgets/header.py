"""The top line: which database, who is at the window, and whether the view is live."""

from __future__ import annotations

from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from store.eventstore.opening import shown_url
from tui.cli.safe_text import printable

#: Live indicator states: a glyph and a word each, never colour alone.
OPENING, LIVE, OFFLINE = "opening", "live", "offline"


def shown_location(url: str) -> str:
    """A database path or URL as it may be shown: a password in a URL becomes ``***``."""
    return shown_url(url)


class HouseHeader(Static):
    """``boxoffice  db …  operator …  ● LIVE``; every part is shown literally."""

    db: reactive[str] = reactive("")
    operator: reactive[str] = reactive("")
    status: reactive[str] = reactive(OPENING)
    detail: reactive[str] = reactive("")

    def render(self) -> Content:
        if self.status == LIVE:
            indicator: tuple[str, str] = ("● LIVE", "bold green")
        elif self.status == OFFLINE:
            indicator = (f"○ OFFLINE {printable(self.detail)}".rstrip(), "bold red")
        else:
            indicator = ("◌ OPENING", "bold yellow")
        return Content.assemble(
            ("boxoffice", "bold"),
            "  db ",
            (printable(self.db), "underline"),
            "  operator ",
            (printable(self.operator), "bold"),
            "  ",
            indicator,
        )
