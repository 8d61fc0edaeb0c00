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
    """``● LIVE  19:02:10 Europe/Berlin  operator …  ⏳ 2 lapse in 5m  db …``, all literal.

    The live marker and the clock come first so a narrow terminal never cuts
    them; in time travel the marker says PAST and the seq shown.
    """

    db: reactive[str] = reactive("")
    operator: reactive[str] = reactive("")
    status: reactive[str] = reactive(OPENING)
    detail: reactive[str] = reactive("")
    clock: reactive[str] = reactive("")  # the venue's wall clock, with its zone
    lapsing: reactive[int] = reactive(0)  # holds of the selected occurrence lapsing within 5 min
    past: reactive[str] = reactive("")  # time travel: what moment is shown (empty: live)

    def render(self) -> Content:
        if self.past:
            indicator: tuple[str, str] = (f"⏪ PAST {printable(self.past)}", "bold reverse")
        elif self.status == LIVE:
            indicator = ("● LIVE", "bold green")
        elif self.status == OFFLINE:
            indicator = (f"○ OFFLINE {printable(self.detail)}".rstrip(), "bold red")
        else:
            indicator = ("◌ OPENING", "bold yellow")
        parts: list[str | tuple[str, str]] = [indicator]
        if self.clock:
            parts += ["  ", (printable(self.clock), "bold")]
        parts += ["  operator ", (printable(self.operator), "bold")]
        if self.lapsing:
            parts += ["  ", (f"⏳ {self.lapsing} lapse in 5m", "bold yellow")]
        parts += ["  db ", (printable(self.db), "underline"), "  ", ("boxoffice", "dim")]
        return Content.assemble(*parts)
