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

import math
from collections import defaultdict
from collections.abc import Collection, Container, Sequence
from itertools import pairwise

from ortools.sat.python import cp_model

from solver.conflicts import exclusive_cliques, overlap_cliques
from solver.objective import scale_of
from solver.problem import INTERNSHIP, Arc, Problem, SlotSpec

# A linear row: variable indices, coefficients, lower and upper bound (infinite: none).
Row = tuple[list[int], list[float], float, float]


class Column:
    """A 0/1 variable of a model written for HiGHS alone (``cp_sat=False``): its index,
    the one a CP-SAT variable would have, and nothing else."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


Var = cp_model.IntVar | Column
# An objective level: variables, their coefficients, and a constant.
Terms = tuple[list[Var], list[int], int]


class _Everyone:
    """Contains every student."""

    def __contains__(self, student: object) -> bool:
        return True


def _unranked_only(problem: Problem) -> set[int]:
    """The students who ranked none of their arcs, with no pin and no previous placement."""
    ranked = {a.student for a in problem.arcs if a.rank is not None}
    held = {s for s, _ in problem.pins} | {s for s, _ in problem.previous}
    return {s.id for s in problem.students} - ranked - held


class PlacementModel:
    """A CP-SAT model of ``problem`` with every hard rule added."""

    def __init__(
        self,
        problem: Problem,
        *,
        single: bool = False,
        only: Collection[tuple[int, int]] | None = None,
        compact: bool = False,
        cp_sat: bool = True,
    ) -> None:
        """``single`` gives every student at most one placement (pinned students just their
        pins): enough for level 1, and far smaller, since one placement keeps every rule of
        the student's own; only capacities, groups and pins remain. ``only`` keeps just
        those (student, slot) arcs (and the pins): a neighbourhood of ``problem`` whose
        objective values are still ``problem``'s. ``compact`` writes a student held to one
        placement (see add_placement_counts) as in ``single``, without the rows of their
        own rules: the same placements in far fewer rows, which suits an LP (measured at
        10,000 students: the preference LP 16 s instead of 43 s) but not HiGHS's branch and
        cut (at 1,000 students a search took 17 s instead of 2 s). Without ``cp_sat`` the
        model is its rows alone, for HiGHS (solver.relax), and no CP-SAT model is built."""
        self.problem = problem
        self.single = single
        self.scale = scale_of(problem)
        self.model: cp_model.CpModel | None = cp_model.CpModel() if cp_sat else None
        self.num_vars = 0
        self.slots: dict[int, SlotSpec] = {s.id: s for s in problem.slots}
        pins = set(problem.pins)
        pinned = {s for s, _ in pins}
        keep = None if only is None else set(only) | pins
        # Students held to one placement (see add_placement_counts), and those of them
        # written without the rows of their own rules.
        self.one: Container[int] = _Everyone() if single else _unranked_only(problem)
        self.bare: Container[int] = self.one if single or compact else ()
        self.arcs: list[Arc] = sorted(
            (
                a
                for a in problem.arcs
                if a.slot in self.slots
                and (not single or a.student not in pinned or (a.student, a.slot) in pins)
                and (keep is None or (a.student, a.slot) in keep)
            ),
            key=lambda a: (a.student, a.slot),
        )
        self.index: dict[tuple[int, int], int] = {
            (a.student, a.slot): i for i, a in enumerate(self.arcs)
        }
        self.x: list[Var] = self._bools(len(self.arcs))
        self.by_student: dict[int, list[int]] = defaultdict(list)
        self.by_slot: dict[int, list[int]] = defaultdict(list)
        for i, arc in enumerate(self.arcs):
            self.by_student[arc.student].append(i)
            self.by_slot[arc.slot].append(i)
        self._sums: dict[int, list[Var]] = {}  # placed as a sum of these x
        self.placed_var: dict[int, Var] = {}  # only where placed is its own var
        self.extra: dict[int, list[Var]] = {}
        # Indicators implied by arcs (at_host, group_host, weekly enforcement): var and the
        # arcs that imply it, so a hint can set each to whether any of its arcs is taken.
        self.indicators: list[tuple[Var, list[int]]] = []
        self.group_hosts: list[Var] = []  # the indicators of a group's internship host
        # Every constraint also as a linear row (variable indices, coefficients, lower,
        # upper) for the LP relaxation (solver.relax): the same rules, not a second copy.
        self.rows: list[Row] = []
        # Per student, groups of arcs of which they take one at most, written together as
        # cliques by _add_exclusions once every rule has given its groups.
        self.exclusive: dict[int, list[list[int]]] = defaultdict(list)
        self.add_placement_counts()
        self.add_slot_capacity()
        self.add_host_capacity()
        self.add_kind_limits()
        if not single:
            self.add_one_per_opportunity()
            self.add_no_overlap()
            self.add_weekly_hours()
        self._add_exclusions()
        self.add_groups()
        self.add_pins()

    # --- rules -----------------------------------------------------------------------------

    def add_placement_counts(self) -> None:
        """Define placed[s] and the extra-placement indicators from the x of each student.

        sum x = placed + sum extra, with extra[0] <= placed and each extra at most the one
        before, so placed is 1 exactly when the student holds a placement and extra[k] when
        they hold k + 2 or more.

        A student who ranked nothing (no pin, no previous placement) holds one placement at
        most. That is no loss: a second placement would add nothing to level 1 and cost
        level 2 its count penalty (unranked arcs have no preference value), and dropping it
        breaks no rule, so no optimal placement has one. Written ``compact`` (their own
        rules drop out), it makes the model far smaller where unranked students spread over
        many remote seats: measured at 10,000 students (4,240 such students, 216,464 arcs),
        70,514 rows instead of 111,022 and the preference LP 16 s instead of 60 s.
        """
        pinned = {s for s, _ in self.problem.pins}
        for student, arcs in self.by_student.items():
            limit = 1 if student in self.bare else self.scale.max_placements
            xs = [self.x[i] for i in arcs]
            if self.single and student in pinned:
                self.extra[student] = []  # placed: held by the pins
                continue
            most = min(len(xs), limit)
            if most == 1:
                if len(xs) > 1:
                    self._at_most_one(xs)
                self._sums[student] = xs
                self.extra[student] = []
                continue
            placed = self._bool()
            extra = self._bools(most - 1)
            self._linear([*xs, placed, *extra], [1] * len(xs) + [-1] * most, 0, 0)
            self._implies(extra[0], placed)
            for before, after in pairwise(extra):
                self._implies(after, before)
            self.placed_var[student] = placed
            self.extra[student] = extra
            if student in self.one:
                self._linear([extra[0]], [1], None, 0)  # one placement at most

    def add_slot_capacity(self) -> None:
        """Hard: a slot holds at most ``capacity`` students."""
        for slot_id, arcs in self.by_slot.items():
            capacity = self.slots[slot_id].capacity
            if len(arcs) > capacity:
                self._linear([self.x[i] for i in arcs], [1] * len(arcs), None, capacity)

    def add_host_capacity(self) -> None:
        """Hard: a host with ``max_students`` takes at most that many distinct students."""
        caps = {h.id: h.max_students for h in self.problem.hosts if h.max_students is not None}
        host_of = {slot.id: slot.host for slot in self.slots.values() if slot.host in caps}
        per_host: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
        for i, arc in enumerate(self.arcs):
            host = host_of.get(arc.slot)
            if host is not None:
                per_host[host][arc.student].append(i)
        for host, students in per_host.items():
            if len(students) <= caps[host]:
                continue
            members: list[Var] = []
            for student, arcs in students.items():
                # The sum over a part the student holds at most one of is already 0 or 1;
                # only several parts at the host need an indicator (see _at_most_one_sums).
                parts = [] if student in self.bare else self._exclusive_parts(arcs)
                if len(parts) <= 1:  # one placement at most there: sum it
                    members.extend(self.x[i] for i in arcs)
                    continue
                at_host = self._bool()
                self._at_most_one_sums(parts, at_host)
                self._placed_only_through(student, at_host, arcs)
                self.indicators.append((at_host, arcs))
                members.append(at_host)
            self._linear(members, [1] * len(members), None, caps[host])

    def _exclusive_parts(self, arcs: list[int]) -> list[list[int]]:
        """``arcs`` (one student's) split into parts the student holds at most one of: one
        part per opportunity, or per kind where the student may hold one of that kind."""
        parts: dict[tuple[int, int], list[int]] = defaultdict(list)
        for i in arcs:
            slot = self.slots[self.arcs[i].slot]
            if self.problem.max_per_kind[slot.kind] <= 1:
                parts[(0, slot.kind)].append(i)
            else:
                parts[(1, slot.opportunity)].append(i)
        return list(parts.values())

    def _at_most_one_sums(self, parts: list[list[int]], indicator: Var) -> None:
        """Any arc of ``parts`` taken sets ``indicator``, written as ``sum(part) <= indicator``
        per part (at most one of a part is taken). In the LP relaxation this is far tighter
        than one implication per arc: two slots of one opportunity at 0.5 each would
        otherwise count as half a student at the host (measured at 10,000 students: the
        preference level's LP bound falls from 264,045 to 255,328)."""
        for part in parts:
            if len(part) == 1:
                self._implies(self.x[part[0]], indicator)
            else:
                xs = [self.x[i] for i in part]
                self._linear([*xs, indicator], [1] * len(xs) + [-1], None, 0)

    def _placed_only_through(self, student: int, indicator: Var, arcs: list[int]) -> None:
        """``placed[student] <= indicator + sum(x of the student's arcs not in arcs)``: a
        student placed through none of their other arcs is placed through ``arcs``, which
        set ``indicator``. Implied for 0/1 choices, but an LP otherwise places a student
        with half of each of two slots at a capped host while counting them as half a
        student there (measured on the generated term of 10,000 students: 337 rows raise
        the travel level's LP bound from 2,807,020,484 to 2,814,548,374 and lower the
        preference level's from 207,056 to 206,911)."""
        placed = self.placed_var.get(student)
        if placed is None:
            return
        inside = set(arcs)
        others = [self.x[i] for i in self.by_student[student] if i not in inside]
        self._linear([placed, indicator, *others], [1, -1] + [-1] * len(others), None, 0)

    def add_kind_limits(self) -> None:
        """Hard: a student holds at most ``max_per_kind`` placements of each kind (for a
        student written as held to one placement, only a kind whose limit is 0 needs a
        row). A limit of one is an exclusion (see _add_exclusions)."""
        for student, arcs in self.by_student.items():
            bare = student in self.bare
            per_kind: dict[int, list[int]] = defaultdict(list)
            for i in arcs:
                per_kind[self.slots[self.arcs[i].slot].kind].append(i)
            for kind, members in per_kind.items():
                limit = self.problem.max_per_kind[kind]
                if len(members) <= limit or (bare and limit >= 1):
                    continue
                if limit == 1:
                    self.exclusive[student].append(members)
                else:
                    self._linear([self.x[i] for i in members], [1] * len(members), None, limit)

    def add_one_per_opportunity(self) -> None:
        """Hard: a student takes at most one slot of an opportunity (one dated shadow)."""
        for student, arcs in self.by_student.items():
            if student in self.bare:
                continue  # one placement keeps every rule of the student's own
            per_opp: dict[int, list[int]] = defaultdict(list)
            for i in arcs:
                per_opp[self.slots[self.arcs[i].slot].opportunity].append(i)
            self.exclusive[student].extend(m for m in per_opp.values() if len(m) > 1)

    def add_no_overlap(self) -> None:
        """Hard: no two of a student's slots have overlapping sessions.

        One at-most-one per clique of mutually overlapping slots (solver.conflicts) and
        student, instead of one constraint per clashing pair (see _add_exclusions).
        """
        cliques_of: dict[int, list[int]] = defaultdict(list)
        for c, clique in enumerate(overlap_cliques(self.problem.slots)):
            for slot in clique:
                cliques_of[slot].append(c)
        for student, arcs in self.by_student.items():
            if student in self.bare:
                continue  # one placement keeps every rule of the student's own
            buckets: dict[int, list[int]] = defaultdict(list)
            for i in arcs:
                for c in cliques_of.get(self.arcs[i].slot, ()):
                    buckets[c].append(i)
            self.exclusive[student].extend(m for m in buckets.values() if len(m) > 1)

    def _add_exclusions(self) -> None:
        """One at-most-one per maximal clique of each student's exclusions (one slot per
        opportunity, one placement of a kind limited to one, no overlapping sessions)
        merged, rather than one per group: the same rule for 0/1 choices, and a far
        tighter LP (see solver.conflicts.exclusive_cliques)."""
        for groups in self.exclusive.values():
            for clique in exclusive_cliques(groups):
                self._at_most_one([self.x[i] for i in clique])

    def add_weekly_hours(self) -> None:
        """Hard: a minor's busiest week stays within the cap for their age.

        The cap that applies is the tightest among the placements taken (a student who turns
        16 mid-term has the under-16 cap while they hold a slot starting before that), so each
        distinct cap is enforced on every week as soon as any arc carrying it is taken.
        """
        for student, arcs in self.by_student.items():
            if student in self.bare:
                continue  # one placement keeps every rule of the student's own
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
                    enforce = self._bool()
                    carrying = [i for i in arcs if self.arcs[i].weekly_cap == cap]
                    for i in carrying:
                        self._implies(self.x[i], enforce)
                    self._placed_only_through(student, enforce, carrying)
                    self.indicators.append((enforce, carrying))
                for terms in heavy:
                    xs, minutes = [self.x[i] for i, _ in terms], [m for _, m in terms]
                    self._linear(xs, minutes, None, cap, enforce)

    def add_groups(self) -> None:
        """Hard: the members of a group who get an internship all get it at one host."""
        members: dict[int, list[int]] = defaultdict(list)
        for s in self.problem.students:
            if s.group is not None:
                members[s.group].append(s.id)
        for group_members in members.values():
            per_host: dict[int, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
            for student in group_members:
                for i in self.by_student.get(student, ()):
                    slot = self.slots[self.arcs[i].slot]
                    if slot.kind == INTERNSHIP:
                        per_host[slot.host][student].append(i)
            if len(per_host) <= 1:
                continue
            chosen = []
            for students in per_host.values():
                group_host = self._bool()
                for arcs in students.values():
                    self._at_most_one_sums(self._exclusive_parts(arcs), group_host)
                self.indicators.append((group_host, [i for a in students.values() for i in a]))
                self.group_hosts.append(group_host)
                chosen.append(group_host)
            self._at_most_one(chosen)

    def add_pins(self) -> None:
        """Hard: a pinned placement is in the result (pins without an arc are refused
        earlier, by :func:`solver.solve.solve`)."""
        for pair in self.problem.pins:
            if pair in self.index:
                self._linear([self.x[self.index[pair]]], [1], 1, 1)

    # --- constraints, recorded twice ---------------------------------------------------------

    def _bool(self) -> Var:
        """A new 0/1 variable."""
        return self._bools(1)[0]

    def _bools(self, count: int) -> list[Var]:
        """``count`` new 0/1 variables (CP-SAT ones where there is a CP-SAT model)."""
        first = self.num_vars
        self.num_vars += count
        if self.model is None:
            return list(map(Column, range(first, self.num_vars)))
        return [self.model.new_bool_var("") for _ in range(count)]

    def _linear(
        self,
        xs: Sequence[Var],
        coefficients: Sequence[int],
        lower: int | None,
        upper: int | None,
        enforce: Var | None = None,
    ) -> None:
        """``lower <= sum(coefficients * xs) <= upper`` (None: unbounded), only where
        ``enforce`` is set if one is given. The LP row relaxes an enforced upper bound with
        the smallest big M: the sum's largest value less ``upper``."""
        indices = [x.index for x in xs]
        weights = [float(c) for c in coefficients]
        low = -math.inf if lower is None else lower
        high = math.inf if upper is None else upper
        if enforce is None:
            self.rows.append((indices, weights, low, high))
        else:
            assert lower is None and upper is not None, "only enforced upper bounds are used"
            most = sum(c for c in coefficients if c > 0)
            self.rows.append(
                ([*indices, enforce.index], [*weights, float(most - upper)], low, most)
            )
        if self.model is None:
            return
        expr = cp_model.LinearExpr.weighted_sum(xs, coefficients)
        if enforce is not None:
            self.model.add(expr <= upper).only_enforce_if(enforce)
        elif lower is None:
            self.model.add(expr <= upper)
        elif upper is None:
            self.model.add(expr >= lower)
        else:
            self.model.add_linear_constraint(expr, lower, upper)

    def _at_most_one(self, xs: Sequence[Var]) -> None:
        self.rows.append(([x.index for x in xs], [1.0] * len(xs), -math.inf, 1))
        if self.model is not None:
            self.model.add_at_most_one(xs)

    def _implies(self, a: Var, b: Var) -> None:
        self.rows.append(([a.index, b.index], [1.0, -1.0], -math.inf, 0))
        if self.model is not None:
            self.model.add_implication(a, b)

    # --- objective levels ------------------------------------------------------------------

    # Each level is a list of (variable, coefficient) terms plus a constant, so that CP-SAT
    # and the LP relaxation (solver.relax) optimise the very same sum.

    def placed_terms(self) -> Terms:
        """Level 1 (maximise): the priority-weighted number of students placed."""
        weights = {s.id: s.weight for s in self.problem.students}
        variables: list[Var] = []
        coefficients: list[int] = []
        constant = 0
        for student in sorted(self.by_student):
            weight = weights.get(student, 1)
            if student in self.placed_var:
                parts = [self.placed_var[student]]
            elif student in self._sums:
                parts = self._sums[student]
            else:  # a pinned student in the one-placement model
                constant += weight
                continue
            variables.extend(parts)
            coefficients.extend([weight] * len(parts))
        return variables, coefficients, constant

    def kept_terms(self) -> Terms:
        """Re-solve level (maximise): previous placements kept."""
        kept = sorted(self.index[p] for p in set(self.problem.previous) if p in self.index)
        return [self.x[i] for i in kept], [1] * len(kept), 0

    def preference_terms(self) -> Terms:
        """Level 2 (maximise): preference values less the per-student count penalty."""
        variables: list[Var] = []
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
        return variables, coefficients, 0

    def travel_terms(self) -> Terms:
        """Level 3 (minimise): travel minutes, less one per new career cluster."""
        return list(self.x), [self.scale.travel(a) for a in self.arcs], 0

    def terms(self, level: str) -> Terms:
        """The terms of an objective level by name (see solver.objective.level_names)."""
        return {
            "placed": self.placed_terms,
            "kept": self.kept_terms,
            "preference": self.preference_terms,
            "travel": self.travel_terms,
        }[level]()

    def expr(self, level: str) -> cp_model.LinearExpr:
        """The CP-SAT expression of an objective level by name."""
        assert self.model is not None, "a model built without cp_sat has no expressions"
        variables, coefficients, constant = self.terms(level)
        return cp_model.LinearExpr.weighted_sum(variables, coefficients) + constant

    def hold(self, level: str, value: int) -> None:
        """Keep ``level`` at least as good as ``value`` from now on (CP-SAT and the LP)."""
        variables, coefficients, constant = self.terms(level)
        if level == "travel":
            self._linear(variables, coefficients, None, value - constant)
        else:
            self._linear(variables, coefficients, value - constant, None)

    # --- hints and values ------------------------------------------------------------------

    def hint(self, assignments: Sequence[tuple[int, int]]) -> None:
        """Start the search from ``assignments`` (every variable gets a hinted value)."""
        assert self.model is not None, "a model built without cp_sat takes no hint"
        self.model.clear_hints()
        values = self.values_of(assignments)
        variables = [*self.x, *self.placed_var.values(), *(v for v, _ in self.indicators)]
        variables += [var for extra in self.extra.values() for var in extra]
        for var in variables:
            self.model.add_hint(var, values[var.index])

    def values_of(self, assignments: Collection[tuple[int, int]]) -> list[int]:
        """Every variable's value (by index) when the arcs of ``assignments`` in this model
        are taken: the x, the placed and extra counts, and the indicators."""
        values = [0] * self.num_vars
        chosen = {self.index[p] for p in assignments if p in self.index}
        counts: dict[int, int] = defaultdict(int)
        for i in chosen:
            counts[self.arcs[i].student] += 1
            values[self.x[i].index] = 1
        for student, placed in self.placed_var.items():
            values[placed.index] = int(counts[student] >= 1)
        for student, extra in self.extra.items():
            for k, var in enumerate(extra, start=2):
                values[var.index] = int(counts[student] >= k)
        for var, arcs in self.indicators:
            values[var.index] = int(any(i in chosen for i in arcs))
        return values

    def assignments(self, values: Sequence[int]) -> tuple[tuple[int, int], ...]:
        """The (student, slot) pairs set in a copied CP-SAT solution vector."""
        return tuple(
            (arc.student, arc.slot) for arc, var in zip(self.arcs, self.x, strict=True)
            if values[var.index]
        )  # fmt: skip
