"""``store/`` and ``tui/cli/`` never import a user interface (as Harlequin keeps its core).

The racers, the checker and the benchmark import ``store`` in fresh processes;
pulling in Textual or Rich there would cost start-up time and drag terminal
code into processes that never draw. Each module is imported in its own
interpreter, so one module's imports cannot hide another's.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pkgutil
import subprocess
import sys

import pytest

UI_PACKAGES = ("textual", "rich")

_PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in sys.argv[2:])))
"""


def _modules_of(package: str) -> list[str]:
    """Every module of ``package`` and its subpackages, found on disk without importing them.

    (``pkgutil.walk_packages`` would import each subpackage to find its path.)
    """
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations
    return [package, *sorted(_modules_under(package, list(spec.submodule_search_locations)))]


def _store_modules() -> list[str]:
    return _modules_of("store")


def _cli_modules() -> list[str]:
    """The command line is headless too: only ``tui.cli.launch`` reaches the app, lazily."""
    return _modules_of("tui.cli")


def _modules_under(package: str, paths: list[str]) -> list[str]:
    names: list[str] = []
    for info in pkgutil.iter_modules(paths):
        name = f"{package}.{info.name}"
        names.append(name)
        if info.ispkg:
            names += _modules_under(name, [os.path.join(p, info.name) for p in paths])
    return names


def _ui_modules_after_importing(module: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, module, *UI_PACKAGES],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, f"importing {module} failed:\n{done.stderr}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_package_has_the_modules_the_brief_names() -> None:
    modules = set(_store_modules())
    expected = {
        "store.eventstore.contract",
        "store.ledger.api",
        "store.ledger.fold",
        "store.eventstore.opening",
        "store.eventstore.sqlite",
    }
    assert expected <= modules
    assert "store.racers.engine" in modules  # subpackages are walked too


@pytest.mark.parametrize("module", _store_modules())
def test_store_module_imports_no_ui(module: str) -> None:
    assert _ui_modules_after_importing(module) == []


@pytest.mark.parametrize("module", _cli_modules())
def test_cli_module_imports_no_ui(module: str) -> None:
    assert _ui_modules_after_importing(module) == []


def test_the_probe_would_see_a_ui_import() -> None:
    """The check itself can fail: importing Rich is seen."""
    assert "rich" in _ui_modules_after_importing("rich.text")
