"""A throwaway PostgreSQL server for the test run, started from the installed binaries.

``initdb`` and ``pg_ctl`` refuse to run as root, so as root the server runs as the
``postgres`` system user (created by Debian's ``postgresql`` package) through ``runuser``.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def find_pg_bindir() -> Path | None:
    """The folder holding ``pg_ctl``: on PATH, else Debian's newest ``/usr/lib/postgresql``."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: [int(x) for x in re.findall(r"\d+", p.parent.parent.name)],
    )
    return candidates[-1].parent if candidates else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    """Owns one ``postgres`` process with its data folder; :meth:`stop` ends it."""

    def __init__(self, bindir: Path) -> None:
        # Not under pytest's tmp folder: that is private to root, and the server may run as
        # the postgres user, who must be able to reach its data folder.
        workdir = Path(tempfile.mkdtemp(prefix="wbl-pg-"))
        self.bindir = bindir
        self.workdir = workdir
        self.data = workdir / "data"
        self.port = _free_port()
        self.host = "127.0.0.1"
        self.user = "postgres"
        self._prefix: list[str] = []
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam("postgres")
            except KeyError as exc:
                raise RuntimeError("running as root needs a 'postgres' system user") from exc
            self._prefix = ["runuser", "-u", "postgres", "--"]
            workdir.chmod(0o755)
            os.chown(workdir, account.pw_uid, account.pw_gid)

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            [*self._prefix, *args], capture_output=True, text=True, cwd=self.workdir
        )
        if done.returncode != 0:
            log = self.workdir / "log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{args[0]} failed:\n{done.stdout}{done.stderr}{tail}")

    def start(self) -> None:
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            self.user,
            "-E",
            "UTF8",
            "--no-locale",
        )
        options = (
            f"-p {self.port} -k {self.workdir} -c listen_addresses={self.host} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.workdir / "log"),
            "-o",
            options,
            "-w",
            "start",
        )

    def stop(self) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{dbname}"
