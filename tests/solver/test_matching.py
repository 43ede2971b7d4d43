"""Matching: deferred acceptance, serial dictatorship, blocking pairs and satisfying them.

Tiny hand-built instances pin down each behaviour; hypothesis then checks deferred acceptance
against a brute-force enumeration of every stable matching, and both algorithms against the
independent checker on instances with every side constraint.
"""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from solver.check import check_assignments
from solver.matching import (
    PinConflictError,
    blocking_pairs,
    deferred_acceptance,
    lottery,
    preference_order,
    satisfy_blocking_pairs,
    serial_dictatorship,
)
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


def _slot(slot_id: int, host: int = 1, *, opportunity: int | None = None, kind: int = JOB_SHADOW,
          capacity: int = 1, sessions: tuple[tuple[int, int], ...] = (),
          weeks: tuple[tuple[int, int], ...] = ()) -> SlotSpec:  # fmt: skip
    """A slot, its own opportunity unless told otherwise."""
    opportunity = slot_id if opportunity is None else opportunity
    return SlotSpec(slot_id, host=host, opportunity=opportunity, kind=kind, capacity=capacity,
                    sessions=sessions, week_minutes=weeks)  # fmt: skip


def _problem(
    students: int | tuple[StudentSpec, ...],
    slots: list[SlotSpec],
    arcs: list[Arc],
    *,
    hosts: tuple[HostSpec, ...] = (),
    max_per_kind: tuple[int, int, int] = (1, 0, 0),
    pins: tuple[tuple[int, int], ...] = (),
) -> Problem:
    """Students 1..n (or as given); a host without a cap for every host a slot names."""
    specs = tuple(StudentSpec(s) for s in range(1, students + 1)) if isinstance(students, int) \
        else students  # fmt: skip
    named = {h.id for h in hosts}
    extra = tuple(HostSpec(h) for h in sorted({s.host for s in slots} - named))
    return Problem(students=specs, hosts=hosts + extra, slots=tuple(slots), arcs=tuple(arcs),
                   max_per_kind=max_per_kind, pins=pins)  # fmt: skip


def _valid(problem: Problem, placed: tuple[tuple[int, int], ...]) -> tuple[tuple[int, int], ...]:
    assert check_assignments(problem, placed) == []
    assert list(placed) == sorted(set(placed))
    return placed


def _draws(problem: Problem, seed: int = 0) -> list[int]:
    """Student ids in lottery order: the order deferred acceptance gives them turns in."""
    place = lottery(problem, seed)
    return sorted(place, key=place.__getitem__)


def _contested(host_ranks: tuple[int | None, int | None]) -> Problem:
    """Students 1 and 2 both rank slot 10 (capacity 1) first and slot 20 second."""
    arcs = [Arc(s, slot, rank=r, host_rank=host_ranks[s - 1] if slot == 10 else None)
            for s in (1, 2) for slot, r in ((10, 1), (20, 2))]  # fmt: skip
    return _problem(2, [_slot(10), _slot(20)], arcs)


# Preferences and the lottery.


def test_preference_order_ranked_first_then_travel_then_slot() -> None:
    arcs = [Arc(1, 50, rank=None, travel_min=1), Arc(1, 40, rank=2, travel_min=5),
            Arc(1, 30, rank=2, travel_min=5), Arc(1, 20, rank=2, travel_min=3),
            Arc(1, 10, rank=None, travel_min=0), Arc(1, 60, rank=1, travel_min=30)]  # fmt: skip
    problem = _problem(2, [_slot(k) for k in (10, 20, 30, 40, 50, 60)], arcs)
    order = preference_order(problem)
    assert [a.slot for a in order[1]] == [60, 20, 30, 40, 10, 50]
    assert order[2] == []


def test_lottery_is_a_permutation_fixed_by_the_seed() -> None:
    problem = _problem(8, [_slot(10)], [])
    draws = {seed: lottery(problem, seed) for seed in range(6)}
    assert all(sorted(d) == list(range(1, 9)) for d in draws.values())
    assert all(sorted(d.values()) == list(range(8)) for d in draws.values())
    assert lottery(problem, 3) == draws[3]
    assert len({tuple(sorted(d, key=d.__getitem__)) for d in draws.values()}) > 1


# Deferred acceptance, behaviour by behaviour.


def test_deferred_acceptance_host_rank_decides_who_stays() -> None:
    # Student 1 proposes first and is held, then loses the seat to the host's favourite.
    assert _draws(_contested((2, 1))) == [1, 2]
    assert _valid(_contested((2, 1)), deferred_acceptance(_contested((2, 1)))) == ((1, 20), (2, 10))
    assert deferred_acceptance(_contested((1, 2))) == ((1, 10), (2, 20))


def test_deferred_acceptance_unranked_by_host_come_after_ranked() -> None:
    for seed in range(5):
        assert deferred_acceptance(_contested((None, 7)), seed) == ((1, 20), (2, 10))


def test_deferred_acceptance_lottery_breaks_ties_by_seed() -> None:
    problem = _contested((None, None))
    winners = set()
    for seed in range(8):
        first = min((1, 2), key=lottery(problem, seed).__getitem__)
        result = deferred_acceptance(problem, seed)
        assert (first, 10) in result
        assert deferred_acceptance(problem, seed) == result
        winners.add(first)
    assert winners == {1, 2}  # different seeds can decide differently


def test_deferred_acceptance_capacity_keeps_the_best_students() -> None:
    slots = [_slot(10, capacity=2), _slot(20, capacity=5)]
    arcs = [Arc(s, slot, rank=r, host_rank=s if slot == 10 else None)
            for s in (3, 1, 2) for slot, r in ((10, 1), (20, 2))]  # fmt: skip
    result = _valid(_problem(3, slots, arcs), deferred_acceptance(_problem(3, slots, arcs)))
    assert result == ((1, 10), (2, 10), (3, 20))


def test_deferred_acceptance_fills_each_kind_up_to_its_limit() -> None:
    slots = [_slot(10), _slot(11), _slot(12), _slot(20, kind=INTERNSHIP),
             _slot(21, kind=INTERNSHIP), _slot(30, kind=MICRO_INTERNSHIP),
             _slot(31, kind=MICRO_INTERNSHIP)]  # fmt: skip
    arcs = [Arc(1, s.id, rank=k + 1) for k, s in enumerate(reversed(slots))]
    problem = _problem(1, slots, arcs, max_per_kind=(2, 1, 1))
    # Best first: 31, 30, 21, 20, 12, 11, 10; one micro, one internship, two shadows.
    assert _valid(problem, deferred_acceptance(problem)) == ((1, 11), (1, 12), (1, 21), (1, 31))


def test_deferred_acceptance_takes_one_slot_per_opportunity() -> None:
    slots = [_slot(10, opportunity=1), _slot(11, opportunity=1), _slot(20, opportunity=2)]
    arcs = [Arc(1, 10, rank=1), Arc(1, 11, rank=1), Arc(1, 20, rank=2)]
    problem = _problem(1, slots, arcs, max_per_kind=(2, 0, 0))
    assert _valid(problem, deferred_acceptance(problem)) == ((1, 10), (1, 20))


def test_deferred_acceptance_skips_an_overlapping_slot() -> None:
    # Slot 11 overlaps 10 and 12; 12 starts when 10 ends, which is no clash.
    sessions = {10: (9 * HOUR, 12 * HOUR), 11: (11 * HOUR, 13 * HOUR), 12: (12 * HOUR, 14 * HOUR)}
    slots = [_slot(k, sessions=(span,)) for k, span in sessions.items()]
    for order in ((10, 11, 12), (12, 11, 10)):
        arcs = [Arc(1, k, rank=r) for r, k in enumerate(order, start=1)]
        problem = _problem(1, slots, arcs, max_per_kind=(2, 0, 0))
        assert _valid(problem, deferred_acceptance(problem)) == ((1, 10), (1, 12))


def test_deferred_acceptance_retries_a_set_aside_arc_after_a_rejection() -> None:
    # Student 1 holds 10, so 11 (overlapping) is set aside and 12 taken; when student 2, whom
    # slot 10 prefers, takes 10, student 1 tries 11 again and gets it.
    slots = [_slot(10, sessions=((0, 60),)), _slot(11, sessions=((30, 90),)), _slot(12)]
    arcs = [Arc(1, 10, rank=1, host_rank=2), Arc(1, 11, rank=2), Arc(1, 12, rank=3),
            Arc(2, 10, rank=1, host_rank=1)]  # fmt: skip
    problem = _problem(2, slots, arcs, max_per_kind=(2, 0, 0))
    assert _draws(problem) == [1, 2]
    result = _valid(problem, deferred_acceptance(problem))
    assert result == ((1, 11), (1, 12), (2, 10))
    assert blocking_pairs(problem, result) == []


def test_deferred_acceptance_with_overlaps_may_leave_a_swap_blocking_pair() -> None:
    """The documented limit: student 1 holds 10 and 12, loses 10, and cannot retry 11
    (which clashes with 12) without giving 12 up, which a student never does. {1: 11, 2: 10}
    would be stable; deferred acceptance does not find it."""
    slots = [_slot(10, sessions=((0, 60),)), _slot(11, sessions=((30, 90),)),
             _slot(12, sessions=((60, 120),))]  # fmt: skip
    arcs = [Arc(1, 10, rank=1, host_rank=2), Arc(1, 11, rank=2), Arc(1, 12, rank=3),
            Arc(2, 10, rank=1, host_rank=1)]  # fmt: skip
    problem = _problem(2, slots, arcs, max_per_kind=(2, 0, 0))
    assert _draws(problem) == [1, 2]
    result = _valid(problem, deferred_acceptance(problem))
    assert result == ((1, 12), (2, 10))
    assert blocking_pairs(problem, result) == [(1, 11)]
    assert blocking_pairs(problem, [(1, 11), (2, 10)]) == []


def test_satisfying_the_swap_pair_deferred_acceptance_leaves_makes_it_stable() -> None:
    # The instance above: student 1 swaps 12 for 11, which they prefer and host 11 accepts.
    slots = [_slot(10, sessions=((0, 60),)), _slot(11, sessions=((30, 90),)),
             _slot(12, sessions=((60, 120),))]  # fmt: skip
    arcs = [Arc(1, 10, rank=1, host_rank=2), Arc(1, 11, rank=2), Arc(1, 12, rank=3),
            Arc(2, 10, rank=1, host_rank=1)]  # fmt: skip
    problem = _problem(2, slots, arcs, max_per_kind=(2, 0, 0))
    result, pairs = satisfy_blocking_pairs(problem, deferred_acceptance(problem))
    assert _valid(problem, result) == ((1, 11), (2, 10))
    assert pairs == [] == blocking_pairs(problem, result)


def test_satisfying_a_pair_at_a_capped_host_lets_go_of_its_least_preferred_student() -> None:
    # Host 1 takes two students at most: 1 (at slots 10 and 11) and 2. Slot 10 prefers
    # student 3 to student 1; student 1 keeps slot 11, so the host would have three, and
    # lets go of student 2, whom it ranks last.
    slots = [_slot(10, host=1), _slot(11, host=1), _slot(12, host=1)]
    arcs = [Arc(1, 10, rank=1, host_rank=2), Arc(1, 11, rank=2, host_rank=1),
            Arc(2, 12, rank=1, host_rank=3), Arc(3, 10, rank=1, host_rank=1)]  # fmt: skip
    problem = _problem(3, slots, arcs, hosts=(HostSpec(1, max_students=2),),
                       max_per_kind=(2, 0, 0))  # fmt: skip
    start = ((1, 10), (1, 11), (2, 12))
    assert _valid(problem, start) and blocking_pairs(problem, start) == [(3, 10)]
    result, pairs = satisfy_blocking_pairs(problem, start)
    assert _valid(problem, result) == ((1, 11), (3, 10))
    assert pairs == []


def test_satisfying_blocking_pairs_leaves_a_group_member_at_the_group_host() -> None:
    # Student 1 is pinned to host 1's internship, so student 2 (same group) cannot move to
    # host 2's, which they prefer: the pair stays, and so does every placement.
    slots = [_slot(10, host=1, kind=INTERNSHIP, capacity=2), _slot(20, host=2, kind=INTERNSHIP)]
    arcs = [Arc(1, 10, rank=1), Arc(2, 20, rank=1), Arc(2, 10, rank=2)]
    students = (StudentSpec(1, group=5), StudentSpec(2, group=5))
    problem = _problem(students, slots, arcs, max_per_kind=(0, 1, 0), pins=((1, 10),))
    start = _valid(problem, deferred_acceptance(problem))
    assert start == ((1, 10), (2, 10))
    assert satisfy_blocking_pairs(problem, start) == (start, [(2, 20)])


def test_satisfying_blocking_pairs_keeps_a_group_at_one_host() -> None:
    # Two members of a group, placed nowhere yet, each first choosing another host's
    # internship: both pairs block at once, but the first satisfied sets the group's host
    # for the rest of the round (and after), whatever the order.
    slots = [_slot(10, host=1, kind=INTERNSHIP), _slot(20, host=2, kind=INTERNSHIP)]
    arcs = [Arc(1, 10, rank=1), Arc(1, 20, rank=2), Arc(2, 20, rank=1), Arc(2, 10, rank=2)]
    students = (StudentSpec(1, group=5), StudentSpec(2, group=5))
    problem = _problem(students, slots, arcs, max_per_kind=(0, 1, 0))
    for seed in range(10):
        result, _ = satisfy_blocking_pairs(problem, (), seed=seed)
        _valid(problem, result)
        assert len(result) == 1  # the other member's only seat is at the other host


def test_deferred_acceptance_keeps_weekly_hours_under_the_cap() -> None:
    slots = [_slot(10, weeks=((6, 300),)), _slot(11, weeks=((6, 300),)),
             _slot(12, weeks=((7, 300),))]  # fmt: skip
    arcs = [Arc(1, k, rank=k - 9, weekly_cap=8 * HOUR) for k in (10, 11, 12)]
    problem = _problem(1, slots, arcs, max_per_kind=(2, 0, 0))
    # 10 and 11 together are 10 h in week 6, over the 8 h cap; 12 falls in week 7.
    assert _valid(problem, deferred_acceptance(problem)) == ((1, 10), (1, 12))
    at_cap = dataclasses.replace(problem, arcs=tuple(
        dataclasses.replace(a, weekly_cap=10 * HOUR) for a in arcs))  # fmt: skip
    assert _valid(at_cap, deferred_acceptance(at_cap)) == ((1, 10), (1, 11))


def test_deferred_acceptance_weekly_cap_goes_with_the_lost_placement() -> None:
    # Slot 10's cap (5 h, the student is younger on its first day) keeps 11's 7 h week out;
    # once student 2 takes 10, the cap no longer applies and student 1 gets 11.
    slots = [_slot(10, weeks=((6, 60),)), _slot(11, weeks=((7, 420),))]
    arcs = [Arc(1, 10, rank=1, host_rank=2, weekly_cap=5 * HOUR), Arc(1, 11, rank=2),
            Arc(2, 10, rank=1, host_rank=1)]  # fmt: skip
    problem = _problem(2, slots, arcs, max_per_kind=(2, 0, 0))
    assert _draws(problem) == [1, 2]
    assert _valid(problem, deferred_acceptance(problem)) == ((1, 11), (2, 10))


def test_deferred_acceptance_keeps_pins_against_better_students() -> None:
    pinned = dataclasses.replace(_contested((2, 1)), pins=((1, 10),))
    result = _valid(pinned, deferred_acceptance(pinned))
    assert result == ((1, 10), (2, 20))
    # The pinned student may still take more, up to their limits.
    roomy = dataclasses.replace(pinned, max_per_kind=(2, 0, 0),
                                slots=(_slot(10), _slot(20, capacity=2)))  # fmt: skip
    assert _valid(roomy, deferred_acceptance(roomy)) == ((1, 10), (1, 20), (2, 20))


def test_deferred_acceptance_pins_that_break_a_rule_raise() -> None:
    clash = dataclasses.replace(_contested((1, 2)), pins=((1, 10), (2, 10)))
    with pytest.raises(PinConflictError) as raised:
        deferred_acceptance(clash)
    assert [v.rule for v in raised.value.violations] == ["capacity"]
    with pytest.raises(PinConflictError):
        serial_dictatorship(clash)


def test_deferred_acceptance_group_internships_at_one_host() -> None:
    # Students 1 and 2 are a group; 1 likes host 1's internship best, 2 likes host 2's.
    slots = [_slot(10, host=1, kind=INTERNSHIP, capacity=2),
             _slot(20, host=2, kind=INTERNSHIP, capacity=2)]  # fmt: skip
    arcs = [Arc(1, 10, rank=1), Arc(1, 20, rank=2), Arc(2, 20, rank=1), Arc(2, 10, rank=2)]
    students = (StudentSpec(1, group=5), StudentSpec(2, group=5), StudentSpec(3))
    problem = _problem(students, slots, arcs, max_per_kind=(0, 1, 0))
    assert _valid(problem, deferred_acceptance(problem)) == ((1, 10), (2, 10))
    # The group rule only binds internships; without the group each takes their favourite.
    apart = dataclasses.replace(problem, students=tuple(StudentSpec(s) for s in (1, 2, 3)))
    assert deferred_acceptance(apart) == ((1, 10), (2, 20))


def test_deferred_acceptance_group_frees_when_its_internship_goes() -> None:
    # Student 1 (group 5) holds host 1's internship, so student 2 (group 5) sets host 2's
    # aside; student 3, whom host 1 prefers, takes it; then student 2 may go to host 2.
    slots = [_slot(10, host=1, kind=INTERNSHIP), _slot(20, host=2, kind=INTERNSHIP)]
    arcs = [Arc(1, 10, rank=1, host_rank=2), Arc(2, 20, rank=1),
            Arc(3, 10, rank=1, host_rank=1)]  # fmt: skip
    students = (StudentSpec(1, group=5), StudentSpec(2, group=5), StudentSpec(3))
    problem = _problem(students, slots, arcs, max_per_kind=(0, 1, 0))
    assert _draws(problem, seed=5) == [1, 2, 3]
    assert _valid(problem, deferred_acceptance(problem, seed=5)) == ((2, 20), (3, 10))


def test_deferred_acceptance_host_cap_evicts_its_least_preferred_student() -> None:
    # Host 1 takes one student over its two slots; it ranks student 2 above student 1.
    slots = [_slot(10, host=1), _slot(11, host=1), _slot(20, host=2)]
    arcs = [Arc(1, 10, rank=1, host_rank=2), Arc(1, 20, rank=2),
            Arc(2, 11, rank=1, host_rank=1)]  # fmt: skip
    problem = _problem(2, slots, arcs, hosts=(HostSpec(1, max_students=1),))
    assert _valid(problem, deferred_acceptance(problem)) == ((1, 20), (2, 11))
    # Ranked the other way round, student 2 is turned away and student 1 stays.
    flipped = dataclasses.replace(problem, arcs=tuple(
        dataclasses.replace(a, host_rank=3 - a.host_rank) if a.host_rank else a
        for a in problem.arcs))  # fmt: skip
    assert _valid(flipped, deferred_acceptance(flipped)) == ((1, 10),)


def test_deferred_acceptance_host_cap_displacing_a_student_who_leaves_evicts_nobody() -> None:
    # Host 1 (two students at most) holds students 1 and 2; student 3 takes student 1's seat,
    # which was student 1's only slot there, so the host stays at two and keeps student 2.
    slots = [_slot(10, host=1), _slot(11, host=1), _slot(20, host=2)]
    arcs = [Arc(1, 10, rank=1, host_rank=2), Arc(1, 20, rank=2),
            Arc(2, 11, rank=1, host_rank=3), Arc(3, 10, rank=1, host_rank=1)]  # fmt: skip
    problem = _problem(3, slots, arcs, hosts=(HostSpec(1, max_students=2),))
    assert _draws(problem, seed=5) == [1, 2, 3]
    assert _valid(problem, deferred_acceptance(problem, seed=5)) == ((1, 20), (2, 11), (3, 10))


def test_deferred_acceptance_host_cap_counts_a_student_once() -> None:
    slots = [_slot(10, host=1), _slot(11, host=1, kind=INTERNSHIP)]
    arcs = [Arc(1, 10, rank=1), Arc(1, 11, rank=2), Arc(2, 10, rank=1), Arc(2, 11, rank=1)]
    problem = _problem(2, slots, arcs, hosts=(HostSpec(1, max_students=1),),
                       max_per_kind=(1, 1, 0))  # fmt: skip
    result = _valid(problem, deferred_acceptance(problem))
    assert len({s for s, _ in result}) == 1 and len(result) == 2


def test_deferred_acceptance_host_ranks_a_student_anew_after_a_loss() -> None:
    # Host 1 (two students at most) ranks student 1 second for slot 11 but fifth for slot 10.
    # Student 3 takes slot 11 (and student 2's place at the host); student 1, left with slot
    # 10 only, now ranks last there, so student 4 (fourth for slot 13) replaces them.
    slots = [_slot(k, host=1) for k in (10, 11, 12, 13)] + [_slot(20, host=2, capacity=4)]
    arcs = [Arc(1, 11, rank=1, host_rank=2), Arc(1, 10, rank=2, host_rank=5),
            Arc(2, 12, rank=1, host_rank=3), Arc(3, 11, rank=1, host_rank=1),
            Arc(4, 13, rank=1, host_rank=4)]  # fmt: skip
    arcs += [Arc(s, 20, rank=3) for s in (1, 2, 3, 4)]
    problem = _problem(4, slots, arcs, hosts=(HostSpec(1, max_students=2),),
                       max_per_kind=(2, 0, 0))  # fmt: skip
    assert _draws(problem, seed=9) == [1, 2, 3, 4]
    assert _valid(problem, deferred_acceptance(problem, seed=9)) == (
        (1, 20), (2, 20), (3, 11), (3, 20), (4, 13), (4, 20))  # fmt: skip


def test_deferred_acceptance_full_host_still_takes_its_own_student_elsewhere() -> None:
    # Host 1 is full with student 1 alone; a second slot there does not add a student.
    slots = [_slot(10, host=1), _slot(11, host=1)]
    arcs = [Arc(1, 10, rank=1, host_rank=1), Arc(1, 11, rank=2, host_rank=2)]
    problem = _problem(1, slots, arcs, hosts=(HostSpec(1, max_students=1),),
                       max_per_kind=(2, 0, 0))  # fmt: skip
    assert _valid(problem, deferred_acceptance(problem)) == ((1, 10), (1, 11))


def test_deferred_acceptance_host_ranks_a_student_by_their_best_slot_there() -> None:
    # Host 1 ranks student 1 third for slot 10 but first for slot 11; once student 1 holds
    # both, student 2 (ranked second for slot 12) cannot push them out.
    slots = [_slot(10, host=1), _slot(11, host=1), _slot(12, host=1), _slot(20, host=2)]
    arcs = [Arc(1, 10, rank=1, host_rank=3), Arc(1, 11, rank=2, host_rank=1),
            Arc(2, 12, rank=1, host_rank=2), Arc(2, 20, rank=2)]  # fmt: skip
    problem = _problem(2, slots, arcs, hosts=(HostSpec(1, max_students=1),),
                       max_per_kind=(2, 0, 0))  # fmt: skip
    assert _draws(problem) == [1, 2]
    assert _valid(problem, deferred_acceptance(problem)) == ((1, 10), (1, 11), (2, 20))


def test_deferred_acceptance_empty_problem() -> None:
    assert deferred_acceptance(_problem(0, [], [])) == ()
    assert serial_dictatorship(_problem(2, [_slot(10)], [])) == ()


# Random serial dictatorship.


def test_serial_dictatorship_first_in_the_lottery_chooses_first() -> None:
    problem = _contested((2, 1))  # host ranks play no part
    for seed in range(4):
        first = min((1, 2), key=lottery(problem, seed).__getitem__)
        result = _valid(problem, serial_dictatorship(problem, seed))
        assert result == tuple(sorted([(first, 10), (3 - first, 20)]))


def test_serial_dictatorship_fills_limits_and_respects_host_cap_and_group() -> None:
    slots = [_slot(10, host=1, capacity=3), _slot(11, host=2, capacity=3),
             _slot(20, host=1, kind=INTERNSHIP, capacity=3),
             _slot(21, host=2, kind=INTERNSHIP, capacity=3)]  # fmt: skip
    students = (StudentSpec(1, group=9), StudentSpec(2, group=9), StudentSpec(3))
    arcs = [Arc(s, k, rank=1 if k in (11, 21) else 2) for s in (1, 2, 3) for k in (10, 11, 20, 21)]
    problem = _problem(students, slots, arcs, hosts=(HostSpec(2, max_students=2),),
                       max_per_kind=(2, 1, 0))  # fmt: skip
    # Seed 0 draws students 1, 3, 2: the first two take host 2's shadow and internship and
    # a shadow at host 1; host 2 is then full, and student 2 may not intern at host 1 while
    # student 1, of the same group, interns at host 2.
    assert [s for s, _ in sorted(lottery(problem, 0).items(), key=lambda x: x[1])] == [1, 3, 2]
    expected = ((1, 10), (1, 11), (1, 21), (2, 10), (3, 10), (3, 11), (3, 21))
    assert _valid(problem, serial_dictatorship(problem, seed=0)) == expected
    # Seed 5 draws 1, 2, 3: student 3, in no group, interns at host 1.
    assert [s for s, _ in sorted(lottery(problem, 5).items(), key=lambda x: x[1])] == [1, 2, 3]
    expected = ((1, 10), (1, 11), (1, 21), (2, 10), (2, 11), (2, 21), (3, 10), (3, 20))
    assert _valid(problem, serial_dictatorship(problem, seed=5)) == expected


# Blocking pairs.


def test_blocking_pairs_detects_a_student_and_slot_that_prefer_each_other() -> None:
    problem = _contested((1, 2))
    assert blocking_pairs(problem, [(1, 20), (2, 10)]) == [(1, 10)]
    assert blocking_pairs(problem, [(1, 10), (2, 20)]) == []
    assert blocking_pairs(problem, [(1, 10)]) == [(2, 20)]  # a free seat blocks too


def test_blocking_pairs_lottery_decides_ties_with_the_same_seed() -> None:
    problem = _contested((None, None))
    for seed in range(4):
        first = min((1, 2), key=lottery(problem, seed).__getitem__)
        placed = [(first, 20), (3 - first, 10)]
        assert blocking_pairs(problem, placed, seed=seed) == [(first, 10)]


def test_blocking_pairs_swap_only_for_a_strictly_preferred_slot() -> None:
    slots = [_slot(10, sessions=((0, 60),)), _slot(11, sessions=((30, 90),))]
    arcs = [Arc(1, 10, rank=1), Arc(1, 11, rank=2)]
    problem = _problem(1, slots, arcs, max_per_kind=(2, 0, 0))
    assert blocking_pairs(problem, [(1, 11)]) == [(1, 10)]  # would swap 11 for 10
    assert blocking_pairs(problem, [(1, 10)]) == []  # 11 clashes and is worse
    pinned = dataclasses.replace(problem, pins=((1, 11),))
    assert blocking_pairs(pinned, [(1, 11)]) == []  # a pin is not swapped out


def test_blocking_pairs_a_further_placement_counts_only_when_the_student_ranked_it() -> None:
    slots = [_slot(10), _slot(11), _slot(12), _slot(13)]
    arcs = [Arc(1, 10, rank=1), Arc(1, 11, rank=2), Arc(1, 12, None, travel_min=5),
            Arc(1, 13, None, travel_min=30)]  # fmt: skip
    problem = _problem(1, slots, arcs, max_per_kind=(3, 0, 0))
    # Holding 10, the student asked for 11 too, but not for 12 or 13 (welfare mode counts
    # such an extra against them): only 11 blocks.
    assert blocking_pairs(problem, [(1, 10)]) == [(1, 11)]
    # With no placement at all, any opportunity they can reach will do.
    assert blocking_pairs(problem, []) == [(1, 10), (1, 11), (1, 12), (1, 13)]
    # Holding the far unranked 13, the nearer 12 is a swap they would make.
    assert blocking_pairs(problem, [(1, 13)]) == [(1, 10), (1, 11), (1, 12)]


def test_blocking_pairs_host_cap_turns_away_newcomers_only() -> None:
    slots = [_slot(10, host=1), _slot(11, host=1, capacity=2)]
    arcs = [Arc(1, 10, rank=1), Arc(1, 11, rank=1), Arc(2, 11, rank=1)]
    problem = _problem(2, slots, arcs, hosts=(HostSpec(1, max_students=1),),
                       max_per_kind=(2, 0, 0))  # fmt: skip
    assert blocking_pairs(problem, [(1, 10)]) == [(1, 11)]  # already at the host
    # Student 2 is turned away by the cap; slot 11 has room but holds nobody worse.
    assert blocking_pairs(problem, [(1, 10), (1, 11)]) == []


def test_blocking_pairs_pinned_students_are_not_displaced() -> None:
    pinned = dataclasses.replace(_contested((2, 1)), pins=((1, 10),))
    assert blocking_pairs(pinned, [(1, 10), (2, 20)]) == []
    assert blocking_pairs(_contested((2, 1)), [(1, 10), (2, 20)]) == [(2, 10)]


# Brute force: with one placement per student, deferred acceptance is the student-optimal
# stable matching.


@st.composite
def _one_placement_instances(draw: st.DrawFn) -> tuple[Problem, int]:
    n_students, n_slots = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    slots = [_slot(10 + k, host=1 + k % 2, opportunity=draw(st.integers(1, 3)),
                   capacity=draw(st.integers(1, 2))) for k in range(n_slots)]  # fmt: skip
    small = st.none() | st.integers(1, 3)
    arcs = [Arc(s, slot.id, rank=draw(small), travel_min=draw(st.integers(0, 2)),
                host_rank=draw(small))
            for s in range(1, n_students + 1) for slot in slots if draw(st.booleans())]  # fmt: skip
    return _problem(n_students, slots, arcs), draw(st.integers(0, 3))


def _student_key(arc: Arc) -> tuple[bool, int, int, int]:
    return (arc.rank is None, arc.rank or 0, arc.travel_min, arc.slot)


def _brute_blocking(problem: Problem, match: dict[int, Arc], seed: int) -> list[tuple[int, int]]:
    """Blocking pairs of a one-placement matching, straight from the textbook definition."""
    place = lottery(problem, seed)
    capacity = {s.id: s.capacity for s in problem.slots}
    by_slot: dict[int, list[Arc]] = {}
    for arc in match.values():
        by_slot.setdefault(arc.slot, []).append(arc)

    def host_key(arc: Arc) -> tuple[bool, int, int]:
        return (arc.host_rank is None, arc.host_rank or 0, place[arc.student])

    out = []
    for arc in problem.arcs:
        current = match.get(arc.student)
        if current == arc:
            continue
        wants = current is None or _student_key(arc) < _student_key(current)
        holders = by_slot.get(arc.slot, [])
        takes = len(holders) < capacity[arc.slot] or any(
            host_key(h) > host_key(arc) for h in holders
        )
        if wants and takes:
            out.append((arc.student, arc.slot))
    return sorted(out)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(_one_placement_instances())
def test_deferred_acceptance_is_the_student_optimal_stable_matching(case: tuple) -> None:
    problem, seed = case
    own: dict[int, list[Arc | None]] = {s.id: [None] for s in problem.students}
    for arc in problem.arcs:
        own[arc.student].append(arc)
    capacity = {s.id: s.capacity for s in problem.slots}
    stable: list[dict[int, Arc]] = []
    for choice in itertools.product(*own.values()):
        match = {a.student: a for a in choice if a is not None}
        seats = [a.slot for a in match.values()]
        if any(seats.count(k) > capacity[k] for k in set(seats)):
            continue
        placed = sorted((a.student, a.slot) for a in match.values())
        expected = _brute_blocking(problem, match, seed)
        assert blocking_pairs(problem, placed, seed=seed) == expected
        if not expected:
            stable.append(match)

    result = _valid(problem, deferred_acceptance(problem, seed))
    arcs = {(a.student, a.slot): a for a in problem.arcs}
    da = {s: arcs[(s, k)] for s, k in result}
    assert da in stable
    assert blocking_pairs(problem, result, seed=seed) == []
    worst = (True, 1 << 30, 0, 0)  # no placement: worse than any arc
    for other in stable:
        for student in own:
            mine = _student_key(da[student]) if student in da else worst
            theirs = _student_key(other[student]) if student in other else worst
            assert mine <= theirs


# Several placements per student, no rule between them but kind limits and one slot per
# opportunity: still stable.


@st.composite
def _many_placement_instances(draw: st.DrawFn, side_rules: bool = False) -> tuple[Problem, int]:
    n_students = draw(st.integers(1, 6))
    slots: list[SlotSpec] = []
    for opportunity in range(1, draw(st.integers(1, 5)) + 1):
        kind, host = draw(st.integers(0, 2)), draw(st.integers(1, 3))
        for _ in range(draw(st.integers(1, 3))):
            sessions: tuple[tuple[int, int], ...] = ()
            weeks: tuple[tuple[int, int], ...] = ()
            if side_rules:
                start = draw(st.integers(0, 20))
                sessions = draw(st.sampled_from([(), ((start, start + draw(st.integers(1, 8))),)]))
                weeks = ((draw(st.integers(1, 2)), draw(st.integers(60, 300))),)
            slots.append(_slot(100 + len(slots), host=host, opportunity=opportunity, kind=kind,
                               capacity=draw(st.integers(1, 3)), sessions=sessions,
                               weeks=weeks))  # fmt: skip
    small = st.none() | st.integers(1, 4)
    cap = st.none() | st.sampled_from([200, 400]) if side_rules else st.none()
    arcs = [Arc(s, slot.id, rank=draw(small), travel_min=draw(st.integers(0, 3)),
                host_rank=draw(small), weekly_cap=draw(cap))
            for s in range(1, n_students + 1) for slot in slots if draw(st.booleans())]  # fmt: skip
    group = st.none() | st.integers(1, 2) if side_rules else st.none()
    students = tuple(StudentSpec(s, group=draw(group)) for s in range(1, n_students + 1))
    host_cap = st.none() | st.integers(1, 3) if side_rules else st.none()
    hosts = tuple(HostSpec(h, max_students=draw(host_cap)) for h in (1, 2, 3))
    limits = (draw(st.integers(0, 2)), draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    problem = _problem(students, slots, arcs, hosts=hosts, max_per_kind=limits)
    if side_rules and draw(st.booleans()):
        # Pins drawn from a valid placement keep every rule together.
        base = serial_dictatorship(problem, seed=draw(st.integers(0, 9)))
        pins = tuple(p for p in base if draw(st.booleans()))
        problem = dataclasses.replace(problem, pins=pins)
    return problem, draw(st.integers(0, 3))


@settings(max_examples=200, deadline=None, derandomize=True)
@given(_many_placement_instances())
def test_deferred_acceptance_without_side_rules_has_no_blocking_pair(case: tuple) -> None:
    problem, seed = case
    result = _valid(problem, deferred_acceptance(problem, seed))
    assert blocking_pairs(problem, result, seed=seed) == []


@settings(max_examples=300, deadline=None, derandomize=True)
@given(_many_placement_instances(side_rules=True))
def test_matchings_with_side_rules_keep_every_hard_rule(case: tuple) -> None:
    problem, seed = case
    result = _valid(problem, deferred_acceptance(problem, seed))
    assert deferred_acceptance(problem, seed) == result
    _valid(problem, serial_dictatorship(problem, seed))
    pairs = blocking_pairs(problem, result, seed=seed)
    assert set(pairs).isdisjoint(result)
    assert set(pairs) <= {(a.student, a.slot) for a in problem.arcs}


@settings(max_examples=200, deadline=None, derandomize=True)
@given(_many_placement_instances(side_rules=True))
def test_satisfying_blocking_pairs_keeps_every_rule_and_leaves_no_more_pairs(case: tuple) -> None:
    problem, seed = case
    start = deferred_acceptance(problem, seed)
    result, pairs = satisfy_blocking_pairs(problem, start, seed=seed)
    _valid(problem, result)
    assert set(problem.pins) <= set(result)
    assert pairs == blocking_pairs(problem, result, seed=seed)
    assert len(pairs) <= len(blocking_pairs(problem, start, seed=seed))
    assert satisfy_blocking_pairs(problem, start, seed=seed) == (result, pairs)
