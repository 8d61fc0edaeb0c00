"""The ``boxoffice`` subcommands, one module per job.

Each module in ``COMMANDS`` has ``register(subparsers) -> None``, which adds its
subcommand(s) with ``subparsers.add_parser(name, help=...)`` (the global
``--db``/``--operator``/``--json`` are already on the returned parser) and sets
``handler=fn`` with ``parser.set_defaults``, where ``fn(opts, args) -> int``
(``opts`` is ``tui.cli.commands.common.Options``). Handlers raise on failure;
``tui.cli.main.main`` prints one line and picks the exit code.
"""

from __future__ import annotations

from tui.cli.commands import (
    check,
    doctor,
    door,
    log,
    occurrences,
    parties,
    race,
    seats,
    setup,
    upkeep,
    waitlist,
)

COMMANDS = [
    setup,
    occurrences,
    upkeep,
    seats,
    parties,
    door,
    waitlist,
    log,
    check,
    race,
    doctor,
]
