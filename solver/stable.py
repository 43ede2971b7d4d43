"""Stable mode: student-proposing deferred acceptance, reported like a welfare solve.

Students propose down their ranks; hosts keep the students they ranked best (ties broken by
the seeded lottery). Without side constraints the result is the student-optimal stable
matching: every student likes it at least as much as any other stable matching, and every
stable matching places the same students (the rural hospitals theorem), so none is better
on the priority-weighted placed count either. With overlaps, weekly caps, groups or host
caps a stable matching may not exist; the solution then says how many blocking pairs remain.
"""

from __future__ import annotations

import time

from solver.flow import solve_flow
from solver.matching import PinConflictError, blocking_pairs, deferred_acceptance
from solver.objective import evaluate, level_names
from solver.problem import Params, Problem
from solver.solution import FEASIBLE, INFEASIBLE, Solution, Stage


def solve_stable(problem: Problem, params: Params) -> Solution:
    """The deferred-acceptance placement of ``problem`` with its blocking pairs counted."""
    started = time.perf_counter()
    levels = level_names(problem)
    students = tuple(sorted(s.id for s in problem.students))
    try:
        chosen = deferred_acceptance(problem, seed=params.seed)
    except PinConflictError as exc:
        return Solution(
            INFEASIBLE,
            (),
            levels,
            (),
            (),
            time.perf_counter() - started,
            unplaced=students,
            message=f"pins break hard rules: {exc}",
        )
    values = evaluate(problem, chosen)
    # The welfare relaxation bounds the placed count of every placement, stable or not.
    placed_bound = evaluate(
        problem, solve_flow(problem, host_caps=False, travel=False).assignments
    )[0]
    blocking = len(blocking_pairs(problem, chosen, seed=params.seed))
    wall = time.perf_counter() - started
    placed = {s for s, _ in chosen}
    return Solution(
        status=FEASIBLE,
        assignments=chosen,
        levels=levels,
        objective=values,
        bound=(placed_bound,),
        wall_s=wall,
        stages=(Stage("stable", "deferred_acceptance", FEASIBLE, values[0], placed_bound, wall),),
        unplaced=tuple(s for s in students if s not in placed),
        blocking_pairs=blocking,
        message=(
            f"{blocking} blocking pairs remain: with these side rules a stable matching may "
            "not exist"
            if blocking
            else ""
        ),
    )
