"""``boxoffice race [KEY]``: simulated racers rush one occurrence; capacity must hold.

N racers, spread over P spawned processes, each try to hold a seat on KEY at
once (with ``--churn``, each winner then confirms or releases, as the seed
decides). Every conflict is counted; at the end the run is verified from the
stream alone: never oversold, each winner exactly once, every success has its
event, the final roster agrees. Exit 0 when every invariant held, 1 when one
failed (or a racer process died), 130 when interrupted (every process is
stopped first).

Without KEY the race runs on a fresh demo occurrence (``demo: true``,
``--capacity`` seats, default 40), never on a real show. ``--capacity C``
creates KEY (as a demo) when it is missing. An existing KEY with another
capacity is refused (exit 2) rather than changed: a race must never rewrite a
real show's capacity. An existing KEY that is not a demo is raced on only with
``--yes`` (else exit 2). Every racer hold lapses after ``--hold-for`` (10m).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from store.ledger.provenance import default_operator
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
from tui.cli import arguments
from tui.cli.commands.common import (
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_USAGE,
    CommandError,
    Options,
    run,
)
from tui.cli.output import cell, emit_json, line, table

DEMO_CAPACITY = 40


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "race",
        help="fire simulated racers at an occurrence and verify capacity held (exit 1 if not)",
        description=__doc__.split("\n\n", 1)[1] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "key",
        metavar="OCCURRENCE",
        nargs="?",
        help="the occurrence to race on (default: a fresh demo occurrence)",
    )
    parser.add_argument(
        "--racers",
        type=arguments.whole_number,
        default=100,
        metavar="N",
        help=f"racers, 1 to {MAX_RACERS:,} (default 100)",
    )
    parser.add_argument(
        "--processes",
        type=arguments.whole_number,
        default=4,
        metavar="P",
        help=f"OS processes to spread them over, 1 to {MAX_PROCESSES} (default 4)",
    )
    parser.add_argument(
        "--capacity",
        type=arguments.whole_number,
        metavar="C",
        help="create the occurrence (a demo) with this capacity if it is missing "
        f"(default {DEMO_CAPACITY} for a fresh demo occurrence)",
    )
    parser.add_argument(
        "--yes",
        action="store_true",
        help="race on an existing occurrence even if it is a real show (not a demo)",
    )
    parser.add_argument(
        "--hold-for",
        type=arguments.duration,
        default=HOLD_TTL,
        metavar="DURATION",
        help="every racer hold lapses after this long (default 10m)",
    )
    parser.add_argument(
        "--churn", action="store_true", help="each winner then confirms or releases its hold"
    )
    parser.add_argument(
        "--seed",
        type=arguments.whole_number,
        metavar="S",
        help="fixes actors, placement, order and churn choices (default: random, printed)",
    )
    parser.add_argument(
        "--deadline",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="a racer still conflicting after this long gives up (default 60)",
    )
    parser.set_defaults(handler=race)


def race(opts: Options, args: argparse.Namespace) -> int:
    key = args.key if args.key is not None else demo_key()
    plan = RacePlan(
        opts.db,
        key,
        racers=args.racers,
        processes=args.processes,
        seed=args.seed if args.seed is not None else new_seed(),
        churn=args.churn,
        operator=opts.operator or default_operator(),
        deadline=args.deadline,
        hold_ttl_s=args.hold_for.total_seconds(),
    )
    capacity = args.capacity if args.key is not None or args.capacity else DEMO_CAPACITY

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
            print(
                f"racing {plan.racers} racers over {plan.workers} processes on "
                f"{plan.occurrence} (seed {plan.seed})...",
                file=sys.stderr,
                flush=True,
            )
        return await run_race(plan)

    summary = run(go())
    if opts.json:
        emit_json(summary.to_json())
    else:
        _print_summary(summary)
    return EXIT_OK if summary.ok else EXIT_REFUSED


def _print_summary(summary: RaceSummary) -> None:
    plan, tally = summary.plan, summary.tally
    mode = "churn (confirm or release)" if plan.churn else "hold only"
    last = summary.last_hold_s
    last_hold = f" · last hold at {last:.2f} s" if last is not None else ""
    line(
        f"race on {cell(plan.occurrence)}: {plan.racers} racers over {plan.workers} processes "
        f"({summary.stores} stores), {mode}, seed {plan.seed}"
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
                sum(1 for r in mine if r.state == "full"),
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
    if plan.churn:
        line(
            f"churn: {tally.confirmed} confirmed · {tally.released} released · "
            f"{tally.churn_retries} retries inside the ledger"
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
    line(cell(summary.verdict.line()))
