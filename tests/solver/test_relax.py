"""The LP relaxation: its bounds hold, and its formulation is tight where it matters."""

from __future__ import annotations

from itertools import combinations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solver.check import check_assignments
from solver.model import PlacementModel
from solver.objective import evaluate, level_names, scale_of
from solver.problem import INTERNSHIP, MICRO_INTERNSHIP, Arc, HostSpec, Problem, StudentSpec
from solver.relax import Relaxation, solve_mip
from tests.solver.instances import random_problem
from tests.solver.test_solve import _brute_force, _problem, _slot


def _small(seed: int, unranked: int = 0) -> Problem:
    problem = random_problem(
        seed, students=4, hosts=2, opportunities=4, choices=2, unranked=unranked
    )
    return Problem(
        problem.students,
        problem.hosts,
        problem.slots,
        problem.arcs[:11],
        problem.max_per_kind,
        pins=problem.pins,
    )


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), unranked=st.integers(0, 2), compact=st.booleans())
def test_lp_bounds_are_never_beaten_by_the_true_optimum(
    seed: int, unranked: int, compact: bool
) -> None:
    # Compact or not, the model holds a student who ranked nothing to one placement: the
    # brute force, which knows no such rule, shows that costs no level anything.
    problem = _small(seed, unranked)
    optimum = _brute_force(problem)
    assert optimum is not None
    model = PlacementModel(problem, compact=compact)
    relax = Relaxation(model)
    placed = relax.optimise("placed", 10)
    assert placed is not None and placed.bound >= optimum[0]
    # With level 1 held at its optimum, the preference bound holds for every placement
    # that reaches it, and the travel bound (a cost) is never above the optimum's.
    model.hold("placed", optimum[0])
    preference = relax.optimise("preference", 10)
    assert preference is not None and preference.bound >= optimum[1]
    model.hold("preference", optimum[1])
    travel = relax.optimise("travel", 10)
    assert travel is not None and travel.bound <= optimum[2]


def test_lp_counts_a_student_once_at_a_capped_host_however_the_slots_are_split() -> None:
    # Two students, one opportunity with two dated slots at a host that takes one student.
    # Written as one implication per slot, the LP puts each student half in each slot and
    # counts them as half a student at the host: both "placed". Summed per opportunity, it
    # knows one student is all the host can take.
    slots = [_slot(0, host=0, opp=7), _slot(1, host=0, opp=7)]
    arcs = [Arc(s, t, 1) for s in (0, 1) for t in (0, 1)]
    problem = _problem(
        [StudentSpec(0), StudentSpec(1)], slots, arcs, hosts=[HostSpec(0, max_students=1)]
    )
    result = Relaxation(PlacementModel(problem)).optimise("placed", 10)
    assert result is not None and result.bound == 1


def test_lp_places_no_student_through_half_a_seat_at_a_capped_host() -> None:
    # A host that takes one student, two who want a shadow and a micro-internship there
    # (both at once is allowed). Otherwise an LP places each student with half of each
    # slot, counting each as half a student at the host: both "placed" in one seat.
    slots = [_slot(0, host=0, cap=2), _slot(1, host=0, kind=MICRO_INTERNSHIP, cap=2)]
    arcs = [Arc(s, t, 1 + t) for s in (0, 1) for t in (0, 1)]
    problem = _problem(
        [StudentSpec(0), StudentSpec(1)], slots, arcs, hosts=[HostSpec(0, max_students=1)]
    )
    optimum = _brute_force(problem)
    assert optimum is not None and optimum[0] == 1
    result = Relaxation(PlacementModel(problem)).optimise("placed", 10)
    assert result is not None and result.bound == 1


def test_lp_takes_one_of_two_dated_slots_and_an_internship_clashing_with_both() -> None:
    # One student, two dated shadows of one opportunity and an internship whose sessions
    # clash with each. Rule by rule these are three pairs, which an LP meets with all three
    # at one half: one and a half placements, and a preference bound above anything a
    # coordinator can get. As one clique of three the LP takes one at most.
    day = 1440
    slots = [
        _slot(0, opp=7, sessions=[(540, 720)]),
        _slot(1, opp=7, sessions=[(day + 540, day + 720)]),
        _slot(2, kind=INTERNSHIP, sessions=[(600, 660), (day + 600, day + 660)]),
    ]
    arcs = [Arc(0, 0, 1), Arc(0, 1, 2), Arc(0, 2, 3)]
    problem = _problem([StudentSpec(0)], slots, arcs)
    optimum = _brute_force(problem)
    assert optimum is not None
    model = PlacementModel(problem)
    relax = Relaxation(model)
    model.hold("placed", optimum[0])
    preference = relax.optimise("preference", 10)
    assert preference is not None and preference.bound == optimum[1]
    assert len(preference.support) == 1


def test_lp_support_is_where_the_relaxation_places_students() -> None:
    slots = [_slot(0, cap=1), _slot(1, cap=1)]
    arcs = [Arc(0, 0, 1), Arc(0, 1, 2), Arc(1, 0, 1)]
    problem = _problem([StudentSpec(0), StudentSpec(1)], slots, arcs)
    model = PlacementModel(problem)
    relax = Relaxation(model)
    placed = relax.optimise("placed", 10)
    assert placed is not None and placed.bound == 2
    model.hold("placed", 2)
    preference = relax.optimise("preference", 10)
    # Both placed: student 1 must have slot 0, so student 0 takes its second choice.
    assert preference is not None and preference.support == {(0, 1), (1, 0)}


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_fixing_keeps_every_arc_of_every_placement_that_reaches_the_target(seed: int) -> None:
    problem = _small(seed)
    optimum = _brute_force(problem)
    assert optimum is not None
    pairs = [(a.student, a.slot) for a in problem.arcs]
    feasible = [
        (subset, evaluate(problem, subset))
        for size in range(len(pairs) + 1)
        for subset in combinations(pairs, size)
        if not check_assignments(problem, subset)
    ]
    model = PlacementModel(problem)
    relax = Relaxation(model)
    for position, level in enumerate(level_names(problem)):
        lp = relax.optimise(level, 10)
        assert lp is not None
        target = optimum[position]
        needed = lp.needed(target, pairs)
        reaching = [s for s, v in feasible if v[:position] == optimum[:position]]
        reaching = [
            s for s in reaching
            if (evaluate(problem, s)[position] <= target if level == "travel"
                else evaluate(problem, s)[position] >= target)
        ]  # fmt: skip
        assert reaching, "the optimum itself reaches the target"
        for subset in reaching:
            assert set(subset) <= needed
        model.hold(level, target)


def test_fixing_drops_an_arc_no_better_placement_can_use() -> None:
    # Student 1 can only take slot 0, so placing both needs student 0 in slot 1: taking
    # slot 0 for student 0 caps the LP at one placement, and fixing drops that arc.
    slots = [_slot(0, cap=1), _slot(1, cap=1)]
    arcs = [Arc(0, 0, 1), Arc(0, 1, 2), Arc(1, 0, 1)]
    problem = _problem([StudentSpec(0), StudentSpec(1)], slots, arcs)
    lp = Relaxation(PlacementModel(problem)).optimise("placed", 10)
    assert lp is not None and lp.bound == 2
    pairs = [(a.student, a.slot) for a in arcs]
    assert lp.needed(2, pairs) == {(0, 1), (1, 0)}
    assert lp.needed(1, pairs) == set(pairs)  # one placement: any arc will do


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_one_placement_model_with_only_the_group_hosts_integer_is_exact(seed: int) -> None:
    # With each group's host decided the one-placement model is a flow, so branching on
    # the group hosts alone must give a true placement with the true placed optimum.
    problem = _small(seed)
    optimum = _brute_force(problem)
    assert optimum is not None
    model = PlacementModel(problem, single=True)
    hosts = [var.index for var, _ in model.indicators]
    mip = solve_mip(model, "placed", [], 10, integer=hosts)
    assert mip.optimal and mip.bound == optimum[0]
    assert mip.assignments is not None and check_assignments(problem, mip.assignments) == []
    assert evaluate(problem, mip.assignments)[0] == optimum[0]


def test_mip_without_integer_variables_gives_the_lp_bound_and_no_fractional_placement() -> None:
    # A minor with a weekly cap of 6 hours and two 4-hour shadows in one week: the LP takes
    # the first and half the second (preference 20), where only one fits (15). The LP
    # bound stands, and no rounded placement (which would break the cap) is returned.
    slots = [_slot(0, weeks=[(1, 240)]), _slot(1, weeks=[(1, 240)])]
    arcs = [Arc(0, 0, 1, weekly_cap=360), Arc(0, 1, 2, weekly_cap=360)]
    problem = _problem([StudentSpec(0)], slots, arcs)
    optimum = _brute_force(problem)
    assert optimum == (1, 15, 0)
    model = PlacementModel(problem)
    model.hold("placed", 1)
    mip = solve_mip(model, "preference", [], 10, integer=[])
    assert mip.bound == 20
    assert mip.assignments is None


def test_lp_begun_in_the_background_gives_the_same_bound_and_short_runs_still_finish() -> None:
    problem = random_problem(3, students=1200, hosts=120, opportunities=300, choices=4)
    model = PlacementModel(problem)
    plain = Relaxation(model).optimise("preference", 60)
    relax = Relaxation(model)
    relax.start("preference", 60)
    background = relax.optimise("preference", 60)  # waits for it, then goes on from there
    assert plain is not None and background is not None
    assert background.bound == plain.bound
    # HiGHS holds a time limit against all its runs together: a short run after long ones
    # must not stop at once for lack of time. The preference LP is solved once more from
    # scratch, so the runs before take about twice what the travel LP needs from its basis
    # (on this instance primal simplex takes three quarters of the preference LP's time).
    relax.highs.clearSolver()
    assert relax.optimise("preference", 60) is not None
    spent = relax.highs.getRunTime()
    model.hold("preference", plain.bound)
    assert relax.optimise("travel", spent * 0.7) is not None


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), compact=st.booleans())
def test_model_written_for_highs_alone_has_the_very_rows_and_columns(
    seed: int, compact: bool
) -> None:
    # Without a CP-SAT model the rows and the objective terms must be the same, column for
    # column, or the LP would bound another model than the one CP-SAT searches.
    problem = random_problem(seed, students=40, hosts=6, opportunities=20, choices=4)
    both = PlacementModel(problem, compact=compact)
    rows = PlacementModel(problem, compact=compact, cp_sat=False)
    assert rows.model is None
    assert rows.num_vars == both.num_vars == len(both.model.proto.variables)
    assert rows.rows == both.rows
    for level in level_names(problem):
        mine, theirs = rows.terms(level), both.terms(level)
        assert [v.index for v in mine[0]] == [v.index for v in theirs[0]]
        assert mine[1:] == theirs[1:]
    assert rows.values_of(problem.pins) == both.values_of(problem.pins)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_lp_going_on_from_the_last_basis_equals_the_lp_solved_afresh(seed: int) -> None:
    # Level after level the relaxation goes on from the last basis (primal simplex for a
    # new objective, dual once a hold is tightened); each value must be the one a fresh
    # LP with the same rows finds.
    problem = random_problem(seed, students=60, hosts=8, opportunities=30, choices=4)
    model = PlacementModel(problem, compact=True, cp_sat=False)
    relax = Relaxation(model)

    def afresh(level: str) -> float:
        result = Relaxation(model).optimise(level, 30)
        assert result is not None
        return result.value

    placed = relax.optimise("placed", 30)
    assert placed is not None
    model.hold("placed", placed.bound - 1)  # a weaker hold first, as in a solve
    first = relax.optimise("preference", 30)
    assert first is not None and first.value == pytest.approx(afresh("preference"))
    model.hold("preference", first.bound - 40)
    loose = relax.optimise("travel", 30)
    assert loose is not None and loose.value == pytest.approx(afresh("travel"))
    model.hold("preference", first.bound)  # tightened: the travel LP goes on by dual simplex
    tight = relax.optimise("travel", 30)
    assert tight is not None and tight.value == pytest.approx(afresh("travel"))
    assert tight.value >= loose.value


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), relaxed=st.booleans())
def test_travel_in_two_exact_steps_is_the_true_optimum_or_a_valid_bound(
    seed: int, relaxed: bool
) -> None:
    # Fewest minutes first, then the most new clusters with the minutes held there: the
    # travel level to the last unit. With no integer variables (an LP) the bound must
    # still hold, and no fractional placement is returned.
    problem = _small(seed)
    optimum = _brute_force(problem)
    assert optimum is not None
    model = PlacementModel(problem)
    model.hold("placed", optimum[0])
    model.hold("preference", optimum[1])
    mip = solve_mip(model, "travel", [], 10, integer=[] if relaxed else True, exact=True)
    assert mip.bound is not None and mip.bound <= optimum[2]
    if relaxed:
        assert mip.assignments is None or evaluate(problem, mip.assignments)[2] >= mip.bound
        return
    assert mip.optimal and mip.bound == optimum[2]
    assert mip.assignments is not None and check_assignments(problem, mip.assignments) == []
    assert evaluate(problem, mip.assignments) == optimum


def test_branching_on_a_groups_host_proves_the_travel_the_lp_splits_between_hosts() -> None:
    # A group of two, each ranking host 1's internship first (far) and host 2's third
    # (near). Holding preference at 40 rules out host 2 (32) but not half of each host, so
    # the LP travels 20 minutes each where any placement travels 60 in all.
    slots = [_slot(10, host=1, kind=INTERNSHIP, cap=2), _slot(20, host=2, kind=INTERNSHIP, cap=2)]
    arcs = [Arc(s, t, rank, travel_min=minutes) for s in (1, 2)
            for t, rank, minutes in ((10, 1, 30), (20, 3, 10))]  # fmt: skip
    students = [StudentSpec(1, group=5), StudentSpec(2, group=5)]
    problem = _problem(students, slots, arcs, max_per_kind=(0, 1, 0))
    together = evaluate(problem, [(1, 10), (2, 10)])
    assert together[1:] == (48, 60 * scale_of(problem).travel_weight)
    assert evaluate(problem, [(1, 20), (2, 20)])[1] == 32
    model = PlacementModel(problem, compact=True, cp_sat=False)
    model.hold("placed", 2)
    model.hold("preference", 40)
    relax = Relaxation(model)
    lp = relax.optimise("travel", 10)
    assert lp is not None and lp.bound == 40 * scale_of(problem).travel_weight
    hosts = [v.index for v in model.group_hosts]
    assert relax.branch(hosts, lambda: together[2] + 1, 10) == together[2]


def test_branching_bound_lies_between_the_lp_and_the_true_optimum() -> None:
    # Over 300 small random terms (27 with a group to place), held at their true optimum:
    # the bound never passes the optimum's travel, and sometimes beats the LP's.
    tighter = 0
    for seed in range(300):
        problem = _small(seed)
        model = PlacementModel(problem, compact=True, cp_sat=False)
        if not model.group_hosts:
            continue  # nothing to branch on
        optimum = _brute_force(problem)
        assert optimum is not None
        model.hold("placed", optimum[0])
        model.hold("preference", optimum[1])
        relax = Relaxation(model)
        lp = relax.optimise("travel", 10)
        assert lp is not None
        branched = relax.branch(
            [v.index for v in model.group_hosts], lambda cut=optimum[2] + 1: cut, 10
        )
        assert branched is None or lp.bound < branched <= optimum[2]
        tighter += branched is not None
    assert tighter >= 1
