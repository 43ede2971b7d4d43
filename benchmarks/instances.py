"""Benchmark instances: a generated term bundle, imported and turned into a solver Problem.

The same path a coordinator's term takes (`wbl generate`, `wbl import`, candidate generation),
done in-process on a temporary SQLite database, with ZIP-centroid geocoding only (no network).
Problems are pickled so each method can be measured in a process of its own.
"""

from __future__ import annotations

import dataclasses
import pickle
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from solver.problem import Problem


@dataclass(frozen=True)
class Instance:
    """A built problem and what it took to make it."""

    students: int
    problem: Problem
    generate_s: float
    import_s: float
    build_s: float


def build_instance(students: int, workdir: Path, seed: int = 1) -> Instance:
    """Generate a bundle of ``students`` students, import it into a fresh SQLite database in
    ``workdir`` and build its Problem (wbl imports stay here, out of the solve processes)."""
    from wbl.db import ensure_schema, make_engine, transaction
    from wbl.generate import generate_bundle
    from wbl.geocode import AddressLocator
    from wbl.services.bundles import get_term, import_bundle
    from wbl.services.candidates import build_problem

    bundle = workdir / f"bundle{students}"
    started = time.perf_counter()
    generate_bundle(bundle, students=students, seed=seed)
    generated = time.perf_counter()
    database = workdir / f"bench{students}.sqlite3"
    database.unlink(missing_ok=True)  # a fresh import every time, even in a kept folder
    engine = make_engine(f"sqlite:///{database}")
    try:
        ensure_schema(engine)
        with transaction(engine) as session:
            report = import_bundle(session, bundle, AddressLocator(session, None))
        imported = time.perf_counter()
        with transaction(engine) as session:
            problem = build_problem(session, get_term(session, report.term)).problem
        built = time.perf_counter()
    finally:
        engine.dispose()
    return Instance(students, problem, generated - started, imported - generated, built - imported)


def pure_capacity(problem: Problem) -> Problem:
    """``problem`` without the rules a flow cannot express: no sessions or weekly minutes on
    any slot, no weekly caps on arcs, no groups, no host caps (and no pins or previous
    placements). On it min-cost flow is exact for placed and preference."""
    return dataclasses.replace(
        problem,
        students=tuple(dataclasses.replace(s, group=None) for s in problem.students),
        hosts=tuple(dataclasses.replace(h, max_students=None) for h in problem.hosts),
        slots=tuple(dataclasses.replace(s, sessions=(), week_minutes=()) for s in problem.slots),
        arcs=tuple(dataclasses.replace(a, weekly_cap=None) for a in problem.arcs),
        pins=(),
        previous=(),
    )


def dump(problem: Problem, path: Path) -> Path:
    """Pickle ``problem`` to ``path`` (highest protocol: tuples of frozen dataclasses)."""
    with path.open("wb") as f:
        pickle.dump(problem, f, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def load(path: Path | str) -> Problem:
    with Path(path).open("rb") as f:
        return pickle.load(f)


def main() -> None:
    """Build and pickle instances: ``python -m benchmarks.instances N [N ...] --out DIR``."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("students", type=int, nargs="+")
    parser.add_argument("--out", type=Path, default=Path("."))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for n in args.students:
        with tempfile.TemporaryDirectory() as tmp:
            inst = build_instance(n, Path(tmp))
        path = dump(inst.problem, args.out / f"problem{n}.pickle")
        p = inst.problem
        print(
            f"{n}: {len(p.students)} students, {len(p.slots)} slots, {len(p.arcs)} arcs; "
            f"generate {inst.generate_s:.1f}s import {inst.import_s:.1f}s "
            f"build {inst.build_s:.1f}s -> {path}",
            flush=True,
        )


if __name__ == "__main__":
    main()
