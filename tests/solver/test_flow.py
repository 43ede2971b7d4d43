"""The min-cost-flow fast path: when it applies, and that it is exact at every level."""

from __future__ import annotations

import dataclasses

from hypothesis import given, settings
from hypothesis import strategies as st

from solver.flow import flow_exact, solve_flow_exact
from solver.problem import (
    INTERNSHIP,
    JOB_SHADOW,
    MICRO_INTERNSHIP,
    Arc,
    HostSpec,
    Problem,
    StudentSpec,
)
from solver.solution import OPTIMAL
from solver.solve import solve
from tests.solver.instances import random_problem
from tests.solver.test_solve import FAST, _brute_force, _problem, _slot, _solved


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), cap=st.sampled_from([None, 1, 2, 50]))
def test_flow_fast_path_equals_brute_force_at_every_level(seed: int, cap: int | None) -> None:
    problem = random_problem(seed, students=3, hosts=2, opportunities=3, side_rules=False)
    problem = dataclasses.replace(
        problem,
        arcs=problem.arcs[:11],
        hosts=tuple(HostSpec(h.id, cap) for h in problem.hosts),
    )
    solution = _solved(problem)
    if not flow_exact(problem):
        return  # a binding host cap over two of a student's opportunities: CP-SAT's case
    assert solution.status == OPTIMAL
    assert {s.method for s in solution.stages} == {"min_cost_flow"}
    assert solution.objective == _brute_force(problem) == solution.bound


def test_flow_fast_path_minimises_total_travel_not_each_students() -> None:
    # Both students are placed either way and rank nothing; the greedy choice (student 0
    # takes its nearest slot) costs 10 + 40 minutes, the best 20 + 10.
    students = [StudentSpec(0), StudentSpec(1)]
    slots = [_slot(0), _slot(1)]
    arcs = [
        Arc(0, 0, None, travel_min=10),
        Arc(0, 1, None, travel_min=20),
        Arc(1, 0, None, travel_min=10),
        Arc(1, 1, None, travel_min=40),
    ]
    problem = _problem(students, slots, arcs)
    assert flow_exact(problem)
    assert set(solve_flow_exact(problem).assignments) == {(0, 1), (1, 0)}
    solution = _solved(problem)
    assert solution.status == OPTIMAL and solution.stages[-1].method == "min_cost_flow"


def test_flow_fast_path_prefers_a_new_career_cluster_at_equal_travel() -> None:
    students = [StudentSpec(0)]
    slots = [_slot(0), _slot(1)]
    arcs = [Arc(0, 0, 1, travel_min=15), Arc(0, 1, 1, travel_min=15, new_cluster=True)]
    problem = _problem(students, slots, arcs, max_per_kind=(1, 1, 1))
    assert solve_flow_exact(problem).assignments == ((0, 1),)


def test_flow_exact_only_when_no_rule_outside_the_flow_can_bind() -> None:
    students = [StudentSpec(0), StudentSpec(1)]
    shadow = _slot(0, opp=0, kind=JOB_SHADOW, sessions=[(0, 60)], weeks=[(1, 60)])
    other_date = _slot(1, opp=0, kind=JOB_SHADOW, sessions=[(30, 90)], weeks=[(1, 60)])
    clash = _slot(2, opp=2, kind=MICRO_INTERNSHIP, sessions=[(30, 90)], weeks=[(1, 60)])
    internship = _slot(3, host=1, opp=3, kind=INTERNSHIP, weeks=[(1, 300)])
    base = _problem(
        students,
        [shadow, other_date, internship],
        [Arc(0, 0, 1), Arc(0, 1, 1), Arc(0, 3, 2), Arc(1, 3, 1)],
    )
    # Two dated slots of one opportunity may overlap: a student takes only one of them.
    assert flow_exact(base)

    def variant(**changes: object) -> Problem:
        return dataclasses.replace(base, **changes)

    assert not flow_exact(variant(slots=(*base.slots, clash), arcs=(*base.arcs, Arc(0, 2, 3))))
    # A 5 h internship and a 1 h shadow in one week, under a 5 h cap.
    capped = tuple(dataclasses.replace(a, weekly_cap=300) for a in base.arcs)
    assert not flow_exact(variant(arcs=capped))
    roomy = tuple(dataclasses.replace(a, weekly_cap=360) for a in base.arcs)
    assert flow_exact(variant(arcs=roomy))
    # A group whose members could intern at two hosts.
    second = _slot(4, host=0, opp=4, kind=INTERNSHIP)
    grouped = variant(
        students=(StudentSpec(0, group=1), StudentSpec(1, group=1)),
        slots=(*base.slots, second),
        arcs=(*base.arcs, Arc(1, 4, 2)),
    )
    assert not flow_exact(grouped)
    assert flow_exact(dataclasses.replace(grouped, students=tuple(StudentSpec(s) for s in (0, 1))))
    # Host 1 capped at one student: student 0 could hold two of host 0's opportunities.
    two_opps = variant(
        slots=(*base.slots, dataclasses.replace(second, kind=MICRO_INTERNSHIP)),
        arcs=(*base.arcs, Arc(0, 4, 3)),
    )
    assert flow_exact(two_opps)
    tight = dataclasses.replace(two_opps, hosts=(HostSpec(0, 1), HostSpec(1)))
    assert not flow_exact(tight)
    # A cap no larger than the seats is not binding: host 0 has three seats.
    assert flow_exact(dataclasses.replace(two_opps, hosts=(HostSpec(0, 3), HostSpec(1))))
    assert not flow_exact(variant(previous=((0, 0),)))


def test_flow_fast_path_reports_progress_for_every_level() -> None:
    problem = random_problem(4, students=20, hosts=4, opportunities=8, side_rules=False)
    seen = []
    solution = solve(problem, FAST, seen.append)
    assert solution.status == OPTIMAL
    assert [p.level for p in seen] == list(solution.levels)
    assert [p.objective for p in seen] == list(solution.objective)


def test_flow_fast_path_keeps_pins() -> None:
    problem = random_problem(8, students=12, hosts=3, opportunities=6, side_rules=False)
    pin = (problem.arcs[-1].student, problem.arcs[-1].slot)
    pinned = dataclasses.replace(problem, pins=(pin,))
    assert flow_exact(pinned)
    solution = _solved(pinned)
    assert pin in solution.assignments and solution.status == OPTIMAL
