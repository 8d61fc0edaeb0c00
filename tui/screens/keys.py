"""The working screen's keys: each has an id, so a keymap can move it."""

from __future__ import annotations

from textual.binding import Binding

MAIN_BINDINGS: list[Binding] = [
    Binding(
        "b",
        "command('book')",
        "Book",
        id="book",
        tooltip="Book a confirmed seat for someone",
    ),
    Binding(
        "h", "command('hold')", "Hold", id="hold", tooltip="Hold a seat while the customer pays"
    ),
    Binding(
        "c", "command('confirm')", "Confirm", id="confirm", tooltip="Confirm a hold (asks first)"
    ),
    Binding(
        "u",
        "command('release')",
        "Release",
        show=False,
        id="release",
        tooltip="Release a hold (asks first)",
    ),
    Binding(
        "d",
        "command('cancel_seat')",
        "Cancel seat",
        show=False,
        id="cancel",
        tooltip="Cancel a held or confirmed seat (asks first)",
    ),
    Binding(
        "e",
        "command('expire')",
        "Expire lapsed",
        show=False,
        id="expire",
        tooltip="Record every lapsed hold of this occurrence (asks first)",
    ),
    Binding(
        "n",
        "command('new_occurrence')",
        "New occurrence",
        show=False,
        id="new-occurrence",
        tooltip="Create a performance, date or session",
    ),
    Binding(
        "k",
        "command('capacity')",
        "Capacity",
        show=False,
        id="capacity",
        tooltip="Change how many seats the occurrence has",
    ),
    Binding(
        "slash",
        "filter",
        "Filter",
        show=False,
        id="filter",
        tooltip="Filter the roster; in the house, find a party on every show",
    ),
    Binding(
        "ctrl+f",
        "search",
        "Find a party",
        show=False,
        id="search",
        tooltip="Find a party on every show by name or #ref; Enter goes to its row",
    ),
    Binding(
        "l",
        "toggle_log",
        "Event log",
        id="log",
        tooltip="Show the occurrence's events; select one to see the roster then",
    ),
    Binding(
        "escape",
        "back_to_live",
        "Back to live",
        id="live",
        tooltip="Leave time travel (or clear the roster's filter)",
    ),
    Binding(
        "a",
        "command('archive')",
        "Archive",
        show=False,
        id="archive",
        tooltip="Archive the selected occurrence, or restore an archived one (asks first)",
    ),
    Binding(
        "o",
        "toggle_sort",
        "Sort by lapse",
        show=False,
        id="sort",
        tooltip="Sort the roster by time to lapse (soonest first), or back to join order",
    ),
    Binding(
        "v",
        "toggle_archived",
        "Show archived",
        show=False,
        id="archived",
        tooltip="Show archived occurrences in the house (marked ARCHIVED), or hide them again",
    ),
    Binding(
        "r",
        "race",
        "Race",
        show=False,
        id="race",
        tooltip="Open the racers panel on the selected occurrence",
    ),
    Binding(
        "w",
        "toggle_waitlist",
        "Waiting list",
        show=False,  # the footer is full at 80 columns; help, palette and README name it
        id="waitlist",
        tooltip="Show the selected occurrence's waiting list and its offers (again: hide it)",
    ),
    Binding(
        "j",
        "command('join_waitlist')",
        "Join waiting list",
        show=False,
        id="join-waitlist",
        tooltip="Put a party on the waiting list (a form); offered seats at once if free",
    ),
    Binding(
        "x",
        "command('leave_waitlist')",
        "Leave waiting list",
        show=False,
        id="leave-waitlist",
        tooltip="Take the waiting list's selected party off it (asks first)",
    ),
    Binding(
        "i",
        "door",
        "Door",
        show=False,
        id="door",
        tooltip="Door mode: check parties in by name or ref, with a seats-in counter",
    ),
]
