"""Min-cost flow over the candidate arcs: exact bounds, strong hints, and a fast path.

Without the rules that tie a student's placements together in time (overlaps, weekly hours)
and without groups, a placement is a flow::

    source -> student -> (student, kind) -> [(student, opportunity)] -> slot -> [host] -> sink

Student arcs carry the per-placement count penalty and, on the first unit, the priority
weight; kind nodes cap the per-kind limits; an opportunity node (only where a student has
several slots of one opportunity) keeps one slot per opportunity; slot arcs carry the
capacity. Host caps count distinct students, which a flow cannot: the *relaxation* leaves
them out (so its optimum bounds every placement), the *restriction* counts placements against
them (so every flow it returns keeps the caps). A bypass arc lets units go unplaced.

Costs are lexicographic through big multipliers, small enough to stay inside int64 after
OR-Tools' cost scaling: level 1 (priority-weighted placed) over level 2 (preference, see
solver.objective) exactly; travel only as a tie-breaker, for hints.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np
from ortools.graph.python import min_cost_flow

from solver.conflicts import slots_overlap
from solver.objective import Scale, scale_of
from solver.problem import Arc, Problem


class FlowError(RuntimeError):
    """OR-Tools could not solve the flow (a cost or capacity out of range)."""


@dataclass(frozen=True)
class FlowResult:
    """The arcs a flow uses, as (student, slot) pairs, sorted, and any extra seats used."""

    assignments: tuple[tuple[int, int], ...]
    extra_seats: dict[int, int] = field(default_factory=dict)  # slot id -> seats beyond capacity


def solve_flow(
    problem: Problem,
    *,
    host_caps: bool,
    travel: bool,
    excluded: Collection[tuple[int, int]] = (),
    bonus: Collection[tuple[int, int]] = (),
    extra_seats: bool = False,
    single: bool = False,
) -> FlowResult:
    """The lexicographically best flow placement (priority-weighted placed, then preference).

    ``host_caps`` counts placements against host caps (a restriction) or leaves them out (a
    relaxation). ``travel`` adds travel minutes as a tie-breaker below preference; it is
    not lexicographic across the whole sum, so use it for hints, not bounds. ``excluded``
    arcs are left out; ``bonus`` arcs (previous placements in a re-solve) are preferred just
    below level 1. Pins are placed first and use up capacity. ``extra_seats`` lets every
    slot take more students than its capacity at a price below one placement (so a seat is
    added only where it places someone) and reports where that happened. ``single`` gives
    each unpinned student at most one placement: for the priority-weighted placed count
    (level 1) nothing more matters, and with one placement per student the host caps count
    distinct students exactly, so with ``host_caps`` this is an exact bound on level 1
    (only groups are left out).
    """
    scale = scale_of(problem)
    excluded = set(excluded)
    slots = {s.id: s for s in problem.slots}
    hosts = {h.id: h for h in problem.hosts}
    pins = sorted(set(problem.pins))
    pinned_by_student: dict[int, list[int]] = defaultdict(list)
    for student, slot in pins:
        pinned_by_student[student].append(slot)
    used_capacity: dict[int, int] = defaultdict(int)
    host_pinned: dict[int, set[int]] = defaultdict(set)
    for student, slot in pins:
        used_capacity[slot] += 1
        if slot in slots:
            host_pinned[slots[slot].host].add(student)

    by_student: dict[int, list[Arc]] = defaultdict(list)
    for arc in problem.arcs:
        pair = (arc.student, arc.slot)
        if pair in excluded or arc.slot not in slots or pair in problem.pins:
            continue
        by_student[arc.student].append(arc)

    bonus = set(bonus)
    unit = (_max_travel(problem) + 1) if travel else 1
    level2_range = _level2_range(problem, scale) * unit + 1
    # Strong enough to keep a previous placement over any single better-ranked one, but not
    # lexicographic over the whole sum (that would overflow): the exact order is CP-SAT's job.
    bonus_weight = (_best_preference(problem, scale) * 2 + 1) * unit if bonus else 0
    level1 = level2_range + bonus_weight * len(bonus)

    tails: list[int] = []
    heads: list[int] = []
    caps: list[int] = []
    costs: list[int] = []
    arc_of_edge: dict[int, tuple[int, int]] = {}
    extra_edge: dict[int, int] = {}

    def edge(tail: int, head: int, cap: int, cost: int) -> int:
        tails.append(tail)
        heads.append(head)
        caps.append(cap)
        costs.append(cost)
        return len(tails) - 1

    source, sink = 0, 1
    next_node = 2
    slot_node: dict[int, int] = {}
    host_node: dict[int, int] = {}
    for slot_id, slot in sorted(slots.items()):
        slot_node[slot_id] = next_node
        next_node += 1
        room = max(0, slot.capacity - used_capacity[slot_id])
        host = hosts.get(slot.host)
        if host_caps and host is not None and host.max_students is not None:
            if slot.host not in host_node:
                host_node[slot.host] = next_node
                next_node += 1
                host_room = max(0, host.max_students - len(host_pinned[slot.host]))
                edge(host_node[slot.host], sink, host_room, 0)
            edge(slot_node[slot_id], host_node[slot.host], room, 0)
        else:
            edge(slot_node[slot_id], sink, room, 0)
        if extra_seats:
            extra_edge[edge(slot_node[slot_id], sink, len(problem.students), level1 // 2)] = slot_id

    weights = {s.id: s.weight for s in problem.students}
    supply = 0
    for student_id in sorted(by_student):
        arcs = by_student[student_id]
        pinned = [slots[s] for s in pinned_by_student.get(student_id, ()) if s in slots]
        taken_kinds = defaultdict(int)
        for slot in pinned:
            taken_kinds[slot.kind] += 1
        pinned_opps = {slot.opportunity for slot in pinned}
        arcs = [
            a
            for a in arcs
            if slots[a.slot].opportunity not in pinned_opps
            and not any(slots_overlap(slots[a.slot], p) for p in pinned)
        ]
        room_per_kind = {
            kind: problem.max_per_kind[kind] - taken_kinds[kind]
            for kind in {slots[a.slot].kind for a in arcs}
        }
        room_per_kind = {k: r for k, r in room_per_kind.items() if r > 0}
        arcs = [a for a in arcs if slots[a.slot].kind in room_per_kind]
        if not arcs:
            continue
        if single and pinned:
            continue  # already placed; level 1 gains nothing from more
        units = 1 if single else min(len(arcs), sum(room_per_kind.values()))
        node = next_node
        next_node += 1
        already = len(pinned)
        for k in range(already + 1, already + units + 1):
            cost = scale.count_penalty(k) * unit
            if k == 1:
                cost -= level1 * weights.get(student_id, 1)
            edge(source, node, 1, cost)
        supply += units
        kind_node: dict[int, int] = {}
        for kind, room in sorted(room_per_kind.items()):
            kind_node[kind] = next_node
            next_node += 1
            edge(node, kind_node[kind], room, 0)
        per_opp: dict[tuple[int, int], list[Arc]] = defaultdict(list)
        for arc in arcs:
            slot = slots[arc.slot]
            per_opp[(slot.kind, slot.opportunity)].append(arc)
        for (kind, _opp), group in sorted(per_opp.items()):
            tail = kind_node[kind]
            if len(group) > 1:
                tail = next_node
                next_node += 1
                edge(kind_node[kind], tail, 1, 0)
            for arc in group:
                cost = -scale.preference(arc) * unit
                if travel:
                    cost += arc.travel_min
                if (arc.student, arc.slot) in bonus:
                    cost -= bonus_weight
                index = edge(tail, slot_node[arc.slot], 1, cost)
                arc_of_edge[index] = (arc.student, arc.slot)
    edge(source, sink, supply, 0)

    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(
        np.asarray(tails, dtype=np.int32),
        np.asarray(heads, dtype=np.int32),
        np.asarray(caps, dtype=np.int64),
        np.asarray(costs, dtype=np.int64),
    )
    supplies = np.zeros(next_node, dtype=np.int64)
    supplies[source] = supply
    supplies[sink] = -supply
    flow.set_nodes_supplies(np.arange(next_node, dtype=np.int32), supplies)
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise FlowError(f"min-cost flow failed with status {status}")
    edges = np.fromiter(arc_of_edge, dtype=np.int64, count=len(arc_of_edge))
    used = flow.flows(edges) if len(edges) else np.zeros(0, dtype=np.int64)
    chosen = [arc_of_edge[int(e)] for e, f in zip(edges, used, strict=True) if f > 0]
    extra: dict[int, int] = {}
    for e, slot_id in extra_edge.items():
        if (used_seats := int(flow.flow(e))) > 0:
            extra[slot_id] = used_seats
    return FlowResult(tuple(sorted(set(chosen) | set(pins))), extra)


def _max_travel(problem: Problem) -> int:
    return max((a.travel_min for a in problem.arcs), default=0)


def _best_preference(problem: Problem, scale: Scale) -> int:
    return max((scale.preference(a) for a in problem.arcs), default=0)


def _level2_range(problem: Problem, scale: Scale) -> int:
    """More than level 2 can change by over all students, so level 1 dominates it."""
    best = _best_preference(problem, scale)
    penalties = sum(scale.count_penalty(k) for k in range(1, scale.max_placements + 1))
    return (best * scale.max_placements + penalties) * max(1, len(problem.students))
