"""Time `wbl generate` and `wbl import` on generated bundles, on SQLite and PostgreSQL.

Run with `make bench` (or `python -m benchmarks.import_bench --students 10000 50000`); the
table is printed and written to benchmarks/RESULTS.md with the date and the machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from pytest_postgresql.janitor import DatabaseJanitor

from tests.pgserver import PgServer, find_pg_bindir

ROOT = Path(__file__).resolve().parent.parent
WBL = str(Path(sys.executable).parent / "wbl")


def _timed(*args: str) -> tuple[float, float]:
    """Wall seconds and peak memory (MiB) of one `wbl` run; fails loudly if the run fails."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as log:
        child = subprocess.Popen([WBL, *args], stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        if child.returncode != 0:
            log.seek(0)
            raise SystemExit(f"wbl {' '.join(args)} failed:\n{log.read()}")
    return wall, usage.ru_maxrss / 1024


def machine() -> str:
    """One line naming the CPU, cores, memory and Python version, for results tables."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--students", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    rows = []
    bindir = find_pg_bindir()
    server = PgServer(bindir) if bindir else None
    if server:
        server.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for n in args.students:
                bundle = Path(tmp) / f"gen{n}"
                gen_s, _ = _timed("generate", "--students", str(n), "--seed", "1", str(bundle))
                backends = [("SQLite", f"sqlite:///{tmp}/bench{n}.sqlite3")]
                janitor = None
                if server:
                    janitor = DatabaseJanitor(
                        user=server.user, host=server.host, port=server.port, dbname=f"b{n}"
                    )
                    janitor.init()
                    backends.append(("PostgreSQL", server.url(f"b{n}")))
                for label, url in backends:
                    first, peak = _timed("--db", url, "import", str(bundle))
                    again, _ = _timed("--db", url, "import", str(bundle))
                    rows.append((n, label, gen_s, first, again, peak))
                    print(
                        f"{n:>7} {label:<10} generate {gen_s:6.1f}s  import {first:6.1f}s  "
                        f"re-import {again:6.1f}s  peak {peak:6.0f} MiB",
                        flush=True,
                    )
                if janitor:
                    janitor.drop()
    finally:
        if server:
            server.stop()
    table = [
        "| students | database | generate (s) | first import (s) | re-import, no change (s) "
        "| peak RSS (MiB) |",
        "| ---: | --- | ---: | ---: | ---: | ---: |",
        *(
            f"| {n:,} | {db} | {g:.1f} | {f:.1f} | {a:.1f} | {p:.0f} |"
            for n, db, g, f, a, p in rows
        ),
    ]
    text = "\n".join(
        [
            "# Benchmark results",
            "",
            "## Term bundle import",
            "",
            f"Measured {date.today().isoformat()} on {machine()} with "
            f"`python -m benchmarks.import_bench --students {' '.join(map(str, args.students))}`.",
            "Wall time of the whole `wbl` command (start-up, validation, schedule expansion, "
            "writes, commit); the bundle is `wbl generate --seed 1`.",
            "",
            *table,
            "",
        ]
    )
    print(text)
    if not args.no_write:
        (ROOT / "benchmarks" / "RESULTS.md").write_text(text)


if __name__ == "__main__":
    main()
