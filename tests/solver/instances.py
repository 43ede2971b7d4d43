"""Seeded random placement problems for the solver tests, with every kind of side rule."""

from __future__ import annotations

from random import Random

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

DAY = 24 * 60
WEEK = 7 * DAY


def random_problem(
    seed: int,
    *,
    students: int = 8,
    hosts: int = 3,
    opportunities: int = 5,
    choices: int = 3,
    side_rules: bool = True,
    max_per_kind: tuple[int, int, int] = (2, 1, 1),
    unranked: int = 0,
) -> Problem:
    """A problem of the given size; ``side_rules=False`` leaves out sessions, weekly caps,
    groups and host caps (a pure capacity instance). The first ``unranked`` students rank
    nothing: each opportunity is one of their (unranked) candidates at even odds."""
    rng = Random(seed)
    host_specs = tuple(
        HostSpec(h, rng.choice([None, 1, 2, 3]) if side_rules else None) for h in range(hosts)
    )
    slots: list[SlotSpec] = []
    for o in range(opportunities):
        kind = rng.choice((JOB_SHADOW, JOB_SHADOW, INTERNSHIP, MICRO_INTERNSHIP))
        host = rng.randrange(hosts)
        n_slots = rng.randint(1, 3) if kind == JOB_SHADOW else 1
        for _ in range(n_slots):
            sessions: tuple[tuple[int, int], ...] = ()
            weeks: tuple[tuple[int, int], ...] = ()
            if side_rules and kind != MICRO_INTERNSHIP:
                day = rng.randrange(3) * DAY + rng.choice((9, 13, 14)) * 60
                length = rng.choice((120, 180, 240))
                repeat = 3 if kind == INTERNSHIP else 1
                sessions = tuple((day + w * WEEK, day + w * WEEK + length) for w in range(repeat))
                weeks = tuple((w, length) for w in range(repeat))
            elif side_rules:
                weeks = ((0, 300), (1, 300))
            slots.append(SlotSpec(len(slots), host, o, kind, rng.randint(1, 2), sessions, weeks))
    student_specs = tuple(
        StudentSpec(
            s,
            weight=rng.choice((1, 1, 3, 4)),
            group=(s // 2 if side_rules and s < 4 else None),
        )
        for s in range(students)
    )
    by_opp: dict[int, list[SlotSpec]] = {}
    for slot in slots:
        by_opp.setdefault(slot.opportunity, []).append(slot)
    arcs: list[Arc] = []
    for s in range(students):
        if s < unranked:
            ranked, odds = [], 0.5
        else:
            ranked, odds = rng.sample(range(opportunities), min(choices, opportunities)), 0.3
        others = [o for o in range(opportunities) if o not in ranked and rng.random() < odds]
        cap = rng.choice((None, 300, 480)) if side_rules else None
        for rank, o in enumerate(ranked, start=1):
            for slot in by_opp.get(o, ()):
                if rng.random() < 0.85:
                    arcs.append(Arc(s, slot.id, rank, rng.randint(5, 45), rng.random() < 0.5, cap))
        for o in others:
            for slot in by_opp.get(o, ()):
                arcs.append(Arc(s, slot.id, None, rng.randint(5, 45), rng.random() < 0.5, cap))
    return Problem(
        students=student_specs,
        hosts=host_specs,
        slots=tuple(slots),
        arcs=tuple(arcs),
        max_per_kind=max_per_kind,
    )
