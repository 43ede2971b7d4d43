"""Solve a placement problem: min-cost flow for bounds and hints, CP-SAT level by level.

1. **Bound.** The flow relaxation (no overlaps, weekly hours, groups or host caps) gives the
   best priority-weighted placed count and, with it, the best preference score any
   placement can reach.
2. **Hint.** The flow restriction (host caps counted per placement) with travel as a
   tie-breaker, repaired: arcs that break a student's overlap, weekly-hours or group rule
   are excluded and the flow solved again, a few rounds, then any remaining clash is
   dropped greedily. The result keeps every hard rule.
3. **Levels.** Each objective level (solver.objective) is proven by the flow bound when the
   hint reaches it, otherwise optimised by CP-SAT from the best placement so far, with the
   levels before it held at their values. On an instance without side constraints the flow
   is exact for levels 1 and 2 and CP-SAT only orders travel.

The time limit covers the whole call; the same problem, parameters and seed give the same
placements when every CP-SAT stage finishes (a stage cut short by the clock may differ).
"""

from __future__ import annotations

import math
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ortools.sat.python import cp_model

from solver.conflicts import slots_overlap
from solver.flow import solve_flow
from solver.model import PlacementModel
from solver.objective import better, evaluate, level_names, scale_of
from solver.problem import INTERNSHIP, Arc, Params, Problem, SlotSpec
from solver.solution import FEASIBLE, INFEASIBLE, OPTIMAL, TIMED_OUT, Solution, Stage

REPAIR_ROUNDS = 4


@dataclass(frozen=True)
class Progress:
    """A report during a solve: which level, how long so far, best value and bound."""

    level: str
    elapsed_s: float
    objective: float
    bound: float


ProgressFn = Callable[[Progress], None]


def solve(
    problem: Problem, params: Params | None = None, progress: ProgressFn | None = None
) -> Solution:
    """The best placement of ``problem`` that ``params`` allow (welfare mode)."""
    params = params or Params()
    started = time.perf_counter()
    levels = level_names(problem)
    arcs = {(a.student, a.slot) for a in problem.arcs}
    missing = [p for p in problem.pins if p not in arcs]
    if missing:
        text = ", ".join(f"student {s} in slot {t}" for s, t in missing[:5])
        return _empty(
            problem, levels, INFEASIBLE, started, f"pinned without a candidate arc: {text}"
        )

    relaxed = solve_flow(problem, host_caps=False, travel=False)
    relaxed_values = evaluate(problem, relaxed.assignments)
    # One placement per student with host caps: the exact level-1 bound but for groups.
    placed_bound = evaluate(
        problem, solve_flow(problem, host_caps=True, travel=False, single=True).assignments
    )[0]
    incumbent, repair_rounds = _hint(problem)
    values = evaluate(problem, incumbent)

    # Known upper bounds per level (maximised levels) from the relaxation; see module doc.
    known: dict[str, int] = {"placed": placed_bound}
    if problem.previous:
        known["kept"] = len(set(problem.previous) & arcs)

    stages: list[Stage] = []
    model: PlacementModel | None = None
    proven_all = True
    for position, level in enumerate(levels):
        value = values[position]
        placed_exact = stages and stages[0].status == OPTIMAL
        if level == "preference" and placed_exact and stages[0].objective == relaxed_values[0]:
            known["preference"] = relaxed_values[levels.index("preference")]
        if known.get(level) == value:
            stages.append(Stage(level, "min_cost_flow", OPTIMAL, value, value, 0.0))
            if model is not None:
                _hold(model, level, value)
            continue
        if model is None:
            model = PlacementModel(problem)
            for earlier in stages:
                _hold(model, earlier.level, earlier.objective)
        remaining = params.time_limit_s - (time.perf_counter() - started)
        later = len(levels) - position - 1
        budget = remaining if later == 0 else remaining * 0.6
        stage, found = _cp_sat_stage(
            model, level, incumbent, known.get(level), budget, params, progress, started
        )
        stages.append(stage)
        if found is not None:
            found_values = evaluate(problem, found)
            # CP-SAT starts from the incumbent, so it is never worse; keep it if it were.
            if not better(problem, values, found_values):
                incumbent, values = found, found_values
        proven_all = proven_all and stage.status == OPTIMAL
        _hold(model, level, values[position])

    status = OPTIMAL if proven_all and all(s.status == OPTIMAL for s in stages) else FEASIBLE
    return _solution(
        problem, levels, status, incumbent, stages, started, {"repair_rounds": repair_rounds}
    )


def _empty(
    problem: Problem, levels: tuple[str, ...], status: str, started: float, message: str
) -> Solution:
    return Solution(
        status=status,
        assignments=(),
        levels=levels,
        objective=(),
        bound=(),
        wall_s=time.perf_counter() - started,
        unplaced=tuple(sorted(s.id for s in problem.students)),
        message=message,
    )


def _solution(
    problem: Problem,
    levels: tuple[str, ...],
    status: str,
    assignments: Iterable[tuple[int, int]],
    stages: list[Stage],
    started: float,
    metrics: dict[str, object],
) -> Solution:
    chosen = tuple(sorted(set(assignments)))
    placed = {s for s, _ in chosen}
    moved = None
    if problem.previous:
        moved = len(set(problem.previous) - set(chosen))
    return Solution(
        status=status,
        assignments=chosen,
        levels=levels,
        objective=evaluate(problem, chosen),
        bound=tuple(s.bound for s in stages),
        wall_s=time.perf_counter() - started,
        stages=tuple(stages),
        unplaced=tuple(sorted(s.id for s in problem.students if s.id not in placed)),
        moved=moved,
        metrics=dict(metrics),
    )


def _hold(model: PlacementModel, level: str, value: int) -> None:
    """Keep ``level`` at least as good as ``value`` in every later stage."""
    expr = model.expr(level)
    if level == "travel":
        model.model.add(expr <= value)
    else:
        model.model.add(expr >= value)


class _Watcher(cp_model.CpSolverSolutionCallback):
    """Reports progress, and stops the search once a solution reaches the known bound."""

    def __init__(
        self, level: str, progress: ProgressFn | None, started: float, target: int | None
    ) -> None:
        super().__init__()
        self.level, self.progress, self.started, self.target = level, progress, started, target
        self.reached = False

    def on_solution_callback(self) -> None:
        if self.progress is not None:
            self.progress(
                Progress(
                    self.level,
                    time.perf_counter() - self.started,
                    self.objective_value,
                    self.best_objective_bound,
                )
            )
        if self.target is not None and round(self.objective_value) >= self.target:
            self.reached = True
            self.stop_search()


def _valid_bound(
    problem: Problem, level: str, value: int, best: float, known: int | None, minimise: bool
) -> int:
    """The bound to report for a stage CP-SAT cut short: never one the value already beats.

    A timed-out CP-SAT can report a bound on the wrong side of the placement it was given
    (0 for a maximised level); then the flow bound, or a bound anyone can check, stands.
    """
    if math.isfinite(best):
        rounded = int(math.ceil(best) if minimise else math.floor(best))
        if (rounded <= value) if minimise else (rounded >= value):
            return rounded if known is None or minimise else min(rounded, known)
    if known is not None:
        return known
    if minimise:
        return min(value, -sum(1 for a in problem.arcs if a.new_cluster))
    return max(value, _preference_ceiling(problem))


def _preference_ceiling(problem: Problem) -> int:
    """Each student's best possible preference sum, ignoring everyone else: a valid bound."""
    scale = scale_of(problem)
    values: dict[int, list[int]] = defaultdict(list)
    for arc in problem.arcs:
        values[arc.student].append(scale.preference(arc))
    total = 0
    for options in values.values():
        best = sorted(options, reverse=True)[: scale.max_placements]
        total += max(
            sum(best[:k]) - sum(scale.count_penalty(j) for j in range(1, k + 1))
            for k in range(len(best) + 1)
        )
    return total


def _configure(parameters: object, params: Params) -> None:
    """Workers, seed, and the search: the full LP relaxation matters most.

    Measured on random instances with side rules: with 2 workers CP-SAT's default portfolio
    took 0.1-0.9 s to prove a 30-student preference stage that a worker with the full
    linear relaxation (``max_lp``) proves in 0.05 s.
    """
    parameters.num_workers = params.workers
    parameters.random_seed = params.seed
    # Measured at 10,000 students: symmetry detection in presolve ran 381 s past a 29 s
    # limit; without it the stage kept its limit.
    parameters.symmetry_level = 0
    if params.workers == 1:
        parameters.linearization_level = 2
    else:
        extra = ["quick_restart", "pseudo_costs", "core", "reduced_costs", "lb_tree_search"]
        parameters.subsolvers.extend(["max_lp", "default_lp", *extra[: params.workers - 2]])


def _cp_sat_stage(
    model: PlacementModel,
    level: str,
    incumbent: tuple[tuple[int, int], ...],
    bound: int | None,
    budget: float,
    params: Params,
    progress: ProgressFn | None,
    started: float,
) -> tuple[Stage, tuple[tuple[int, int], ...] | None]:
    """Optimise one level with CP-SAT; returns the stage and the better placement, if any."""
    t0 = time.perf_counter()
    expr = model.expr(level)
    minimise = level == "travel"
    if minimise:
        model.model.minimize(expr)
    else:
        model.model.maximize(expr)
    model.hint(incumbent)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.5, budget)
    _configure(solver.parameters, params)
    solver.parameters.log_search_progress = bool(os.environ.get("WBL_SOLVER_LOG"))
    # The flow bound is not added as a constraint (measured: that cut stalls CP-SAT's search
    # on small instances); a solution that reaches it simply ends the stage.
    watcher = _Watcher(level, progress, started, None if minimise else bound)
    status = solver.solve(model.model, watcher)
    # Copy what we need before the solver goes away.
    values = list(solver.response_proto.solution)
    objective = solver.objective_value
    best_bound = solver.best_objective_bound
    wall = time.perf_counter() - t0
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE) and values:
        found = model.assignments(values)
        value = round(objective)
        proven = status == cp_model.OPTIMAL or (watcher.reached and value == bound)
        # Round the bound outwards: never claim more than CP-SAT proved.
        rounded = math.ceil(best_bound) if minimise else math.floor(best_bound)
        bound_value = value if proven else int(rounded)
        return Stage(
            level, "cp_sat", OPTIMAL if proven else FEASIBLE, value, bound_value, wall
        ), found
    if status == cp_model.INFEASIBLE:
        return Stage(level, "cp_sat", INFEASIBLE, 0, 0, wall), None
    # No better solution in time: the incumbent stands, with CP-SAT's bound if it has one.
    value = evaluate(model.problem, incumbent)[level_names(model.problem).index(level)]
    bound_value = _valid_bound(model.problem, level, value, best_bound, bound, minimise)
    return Stage(level, "cp_sat", TIMED_OUT, value, bound_value, wall), None


# --- the hint ---------------------------------------------------------------------------------


def _hint(problem: Problem) -> tuple[tuple[tuple[int, int], ...], int]:
    """A placement that keeps every hard rule, from the flow restriction and a repair."""
    excluded: set[tuple[int, int]] = set()
    kept: tuple[tuple[int, int], ...] = ()
    for round_number in range(1, REPAIR_ROUNDS + 1):
        flow = solve_flow(
            problem, host_caps=True, travel=True, excluded=excluded, bonus=problem.previous
        )
        kept, avoid = repair(problem, flow.assignments)
        if set(kept) == set(flow.assignments):
            return kept, round_number
        excluded |= avoid
    return kept, REPAIR_ROUNDS


def repair(
    problem: Problem, assignments: Iterable[tuple[int, int]]
) -> tuple[tuple[tuple[int, int], ...], set[tuple[int, int]]]:
    """Drop placements until every student's own rules and the group rule hold.

    Each student keeps pins first, then placements by preference (best first), then by
    travel; a placement is dropped when it breaks the per-kind limit, one slot per
    opportunity, an overlap, the weekly-hours cap, or its group's internship host (the
    first internship kept in a group sets the host). Capacities are untouched: dropping
    only frees room. Returns the kept pairs and the arcs to avoid next time (the dropped
    ones, and for groups every internship arc of the member at another host).
    """
    scale = scale_of(problem)
    slots: dict[int, SlotSpec] = {s.id: s for s in problem.slots}
    arcs: dict[tuple[int, int], Arc] = {(a.student, a.slot): a for a in problem.arcs}
    group_of = {s.id: s.group for s in problem.students if s.group is not None}
    pins = set(problem.pins)
    by_student: dict[int, list[Arc]] = defaultdict(list)
    for pair in set(assignments):
        if pair in arcs:
            by_student[pair[0]].append(arcs[pair])
    group_host: dict[int, int] = {}
    kept: list[tuple[int, int]] = []
    dropped: set[tuple[int, int]] = set()
    # Pinned and group students first, so their choices set the group hosts.
    for student in sorted(by_student):
        ordered = sorted(
            by_student[student],
            key=lambda a: (
                (a.student, a.slot) not in pins,
                -scale.preference(a),
                a.travel_min,
                a.slot,
            ),
        )
        taken: list[Arc] = []
        for arc in ordered:
            slot = slots[arc.slot]
            group = group_of.get(student)
            if (arc.student, arc.slot) not in pins and not _fits(problem, slots, taken, arc):
                dropped.add((arc.student, arc.slot))
                continue
            if group is not None and slot.kind == INTERNSHIP:
                host = group_host.setdefault(group, slot.host)
                if host != slot.host:
                    dropped.add((arc.student, arc.slot))
                    continue
            taken.append(arc)
        kept.extend((a.student, a.slot) for a in taken)
    # A group member's internships elsewhere would only be dropped again next round.
    for arc in problem.arcs:
        group = group_of.get(arc.student)
        slot = slots.get(arc.slot)
        if (
            group in group_host
            and slot is not None
            and slot.kind == INTERNSHIP
            and slot.host != group_host[group]
        ):
            dropped.add((arc.student, arc.slot))
    return tuple(sorted(kept)), dropped


def _fits(problem: Problem, slots: dict[int, SlotSpec], taken: list[Arc], arc: Arc) -> bool:
    """Whether a student holding ``taken`` may also take ``arc`` (their own rules only)."""
    slot = slots[arc.slot]
    held = [slots[a.slot] for a in taken]
    if sum(1 for s in held if s.kind == slot.kind) >= problem.max_per_kind[slot.kind]:
        return False
    if any(s.opportunity == slot.opportunity for s in held):
        return False
    if any(slots_overlap(slot, other) for other in held):
        return False
    caps = [a.weekly_cap for a in [*taken, arc] if a.weekly_cap is not None]
    if caps:
        weeks: dict[int, int] = defaultdict(int)
        for s in [*held, slot]:
            for week, minutes in s.week_minutes:
                weeks[week] += minutes
        if max(weeks.values(), default=0) > min(caps):
            return False
    return True
