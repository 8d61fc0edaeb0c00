"""User text made safe to show: never markup, never a terminal escape.

Actors and titles are validated on the way in, but a database can hold text
written by an older version or by hand. Everything shown to a person passes
through here, in the app and on the command line alike.
"""

from __future__ import annotations

import unicodedata

_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def printable(text: object) -> str:
    """``text`` with every control, format or separator character shown as ``\\u{XXXX}``.

    Tabs and newlines are included: one name, one line.
    """
    value = str(text)
    if value.isprintable() and value.isascii():
        return value
    out = []
    for ch in value:
        if unicodedata.category(ch) in _HIDDEN:
            out.append(f"\\u{{{ord(ch):04X}}}")
        else:
            out.append(ch)
    return "".join(out)
