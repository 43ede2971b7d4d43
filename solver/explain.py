"""Why a student is unplaced, and which extra seats would place the most students.

Reasons are structured (a code, plus the slots and rivals involved) so that the caller, who
knows names and dates, can turn them into sentences a coordinator can act on:

- ``no_candidate``: no slot passes the student's per-pair rules (the caller knows which rule
  cut each ranked choice);
- ``filled``: every slot the student could take is full, or its host is at its cap; for each,
  who holds it and on what grounds (their rank of it, their priority weight);
- ``rules``: a slot had room, but taking it would break the student's group rule;
- ``not_proven``: a slot had room and no rule forbids it, so the solve ran out of time.

Suggestions come from the flow relaxation re-solved with extra seats at a price just below
one placement: the slots where it adds seats are the ones that place the most students.
They ignore overlaps, weekly hours and groups, so "would place" is an upper estimate.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from solver.flow import solve_flow
from solver.problem import INTERNSHIP, Arc, Problem
from solver.solution import Solution


@dataclass(frozen=True)
class Holder:
    """A student holding a seat an unplaced student wanted, and why they won it."""

    student: int
    rank: int | None  # their rank of the opportunity (None: unranked)
    weight: int  # their priority weight


@dataclass(frozen=True)
class Blocked:
    """One slot an unplaced student could take, and what stopped it."""

    slot: int
    rank: int | None  # the unplaced student's rank of it
    why: str  # "full", "host_full" or "group"
    holders: tuple[Holder, ...] = ()


@dataclass(frozen=True)
class Explanation:
    """Why one student is unplaced."""

    student: int
    reason: str  # "no_candidate", "filled", "rules" or "not_proven"
    weight: int
    blocked: tuple[Blocked, ...] = ()


@dataclass(frozen=True)
class Suggestion:
    """Extra seats at one opportunity and how many more students they would place."""

    opportunity: int
    host: int
    extra_seats: int
    would_place: int


def explain_unplaced(problem: Problem, solution: Solution) -> dict[int, Explanation]:
    """An :class:`Explanation` for every unplaced student of ``solution``."""
    slots = {s.id: s for s in problem.slots}
    caps = {h.id: h.max_students for h in problem.hosts}
    weights = {s.id: s.weight for s in problem.students}
    group_of = {s.id: s.group for s in problem.students if s.group is not None}
    rank_of: dict[tuple[int, int], int | None] = {}
    by_student: dict[int, list[Arc]] = defaultdict(list)
    for arc in problem.arcs:
        by_student[arc.student].append(arc)
        if arc.slot in slots:
            rank_of[(arc.student, slots[arc.slot].opportunity)] = arc.rank
    holders: dict[int, set[int]] = defaultdict(set)
    host_students: dict[int, set[int]] = defaultdict(set)
    group_hosts: dict[int, set[int]] = defaultdict(set)
    for student, slot in solution.assignments:
        holders[slot].add(student)
        host_students[slots[slot].host].add(student)
        if student in group_of and slots[slot].kind == INTERNSHIP:
            group_hosts[group_of[student]].add(slots[slot].host)

    out: dict[int, Explanation] = {}
    for student in solution.unplaced:
        weight = weights.get(student, 1)
        candidates = sorted(by_student.get(student, ()), key=_order)
        if not candidates:
            out[student] = Explanation(student, "no_candidate", weight)
            continue
        blocked: list[Blocked] = []
        open_slot = False
        group_elsewhere = group_hosts.get(group_of.get(student, -1), set())
        for arc in candidates:
            slot = slots[arc.slot]
            cap = caps.get(slot.host)
            if len(holders[arc.slot]) >= slot.capacity:
                why, held = "full", holders[arc.slot]
            elif cap is not None and len(host_students[slot.host]) >= cap:
                why, held = "host_full", host_students[slot.host]
            elif slot.kind == INTERNSHIP and group_elsewhere - {slot.host}:
                why, held = "group", set()
            else:
                open_slot = True
                continue
            rivals = tuple(
                Holder(h, rank_of.get((h, slot.opportunity)), weights.get(h, 1))
                for h in sorted(held)
            )
            blocked.append(Blocked(arc.slot, arc.rank, why, rivals))
        if open_slot:
            reason = "not_proven"
        elif any(b.why == "group" for b in blocked):
            reason = "rules"
        else:
            reason = "filled"
        out[student] = Explanation(student, reason, weight, tuple(blocked))
    return out


def suggest_seats(problem: Problem, limit: int = 5) -> list[Suggestion]:
    """The opportunities where extra seats would place the most students (best first)."""
    flow = solve_flow(problem, host_caps=False, travel=False, extra_seats=True)
    slots = {s.id: s for s in problem.slots}
    per_opp: Counter[int] = Counter()
    for slot_id, seats in flow.extra_seats.items():
        per_opp[slots[slot_id].opportunity] += seats
    host_of = {s.opportunity: s.host for s in problem.slots}
    ranked = sorted(per_opp.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return [Suggestion(opp, host_of[opp], seats, seats) for opp, seats in ranked]


def _order(arc: Arc) -> tuple[int, int, int]:
    return (arc.rank is None, arc.rank or 0, arc.slot)
