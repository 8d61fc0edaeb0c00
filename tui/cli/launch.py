"""From the command line to a running app: which database, and is it really there.

The default database is created on first run; a database the operator *named*
must already exist, because a mistyped path opened as a fresh file would show
an empty house, every seat free, on a sold-out night.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING

from store import open_store
from store.ledger import rules as validation
from store.ledger.venue import venue_zone
from tui.cli.paths import default_db_path
from tui.cli.safe_text import printable

if TYPE_CHECKING:
    from tui.config import Config

EXIT_USAGE = 2
EXIT_DATABASE = 3


async def _probe(url: str, create: bool) -> None:
    """Open and close the store once, so a bad database fails before the screen takes over."""
    async with open_store(url, create=create):
        pass


def resolve(db: str | None) -> tuple[str, bool]:
    """The database to open and whether it may be created (only the default may)."""
    if db:
        return db, False
    return str(default_db_path()), True


def _checked_database(db: str | None, operator: str | None) -> tuple[Config, str, str | None] | int:
    """Config, URL and operator for a screen about to open, or the exit code saying why not.

    Everything that can be refused in one line is, before a screen takes the
    terminal: the config file, the URL, the venue zone, the operator, the database.
    """
    from tui.config import ConfigError, load

    try:
        config = load()
    except ConfigError as error:
        _say(error)
        return EXIT_USAGE
    url, create = resolve(db or config.database)
    operator = operator or config.operator
    try:
        venue_zone(config.zone)  # a bad $BOXOFFICE_TZ is one line, before the screen
        if operator is not None:
            validation.text(operator, "operator")
        asyncio.run(_probe(url, create))
    except ValueError as error:  # an unusable URL: a usage problem
        _say(error)
        return EXIT_USAGE
    except Exception as error:  # missing, locked, corrupt, newer schema, unreachable
        _say(error)
        return EXIT_DATABASE
    return config, url, operator


def launch(db: str | None, operator: str | None, demo: bool) -> int:
    """Run the app on ``db`` (None: the configured or default database); the exit code."""
    from tui.config import open_log

    checked = _checked_database(db, operator)
    if isinstance(checked, int):
        return checked
    config, url, operator = checked

    from tui.app import BoxOfficeApp  # the UI is imported only when it will run

    app = BoxOfficeApp(
        url,
        operator=operator,
        demo=demo,
        config=config,
        ask_operator=operator is None,
        log=open_log(),
    )
    app.run()
    return app.return_code or 0


def launch_panel(
    db: str | None, operator: str | None, *, play: str | None, side_by_side: bool
) -> int:
    """The racers panel alone: a recording played back (no database), or the side-by-side demo."""
    url: str | None = None
    if play is not None:
        from store.racers.errors import RaceError
        from store.racers.recording import load as load_recording

        try:
            load_recording(play)  # a bad file is one line here, before the screen takes over
        except RaceError as error:
            _say(error)
            return EXIT_USAGE
    else:
        checked = _checked_database(db, operator)
        if isinstance(checked, int):
            return checked
        _, url, operator = checked

    from tui.race_app import RacePanelApp  # the UI is imported only when it will run

    app = RacePanelApp(url, operator=operator, play=play, side_by_side=side_by_side)
    app.run()
    return app.return_code or 0


def _say(error: BaseException) -> None:
    lines = str(error).strip().splitlines()
    print(f"boxoffice: {printable(lines[0] if lines else type(error).__name__)}", file=sys.stderr)
