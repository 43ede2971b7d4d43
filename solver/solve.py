"""Solve a placement problem: min-cost flow for bounds and hints, HiGHS and CP-SAT level by level.

0. **Fast path.** When no rule outside the flow can bind (solver.flow.flow_exact), the flow
   is exact at every level and CP-SAT is not needed.
1. **Placed.** One placement per student is enough for level 1 and keeps every rule of the
   student's own, so the one-placement flow with host caps bounds it exactly but for groups.
   Groups are settled by giving each split group its majority host and solving again. If
   that costs placements, HiGHS proves level 1 on the one-placement model, branching only
   on the groups' host choices (with those decided the rest is a flow; see
   :func:`_placed_stage`). Only if that fails does CP-SAT take the one-placement model.
   Meanwhile level 2's LP relaxation of the full model (solver.relax) runs on the other core.
2. **Hint.** A flow over every arc adds further placements where there is room, keeping
   level 1 (it may move a student to another slot so a second placement fits); arcs that
   break a student's overlap, weekly-hours or group rule are excluded and the flow solved
   again, a few rounds, then any remaining clash is dropped. Every hard rule holds.
3. **Levels.** Each later level, with the levels before it held, the same way: the LP's
   bound, HiGHS on its support, HiGHS on what fixing leaves (travel in two exact steps:
   minutes, then new clusters; solver.relax.solve_mip); if that leaves the level unproven
   and there is time, CP-SAT searches the whole model from the best placement so far. A
   level whose value meets a bound is proven. The last level's bound also comes from
   branching on the groups' hosts over its LP (solver.relax.Relaxation.branch), which the
   LP alone leaves split between hosts.

Measured at 10,000 students with every rule: see benchmarks/RESULTS.md; at 1,000 students
every level is proven in seconds.

The time limit covers the whole call; the same problem, parameters and seed give the same
placements when every CP-SAT stage finishes (a stage cut short by the clock may differ).
"""

from __future__ import annotations

import dataclasses
import math
import os
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from ortools.sat.python import cp_model

from solver.conflicts import slots_overlap
from solver.flow import flow_exact, solve_flow, solve_flow_exact
from solver.model import PlacementModel
from solver.objective import better, evaluate, level_names, scale_of
from solver.problem import INTERNSHIP, Arc, Params, Problem, SlotSpec
from solver.relax import MipResult, Relaxation, solve_mip
from solver.solution import FEASIBLE, INFEASIBLE, OPTIMAL, TIMED_OUT, Solution, Stage

REPAIR_ROUNDS = 4
NO_HOST = -1  # the host of a group that takes no internship
Pair = tuple[int, int]  # (student, slot)


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

    if flow_exact(problem):
        exact = solve_flow_exact(problem)
        value = evaluate(problem, exact.assignments)
        wall = time.perf_counter() - started
        stages = [
            Stage(level, "min_cost_flow", OPTIMAL, v, v, wall if not position else 0.0)
            for position, (level, v) in enumerate(zip(levels, value, strict=True))
        ]
        for stage in stages:
            _report(progress, stage, started)
        return _solution(problem, levels, OPTIMAL, exact.assignments, stages, started, {})

    # Level 1 needs one placement per student, and one placement keeps every rule of the
    # student's own; with host caps the flow then counts distinct students exactly, so its
    # optimum bounds level 1 (groups aside) and, groups settled, is usually reached.
    single = solve_flow(problem, host_caps=True, travel=True, single=True, bonus=problem.previous)
    placed_bound = evaluate(problem, single.assignments)[0]
    # The full model and its LP relaxation, when there is time for them: the LP bounds
    # every level, and its reduced costs cut the search down to what HiGHS proves
    # (solver.relax); CP-SAT takes the whole model when that is not enough.
    model: PlacementModel | None = None  # the LP's, rows only
    cp: PlacementModel | None = None  # CP-SAT's, built when a CP-SAT stage needs it
    relax: Relaxation | None = None
    if _lp_worth_trying(problem, _left(params, started) * 0.5):
        model = PlacementModel(problem, compact=True, cp_sat=False)
        relax = Relaxation(model)
        if len(levels) > 1:
            # Level 2's LP starts at once on the other core, holding level 1 at what the
            # flow's placement keeps once its clashes are dropped: a weaker hold than
            # level 1's optimum, so its work stays valid; once level 1 is settled the
            # hold is tightened and HiGHS goes on from where it got. Measured at 10,000
            # students: the preference LP (17 s alone) runs alongside settling the groups,
            # HiGHS proving level 1 and the hint's flows.
            model.hold("placed", evaluate(problem, repair(problem, single.assignments)[0])[0])
            relax.start(levels[1], _left(params, started) * 0.6)
    base, group_rounds = _settle_groups(problem, single.assignments)
    placed = evaluate(problem, base)[0]
    stage: Stage | None = None
    method = "min_cost_flow"
    if placed < placed_bound and relax is not None:
        budget = _left(params, started) * 0.4
        stage, found = _placed_stage(problem, base, placed_bound, budget, params)
        base = found or base
        placed_bound = min(placed_bound, stage.bound)
    placed = evaluate(problem, base)[0]
    if placed >= placed_bound:
        if stage is not None:
            method, wall = stage.method, stage.wall_s
        else:
            wall = 0.0
        stage = Stage("placed", method, OPTIMAL, placed, placed_bound, wall)
    elif _worth_trying(problem, (budget := _left(params, started) * 0.5)):
        # Groups cost placements: CP-SAT on the one-placement model proves how many.
        stage, found = _cp_sat_stage(
            PlacementModel(problem, single=True),
            "placed",
            base,
            placed_bound,
            budget,
            params,
            progress,
            started,
            presolve=False,
        )
        if found is not None and evaluate(problem, found)[0] > placed:
            base = found
    elif stage is None:
        stage = Stage("placed", SKIPPED, FEASIBLE, placed, placed_bound, 0.0)
    stages: list[Stage] = [stage]
    _report(progress, stage, started)
    incumbent, repair_rounds = _extend(problem, base, params.time_limit_s)
    values = evaluate(problem, incumbent)
    first = stages[0]
    if values[0] > first.objective:  # extra placements found a seat for someone after all
        status = OPTIMAL if values[0] == first.bound else first.status
        stages[0] = Stage("placed", first.method, status, values[0], first.bound, first.wall_s)
    if relax is not None:
        relax.wait()  # before the model gains rows

    def hold(level: str, value: int) -> None:
        """Keep ``level`` at ``value`` or better from now on, in every model built."""
        for held in (model, cp):
            if held is not None:
                held.hold(level, value)

    hold("placed", values[0])

    # Known bounds per level; see module doc.
    known: dict[str, int] = {}
    if problem.previous:
        known["kept"] = len(set(problem.previous) & arcs)

    proven_all = stages[0].status == OPTIMAL
    for position, level in enumerate(levels[1:], start=1):
        value = values[position]
        minimise = level == "travel"
        later = len(levels) - position - 1
        spent: float | None = None  # the LP stage's time, when it ran
        if relax is not None and known.get(level) != value:
            budget = _left(params, started) * (0.5 if later else 0.9)
            holds = list(zip(levels[:position], values[:position], strict=True))
            stage, found = _lp_stage(
                problem, relax, level, incumbent, known.get(level), budget, params, progress,
                started, holds,
            )  # fmt: skip
            if stage is not None:
                known[level] = stage.bound
                spent = stage.wall_s
                _report(progress, stage, started)
                if found is not None:
                    found_values = evaluate(problem, found)
                    if not better(problem, values, found_values):
                        incumbent, values = found, found_values
                        value = values[position]
        if known.get(level) == value:
            method, wall = ("min_cost_flow", 0.0) if spent is None else (LP_MIP, spent)
            stages.append(Stage(level, method, OPTIMAL, value, value, wall))
            _report(progress, stages[-1], started)
            hold(level, value)
            continue
        remaining = _left(params, started)
        if later and relax is not None:
            # Keep the later levels' LP stages their time: measured at 10,000 students, a
            # CP-SAT preference stage that took 25 s left the travel LP none.
            remaining -= later * len(problem.arcs) / LP_ARCS_PER_SECOND
        budget = remaining if later == 0 else remaining * 0.6
        budget -= len(problem.arcs) / OVERRUN_ARCS_PER_SECOND
        if not _worth_trying(problem, budget):
            bound = _valid_bound(problem, level, value, math.nan, known.get(level), minimise)
            if spent is None:  # neither the LP nor CP-SAT had time for this level
                stages.append(Stage(level, SKIPPED, TIMED_OUT, value, bound, 0.0))
            else:
                stages.append(Stage(level, LP_MIP, FEASIBLE, value, bound, spent))
            _report(progress, stages[-1], started)
            proven_all = False
            hold(level, value)
            continue
        if cp is None:
            # The LP's model is written for HiGHS alone; CP-SAT gets its own, compact as
            # well where the LP's is (measured at 10,000 students: 4.9 s to build).
            cp = PlacementModel(problem, compact=relax is not None)
            for earlier in stages:
                cp.hold(earlier.level, earlier.objective)
            overrun = len(problem.arcs) / OVERRUN_ARCS_PER_SECOND
            budget = min(budget, _left(params, started) - overrun)
        stage, found = _cp_sat_stage(
            cp, level, incumbent, known.get(level), budget, params, progress, started
        )
        stages.append(stage)
        _report(progress, stage, started)
        if found is not None:
            found_values = evaluate(problem, found)
            # CP-SAT starts from the incumbent, so it is never worse; keep it if it were.
            if not better(problem, values, found_values):
                incumbent, values = found, found_values
        proven_all = proven_all and stage.status == OPTIMAL
        hold(level, values[position])

    if relax is not None:
        relax.wait()  # HiGHS keeps no thread past the solve
    status = OPTIMAL if proven_all and all(s.status == OPTIMAL for s in stages) else FEASIBLE
    metrics = {"group_rounds": group_rounds, "repair_rounds": repair_rounds}
    return _solution(problem, levels, status, incumbent, stages, started, metrics)


# Measured on this machine: CP-SAT needs about a second per 15,000 candidate arcs before its
# search helps (model build and the first LP: 21 s at 10,000 students, 316,000 arcs); a stage
# with less time than that only overruns the limit (at 50,000 students a 35 s stage took 60 s
# and 6 GiB), so it is skipped and the flow placement stands.
ARCS_PER_SECOND = 15_000
# CP-SAT returns after its time limit by up to a second per this many arcs (loading the
# model and its first LP are not cut short; measured at 10,000 students, 211,898 arcs: a
# travel stage ended 3.4 s after the solve's limit, and with 3.5 s kept back the solve still
# ended at 59.9 and 60.0 s), so a stage is given that much less.
OVERRUN_ARCS_PER_SECOND = 40_000
SKIPPED = "skipped"  # the method of a stage too large for the time left


# Measured at 10,000 students (211,898 arcs): the full model takes 4.4 s to build and its LP
# 1.5 to 2.5 s per level in HiGHS, so the LP path starts only with about a second per 20,000
# arcs in hand.
LP_ARCS_PER_SECOND = 20_000
# Beyond this HiGHS cannot be trusted to keep its time limit (measured at 50,000 students,
# 1.07 million arcs: the solve overran a 120 s limit by 9 s with the LP path on).
LP_MAX_ARCS = 500_000
# HiGHS's branch and cut searches a reduced model whole only up to this many arcs. Measured
# at 10,000 students: it proves the placed count on the 47,929 arcs fixing leaves in 1.2 s.
MIP_ARCS = 60_000
# The last level's branching (see _lp_stage) stops at a proof within this relative gap of
# the best placement, as the HiGHS baseline of benchmarks/ does.
BRANCH_GAP = 0.0049
LP_MIP = "lp+highs"  # the method of a stage settled by the LP and HiGHS


def _lp_worth_trying(problem: Problem, budget: float) -> bool:
    """Whether the full model and its LP relaxation fit in ``budget`` seconds."""
    arcs = len(problem.arcs)
    return arcs <= LP_MAX_ARCS and arcs / LP_ARCS_PER_SECOND <= budget


def _tighter(known: int | None, bound: int, minimise: bool) -> int:
    if known is None:
        return bound
    return max(known, bound) if minimise else min(known, bound)


def _placed_stage(
    problem: Problem, base: tuple[Pair, ...], known: int, budget: float, params: Params
) -> tuple[Stage, tuple[Pair, ...] | None]:
    """Level 1 exactly, when groups cost placements: HiGHS's branch and cut on the
    one-placement model with only the groups' host choices integer.

    With every group's host decided, what is left is a flow (one placement per student,
    slot capacities inside host caps, pins), whose LP optimum is integral; so branching on
    the host choices alone finds integer placements, and its bound holds for the integer
    model in any case. Measured at 10,000 students (216,464 arcs, 26 groups with a host to
    choose): proven in 7.4 s, where the full model's LP did not finish in 200 s with dual
    simplex (degenerate over the many equally good remote seats) and CP-SAT did not close
    37,710 against 37,713 in 20 s.
    """
    single = PlacementModel(problem, single=True, cp_sat=False)
    integer = [var.index for var, _ in single.indicators]
    mip = solve_mip(single, "placed", base, budget, params.seed, integer=integer)
    value, found = evaluate(problem, base)[0], None
    if mip.assignments is not None and (reached := evaluate(problem, mip.assignments)[0]) > value:
        found, value = mip.assignments, reached
    bound = known if mip.bound is None else max(value, min(known, mip.bound))
    status = OPTIMAL if value == bound else FEASIBLE
    return Stage("placed", LP_MIP, status, value, bound, mip.wall_s), found


def _lp_stage(
    problem: Problem,
    relax: Relaxation,
    level: str,
    incumbent: tuple[tuple[int, int], ...],
    known: int | None,
    budget: float,
    params: Params,
    progress: ProgressFn | None,
    started: float,
    holds: Collection[tuple[str, int]] = (),
) -> tuple[Stage | None, tuple[tuple[int, int], ...] | None]:
    """The LP's bound on ``level``, then HiGHS where a better placement can be.

    First HiGHS searches the LP's support and the incumbent's arcs: a neighbourhood of a
    few thousand arcs that proves nothing but often holds the optimum. Then reduced-cost
    fixing (solver.relax) keeps only the arcs a placement beating the best so far can use;
    when few enough are left, HiGHS solves that reduced model, and what it proves holds
    for the whole problem, since every better placement lies inside it. The placed level
    is searched in the one-placement model (one placement keeps every rule of the
    student's own). Returns None when the LP does not finish in time.
    """
    t0 = time.perf_counter()
    minimise = level == "travel"
    position = level_names(problem).index(level)
    later = level_names(problem)[position + 1 :]
    # The LP's time includes waiting for its run begun in the background.
    lp = relax.optimise(level, budget * (0.5 if later else 0.8))
    if lp is None:
        return None, None
    bound = _tighter(known, lp.bound, minimise)
    best, found = evaluate(problem, incumbent)[position], None

    def next_level() -> None:
        """Start the next level's LP on the other core, holding this level at the best
        placement so far (no better than the value the level ends with, so the LP's work
        stays valid). Measured at 10,000 students: started after the support search, with
        the hold it found (preference 206,506), the travel LP took 3.8 s; started before
        it, with the hint's 205,557, it took 5 s and then 9.4 s more once the hold was
        tightened."""
        if later:
            relax.model.hold(level, best)
            relax.start(later[0], _left(params, started) * 0.6)

    def neighbourhood(region: Collection[Pair], cp_sat: bool = False) -> PlacementModel:
        """The model of ``region`` alone, with the levels before this one held."""
        sub = PlacementModel(problem, single=level == "placed", only=region, cp_sat=cp_sat)
        for earlier, value in holds:
            sub.hold(earlier, value)
        return sub

    def search(region: Collection[Pair], share: float, exact: bool = False) -> MipResult:
        left = (budget - (time.perf_counter() - t0)) * share
        mip = solve_mip(
            neighbourhood(region), level, found or incumbent, left, params.seed, exact=exact
        )
        take(mip.assignments)
        return mip

    def take(assignments: tuple[Pair, ...] | None) -> None:
        """Keep ``assignments`` when they are better on this level than the best so far."""
        nonlocal best, found
        if assignments is not None:
            value = evaluate(problem, assignments)[position]
            if (value < best) if minimise else (value > best):
                best, found = value, assignments

    def beating(value: int) -> frozenset[Pair]:
        """The arcs a placement better than ``value`` may use (reduced-cost fixing)."""
        return lp.needed(value - 1 if minimise else value + 1, relax.model.index)

    # The last level's bound from branching on the groups' hosts (solver.relax.branch),
    # on the other core while the searches below run. Measured at 10,000 students: the
    # travel LP (2,815,758,775, 1.48% under the best placement) splits two groups between
    # hosts; six nodes prove 2,843,410,174, within BRANCH_GAP of the best placement
    # (2,857,345,740), in 14 s, where proving all that branching can (2,844,170,407) took
    # 20 to 40 s alone. HiGHS's MIP finds 2,844,665,420 in 263 s, so the rest of the gap
    # is the placement's, not the bound's.
    branching: threading.Thread | None = None
    branched: list[int | None] = [None]
    settled = threading.Event()  # the searches below proved the level: branching can stop
    if minimise and not later and best != bound and relax.model.group_hosts:
        columns = [v.index for v in relax.model.group_hosts]
        left = budget - (time.perf_counter() - t0)

        def goal() -> int:
            """Travel within BRANCH_GAP of the best placement so far: proof enough."""
            return best - int(abs(best) * BRANCH_GAP / (1 + BRANCH_GAP))

        def branch() -> None:
            branched[0] = relax.branch(columns, goal, left, settled)

        branching = threading.Thread(target=branch, name="wbl-branch", daemon=True)
        branching.start()
    searched = best
    needed = beating(best) if best != bound else frozenset()
    if best != bound:
        # Half the time for the support, half for what fixing leaves; all of it for the
        # support when fixing leaves too much for HiGHS to search whole.
        search(lp.support | set(found or incumbent), 0.5 if len(needed) <= MIP_ARCS else 1.0)
    next_level()  # runs alongside the search of what fixing leaves
    if best != bound:
        start = best
        if start != searched:  # the support held a better placement: fixing drops more
            needed = beating(start)
        if len(needed) <= MIP_ARCS:
            mip = search(needed, 1.0, exact=True)
            inside = start if mip.infeasible else mip.bound
            left = budget - (time.perf_counter() - t0)
            if not mip.infeasible and inside != best and mip.optimal and left > 0.2:
                # Should HiGHS stop short of the last unit (it may, within a relative 1e-6;
                # travel is solved in exact steps for that reason), CP-SAT, exact in
                # integers, closes the rest.
                closer = neighbourhood(needed, cp_sat=True)
                left = budget - (time.perf_counter() - t0)
                closing, closed = _cp_sat_stage(
                    closer, level, found or incumbent, inside, left, params, progress, started
                )
                take(closed)
                inner = start if closing.status == INFEASIBLE else closing.bound
                inside = _tighter(inside, inner, minimise)
            if inside is not None:
                # Every placement beating ``start`` lies in the reduced model, so the best
                # overall is ``start`` or the reduced model's best, whichever is better.
                overall = min(start, inside) if minimise else max(start, inside)
                bound = _tighter(bound, overall, minimise)
    if branching is not None:
        if best == bound:
            settled.set()
        branching.join()
        if branched[0] is not None:
            bound = _tighter(bound, branched[0], minimise)
    status = OPTIMAL if best == bound else FEASIBLE
    return Stage(level, LP_MIP, status, best, bound, time.perf_counter() - t0), found


def _left(params: Params, started: float) -> float:
    return params.time_limit_s - (time.perf_counter() - started)


def _worth_trying(problem: Problem, budget: float) -> bool:
    """Whether a CP-SAT stage of ``budget`` seconds can do anything on ``problem``."""
    return budget > 0.2 and len(problem.arcs) / ARCS_PER_SECOND <= budget


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


def _report(progress: ProgressFn | None, stage: Stage, started: float) -> None:
    """Tell the caller a level is settled (for a display that shows every level)."""
    if progress is not None:
        progress(Progress(stage.level, time.perf_counter() - started, stage.objective, stage.bound))


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
            return _tighter(known, rounded, minimise)
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
    presolve: bool = True,
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
    # Measured at 10,000 students: presolve took 32 s of a 54 s one-placement solve whose
    # root LP is already tight; without it the LP proves the optimum in 24 s.
    solver.parameters.cp_model_presolve = presolve
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
        bound_value = value if proven else _tighter(bound, int(rounded), minimise)
        proven = bound_value == value  # the bound known before can settle it too
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


def _settle_groups(
    problem: Problem, assignments: tuple[tuple[int, int], ...]
) -> tuple[tuple[tuple[int, int], ...], int]:
    """One placement per student with every group's internships at one host.

    A group the one-placement flow sends to several hosts keeps the host most of its
    members got (the lowest id on a tie); the members' internships elsewhere are left out
    and the flow solved again, a few rounds; :func:`repair` drops what still clashes.
    """
    slots = {s.id: s for s in problem.slots}
    group_of = {s.id: s.group for s in problem.students if s.group is not None}
    excluded: set[tuple[int, int]] = set()
    for round_number in range(1, REPAIR_ROUNDS + 1):
        hosts: dict[int, Counter[int]] = defaultdict(Counter)
        for student, slot in assignments:
            if student in group_of and slots[slot].kind == INTERNSHIP:
                hosts[group_of[student]][slots[slot].host] += 1
        chosen = {
            group: min(count, key=lambda h, c=count: (-c[h], h))
            for group, count in hosts.items()
            if len(count) > 1
        }
        if not chosen:
            return assignments, round_number
        excluded |= _internships_elsewhere(problem, slots, group_of, chosen)
        assignments = solve_flow(
            problem,
            host_caps=True,
            travel=True,
            single=True,
            excluded=excluded,
            bonus=problem.previous,
        ).assignments
    return repair(problem, assignments)[0], REPAIR_ROUNDS


# Measured on this machine, a flow over every arc: 2.7 s at 10,000 students (216,464 arcs),
# 21 to 23 s at 50,000 (1,085,954 arcs); the slower rate of the two.
FLOW_ARCS_PER_SECOND = 50_000


def _flow_rounds(problem: Problem, time_limit_s: float) -> int:
    """How many flow rounds :func:`_extend` may run: about a tenth of the time limit's
    worth, at least one (one at 10,000 students and 60 s, four at 1,000). Counted from
    the problem's size rather than the clock, so the same problem and limit always get
    the same rounds and the same placement (measured at 10,000 students with a 60 s
    limit: a clock check gave 1 to 4 rounds from one run to the next, and a different
    travel level)."""
    per_round = len(problem.arcs) / FLOW_ARCS_PER_SECOND
    return max(1, min(REPAIR_ROUNDS, int(0.1 * time_limit_s / max(per_round, 1e-9))))


def _extend(
    problem: Problem, base: tuple[tuple[int, int], ...], time_limit_s: float
) -> tuple[tuple[tuple[int, int], ...], int]:
    """``base`` (one placement per student) grown into a placement with further placements
    where there is room: every hard rule kept, and level 1 no worse than ``base``'s.

    A flow over all the arcs may move a student of ``base`` to another slot so that
    someone else's second placement fits (measured at 10,000 students: preference 205,557
    after one round, where keeping every placement of ``base`` reached 151,530). Groups keep
    the host ``base`` gives them (a group without an internship in ``base`` gets none), so
    ``base`` itself is a flow there and the flow places at least as many. Arcs that break a
    student's overlap, weekly-hours or group rule are excluded and the flow solved again, a
    few rounds (as many as :func:`_flow_rounds` allows for the time limit), keeping the best
    round; any remaining clash is dropped. Should every round fall short of ``base`` on
    level 1 (a student whose placements all clash), the rounds are run again with ``base``
    held.
    """
    slots = {s.id: s for s in problem.slots}
    group_of = {s.id: s.group for s in problem.students if s.group is not None}
    group_host = {
        group_of[s]: slots[t].host for s, t in base if s in group_of and slots[t].kind == INTERNSHIP
    }
    placed = evaluate(problem, base)[0]
    rounds = 0
    for held in (False, True):
        if held:
            pins = tuple(sorted(set(problem.pins) | set(base)))
            flows = dataclasses.replace(problem, pins=pins)
            # A group's internships stay at the host its members already have.
            excluded = _internships_elsewhere(problem, slots, group_of, group_host)
        else:
            flows = problem
            hosts = {group: group_host.get(group, NO_HOST) for group in group_of.values()}
            excluded = _internships_elsewhere(problem, slots, group_of, hosts)
        best: tuple[tuple[int, int], ...] | None = None
        best_values: tuple[int, ...] = ()
        for _ in range(_flow_rounds(problem, time_limit_s)):
            rounds += 1
            flow = solve_flow(
                flows, host_caps=True, travel=True, excluded=excluded, bonus=problem.previous
            )
            kept, avoid = repair(flows, flow.assignments)
            values = evaluate(problem, kept)
            if values[0] >= placed and (best is None or better(problem, values, best_values)):
                best, best_values = kept, values
            if set(kept) == set(flow.assignments):
                break
            excluded |= avoid
        if best is not None:
            return best, rounds
    return tuple(sorted(set(base))), rounds


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
    dropped |= _internships_elsewhere(problem, slots, group_of, group_host)
    return tuple(sorted(kept)), dropped


def _internships_elsewhere(
    problem: Problem,
    slots: dict[int, SlotSpec],
    group_of: dict[int, int | None],
    group_host: dict[int, int],
) -> set[tuple[int, int]]:
    """The internship arcs of group members at a host other than their group's."""
    elsewhere: set[tuple[int, int]] = set()
    for arc in problem.arcs:
        group = group_of.get(arc.student)
        slot = slots.get(arc.slot)
        if (
            group in group_host
            and slot is not None
            and slot.kind == INTERNSHIP
            and slot.host != group_host[group]
        ):
            elsewhere.add((arc.student, arc.slot))
    return elsewhere


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
