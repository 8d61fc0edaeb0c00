"""The words beside a race: the four checks, what a conflict is, and one racer's attempts.

Why: a demonstration of safety is only believed when the audience can read
the proof, so the panel says what the command line says (each check with ✓ or
✗ and its figure), explains a conflict with a real one from the race ("racer
17 read seq 40, seq 41 landed first: re-reads and retries"), and shows any
racer's attempts (the seq each was decided on, and what the stream had).
Every string a racer or the stream supplied is shown as text, never markup.
"""

from __future__ import annotations

from textual.content import Content

from store.racers import RacerRecord, RaceSummary, Tally
from tui.cli.safe_text import printable

#: At most this many offending seqs are named on the over-capacity line.
SEQS_SHOWN = 8


def check_lines(summary: RaceSummary) -> list[Content]:
    """``✓ never oversold: 812 acquisitions, at most 200 of 200 seats occupied``, one a check."""
    lines = []
    for check in summary.verdict.invariants:
        mark = ("✓", "bold $success") if check.ok else ("✗", "bold $error")
        lines.append(Content.assemble(mark, f" {check.name}: ", printable(check.detail)))
    return lines


def over_capacity(summary: RaceSummary) -> Content | None:
    """``OVER CAPACITY +2: oversold at seq 187, 190``, or None when capacity held."""
    seqs = summary.oversold_seqs
    if not seqs:
        return None
    named = ", ".join(str(s) for s in seqs[:SEQS_SHOWN]) + (" …" if len(seqs) > SEQS_SHOWN else "")
    return Content.assemble(
        (f"OVER CAPACITY +{len(seqs)}", "bold $text on $error"), f" oversold at seq {named}"
    )


def verdict_line(summary: RaceSummary) -> str:
    """The verdict in one short line (the checks above it give the details), and how it ended."""
    verdict = summary.verdict
    line = verdict.line()
    if not verdict.ok:
        failed = next(i for i in verdict.invariants if not i.ok)
        where = f" at seq {verdict.first_seq}" if verdict.first_seq is not None else ""
        line = line.split(" ✗ ", 1)[0] + f" ✗ {failed.name}{where}"
    if summary.errors:
        return f"{line} · {summary.errors[0]}"
    return f"{line} (stopped early)" if summary.stopped else line


def conflict_caption(tally: Tally) -> Content:
    """What a conflict is, told with the latest real one of this race."""
    event = tally.last_conflict
    if event is None or event.expected is None:
        return Content("a conflict: a racer decided on a seq another write took first")
    landed = event.expected + 1
    later = f" (stream at {event.actual})" if event.actual not in (None, landed) else ""
    return Content(
        f"conflict: racer {event.racer} read seq {event.expected}, seq {landed} landed "
        f"first{later}: re-reads and retries"
    )


def attempts_text(record: RacerRecord) -> Content:
    """``racer 17 (process 2) held seat 12 at seq 44: #1 read 40 → conflict (41 landed) …``."""
    outcome = record.state
    if record.seat is not None and record.seq is not None:
        outcome += f" seat {record.seat} at seq {record.seq}"
    if record.churn and record.churn != record.state:
        outcome += f", then {record.churn}"
    tries = []
    for attempt in record.tries:
        read = "?" if attempt.expected is None else str(attempt.expected)
        step = f"#{attempt.attempt} read seq {read} → {attempt.outcome}"
        if attempt.outcome == "conflict" and attempt.actual is not None:
            step += f" (stream at {attempt.actual})"
        tries.append(step)
    head = f"racer {record.racer} (process {record.process}, {printable(record.actor)}): {outcome}"
    return Content(head + (" · " + " · ".join(tries) if tries else " · no attempt yet"))
