"""Explanations for unplaced students and the extra seats that would help."""

from __future__ import annotations

from solver.explain import explain_unplaced, suggest_seats
from solver.problem import (
    INTERNSHIP,
    JOB_SHADOW,
    Arc,
    HostSpec,
    Params,
    Problem,
    SlotSpec,
    StudentSpec,
)
from solver.solve import solve

FAST = Params(time_limit_s=10, seed=1)


def _problem(students, slots, arcs, hosts=None) -> Problem:
    hosts = hosts or [HostSpec(h) for h in sorted({s.host for s in slots})]
    return Problem(tuple(students), tuple(hosts), tuple(slots), tuple(arcs))


def test_explain_no_candidate() -> None:
    problem = _problem(
        [StudentSpec(0), StudentSpec(1)], [SlotSpec(0, 0, 0, JOB_SHADOW, 1)], [Arc(0, 0, 1)]
    )
    why = explain_unplaced(problem, solve(problem, FAST))
    assert why[1].reason == "no_candidate" and why[1].blocked == ()
    assert 0 not in why


def test_explain_filled_names_the_holder_and_their_grounds() -> None:
    students = [StudentSpec(0, weight=4), StudentSpec(1, weight=1)]
    problem = _problem(students, [SlotSpec(0, 0, 5, JOB_SHADOW, 1)], [Arc(0, 0, 2), Arc(1, 0, 1)])
    why = explain_unplaced(problem, solve(problem, FAST))[1]
    assert why.reason == "filled"
    (blocked,) = why.blocked
    assert (blocked.slot, blocked.rank, blocked.why) == (0, 1, "full")
    assert [(h.student, h.rank, h.weight) for h in blocked.holders] == [(0, 2, 4)]


def test_explain_host_cap() -> None:
    students = [StudentSpec(0, weight=3), StudentSpec(1)]
    slots = [SlotSpec(0, 0, 0, JOB_SHADOW, 1), SlotSpec(1, 0, 1, JOB_SHADOW, 1)]
    problem = _problem(
        students, slots, [Arc(0, 0, 1), Arc(1, 1, 1)], hosts=[HostSpec(0, max_students=1)]
    )
    why = explain_unplaced(problem, solve(problem, FAST))[1]
    assert why.reason == "filled" and why.blocked[0].why == "host_full"


def test_explain_group_rule() -> None:
    students = [StudentSpec(0, weight=3, group=1), StudentSpec(1, group=1)]
    slots = [SlotSpec(0, 0, 0, INTERNSHIP, 1), SlotSpec(1, 1, 1, INTERNSHIP, 1)]
    problem = _problem(students, slots, [Arc(0, 0, 1), Arc(1, 1, 1)])
    why = explain_unplaced(problem, solve(problem, FAST))[1]
    assert why.reason == "rules" and why.blocked[0].why == "group"


def test_suggest_seats_where_most_unplaced_students_want_to_go() -> None:
    students = [StudentSpec(i) for i in range(5)]
    slots = [SlotSpec(0, 0, 10, JOB_SHADOW, 1), SlotSpec(1, 1, 11, JOB_SHADOW, 1)]
    arcs = [Arc(i, 0, 1) for i in range(4)] + [Arc(4, 1, 1), Arc(3, 1, 2)]
    # Two are placed (one per slot); three more want opportunity 10 only (or as well).
    suggestions = suggest_seats(_problem(students, slots, arcs))
    assert [(s.opportunity, s.host, s.extra_seats, s.would_place) for s in suggestions] == [
        (10, 0, 3, 3)
    ]
