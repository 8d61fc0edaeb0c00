"""The operator's settings (``~/.config/boxoffice/config.toml``) and the app's log file.

A box office runs the same terminal night after night: which database, who
sits at it, the venue's zone, a theme and moved keys belong in a file, not on
every command line. The log file (rotating, in the user log directory) keeps
every error the app showed and every write it made, for the morning after.

No Textual here: the command line reads the database setting before the app
starts.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, field
from logging.handlers import RotatingFileHandler
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs

APP_NAME = "boxoffice"
LOG_BYTES = 1_000_000
LOG_BACKUPS = 3


class ConfigError(ValueError):
    """A setting the app cannot use; the message names the file and the field."""


@dataclass(frozen=True, slots=True)
class Config:
    database: str | None = None
    operator: str | None = None
    zone: ZoneInfo | None = None  # the venue's; None: the machine's
    theme: str | None = None
    keymap: dict[str, str] = field(default_factory=dict)  # binding id -> keys


def config_path() -> Path:
    return platformdirs.user_config_path(APP_NAME) / "config.toml"


def log_path() -> Path:
    return platformdirs.user_log_path(APP_NAME) / "boxoffice.log"


def _text(table: dict[str, object], name: str, where: Path) -> str | None:
    value = table.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {name} must be a non-empty string")
    return value.strip()


def load(path: Path | None = None) -> Config:
    """The settings in ``path`` (default: the user's config file); none if it is missing."""
    where = path or config_path()
    try:
        with where.open("rb") as stream:
            table = tomllib.load(stream)
    except FileNotFoundError:
        return Config()
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"{where}: {error}") from None
    known = {"database", "operator", "zone", "theme", "keymap"}
    unknown = sorted(set(table) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown setting {unknown[0]!r} (known: {sorted(known)})")
    zone_name = _text(table, "zone", where)
    zone = None
    if zone_name is not None:
        try:
            zone = ZoneInfo(zone_name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{where}: zone {zone_name!r} is not a time zone name") from None
    keymap = table.get("keymap", {})
    if not isinstance(keymap, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in keymap.items()
    ):
        raise ConfigError(f'{where}: keymap must be a table of binding id = "keys"')
    return Config(
        database=_text(table, "database", where),
        operator=_text(table, "operator", where),
        zone=zone,
        theme=_text(table, "theme", where),
        keymap=dict(keymap),
    )


def open_log(path: Path | None = None) -> logging.Logger:
    """The app's logger, writing to a rotating file (created with its directory)."""
    logger = logging.getLogger("boxoffice.app")
    target = path or log_path()
    if not any(getattr(h, "baseFilename", None) == str(target) for h in logger.handlers):
        target.parent.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(
            target, maxBytes=LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
        )
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger
