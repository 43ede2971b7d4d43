"""HiGHS on the placement model as a MIP: the exact-solver baseline of the solve benchmarks.

The same model as :mod:`solver.model` (the CP-SAT one), written as a mixed-integer programme
for HiGHS (highspy, the optional ``bench`` extra), with the same lexicographic objective
(:mod:`solver.objective`) solved in stages like ours: maximise the priority-weighted placed
count and hold it, maximise preference and hold it, minimise travel. Each stage starts from
the previous stage's solution.

Run it only in a process of its own, never next to OR-Tools: OR-Tools bundles its own HiGHS
build, and a different highspy in the same process can crash. This module imports nothing
that imports OR-Tools (solver.problem, solver.objective and solver.conflicts are pure
Python)::

    python -m benchmarks.highs_mip PROBLEM.pickle --time-limit 600 --out RESULT.json

The result is rewritten after every stage, so a run killed from outside still leaves what it
had. ``--gap`` is the relative gap at which the preference and travel stages stop; the placed
stage is always run to proven optimality (or the time limit).
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import pickle
import resource
import signal
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from solver.conflicts import overlap_cliques
from solver.objective import level_names, scale_of
from solver.problem import INTERNSHIP, Arc, Problem, SlotSpec

DEFAULT_GAP = 0.0049  # just under the 0.5% quality target: HiGHS divides by the primal value


class MipModel:
    """Columns and rows of the placement MIP, in the order of :class:`solver.model.PlacementModel`.

    Columns (all binary)::

        x[a]         arc a's student takes arc a's slot (columns 0 .. len(arcs) - 1)
        placed[s]    student s holds at least one placement (only where they can hold two)
        extra[s][k]  student s holds at least k + 2 placements
        at_host      student s is among capped host h's students (several slots there)
        enforce      a weekly cap applies to the student (they take an arc carrying it)
        group_host   group g's internships are at host h

    ``placed_terms`` maps each student to the columns whose sum is "placed" (their single
    ``placed`` column, or their x columns when they can hold only one placement).
    """

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.scale = scale_of(problem)
        self.slots: dict[int, SlotSpec] = {s.id: s for s in problem.slots}
        self.arcs: list[Arc] = sorted(
            (a for a in problem.arcs if a.slot in self.slots), key=lambda a: (a.student, a.slot)
        )
        self.index = {(a.student, a.slot): i for i, a in enumerate(self.arcs)}
        self.n_cols = len(self.arcs)
        self.col_lower: list[float] = [0.0] * self.n_cols
        self.by_student: dict[int, list[int]] = defaultdict(list)
        self.by_slot: dict[int, list[int]] = defaultdict(list)
        for i, arc in enumerate(self.arcs):
            self.by_student[arc.student].append(i)
            self.by_slot[arc.slot].append(i)
        self.row_lower: list[float] = []
        self.row_upper: list[float] = []
        self.starts: list[int] = []
        self.cols: list[int] = []
        self.coefs: list[float] = []
        self.placed_terms: dict[int, list[int]] = {}
        self.extra: dict[int, list[int]] = {}
        self.add_placement_counts()
        self.add_slot_capacity()
        self.add_host_capacity()
        self.add_kind_limits()
        self.add_one_per_opportunity()
        self.add_no_overlap()
        self.add_weekly_hours()
        self.add_groups()
        self.add_pins()

    # --- building blocks -------------------------------------------------------------------

    def new_cols(self, n: int) -> list[int]:
        first = self.n_cols
        self.n_cols += n
        self.col_lower.extend([0.0] * n)
        return list(range(first, first + n))

    def row(self, cols: list[int], coefs: list[float] | None, lower: float, upper: float) -> None:
        self.starts.append(len(self.cols))
        self.cols.extend(cols)
        self.coefs.extend(coefs if coefs is not None else [1.0] * len(cols))
        self.row_lower.append(lower)
        self.row_upper.append(upper)

    def at_most(self, cols: list[int], limit: float) -> None:
        self.row(cols, None, -np.inf, limit)

    def implies(self, a: int, b: int) -> None:
        """a <= b (a set forces b set)."""
        self.row([a, b], [1.0, -1.0], -np.inf, 0.0)

    # --- rules (one per rule of solver.model) ----------------------------------------------

    def add_placement_counts(self) -> None:
        """sum x = placed + sum extra, extra[0] <= placed, each extra at most the one before."""
        limit = self.scale.max_placements
        for student, arcs in self.by_student.items():
            most = min(len(arcs), limit)
            if most == 1:
                self.at_most(arcs, 1)
                self.placed_terms[student] = list(arcs)
                self.extra[student] = []
                continue
            placed, *extra = self.new_cols(most)
            self.row(
                [*arcs, placed, *extra],
                [1.0] * len(arcs) + [-1.0] * most,
                0.0,
                0.0,
            )
            self.implies(extra[0], placed)
            for before, after in pairwise(extra):
                self.implies(after, before)
            self.placed_terms[student] = [placed]
            self.extra[student] = extra

    def add_slot_capacity(self) -> None:
        """Hard: a slot holds at most ``capacity`` students."""
        for slot_id, arcs in self.by_slot.items():
            if len(arcs) > self.slots[slot_id].capacity:
                self.at_most(arcs, self.slots[slot_id].capacity)

    def add_host_capacity(self) -> None:
        """Hard: a capped host takes at most ``max_students`` distinct students."""
        caps = {h.id: h.max_students for h in self.problem.hosts if h.max_students is not None}
        per_host: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
        for i, arc in enumerate(self.arcs):
            host = self.slots[arc.slot].host
            if host in caps:
                per_host[host][arc.student].append(i)
        for host, students in per_host.items():
            if len(students) <= caps[host]:
                continue
            members: list[int] = []
            for arcs in students.values():
                if len(arcs) == 1:
                    members.append(arcs[0])
                    continue
                (at_host,) = self.new_cols(1)
                for i in arcs:
                    self.implies(i, at_host)
                members.append(at_host)
            self.at_most(members, caps[host])

    def add_kind_limits(self) -> None:
        """Hard: at most ``max_per_kind`` placements of each kind per student."""
        for arcs in self.by_student.values():
            per_kind: dict[int, list[int]] = defaultdict(list)
            for i in arcs:
                per_kind[self.slots[self.arcs[i].slot].kind].append(i)
            for kind, members in per_kind.items():
                if len(members) > self.problem.max_per_kind[kind]:
                    self.at_most(members, self.problem.max_per_kind[kind])

    def add_one_per_opportunity(self) -> None:
        """Hard: at most one slot of an opportunity per student."""
        for arcs in self.by_student.values():
            per_opp: dict[int, list[int]] = defaultdict(list)
            for i in arcs:
                per_opp[self.slots[self.arcs[i].slot].opportunity].append(i)
            for members in per_opp.values():
                if len(members) > 1:
                    self.at_most(members, 1)

    def add_no_overlap(self) -> None:
        """Hard: one slot per clique of mutually overlapping slots, per student."""
        cliques_of: dict[int, list[int]] = defaultdict(list)
        for c, clique in enumerate(overlap_cliques(self.problem.slots)):
            for slot in clique:
                cliques_of[slot].append(c)
        for arcs in self.by_student.values():
            buckets: dict[int, list[int]] = defaultdict(list)
            for i in arcs:
                for c in cliques_of.get(self.arcs[i].slot, ()):
                    buckets[c].append(i)
            seen: set[tuple[int, ...]] = set()
            for members in buckets.values():
                key = tuple(members)
                if len(members) > 1 and key not in seen:
                    seen.add(key)
                    self.at_most(members, 1)

    def add_weekly_hours(self) -> None:
        """Hard: the busiest week within every cap that applies to a placement taken.

        As in solver.model, with the enforcement literal written as a big-M: load + M * e <=
        cap + M, where M is how far the week's full load exceeds the cap.
        """
        for arcs in self.by_student.values():
            caps = {self.arcs[i].weekly_cap for i in arcs}
            if caps == {None}:
                continue
            per_week: dict[int, list[tuple[int, int]]] = defaultdict(list)
            for i in arcs:
                for week, minutes in self.slots[self.arcs[i].slot].week_minutes:
                    per_week[week].append((i, minutes))
            uniform = len(caps) == 1
            for cap in sorted(c for c in caps if c is not None):
                heavy = [terms for terms in per_week.values() if sum(m for _, m in terms) > cap]
                if not heavy:
                    continue
                if uniform:
                    for terms in heavy:
                        self.row([i for i, _ in terms], [float(m) for _, m in terms], -np.inf, cap)
                    continue
                (enforce,) = self.new_cols(1)
                for i in arcs:
                    if self.arcs[i].weekly_cap == cap:
                        self.implies(i, enforce)
                for terms in heavy:
                    big_m = float(sum(m for _, m in terms) - cap)
                    self.row(
                        [*(i for i, _ in terms), enforce],
                        [*(float(m) for _, m in terms), big_m],
                        -np.inf,
                        cap + big_m,
                    )

    def add_groups(self) -> None:
        """Hard: a group's internships are all at one host."""
        members: dict[int, list[int]] = defaultdict(list)
        for s in self.problem.students:
            if s.group is not None:
                members[s.group].append(s.id)
        for group_members in members.values():
            per_host: dict[int, list[int]] = defaultdict(list)
            for student in group_members:
                for i in self.by_student.get(student, ()):
                    slot = self.slots[self.arcs[i].slot]
                    if slot.kind == INTERNSHIP:
                        per_host[slot.host].append(i)
            if len(per_host) <= 1:
                continue
            chosen = []
            for arcs in per_host.values():
                (group_host,) = self.new_cols(1)
                for i in arcs:
                    self.implies(i, group_host)
                chosen.append(group_host)
            self.at_most(chosen, 1)

    def add_pins(self) -> None:
        """Hard: a pinned placement is in the result (lower bound 1)."""
        for pair in self.problem.pins:
            if pair in self.index:
                self.col_lower[self.index[pair]] = 1.0

    # --- objective levels ------------------------------------------------------------------

    def level(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(columns, coefficients) of an objective level (see solver.objective)."""
        cols: list[int] = []
        coefs: list[float] = []
        if name == "placed":
            weights = {s.id: s.weight for s in self.problem.students}
            for student, terms in self.placed_terms.items():
                cols.extend(terms)
                coefs.extend([float(weights.get(student, 1))] * len(terms))
        elif name == "kept":
            for pair in set(self.problem.previous):
                if pair in self.index:
                    cols.append(self.index[pair])
                    coefs.append(1.0)
        elif name == "preference":
            for i, arc in enumerate(self.arcs):
                if value := self.scale.preference(arc):
                    cols.append(i)
                    coefs.append(float(value))
            for extra in self.extra.values():
                for k, col in enumerate(extra, start=2):
                    cols.append(col)
                    coefs.append(-float(self.scale.count_penalty(k)))
        elif name == "travel":
            for i, arc in enumerate(self.arcs):
                if value := self.scale.travel(arc):
                    cols.append(i)
                    coefs.append(float(value))
        else:
            raise ValueError(f"unknown level {name!r}")
        return np.asarray(cols, dtype=np.int32), np.asarray(coefs, dtype=np.float64)

    def assignments(self, values: Any) -> list[tuple[int, int]]:
        x = np.asarray(values[: len(self.arcs)])
        return [(self.arcs[i].student, self.arcs[i].slot) for i in np.flatnonzero(x > 0.5)]


def _highs(model: MipModel, seed: int, threads: int) -> Any:
    """A Highs instance holding ``model`` (all columns binary, zero objective)."""
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("random_seed", seed)
    h.setOptionValue("threads", threads)
    lp = highspy.HighsLp()
    lp.num_col_ = model.n_cols
    lp.num_row_ = len(model.row_lower)
    lp.col_cost_ = np.zeros(model.n_cols)
    lp.col_lower_ = np.asarray(model.col_lower, dtype=np.float64)
    lp.col_upper_ = np.ones(model.n_cols)
    lp.row_lower_ = np.asarray(model.row_lower, dtype=np.float64)
    lp.row_upper_ = np.asarray(model.row_upper, dtype=np.float64)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.num_col_ = model.n_cols
    lp.a_matrix_.num_row_ = len(model.row_lower)
    lp.a_matrix_.start_ = np.asarray([*model.starts, len(model.cols)], dtype=np.int32)
    lp.a_matrix_.index_ = np.asarray(model.cols, dtype=np.int32)
    lp.a_matrix_.value_ = np.asarray(model.coefs, dtype=np.float64)
    lp.integrality_ = [highspy.HighsVarType.kInteger] * model.n_cols
    status = h.passModel(lp)
    if status == highspy.HighsStatus.kError:
        raise RuntimeError("HiGHS refused the model")
    return h


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
    h = _highs(model, seed, threads)
    built = time.perf_counter()
    result: dict[str, Any] = {
        "method": "highs",
        "levels": list(level_names(problem)),
        "highs_version": getattr(highspy, "__version__", None) or h.version(),
        "columns": model.n_cols,
        "rows": len(model.row_lower),
        "nonzeros": len(model.cols),
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
            rounded = int(np.ceil(bound - 1e-6) if minimise else np.floor(bound + 1e-6))
            stage_gap = abs(rounded - objective) / max(1, abs(rounded))
            stage.update(objective=objective, bound=rounded, gap=stage_gap)
            result["assignments"] = model.assignments(values)
            met = stage_gap == 0 if target == 0 else stage_gap <= gap + 1e-9
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
