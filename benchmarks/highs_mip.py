"""HiGHS on the placement model as a MIP: the exact-solver baseline of the solve benchmarks.

The same model as :mod:`solver.model` (the CP-SAT one: its linear rows, as its LP relaxation
uses them) as a mixed-integer programme for HiGHS, loaded by :func:`solver.relax.highs_of`,
with the same lexicographic objective (:mod:`solver.objective`) solved in stages like ours:
maximise the priority-weighted placed count and hold it, maximise preference and hold it,
minimise travel. Each stage starts from the previous stage's solution.

It runs in a process of its own, so its time and memory are its own. HiGHS here is the whole
model at once, with no flow, fixing or neighbourhoods; our solve uses it only on the small
models those leave (solver.solve)::

    python -m benchmarks.highs_mip PROBLEM.pickle --time-limit 600 --out RESULT.json

The result is rewritten after every stage, so a run killed from outside still leaves what it
had. ``--gap`` is the relative gap at which the preference and travel stages stop; the placed
stage is always run to proven optimality (or the time limit).
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import math
import pickle
import resource
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from solver.model import PlacementModel
from solver.objective import level_names
from solver.problem import Problem
from solver.relax import highs_of

DEFAULT_GAP = 0.0049  # just under the 0.5% quality target: HiGHS divides by the primal value


class MipModel:
    """Columns and rows of the placement MIP: :class:`solver.model.PlacementModel`'s own
    linear rows (the ones its LP relaxation uses), so HiGHS gets exactly our formulation.

    Columns are the CP-SAT model's variables by index, all binary.
    """

    def __init__(self, problem: Problem) -> None:
        self.model = PlacementModel(problem, cp_sat=False)
        self.n_cols = self.model.num_vars
        self.n_rows = len(self.model.rows)
        self.nonzeros = sum(len(indices) for indices, *_ in self.model.rows)

    def level(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(columns, coefficients) of an objective level (see solver.objective)."""
        variables, coefficients, constant = self.model.terms(name)
        assert constant == 0, "only the one-placement model has constant terms"
        cols = np.asarray([v.index for v in variables], dtype=np.int32)
        return cols, np.asarray(coefficients, dtype=np.float64)

    def assignments(self, values: Any) -> list[tuple[int, int]]:
        x = np.asarray(values)[[v.index for v in self.model.x]]
        arcs = self.model.arcs
        return [(arcs[i].student, arcs[i].slot) for i in np.flatnonzero(x > 0.5)]


def solve_lexicographic(
    problem: Problem,
    time_limit_s: float,
    *,
    gap: float = DEFAULT_GAP,
    seed: int = 0,
    threads: int = 1,
    report: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Optimise the levels one after another within ``time_limit_s`` (model building
    included); returns (and passes to ``report`` after every stage) a JSON-ready dict:
    ``assignments``, ``stages`` (level, status, objective, bound, gap, wall_s), ``build_s``,
    ``wall_s`` and ``reached_s`` (when every stage met its target: placed proven optimal, the
    others within ``gap``; None otherwise)."""
    import highspy

    started = time.perf_counter()
    model = MipModel(problem)
    h = highs_of(model.model, integer=True, seed=seed)
    h.setOptionValue("threads", threads)
    built = time.perf_counter()
    result: dict[str, Any] = {
        "method": "highs",
        "levels": list(level_names(problem)),
        "highs_version": getattr(highspy, "__version__", None) or h.version(),
        "columns": model.n_cols,
        "rows": model.n_rows,
        "nonzeros": model.nonzeros,
        "build_s": built - started,
        "stages": [],
        "assignments": [],
        "reached_s": None,
        "wall_s": built - started,
    }
    if report:
        report(result)
    all_cols = np.arange(model.n_cols, dtype=np.int32)
    values: list[float] | None = None
    reached = True
    for name in level_names(problem):
        remaining = time_limit_s - (time.perf_counter() - started)
        if remaining <= 0:
            reached = False
            break
        minimise = name == "travel"
        cols, coefs = model.level(name)
        cost = np.zeros(model.n_cols)
        cost[cols] = coefs
        h.changeColsCost(model.n_cols, all_cols, cost)
        h.changeObjectiveSense(
            highspy.ObjSense.kMinimize if minimise else highspy.ObjSense.kMaximize
        )
        h.setOptionValue("time_limit", float(remaining))
        target = 0.0 if name in ("placed", "kept") else gap
        h.setOptionValue("mip_rel_gap", target)
        # Integral levels: a gap below one unit is a proof.
        h.setOptionValue("mip_abs_gap", 0.999)
        if values is not None:
            h.setSolution(model.n_cols, all_cols, np.asarray(values, dtype=np.float64))
        t0 = time.perf_counter()
        h.run()
        wall = time.perf_counter() - t0
        status = h.modelStatusToString(h.getModelStatus())
        info = h.getInfo()
        has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
        stage: dict[str, Any] = {"level": name, "status": status, "wall_s": wall}
        if has_solution:
            values = list(h.getSolution().col_value)
            objective = round(float(np.dot(np.asarray(values)[cols], coefs)))
            bound = float(info.mip_dual_bound)
            result["assignments"] = model.assignments(values)
            if math.isfinite(bound):
                rounded = int(np.ceil(bound - 1e-6) if minimise else np.floor(bound + 1e-6))
                stage_gap = abs(rounded - objective) / max(1, abs(rounded))
                stage.update(objective=objective, bound=rounded, gap=stage_gap)
                met = stage_gap == 0 if target == 0 else stage_gap <= gap + 1e-9
            else:  # stopped (time limit) before its root LP gave a bound
                stage.update(objective=objective)
                met = False
            reached = reached and met
            # Hold the level at what was found (integral: half a unit of slack for rounding).
            if minimise:
                h.addRow(-np.inf, objective + 0.5, len(cols), cols, coefs)
            else:
                h.addRow(objective - 0.5, np.inf, len(cols), cols, coefs)
        else:
            reached = False
        result["stages"].append(stage)
        result["wall_s"] = time.perf_counter() - started
        if report:
            report(result)
        if not has_solution:
            break
    if reached and len(result["stages"]) == len(level_names(problem)):
        result["reached_s"] = result["wall_s"]
    if report:
        report(result)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("problem", type=Path, help="a pickled solver.problem.Problem")
    parser.add_argument("--time-limit", type=float, default=600.0)
    parser.add_argument("--gap", type=float, default=DEFAULT_GAP)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # where it was, if killed
    with args.problem.open("rb") as f:
        problem: Problem = pickle.load(f)
    loaded_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def report(result: dict[str, Any]) -> None:
        result["loaded_mib"] = loaded_mib
        result["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        result["ortools_loaded"] = any(m.startswith("ortools") for m in sys.modules)
        tmp = args.out.with_suffix(".tmp")
        tmp.write_text(json.dumps(result))
        tmp.replace(args.out)

    solve_lexicographic(problem, args.time_limit, gap=args.gap, threads=args.threads, report=report)


if __name__ == "__main__":
    main()
