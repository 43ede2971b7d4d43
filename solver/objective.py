"""The objective, level by level, as integer coefficients shared by every method.

DESIGN.md orders the welfare objective lexicographically: (1) the priority-weighted number of
students placed, (2) preference satisfaction spread over many students, (3) total travel time,
(4) a bonus for a career cluster new to the student. A re-solve puts "previous placements
kept" right after (1), so newcomers are placed first and then as few students as possible move.

One weighted sum cannot keep that order at 50,000 students without overflowing 64-bit
integers, so the levels are optimised one after another, each holding the ones before at
their optimum. Levels (3) and (4) do fit in one sum: travel minutes are weighted by one more
than the most placements there can be, so no number of new-cluster bonuses outweighs a minute.

Preference (level 2), per placement, maximised:

- a ranked choice is worth ``(R + 2)**2 - rank**2`` (R: the largest rank in the problem). The
  value falls faster the worse the rank, so two students at their second choice beat one at
  the first and one at the third: top choices are spread over many students;
- an unranked candidate is worth 0: it is there to place a student (level 1), not as a prize;
- a student's k-th placement (k >= 2) costs ``R * (k - 1)``, so a scarce seat goes to a
  student with fewer placements when the ranks are equal, yet an extra ranked placement is
  always worth taking (``(R+2)**2 - R**2 - 3R > 0``).

This module is the single definition: the flow, the CP-SAT model, the baselines' scoring and
the tests all call :func:`evaluate` or the coefficient functions below.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from solver.problem import Arc, Problem


@dataclass(frozen=True)
class Scale:
    """The coefficients of one problem."""

    max_rank: int  # R: the largest rank any arc carries (1 when none is ranked)
    max_placements: int  # the most placements a student can hold (sum of the per-kind limits)
    travel_weight: int  # weight of a travel minute in level 3, above any cluster bonus total

    def preference(self, arc: Arc) -> int:
        """Level-2 value of taking this arc, before the per-student count penalty."""
        if arc.rank is None:
            return 0
        return (self.max_rank + 2) ** 2 - arc.rank**2

    def count_penalty(self, k: int) -> int:
        """Level-2 cost of a student's k-th placement (k counts from 1)."""
        return self.max_rank * (k - 1)

    def travel(self, arc: Arc) -> int:
        """Level-3 cost of taking this arc: its minutes, less one for a new career cluster."""
        return arc.travel_min * self.travel_weight - (1 if arc.new_cluster else 0)


def scale_of(problem: Problem) -> Scale:
    """The coefficients of ``problem``'s objective."""
    max_rank = max((a.rank for a in problem.arcs if a.rank is not None), default=1)
    per_student = sum(problem.max_per_kind)
    placements = min(len(problem.arcs), per_student * len(problem.students))
    return Scale(max(1, max_rank), max(1, per_student), placements + 1)


def evaluate(problem: Problem, assignments: Iterable[tuple[int, int]]) -> tuple[int, ...]:
    """The objective levels of a placement: (placed, [kept,] preference, travel).

    ``placed`` is the priority-weighted number of students with at least one placement;
    ``kept`` (only when the problem has previous placements) how many of those are kept;
    ``preference`` and ``travel`` as in the module docstring (travel is a cost: lower is
    better, the others higher). Pairs without an arc are ignored; the checker reports them.
    """
    scale = scale_of(problem)
    arcs = {(a.student, a.slot): a for a in problem.arcs}
    weights = {s.id: s.weight for s in problem.students}
    taken = sorted({p for p in assignments if p in arcs})
    counts = Counter(student for student, _ in taken)
    placed = sum(weights.get(student, 0) for student in counts)
    preference = sum(scale.preference(arcs[p]) for p in taken) - sum(
        scale.count_penalty(k) for n in counts.values() for k in range(1, n + 1)
    )
    travel = sum(scale.travel(arcs[p]) for p in taken)
    if problem.previous:
        kept = len(set(problem.previous) & set(taken))
        return (placed, kept, preference, travel)
    return (placed, preference, travel)


def level_names(problem: Problem) -> tuple[str, ...]:
    """Names of the levels :func:`evaluate` returns, in order."""
    if problem.previous:
        return ("placed", "kept", "preference", "travel")
    return ("placed", "preference", "travel")


def better(problem: Problem, a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    """True when objective values ``a`` are lexicographically better than ``b``."""
    return _key(problem, a) > _key(problem, b)


def _key(problem: Problem, values: tuple[int, ...]) -> tuple[int, ...]:
    # Travel is minimised; every other level is maximised.
    return tuple(
        -v if name == "travel" else v for name, v in zip(level_names(problem), values, strict=True)
    )
