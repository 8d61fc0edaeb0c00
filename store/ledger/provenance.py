"""Who and where an event came from: the ``meta`` every ledger event carries."""

from __future__ import annotations

import os
import pwd
import socket
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from store.ledger import rules


@cache
def _host() -> str:
    return socket.gethostname() or "localhost"


#: Where ``getpass.getuser`` looks, in its order, before the password database.
LOGIN_ENV = ("LOGNAME", "USER", "LNAME", "USERNAME")
#: The name recorded when neither the environment nor the account has a usable one.
FALLBACK_OPERATOR = "operator"


@dataclass(frozen=True, slots=True)
class LoginOperator:
    """The operator a command records when none is given, and why the login name was not.

    ``refused`` is None when the login name itself is used; otherwise it says, in
    one line, which variable held what and what is wrong with it, for a warning.
    """

    name: str
    refused: str | None = None


def login_operator() -> LoginOperator:
    """The login name, held to the same rule as ``--operator`` (``rules.text``).

    ``LOGNAME=$'evil\\e[2J\\u202e'`` was recorded on every event as it stood (issue
    12 row 14). Refusing it would stop every command of a user who never chose
    that environment, so it is replaced: by the account's name in the password
    database if that passes the rule, else by ``operator``, and the caller warns.
    """
    source = next((name for name in LOGIN_ENV if os.environ.get(name)), None)
    given = os.environ[source] if source is not None else _account_name()
    if not given:
        return LoginOperator(FALLBACK_OPERATOR)
    try:
        return LoginOperator(rules.text(given, "operator"))
    except rules.InvalidInput as problem:
        refused = f"${source or 'the account name'} {given!r}: {problem.problem}"
    account = _account_name() if source is not None else None
    try:
        fallback = rules.text(account, "operator") if account else FALLBACK_OPERATOR
    except rules.InvalidInput:
        fallback = FALLBACK_OPERATOR
    return LoginOperator(fallback, refused)


def _account_name() -> str | None:
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except (KeyError, OSError):  # a container without a passwd entry
        return None


def default_operator() -> str:
    """The login name if it is a usable operator name, else a safe stand-in (see above)."""
    return login_operator().name


#: this process's terminal id, made once (``getpid`` is a system call on every command
#: otherwise) and forgotten in a forked child, whose process id differs
_terminal: str | None = None


def _forget_terminal() -> None:
    global _terminal
    _terminal = None


os.register_at_fork(after_in_child=_forget_terminal)


def terminal_id() -> str:
    """Host and process id: two terminals on one machine stay distinguishable."""
    global _terminal
    if _terminal is None:
        _terminal = f"{_host()}:{os.getpid()}"
    return _terminal


def event_meta(operator: str, recorded_at: datetime) -> dict[str, str]:
    return {"operator": operator, "terminal": terminal_id(), "recorded_at": recorded_at.isoformat()}
