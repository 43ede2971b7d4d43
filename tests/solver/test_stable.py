"""Stable mode: deferred acceptance reported as a solution, blocking pairs satisfied where a
move can, the rest counted and explained."""

from __future__ import annotations

import pytest

from solver.check import check_assignments
from solver.matching import blocking_pairs, deferred_acceptance
from solver.problem import (
    INTERNSHIP,
    Arc,
    HostSpec,
    Params,
    Problem,
    SlotSpec,
    StudentSpec,
)
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


def test_stable_satisfies_a_pair_deferred_acceptance_leaves() -> None:
    # Student 1 holds 10 and 12, loses 10 to student 2, and cannot retry 11 (clashing with
    # 12) in deferred acceptance; stable mode then swaps 12 for 11.
    slots = (
        SlotSpec(10, 0, 10, 0, 1, ((0, 60),)),
        SlotSpec(11, 0, 11, 0, 1, ((30, 90),)),
        SlotSpec(12, 0, 12, 0, 1, ((60, 120),)),
    )
    arcs = (Arc(1, 10, 1, host_rank=2), Arc(1, 11, 2), Arc(1, 12, 3), Arc(2, 10, 1, host_rank=1))
    problem = Problem(
        (StudentSpec(1), StudentSpec(2)), (HostSpec(0),), slots, arcs, max_per_kind=(2, 0, 0)
    )
    params = Params(time_limit_s=10, seed=0, mode="stable")
    assert blocking_pairs(problem, deferred_acceptance(problem, seed=0)) == [(1, 11)]
    solution = solve_stable(problem, params)
    assert solution.assignments == ((1, 11), (2, 10))
    assert solution.blocking_pairs == 0 and solution.message == ""


def test_stable_says_a_pair_left_is_a_group_member_wanting_another_host() -> None:
    # Student 1 is pinned to host 1's internship; student 2, in the same group, would rather
    # intern at host 2, which no move of student 2 alone can allow.
    slots = (SlotSpec(10, 1, 10, INTERNSHIP, 2), SlotSpec(20, 2, 20, INTERNSHIP, 1))
    arcs = (Arc(1, 10, 1), Arc(2, 20, 1), Arc(2, 10, 2))
    problem = Problem(
        (StudentSpec(1, group=5), StudentSpec(2, group=5)),
        (HostSpec(1), HostSpec(2)),
        slots,
        arcs,
        max_per_kind=(0, 1, 0),
        pins=((1, 10),),
    )
    solution = solve_stable(problem, PARAMS)
    assert check_assignments(problem, solution.assignments) == []
    assert solution.assignments == ((1, 10), (2, 10))
    assert solution.blocking_pairs == 1
    assert solution.message.startswith(
        "1 blocking pair remains (a group member who would rather intern away from the "
        "group's host)"
    )
