"""The independent checker: per hard rule, a placement that keeps it and one that breaks it."""

from __future__ import annotations

import dataclasses

import pytest

from solver.check import check_assignments
from solver.problem import (
    INTERNSHIP,
    JOB_SHADOW,
    MICRO_INTERNSHIP,
    Arc,
    HostSpec,
    Problem,
    SlotSpec,
    StudentSpec,
)

HOUR = 60
DAY = 24 * HOUR


def _tiny() -> Problem:
    """Three students, two hosts; a shadow with two dated slots, two internships, a micro."""
    slots = (
        # Job shadow O1 at host 1: two dated sessions, each its own slot (week 6).
        SlotSpec(10, host=1, opportunity=1, kind=JOB_SHADOW, capacity=1,
                 sessions=((9 * HOUR, 12 * HOUR),), week_minutes=((6, 180),)),
        SlotSpec(11, host=1, opportunity=1, kind=JOB_SHADOW, capacity=1,
                 sessions=((DAY + 9 * HOUR, DAY + 12 * HOUR),), week_minutes=((6, 180),)),
        # Internship O2 at host 1, Monday 10:00-16:00 (overlaps slot 10), 6 h in weeks 6-7.
        SlotSpec(20, host=1, opportunity=2, kind=INTERNSHIP, capacity=2,
                 sessions=((10 * HOUR, 16 * HOUR), (7 * DAY + 10 * HOUR, 7 * DAY + 16 * HOUR)),
                 week_minutes=((6, 360), (7, 360))),
        # Internship O3 at host 2, Tuesday afternoons.
        SlotSpec(30, host=2, opportunity=3, kind=INTERNSHIP, capacity=2,
                 sessions=((DAY + 13 * HOUR, DAY + 17 * HOUR),), week_minutes=((6, 240),)),
        # Flexible micro-internship at host 2: no sessions, 5 h a week in weeks 6-7.
        SlotSpec(40, host=2, opportunity=4, kind=MICRO_INTERNSHIP, capacity=3,
                 week_minutes=((6, 300), (7, 300))),
    )  # fmt: skip
    arcs = tuple(
        Arc(student, slot, rank=1 if slot in (10, 20) else None)
        for student in (1, 2, 3)
        for slot in (10, 11, 20, 30, 40)
    )
    return Problem(
        students=(StudentSpec(1, weight=4, group=7), StudentSpec(2, group=7), StudentSpec(3)),
        hosts=(HostSpec(1, max_students=2), HostSpec(2)),
        slots=slots,
        arcs=arcs,
        max_per_kind=(2, 1, 1),
    )


def _rules(problem: Problem, placed: list[tuple[int, int]]) -> list[str]:
    return [v.rule for v in check_assignments(problem, placed)]


def test_check_valid_placement_has_no_violations() -> None:
    placed = [(1, 10), (1, 30), (1, 40), (2, 11), (2, 30), (3, 40)]
    assert check_assignments(_tiny(), placed) == []


def test_check_eligibility_pair_without_arc() -> None:
    problem = _tiny()
    no_arc = dataclasses.replace(
        problem, arcs=tuple(a for a in problem.arcs if a != Arc(3, 30, None))
    )
    assert _rules(no_arc, [(3, 40)]) == []
    assert _rules(no_arc, [(3, 30)]) == ["eligibility"]
    assert _rules(problem, [(9, 30)]) == ["unknown"]


def test_check_duplicate_placement() -> None:
    assert _rules(_tiny(), [(1, 30)]) == []
    assert _rules(_tiny(), [(1, 30), (1, 30)]) == ["duplicate"]


def test_check_slot_capacity() -> None:
    assert _rules(_tiny(), [(1, 10)]) == []
    violations = check_assignments(_tiny(), [(1, 10), (2, 10)])
    assert [v.message for v in violations] == ["slot 10 holds 2 > capacity 1"]


def test_check_host_max_students_counts_distinct_students() -> None:
    # Student 1 twice at host 1 is one student; a third distinct student breaks the cap of 2.
    assert _rules(_tiny(), [(1, 11), (1, 20), (2, 20)]) == []
    assert _rules(_tiny(), [(1, 10), (2, 11), (3, 20)]) == ["host_capacity"]


def test_check_kind_limit_per_student() -> None:
    two_internships = dataclasses.replace(_tiny(), max_per_kind=(2, 2, 1))
    assert _rules(two_internships, [(3, 20), (3, 30)]) == []
    assert _rules(_tiny(), [(3, 20), (3, 30)]) == ["kind_limit"]


def test_check_one_slot_per_opportunity() -> None:
    assert _rules(_tiny(), [(3, 10)]) == []
    assert _rules(_tiny(), [(3, 10), (3, 11)]) == ["one_per_opportunity"]


def test_check_overlapping_sessions() -> None:
    assert _rules(_tiny(), [(3, 11), (3, 20)]) == []  # Tuesday shadow, Monday internship
    assert _rules(_tiny(), [(3, 10), (3, 20)]) == ["overlap"]  # both Monday morning


def test_check_flexible_slot_overlaps_nothing() -> None:
    assert _rules(_tiny(), [(3, 10), (3, 40)]) == []


@pytest.mark.parametrize(("cap", "ok"), [(None, True), (11 * HOUR, True), (10 * HOUR, False)])
def test_check_weekly_hours_busiest_week(cap: int | None, ok: bool) -> None:
    # Week 6: internship 6 h + micro 5 h = 11 h; week 7 the same. A 10 h cap is broken.
    problem = _tiny()
    capped = dataclasses.replace(
        problem, arcs=tuple(dataclasses.replace(a, weekly_cap=cap) for a in problem.arcs)
    )
    assert _rules(capped, [(3, 20), (3, 40)]) == ([] if ok else ["weekly_hours"])


def test_check_weekly_hours_cap_of_one_slot_binds_all() -> None:
    """The cap comes with the placement (age on its first day); the tightest one applies."""
    problem = _tiny()
    arcs = tuple(
        dataclasses.replace(a, weekly_cap=5 * HOUR) if (a.student, a.slot) == (3, 40) else a
        for a in problem.arcs
    )
    capped = dataclasses.replace(problem, arcs=arcs)
    assert _rules(capped, [(3, 40)]) == []
    assert _rules(capped, [(3, 20), (3, 40)]) == ["weekly_hours"]


def test_check_group_internships_at_one_host() -> None:
    assert _rules(_tiny(), [(1, 30), (2, 30)]) == []
    assert _rules(_tiny(), [(1, 20), (2, 30)]) == ["group"]
    assert _rules(_tiny(), [(1, 10), (2, 30)]) == []  # a shadow does not bind the group


def test_check_pins_kept() -> None:
    pinned = dataclasses.replace(_tiny(), pins=((2, 30),))
    assert _rules(pinned, [(2, 30)]) == []
    assert _rules(pinned, [(2, 40)]) == ["pin"]
