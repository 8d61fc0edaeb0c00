"""How long refusing an over-long name takes, against the rule it replaced (issue 12 row 18).

The baseline, measured in the same run, is the rule as it was: NFC-normalise and
strip the whole text, categorise every character, and only then check the length.
The rule now (``store.ledger.rules.text``) refuses a stripped text longer than
4 x 500 code points before it normalises or looks at a character. Each row is the
median of ``--repeat`` refusals; the ratio is baseline / now.

    .venv/bin/python -m bench.long_text [--repeat 5]
"""

from __future__ import annotations

import argparse
import time
import unicodedata
from collections.abc import Callable

from bench.common import machine, median, table
from store.ledger import rules
from store.ledger.rules import MAX_TEXT, InvalidInput

_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def baseline_text(value: str, field: str) -> str:
    """The rule before the fix, kept here only to measure against."""
    normal = unicodedata.normalize("NFC", value).strip()
    for ch in normal:
        if unicodedata.category(ch) in _HIDDEN:
            raise InvalidInput(field, "contains a control, format or separator character")
    if len(normal) > MAX_TEXT:
        raise InvalidInput(field, f"must be at most {MAX_TEXT} characters")
    return normal


def refusal_s(rule: Callable[[str, str], str], value: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        try:
            rule(value, "actor")
        except InvalidInput:
            pass
        else:
            raise AssertionError("the over-long text was accepted")
        times.append(time.perf_counter() - t0)
    return median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    shapes = {
        "ASCII, 1 K characters": "x" * 1_000,
        "ASCII, 1 M": "x" * 1_000_000,
        "ASCII, 10 M": "x" * 10_000_000,
        "e + U+0301 (NFC: é), 10 M code points": "e\u0301" * 5_000_000,
        "ASCII then U+202E, 10 M": "x" * 10_000_000 + "\u202e",
    }
    rows = []
    for name, value in shapes.items():
        before = refusal_s(baseline_text, value, args.repeat)
        now = refusal_s(rules.text, value, args.repeat)
        rows.append([name, f"{before * 1000:,.1f}", f"{now * 1000:,.4f}", f"{before / now:,.0f}×"])
    facts = machine()
    print(f"{facts['nproc']} cores, {facts['cpu']}, load {facts['load_1m_at_start']}")
    print(table(["text", "baseline ms", "now ms", "baseline / now"], rows))


if __name__ == "__main__":
    main()
