"""``boxoffice race [KEY]``: simulated racers rush one occurrence; capacity must hold.

N racers, spread over P spawned processes, each try to hold a seat on KEY at
once (with ``--churn``, each winner then confirms or releases, as the seed
decides; with ``--waitlist``, each winner confirms or cancels, and a racer told
full joins the waiting list and confirms the seat it is offered). Every conflict
is counted; at the end the run is verified from the stream alone: never
oversold, each winner exactly once, every success has its event, the final
roster agrees, and (with ``--waitlist``) every offer went to the earliest
fitting waiter. Exit 0 when every invariant held, 1 when one failed (or a racer
process died, or went silent for 30 s: a stopped process is named on stderr at
10 s), 130 when interrupted (every process is stopped first).

Without KEY the race runs on a fresh demo occurrence (``demo: true``,
``--capacity`` seats, default 40), never on a real show. ``--capacity C``
creates KEY (as a demo) when it is missing. An existing KEY with another
capacity is refused (exit 2) rather than changed: a race must never rewrite a
real show's capacity. An existing KEY that is not a demo is raced on only with
``--yes`` (else exit 2). Every racer hold lapses after ``--hold-for`` (10m).

``--algorithm seed`` races the seed's own algorithm (two separate reads:
UNSAFE, demo occurrences only) with the same racers; it exits 1 naming the
oversold seqs when it oversells. ``--record FILE`` writes the run as it goes;
``--replay FILE`` reruns its plan (same seed) on a fresh demo occurrence;
``--play FILE`` prints the summary re-derived from the recording, without a
database. ``--cleanup`` archives
every demo occurrence in one step.
"""

from __future__ import annotations

import argparse
import sys
from fractions import Fraction
from typing import Any

from store.racers import (
    HOLD_TTL,
    MAX_PROCESSES,
    MAX_RACERS,
    CapacityMismatch,
    RaceError,
    RacePlan,
    RaceSummary,
    RealOccurrence,
    demo_key,
    new_seed,
    prepare_occurrence,
    run_race,
)
from store.racers.plan import ALGORITHMS, SHAPES
from store.racers.recording import Recorder, load, replay_summaries
from tui.cli import arguments
from tui.cli.commands.common import (
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_USAGE,
    CommandError,
    Options,
    operator_of,
    run,
)
from tui.cli.output import cell, emit_json, line, table
from tui.cli.safe_text import printable

DEMO_CAPACITY = 40
UNSAFE = "the seed's algorithm: UNSAFE (roster and seq in two separate reads), demo only"


def pace(text: str) -> float:
    """``1``, ``1/4``, ``1/16`` or ``0.25``: the slow-motion factor, 1/64 to 1."""
    try:
        value = float(Fraction(text.strip()))
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(
            f"must be 1, 1/4, 1/16 or a fraction (got {text!r})"
        ) from None
    if not 1 / 64 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be from 1/64 to 1 (got {text!r})")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "race",
        help="fire simulated racers at an occurrence and verify capacity held (exit 1 if not)",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("key", metavar="OCCURRENCE", nargs="?", help="default: a fresh demo occurrence")
    add("--racers", type=arguments.whole_number, metavar="N", help=f"1 to {MAX_RACERS:,} (100)")
    add(
        "--processes",
        type=arguments.whole_number,
        metavar="P",
        help=f"OS processes to spread them over, 1 to {MAX_PROCESSES} (default 4)",
    )
    add(
        "--capacity",
        type=arguments.whole_number,
        metavar="C",
        help=f"create the occurrence (a demo) if missing (default {DEMO_CAPACITY} when no key)",
    )
    add("--yes", action="store_true", help="race on an existing real show (not a demo) anyway")
    add(
        "--hold-for",
        type=arguments.duration,
        metavar="DURATION",
        help="every racer hold lapses after this long (default 10m)",
    )
    add("--churn", action="store_true", help="each winner then confirms or releases its hold")
    add(
        "--waitlist",
        action="store_true",
        help="racers told full join the waiting list and confirm their offers; "
        "each winner confirms or cancels",
    )
    add("--seed", type=arguments.whole_number, metavar="S", help="default: random, printed")
    add("--algorithm", choices=ALGORITHMS, help="ours (default), or seed: UNSAFE, demo only")
    add(
        "--shape",
        choices=SHAPES,
        help="terminals: a store per racer (default); processes: "
        "one ledger per process, its racers batched by the group commit",
    )
    add("--pace", type=pace, metavar="P", help="slow motion: 1 (default), 1/4, 1/16")
    add("--deadline", type=float, metavar="SECONDS", help="a losing racer gives up (60)")
    add("--record", metavar="FILE", help="write the run to FILE as it goes")
    add("--replay", metavar="FILE", help="rerun the plan recorded in FILE (same seed)")
    add("--play", metavar="FILE", help="summarise FILE again from its events, no database needed")
    add("--speed", type=float, default=1.0, metavar="X", help="playback speed (default 1)")
    add("--cleanup", action="store_true", help="archive every demo occurrence, then stop")
    parser.set_defaults(handler=race)


def _plan(opts: Options, args: argparse.Namespace) -> tuple[RacePlan, int | None]:
    """The plan asked for (or recorded, with ``--replay``) and the capacity to create with."""
    recorded: dict[str, Any] = {}
    capacity = args.capacity
    if args.replay:
        try:
            first = load(args.replay)[0]
        except RaceError as exc:
            raise CommandError(EXIT_USAGE, str(exc)) from None
        recorded = {
            name: getattr(first.plan, name)
            for name in ("racers", "processes", "seed", "churn", "waitlist", "deadline")
        }
        later = ("hold_ttl_s", "algorithm", "shape", "pace")
        recorded |= {n: getattr(first.plan, n) for n in later}
        capacity = capacity or first.capacity
    asked = {
        "racers": args.racers,
        "processes": args.processes,
        "seed": args.seed,
        "churn": args.churn or None,
        "waitlist": args.waitlist or None,
        "deadline": args.deadline,
        "hold_ttl_s": args.hold_for.total_seconds() if args.hold_for else None,
        "algorithm": args.algorithm,
        "shape": args.shape,
        "pace": args.pace,
    }
    defaults: dict[str, Any] = {
        "racers": 100,
        "processes": 4,
        "seed": new_seed(),
        "churn": False,
        "waitlist": False,
        "deadline": 60.0,
        "hold_ttl_s": HOLD_TTL.total_seconds(),
        "algorithm": "ours",
        "shape": "terminals",
        "pace": 1.0,
    }
    chosen = {k: v if v is not None else recorded.get(k, defaults[k]) for k, v in asked.items()}
    if args.key is None and capacity is None:
        capacity = DEMO_CAPACITY
    label = "seed-demo" if chosen["algorithm"] == "seed" else "race-demo"
    key = args.key if args.key is not None else demo_key(label)
    operator = operator_of(opts)
    return RacePlan(opts.db, key, operator=operator, **chosen), capacity


def race(opts: Options, args: argparse.Namespace) -> int:
    if args.play:
        return _play(opts, args)
    if args.cleanup:
        return _cleanup(opts)
    plan, capacity = _plan(opts, args)
    if plan.algorithm == "seed" and args.yes:
        raise CommandError(EXIT_USAGE, "algorithm: the seed's algorithm oversells; no --yes")

    async def go() -> RaceSummary:
        try:
            await prepare_occurrence(
                plan.store_url,
                plan.occurrence,
                capacity,
                operator=plan.operator,
                allow_real=args.yes,
            )
        except (CapacityMismatch, RealOccurrence) as exc:
            raise CommandError(EXIT_USAGE, str(exc)) from None
        except RaceError as exc:
            raise CommandError(EXIT_REFUSED, str(exc)) from None
        if not opts.json:
            unsafe = f" with {UNSAFE}" if plan.algorithm == "seed" else ""
            print(
                f"racing {plan.racers} racers over {plan.workers} processes on "
                f"{plan.occurrence} (seed {plan.seed}){unsafe}...",
                file=sys.stderr,
                flush=True,
            )
        recorder = Recorder(args.record) if args.record else None
        try:
            return await run_race(plan, recorder, on_warning=_say)
        except RaceError as exc:
            raise CommandError(EXIT_REFUSED, str(exc)) from None
        finally:
            if recorder is not None:
                recorder.close()

    summary = run(go())
    if opts.json:
        emit_json(summary.to_json())
    else:
        print_summary(summary)
    return EXIT_OK if summary.ok else EXIT_REFUSED


def _say(warning: str) -> None:
    """A watchdog warning, while the run goes on: stderr, so stdout stays the summary."""
    print(f"boxoffice: {printable(warning)}", file=sys.stderr, flush=True)


def _play(opts: Options, args: argparse.Namespace) -> int:
    try:
        runs = load(args.play)
    except RaceError as exc:
        raise CommandError(EXIT_USAGE, str(exc)) from None
    summaries = run(replay_summaries(runs))
    if opts.json:
        emit_json(
            summaries[0].to_json() if len(summaries) == 1 else [s.to_json() for s in summaries]
        )
    else:
        for summary in summaries:
            print_summary(summary)
    return EXIT_OK if all(s.ok for s in summaries) else EXIT_REFUSED


def _cleanup(opts: Options) -> int:
    from store.racers.cleanup import archive_demos

    archived = run(archive_demos(opts.db, operator=operator_of(opts)))
    if opts.json:
        emit_json({"archived": archived})
    else:
        line(f"archived {len(archived)} demo occurrence{'s' if len(archived) != 1 else ''}")
        for key in archived:
            line(f"  {cell(key)}")
    return EXIT_OK


def print_summary(summary: RaceSummary) -> None:
    plan, tally = summary.plan, summary.tally
    mode = "churn (confirm or release)" if plan.churn else "hold only"
    if plan.waitlist:
        mode = "waiting list (winners confirm or cancel, the full wait)"
    last = summary.last_hold_s
    last_hold = f" · last hold at {last:.2f} s" if last is not None else ""
    if plan.algorithm == "seed":
        line(f"algorithm: {UNSAFE}")
    shape = "" if plan.shape == "terminals" else f", as {plan.shape} (one ledger each)"
    paced = "" if plan.pace == 1 else f", pace {Fraction(plan.pace).limit_denominator(64)}x"
    line(
        f"race on {cell(plan.occurrence)}: {plan.racers} racers over {plan.workers} processes "
        f"({summary.stores} stores{shape}), {mode}{paced}, seed {plan.seed}"
    )
    line(
        f"{summary.elapsed:.2f} s · {tally.attempts} attempts · {tally.conflicts} conflicts · "
        f"{tally.retries} retries (at most {tally.max_retries} by one racer) · "
        f"{summary.holds_per_s:.1f} holds/s{last_hold}"
    )
    rows: list[list[Any]] = []
    for process in range(plan.workers):
        mine = [r for r in tally.racers if r.process == process]
        rows.append(
            [
                process,
                len(mine),
                sum(r.attempts for r in mine),
                sum(r.conflicts for r in mine),
                max((r.retries for r in mine), default=0),
                sum(1 for r in mine if r.seq is not None),
                sum(1 for r in mine if r.state == "full" or r.waited),
                sum(1 for r in mine if r.state in ("gave-up", "error", "waiting", "retrying")),
            ]
        )
    rows.append(
        [
            "all",
            plan.racers,
            tally.attempts,
            tally.conflicts,
            tally.max_retries,
            tally.held,
            tally.full,
            tally.gave_up + tally.errors + (plan.racers - tally.decided),
        ]
    )
    table(
        ["process", "racers", "attempts", "conflicts", "max retries", "held", "full", "other"],
        rows,
    )
    if plan.churn and not plan.waitlist:
        line(
            f"churn: {tally.confirmed} confirmed · {tally.released} released · "
            f"{tally.churn_retries} retries inside the ledger"
        )
    if plan.waitlist:
        line(
            f"churn: {tally.confirmed} confirmed · {tally.cancelled} cancelled · "
            f"{tally.churn_retries} retries inside the ledger"
        )
        line(
            f"waiting list: {tally.waits} waited · {tally.offers} offered · "
            f"{tally.offers_confirmed} offers confirmed · {tally.left} left unoffered"
        )
    if tally.busy:
        line(
            f"{tally.busy} retries because the database stayed locked past its busy timeout "
            "(nothing was written by those attempts)"
        )
    if tally.already:
        line(f"{tally.already} racers were already seated from an earlier run with this seed")
    for error in summary.errors:
        line(f"error: {cell(error)}")
    for invariant in summary.verdict.invariants:
        mark = "✓" if invariant.ok else "✗"
        line(f"{mark} {invariant.name}: {cell(invariant.detail)}")
    seqs = summary.oversold_seqs
    if seqs:
        shown = ", ".join(str(s) for s in seqs[:20]) + (" …" if len(seqs) > 20 else "")
        line(f"OVER CAPACITY +{len(seqs)}: oversold at seq {shown}")
    line(cell(summary.verdict.line()))
    line(
        f"replay this plan: boxoffice race --seed {plan.seed} --racers {plan.racers} "
        f"--processes {plan.processes}"
        + (" --churn" if plan.churn else "")
        + (" --waitlist" if plan.waitlist else "")
        + ("" if plan.algorithm == "ours" else f" --algorithm {plan.algorithm}")
    )
