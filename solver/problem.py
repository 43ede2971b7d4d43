"""What the solver is given: a fully prepared placement instance, integers throughout.

Everything that needs dates, places or the database (eligibility, travel times, release
windows, ages) is decided before this point: a student-slot pair the student may take at
all is an :class:`Arc`; a pair without an arc is simply not possible. What remains here are
the rules that tie several placements together (capacity, per-kind limits, overlaps, weekly
hours, groups, pins).
"""

from __future__ import annotations

from dataclasses import dataclass, field

JOB_SHADOW, INTERNSHIP, MICRO_INTERNSHIP = 0, 1, 2
KIND_NAMES = ("job_shadow", "internship", "micro_internship")


@dataclass(frozen=True)
class StudentSpec:
    """A student: ``weight`` is the priority weight (1 plus the weights of their flags)."""

    id: int
    weight: int = 1
    # Students sharing a group want their internships at one host (None: no group).
    group: int | None = None


@dataclass(frozen=True)
class HostSpec:
    """A host: ``max_students`` caps distinct students across its slots (None: no cap)."""

    id: int
    max_students: int | None = None


@dataclass(frozen=True)
class SlotSpec:
    """One placeable slot of an opportunity, holding up to ``capacity`` students."""

    id: int
    host: int
    opportunity: int
    kind: int  # JOB_SHADOW, INTERNSHIP or MICRO_INTERNSHIP
    capacity: int
    # Sessions as [start, end) minutes on a common clock; two slots overlap when any of
    # their sessions do. Flexible slots have none and overlap nothing.
    sessions: tuple[tuple[int, int], ...] = ()
    # Minutes the slot takes in each ISO week it touches: (week number, minutes).
    week_minutes: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Arc:
    """A slot a student may take: every per-pair hard rule already holds."""

    student: int
    slot: int
    # The student's rank of the opportunity (1 is best); None for an unranked candidate,
    # which is always worth less than any ranked one.
    rank: int | None
    travel_min: int = 0
    # The slot's career cluster is new to the student (outside their prior clusters).
    new_cluster: bool = False
    # Weekly-hours cap, in minutes, that applies to the student when taking this slot (it
    # depends on their age on the slot's first day); None: no cap.
    weekly_cap: int | None = None
    # The host's rank of the student for this slot's opportunity (host_reviews.csv, 1 is
    # best, ties already broken by the seeded lottery); None: the host did not rank them,
    # which puts them after every ranked student (stable mode only).
    host_rank: int | None = None


@dataclass(frozen=True)
class Problem:
    """A placement instance; ids are unique within their kind and arcs refer to them."""

    students: tuple[StudentSpec, ...]
    hosts: tuple[HostSpec, ...]
    slots: tuple[SlotSpec, ...]
    arcs: tuple[Arc, ...]
    # Most placements a student may hold of each kind, indexed like KIND_NAMES.
    max_per_kind: tuple[int, int, int] = (2, 1, 1)
    # (student, slot) pairs that must be in the result.
    pins: tuple[tuple[int, int], ...] = field(default=())
    # The placements of the previous solve, for a re-solve that moves as few students as it
    # can; empty for a first solve.
    previous: tuple[tuple[int, int], ...] = field(default=())


@dataclass(frozen=True)
class Params:
    """How to solve: always bounded in time, seeded, and with a known number of workers."""

    time_limit_s: float = 60.0
    workers: int = 2
    seed: int = 0
    mode: str = "welfare"  # or "stable"
