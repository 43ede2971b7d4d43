"""The CP-SAT model of a placement problem: one ``add_<rule>`` per hard rule.

Variables (the legend)::

    x[a]        arc a's student takes arc a's slot (one Boolean per candidate arc)
    placed[s]   student s holds at least one placement
    extra[s][k] student s holds at least k + 2 placements (for the count penalty)
    at_host     student s is among host h's students (only where h has a cap and s has
                several slots there; a single slot's x stands in for it)
    group_host  group g's internships are at host h

Per-pair rules (eligibility, travel, release windows, vetoes) are already decided: an arc
exists only where they hold. The objective levels are built as expressions by
``placed_expr`` etc.; :mod:`solver.solve` optimises them one after another.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from itertools import pairwise

from ortools.sat.python import cp_model

from solver.conflicts import overlap_cliques
from solver.objective import scale_of
from solver.problem import INTERNSHIP, Arc, Problem, SlotSpec


class PlacementModel:
    """A CP-SAT model of ``problem`` with every hard rule added."""

    def __init__(self, problem: Problem, *, single: bool = False) -> None:
        """``single`` gives every student at most one placement (pinned students just their
        pins): enough for level 1, and far smaller, since one placement keeps every rule of
        the student's own; only capacities, groups and pins remain."""
        self.problem = problem
        self.single = single
        self.scale = scale_of(problem)
        self.model = cp_model.CpModel()
        self.slots: dict[int, SlotSpec] = {s.id: s for s in problem.slots}
        pins = set(problem.pins)
        pinned = {s for s, _ in pins}
        self.arcs: list[Arc] = sorted(
            (
                a
                for a in problem.arcs
                if a.slot in self.slots
                and (not single or a.student not in pinned or (a.student, a.slot) in pins)
            ),
            key=lambda a: (a.student, a.slot),
        )
        self.index: dict[tuple[int, int], int] = {
            (a.student, a.slot): i for i, a in enumerate(self.arcs)
        }
        self.x: list[cp_model.IntVar] = [self.model.new_bool_var("") for _ in self.arcs]
        self.by_student: dict[int, list[int]] = defaultdict(list)
        self.by_slot: dict[int, list[int]] = defaultdict(list)
        for i, arc in enumerate(self.arcs):
            self.by_student[arc.student].append(i)
            self.by_slot[arc.slot].append(i)
        self.placed: dict[int, cp_model.LinearExprT] = {}
        self.placed_var: dict[int, cp_model.IntVar] = {}  # only where placed is its own var
        self.extra: dict[int, list[cp_model.IntVar]] = {}
        # Indicators implied by arcs (at_host, group_host, weekly enforcement): var and the
        # arcs that imply it, so a hint can set each to whether any of its arcs is taken.
        self.indicators: list[tuple[cp_model.IntVar, list[int]]] = []
        self.add_placement_counts()
        self.add_slot_capacity()
        self.add_host_capacity()
        if not single:
            self.add_kind_limits()
            self.add_one_per_opportunity()
            self.add_no_overlap()
            self.add_weekly_hours()
        self.add_groups()
        self.add_pins()

    # --- rules -----------------------------------------------------------------------------

    def add_placement_counts(self) -> None:
        """Define placed[s] and the extra-placement indicators from the x of each student.

        sum x = placed + sum extra, with extra[0] <= placed and each extra at most the one
        before, so placed is 1 exactly when the student holds a placement and extra[k] when
        they hold k + 2 or more.
        """
        limit = 1 if self.single else self.scale.max_placements
        pinned = {s for s, _ in self.problem.pins}
        for student, arcs in self.by_student.items():
            xs = [self.x[i] for i in arcs]
            if self.single and student in pinned:
                self.placed[student] = 1  # held by the pins
                self.extra[student] = []
                continue
            most = min(len(xs), limit)
            if most == 1:
                self.model.add(sum(xs) <= 1)
                self.placed[student] = xs[0] if len(xs) == 1 else cp_model.LinearExpr.sum(xs)
                self.extra[student] = []
                continue
            placed = self.model.new_bool_var("")
            extra = [self.model.new_bool_var("") for _ in range(most - 1)]
            self.model.add(cp_model.LinearExpr.sum(xs) == placed + cp_model.LinearExpr.sum(extra))
            self.model.add_implication(extra[0], placed)
            for before, after in pairwise(extra):
                self.model.add_implication(after, before)
            self.placed[student] = placed
            self.placed_var[student] = placed
            self.extra[student] = extra

    def add_slot_capacity(self) -> None:
        """Hard: a slot holds at most ``capacity`` students."""
        for slot_id, arcs in self.by_slot.items():
            capacity = self.slots[slot_id].capacity
            if len(arcs) > capacity:
                self.model.add(cp_model.LinearExpr.sum([self.x[i] for i in arcs]) <= capacity)

    def add_host_capacity(self) -> None:
        """Hard: a host with ``max_students`` takes at most that many distinct students."""
        caps = {h.id: h.max_students for h in self.problem.hosts if h.max_students is not None}
        per_host: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
        for i, arc in enumerate(self.arcs):
            host = self.slots[arc.slot].host
            if host in caps:
                per_host[host][arc.student].append(i)
        for host, students in per_host.items():
            if len(students) <= caps[host]:
                continue
            members: list[cp_model.IntVar] = []
            for arcs in students.values():
                if self.single:  # one placement at most: the sum is the indicator
                    members.extend(self.x[i] for i in arcs)
                    continue
                if len(arcs) == 1:
                    members.append(self.x[arcs[0]])
                    continue
                at_host = self.model.new_bool_var("")
                for i in arcs:
                    self.model.add_implication(self.x[i], at_host)
                self.indicators.append((at_host, arcs))
                members.append(at_host)
            self.model.add(cp_model.LinearExpr.sum(members) <= caps[host])

    def add_kind_limits(self) -> None:
        """Hard: a student holds at most ``max_per_kind`` placements of each kind."""
        for arcs in self.by_student.values():
            per_kind: dict[int, list[int]] = defaultdict(list)
            for i in arcs:
                per_kind[self.slots[self.arcs[i].slot].kind].append(i)
            for kind, members in per_kind.items():
                limit = self.problem.max_per_kind[kind]
                if len(members) > limit:
                    self.model.add(cp_model.LinearExpr.sum([self.x[i] for i in members]) <= limit)

    def add_one_per_opportunity(self) -> None:
        """Hard: a student takes at most one slot of an opportunity (one dated shadow)."""
        for arcs in self.by_student.values():
            per_opp: dict[int, list[int]] = defaultdict(list)
            for i in arcs:
                per_opp[self.slots[self.arcs[i].slot].opportunity].append(i)
            for members in per_opp.values():
                if len(members) > 1:
                    self.model.add_at_most_one(self.x[i] for i in members)

    def add_no_overlap(self) -> None:
        """Hard: no two of a student's slots have overlapping sessions.

        One at-most-one per clique of mutually overlapping slots (solver.conflicts) and
        student, instead of one constraint per clashing pair.
        """
        cliques_of: dict[int, list[int]] = defaultdict(list)
        for c, clique in enumerate(overlap_cliques(self.problem.slots)):
            for slot in clique:
                cliques_of[slot].append(c)
        for arcs in self.by_student.values():
            buckets: dict[int, list[int]] = defaultdict(list)
            for i in arcs:
                for c in cliques_of.get(self.arcs[i].slot, ()):
                    buckets[c].append(i)
            seen: set[tuple[int, ...]] = set()
            for members in buckets.values():
                key = tuple(members)
                if len(members) > 1 and key not in seen:
                    seen.add(key)
                    self.model.add_at_most_one(self.x[i] for i in members)

    def add_weekly_hours(self) -> None:
        """Hard: a minor's busiest week stays within the cap for their age.

        The cap that applies is the tightest among the placements taken (a student who turns
        16 mid-term has the under-16 cap while they hold a slot starting before that), so each
        distinct cap is enforced on every week as soon as any arc carrying it is taken.
        """
        for arcs in self.by_student.values():
            caps = {self.arcs[i].weekly_cap for i in arcs}
            if caps == {None}:
                continue
            per_week: dict[int, list[tuple[int, int]]] = defaultdict(list)
            for i in arcs:
                for week, minutes in self.slots[self.arcs[i].slot].week_minutes:
                    per_week[week].append((i, minutes))
            uniform = len(caps) == 1
            for cap in sorted(c for c in caps if c is not None):
                heavy = [terms for terms in per_week.values() if sum(m for _, m in terms) > cap]
                if not heavy:
                    continue
                enforce = None
                if not uniform:
                    enforce = self.model.new_bool_var("")
                    carrying = [i for i in arcs if self.arcs[i].weekly_cap == cap]
                    for i in carrying:
                        self.model.add_implication(self.x[i], enforce)
                    self.indicators.append((enforce, carrying))
                for terms in heavy:
                    load = cp_model.LinearExpr.weighted_sum(
                        [self.x[i] for i, _ in terms], [m for _, m in terms]
                    )
                    constraint = self.model.add(load <= cap)
                    if enforce is not None:
                        constraint.only_enforce_if(enforce)

    def add_groups(self) -> None:
        """Hard: the members of a group who get an internship all get it at one host."""
        members: dict[int, list[int]] = defaultdict(list)
        for s in self.problem.students:
            if s.group is not None:
                members[s.group].append(s.id)
        for group_members in members.values():
            per_host: dict[int, list[int]] = defaultdict(list)
            for student in group_members:
                for i in self.by_student.get(student, ()):
                    slot = self.slots[self.arcs[i].slot]
                    if slot.kind == INTERNSHIP:
                        per_host[slot.host].append(i)
            if len(per_host) <= 1:
                continue
            chosen = []
            for arcs in per_host.values():
                group_host = self.model.new_bool_var("")
                for i in arcs:
                    self.model.add_implication(self.x[i], group_host)
                self.indicators.append((group_host, arcs))
                chosen.append(group_host)
            self.model.add_at_most_one(chosen)

    def add_pins(self) -> None:
        """Hard: a pinned placement is in the result (pins without an arc are refused
        earlier, by :func:`solver.solve.solve`)."""
        for pair in self.problem.pins:
            if pair in self.index:
                self.model.add(self.x[self.index[pair]] == 1)

    # --- objective levels ------------------------------------------------------------------

    def placed_expr(self) -> cp_model.LinearExpr:
        """Level 1 (maximise): the priority-weighted number of students placed."""
        weights = {s.id: s.weight for s in self.problem.students}
        students = sorted(self.placed)
        return cp_model.LinearExpr.weighted_sum(
            [self.placed[s] for s in students], [weights.get(s, 1) for s in students]
        )

    def kept_expr(self) -> cp_model.LinearExpr:
        """Re-solve level (maximise): previous placements kept."""
        kept = [self.x[self.index[p]] for p in set(self.problem.previous) if p in self.index]
        return cp_model.LinearExpr.sum(kept)

    def preference_expr(self) -> cp_model.LinearExpr:
        """Level 2 (maximise): preference values less the per-student count penalty."""
        variables: list[cp_model.IntVar] = []
        coefficients: list[int] = []
        for i, arc in enumerate(self.arcs):
            value = self.scale.preference(arc)
            if value:
                variables.append(self.x[i])
                coefficients.append(value)
        for extra in self.extra.values():
            for k, var in enumerate(extra, start=2):
                variables.append(var)
                coefficients.append(-self.scale.count_penalty(k))
        return cp_model.LinearExpr.weighted_sum(variables, coefficients)

    def travel_expr(self) -> cp_model.LinearExpr:
        """Level 3 (minimise): travel minutes, less one per new career cluster."""
        return cp_model.LinearExpr.weighted_sum(self.x, [self.scale.travel(a) for a in self.arcs])

    def expr(self, level: str) -> cp_model.LinearExpr:
        """The expression of an objective level by name (see solver.objective.level_names)."""
        return {
            "placed": self.placed_expr,
            "kept": self.kept_expr,
            "preference": self.preference_expr,
            "travel": self.travel_expr,
        }[level]()

    # --- hints and values ------------------------------------------------------------------

    def hint(self, assignments: Sequence[tuple[int, int]]) -> None:
        """Start the search from ``assignments`` (every variable gets a hinted value)."""
        self.model.clear_hints()
        chosen = {self.index[p] for p in assignments if p in self.index}
        counts: dict[int, int] = defaultdict(int)
        for i in chosen:
            counts[self.arcs[i].student] += 1
        for i, var in enumerate(self.x):
            self.model.add_hint(var, i in chosen)
        for student, placed in self.placed_var.items():
            self.model.add_hint(placed, counts[student] >= 1)
        for student, extra in self.extra.items():
            for k, var in enumerate(extra, start=2):
                self.model.add_hint(var, counts[student] >= k)
        for var, arcs in self.indicators:
            self.model.add_hint(var, any(i in chosen for i in arcs))

    def assignments(self, values: Sequence[int]) -> tuple[tuple[int, int], ...]:
        """The (student, slot) pairs set in a copied CP-SAT solution vector."""
        return tuple(
            (arc.student, arc.slot) for arc, var in zip(self.arcs, self.x, strict=True)
            if values[var.index]
        )  # fmt: skip
