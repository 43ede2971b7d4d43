"""Stable mode: deferred acceptance reported as a solution, blocking pairs counted."""

from __future__ import annotations

import pytest

from solver.check import check_assignments
from solver.matching import blocking_pairs, deferred_acceptance
from solver.problem import Arc, HostSpec, Params, Problem, SlotSpec, StudentSpec
from solver.solution import FEASIBLE, INFEASIBLE
from solver.solve import solve
from solver.stable import solve_stable
from tests.solver.instances import random_problem

PARAMS = Params(time_limit_s=10, seed=3, mode="stable")


@pytest.mark.parametrize("seed", range(5))
def test_stable_without_side_rules_has_no_blocking_pairs(seed: int) -> None:
    problem = random_problem(
        seed, students=25, hosts=4, opportunities=10, side_rules=False, max_per_kind=(1, 0, 0)
    )
    solution = solve_stable(problem, PARAMS)
    assert solution.status == FEASIBLE
    assert check_assignments(problem, solution.assignments) == []
    assert solution.blocking_pairs == 0
    assert solution.assignments == deferred_acceptance(problem, seed=PARAMS.seed)
    assert solution.gap is None  # no level after "placed" has a bound in stable mode
    assert solution.objective[0] <= solution.bound[0]


def test_stable_follows_host_ranks_where_welfare_does_not() -> None:
    # The host ranks student 1 first; welfare gives the seat to the heavier student 0.
    students = (StudentSpec(0, weight=5), StudentSpec(1, weight=1))
    problem = Problem(
        students,
        (HostSpec(0),),
        (SlotSpec(0, 0, 0, 0, 1),),
        (Arc(0, 0, 1, host_rank=2), Arc(1, 0, 1, host_rank=1)),
    )
    assert solve_stable(problem, PARAMS).assignments == ((1, 0),)
    welfare = solve(problem, Params(time_limit_s=10))
    assert welfare.assignments == ((0, 0),)
    assert blocking_pairs(problem, welfare.assignments) == [(1, 0)]


def test_stable_conflicting_pins_are_infeasible() -> None:
    problem = Problem(
        (StudentSpec(0), StudentSpec(1)),
        (HostSpec(0),),
        (SlotSpec(0, 0, 0, 0, 1),),
        (Arc(0, 0, 1), Arc(1, 0, 1)),
        pins=((0, 0), (1, 0)),
    )
    solution = solve_stable(problem, PARAMS)
    assert solution.status == INFEASIBLE and "pins" in solution.message
