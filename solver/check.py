"""An independent checker of every hard rule, from the instance alone.

It shares no code with the model: a placement is checked against the rules as DESIGN.md
states them, so a modelling mistake shows up as a violation here. Every solver test runs it.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from solver.problem import INTERNSHIP, KIND_NAMES, Arc, Problem, SlotSpec


@dataclass(frozen=True, order=True)
class Violation:
    """One broken rule: which rule, and a sentence saying who and where."""

    rule: str
    message: str


def check_assignments(problem: Problem, assignments: Iterable[tuple[int, int]]) -> list[Violation]:
    """Every hard-rule violation in a set of ``(student, slot)`` placements; [] when valid."""
    placed = list(assignments)
    slots = {s.id: s for s in problem.slots}
    hosts = {h.id: h for h in problem.hosts}
    students = {s.id: s for s in problem.students}
    arcs: dict[tuple[int, int], Arc] = {(a.student, a.slot): a for a in problem.arcs}
    out: list[Violation] = []

    def bad(rule: str, message: str) -> None:
        out.append(Violation(rule, message))

    # Only candidate pairs: a pair without an arc breaks a per-pair rule (eligibility,
    # travel, release window, veto) that was decided before the solve.
    for pair, times in Counter(placed).items():
        student, slot = pair
        if student not in students or slot not in slots:
            bad("unknown", f"student {student} / slot {slot}: not in the problem")
        elif pair not in arcs:
            bad("eligibility", f"student {student} may not take slot {slot} (no candidate arc)")
        if times > 1:
            bad("duplicate", f"student {student} is placed in slot {slot} {times} times")
    valid = sorted({p for p in placed if p in arcs})

    by_slot: dict[int, list[int]] = defaultdict(list)
    by_student: dict[int, list[SlotSpec]] = defaultdict(list)
    for student, slot in valid:
        by_slot[slot].append(student)
        by_student[student].append(slots[slot])

    # Capacity of each slot.
    for slot_id, members in sorted(by_slot.items()):
        if len(members) > slots[slot_id].capacity:
            bad("capacity", f"slot {slot_id} holds {len(members)} > capacity "
                f"{slots[slot_id].capacity}")  # fmt: skip

    # A host's cap counts distinct students across all its slots.
    host_students: dict[int, set[int]] = defaultdict(set)
    for student, slot in valid:
        host_students[slots[slot].host].add(student)
    for host_id, members in sorted(host_students.items()):
        cap = hosts[host_id].max_students if host_id in hosts else None
        if cap is not None and len(members) > cap:
            bad("host_capacity", f"host {host_id} takes {len(members)} students > {cap}")

    for student, taken in sorted(by_student.items()):
        # Per-kind limits.
        kinds = Counter(s.kind for s in taken)
        for kind, count in sorted(kinds.items()):
            if count > problem.max_per_kind[kind]:
                bad("kind_limit", f"student {student} has {count} {KIND_NAMES[kind]} placements "
                    f"> {problem.max_per_kind[kind]}")  # fmt: skip
        # At most one slot of an opportunity.
        for opportunity, count in sorted(Counter(s.opportunity for s in taken).items()):
            if count > 1:
                message = f"student {student} has {count} slots of opportunity {opportunity}"
                bad("one_per_opportunity", message)
        # No two placements whose sessions overlap.
        ordered = sorted(taken, key=lambda s: s.id)
        for i, first in enumerate(ordered):
            for second in ordered[i + 1 :]:
                if _overlap(first, second):
                    bad("overlap", f"student {student}: slots {first.id} and {second.id} overlap")
        # Weekly hours: the busiest week within every cap that applies to a placement taken.
        weeks: Counter[int] = Counter()
        for s in taken:
            for week, minutes in s.week_minutes:
                weeks[week] += minutes
        busiest = max(weeks.values(), default=0)
        caps = [arcs[(student, s.id)].weekly_cap for s in taken]
        tightest = min((c for c in caps if c is not None), default=None)
        if tightest is not None and busiest > tightest:
            bad("weekly_hours", f"student {student} has {busiest} min in the busiest week "
                f"> cap {tightest}")  # fmt: skip

    # Members of a group who get an internship get it at one host.
    group_hosts: dict[int, set[int]] = defaultdict(set)
    for student, slot in valid:
        spec = students.get(student)
        if spec and spec.group is not None and slots[slot].kind == INTERNSHIP:
            group_hosts[spec.group].add(slots[slot].host)
    for group, host_set in sorted(group_hosts.items()):
        if len(host_set) > 1:
            bad("group", f"group {group} has internships at hosts {sorted(host_set)}")

    # Pins are kept.
    placed_set = set(placed)
    for pin in problem.pins:
        if pin not in placed_set:
            bad("pin", f"pinned placement of student {pin[0]} in slot {pin[1]} is missing")
    return sorted(out)


def _overlap(a: SlotSpec, b: SlotSpec) -> bool:
    return any(s1 < e2 and s2 < e1 for s1, e1 in a.sessions for s2, e2 in b.sessions)
