"""A race written to a file as it runs, and played back later without a database.

A talk should never depend on the machine's mood: ``--record FILE`` keeps the
plan, every racer event (its instant relative to the start signal) and the
verdict; playback re-tallies those events at any speed and shows the verdict
that was found from the stream when the race ran. One file may hold several
runs (the panel's side-by-side mode records both houses).

The format is JSON lines: ``{"run": i, "plan": {...}, ...}`` once per run, then
``{"run": i, "events": [[...], ...]}`` batches, then ``{"run": i, "summary": {...}}``.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import IO, Any

from store.audit.check import StreamReport, Violation
from store.audit.verify import Invariant, Verdict
from store.racers.errors import RaceError
from store.racers.events import Kind, RacerEvent
from store.racers.plan import RacePlan
from store.racers.summary import RaceSummary
from store.racers.tally import Tally

FORMAT = 1
_PLAN_FIELDS = [f.name for f in fields(RacePlan) if f.name != "store_url"]
_EVENT_FIELDS = [f.name for f in fields(RacerEvent) if f.name != "actor"]
PLAYBACK_URL = "(recording)"


def _plan_json(plan: RacePlan) -> dict[str, Any]:
    return {name: getattr(plan, name) for name in _PLAN_FIELDS}


def plan_from_json(data: dict[str, Any], store_url: str = PLAYBACK_URL) -> RacePlan:
    """The recorded plan (validated again: a recording is input like any other)."""
    try:
        return RacePlan(store_url, **{k: v for k, v in data.items() if k in _PLAN_FIELDS})
    except TypeError as exc:
        raise RaceError(f"recording: a plan without {exc}") from None


class Recorder:
    """Writes runs to one file as they happen: ``start``, ``events`` (often), ``finish``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file: IO[str] = self.path.open("w", encoding="utf-8")
        self._starts: dict[int, float] = {}

    def start(self, run: int, plan: RacePlan, started_at: float, capacity: int) -> None:
        self._starts[run] = started_at
        head = {"run": run, "format": FORMAT, "plan": _plan_json(plan), "capacity": capacity}
        self._write(head)

    def events(self, run: int, batch: Iterable[RacerEvent]) -> None:
        start = self._starts[run]
        rows = []
        for event in batch:
            row = [getattr(event, name) for name in _EVENT_FIELDS]
            row[_EVENT_FIELDS.index("at")] = round(event.at - start, 6)
            rows.append(row)
        self._write({"run": run, "events": rows})

    def finish(self, run: int, summary: RaceSummary) -> None:
        verdict = summary.verdict
        self._write(
            {
                "run": run,
                "summary": summary.to_json(),
                "violations": [asdict(v) for v in verdict.report.violations],
                "report_stream": verdict.report.stream,
            }
        )

    def close(self) -> None:
        self._file.close()

    def _write(self, line: dict[str, Any]) -> None:
        self._file.write(json.dumps(line, separators=(",", ":")) + "\n")
        self._file.flush()


@dataclass(slots=True)
class RecordedRun:
    """One run as recorded: its plan, its events (``at`` from the start) and its verdict."""

    plan: RacePlan
    capacity: int
    events: list[RacerEvent] = field(default_factory=list)
    summary: dict[str, Any] | None = None
    violations: list[Violation] = field(default_factory=list)

    @property
    def elapsed(self) -> float:
        if self.summary is not None:
            return float(self.summary["elapsed_s"])
        return self.events[-1].at if self.events else 0.0

    def verdict(self) -> Verdict:
        """The verdict found from the stream when the race ran (no database needed)."""
        if self.summary is None:
            raise RaceError("recording: the run has no summary (it was cut off)")
        inv = self.summary["invariants"]
        report = StreamReport(
            f"booking:{self.plan.occurrence}",
            capacity=inv["capacity"],
            occupied=inv["occupied"],
            violations=list(self.violations),
        )
        checks = [Invariant(**c) for c in inv["checks"]]
        return Verdict(inv["capacity"], inv["occupied"], inv["oversold"], checks, report)

    def replayed_summary(self, tally: Tally) -> RaceSummary:
        """The summary of a playback: the tally re-derived from the events, the recorded verdict."""
        s = self.summary or {}
        return RaceSummary(
            self.plan,
            tally,
            self.verdict(),
            self.elapsed,
            int(s.get("start_seq", 0)),
            int(s.get("stores", 0)),
            bool(s.get("stopped", False)),
            list(s.get("errors", [])),
            0.0,
        )


def load(path: str | Path) -> list[RecordedRun]:
    """Every run in a recording, in run order; a bad file is one clear ``RaceError``."""
    runs: dict[int, RecordedRun] = {}
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise RaceError(f"recording {str(path)!r}: {exc.strerror or exc}") from None
    for number, text in enumerate(lines, start=1):
        try:
            line = json.loads(text)
            run = int(line["run"])
            if "plan" in line:
                if line.get("format") != FORMAT:
                    raise ValueError(f"format {line.get('format')!r}, not {FORMAT}")
                runs[run] = RecordedRun(plan_from_json(line["plan"]), int(line["capacity"]))
            elif "events" in line:
                plan = runs[run].plan
                for row in line["events"]:
                    values = dict(zip(_EVENT_FIELDS, row, strict=True))
                    values["kind"] = Kind(values["kind"])
                    runs[run].events.append(RacerEvent(actor=plan.actor(values["racer"]), **values))
            elif "summary" in line:
                runs[run].summary = line["summary"]
                runs[run].violations = [Violation(**v) for v in line.get("violations", [])]
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise RaceError(
                f"recording {str(path)!r} line {number}: not a race recording ({exc})"
            ) from None
    if not runs:
        raise RaceError(f"recording {str(path)!r} holds no run")
    return [runs[i] for i in sorted(runs)]


async def play(
    runs: list[RecordedRun], speed: float = 1.0
) -> AsyncIterator[tuple[int, list[RacerEvent]]]:
    """The runs' events at ``speed`` times the recorded pace (0: as fast as possible).

    Yields ``(run, batch)``; the events keep their recorded ``at`` (seconds
    from the start signal), so a plot draws the race as it was.
    """
    merged = sorted(
        ((e.at, run, e) for run, r in enumerate(runs) for e in r.events), key=lambda t: t[0]
    )
    began = time.monotonic()
    batch: list[RacerEvent] = []
    batch_run = -1
    for at, run, event in merged:
        due = began + at / speed if speed > 0 else 0.0
        if batch and (run != batch_run or time.monotonic() < due):
            yield batch_run, batch
            batch = []
        wait = due - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        batch_run = run
        batch.append(event)
    if batch:
        yield batch_run, batch


async def replay_summaries(runs: list[RecordedRun]) -> list[RaceSummary]:
    """Play every run at full speed and summarise it: what the recording says happened."""
    tallies = [Tally.for_plan(r.plan) for r in runs]
    async for run, batch in play(runs, speed=0):
        for event in batch:
            tallies[run].apply(event)
    return [r.replayed_summary(t) for r, t in zip(runs, tallies, strict=True)]
