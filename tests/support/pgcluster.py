"""A PostgreSQL cluster of the suite's own, on its own port, for server faults.

Restarting a server under running clients is the fault; doing it to the
machine's ``main`` cluster (5432) would take every other test and engineer down
with it. So the tests that restart a server create one with Debian's
``pg_createcluster`` (as root), named after this process and on a free port from
54329 up, and stop and drop exactly that cluster afterwards: never another.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

#: The first port tried; the next free one is taken if it is in use.
BASE_PORT = 54329


def unavailable() -> str | None:
    """Why this machine cannot make a cluster (None when it can)."""
    if shutil.which("pg_createcluster") is None or shutil.which("pg_ctlcluster") is None:
        return "pg_createcluster/pg_ctlcluster are not installed"
    if os.geteuid() != 0:
        return "creating a PostgreSQL cluster needs root (pg_createcluster)"
    if not _version():
        return "no PostgreSQL version under /etc/postgresql"
    return None


def _version() -> str:
    with contextlib.suppress(OSError):
        versions = sorted(os.listdir("/etc/postgresql"), key=lambda v: int(v) if v.isdigit() else 0)
        return versions[-1] if versions else ""
    return ""


def _ports_in_use() -> set[int]:
    listed = subprocess.run(
        ["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=False
    )
    ports = set()
    for row in listed.stdout.splitlines():
        fields = row.split()
        if len(fields) > 2 and fields[2].isdigit():
            ports.add(int(fields[2]))
    return ports


def _free_port() -> int:
    taken = _ports_in_use()
    for port in range(BASE_PORT, BASE_PORT + 40):
        if port in taken:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError(f"no free port in {BASE_PORT}-{BASE_PORT + 39} for a test cluster")


@dataclass
class Cluster:
    """One cluster this process created; ``url`` reaches it as user ``postgres``."""

    version: str
    name: str
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, *action: str) -> None:
        subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, *action],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        self._ctl("start")
        self.wait_ready()

    def stop(self) -> None:
        """A fast shutdown: the server ends every session, as a restart or failover does."""
        self._ctl("stop", "-m", "fast")

    def restart(self) -> None:
        self._ctl("restart", "-m", "fast")
        self.wait_ready()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            ready = subprocess.run(
                ["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port)], check=False
            )
            if ready.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"test cluster {self.name} not ready after {timeout:g} s")
            time.sleep(0.05)  # polling pg_isready: the server gives no other signal

    def drop(self) -> None:
        subprocess.run(
            ["pg_dropcluster", "--stop", self.version, self.name],
            check=False,
            capture_output=True,
            timeout=120,
        )


@contextlib.contextmanager
def own_cluster() -> Iterator[Cluster]:
    """Create, start, yield, then stop and drop a cluster of this process's own."""
    problem = unavailable()
    if problem is not None:
        raise RuntimeError(problem)
    version = _version()
    name = f"bo_faults_{os.getpid()}"
    port = _free_port()
    subprocess.run(
        ["pg_createcluster", version, name, "-p", str(port), "--start-conf=manual", "--",
         "--auth=trust"],
        check=True,
        capture_output=True,
        timeout=120,
    )  # fmt: skip
    cluster = Cluster(version, name, port)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.drop()
