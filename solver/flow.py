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

from solver.conflicts import overlap_cliques, slots_overlap
from solver.objective import Scale, scale_of
from solver.problem import INTERNSHIP, Arc, Problem, SlotSpec


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
    net = _network(
        problem,
        host_caps=host_caps,
        travel=travel,
        excluded=excluded,
        bonus=bonus,
        extra_seats=extra_seats,
        single=single,
    )
    return net.result(_run(net.tails, net.heads, net.caps, net.costs, net.supplies))


def flow_exact(problem: Problem) -> bool:
    """Whether the flow expresses every rule of ``problem``, so :func:`solve_flow_exact` is
    the optimum: no re-solve level, and no student for whom overlaps, weekly hours, groups
    or a binding host cap could matter.

    A host cap binds when its slots hold more seats than the cap; the flow counts
    placements against it, which is exact when no student could take two of its
    opportunities. Overlaps matter only between slots of different opportunities a student
    could hold together (kinds with room for both); weekly hours only when a student's
    busiest week over their candidates (one slot per opportunity, no more slots than
    placements) could exceed the cap.
    """
    if problem.previous:
        return False
    slots = {s.id: s for s in problem.slots}
    seats: dict[int, int] = defaultdict(int)
    for slot in problem.slots:
        seats[slot.host] += slot.capacity
    tight = {
        h.id for h in problem.hosts if h.max_students is not None and h.max_students < seats[h.id]
    }
    group_of = {s.id: s.group for s in problem.students if s.group is not None}
    group_hosts: dict[int, set[int]] = defaultdict(set)
    cliques_of: dict[int, list[int]] = defaultdict(list)
    for number, clique in enumerate(overlap_cliques(problem.slots)):
        for slot_id in clique:
            cliques_of[slot_id].append(number)
    by_student: dict[int, list[Arc]] = defaultdict(list)
    for arc in problem.arcs:
        if arc.slot in slots:
            by_student[arc.student].append(arc)
    most = sum(problem.max_per_kind)
    for student, arcs in by_student.items():
        held = [slots[a.slot] for a in arcs]
        if student in group_of:
            group_hosts[group_of[student]].update(s.host for s in held if s.kind == INTERNSHIP)
        if tight:
            opportunities: dict[int, set[int]] = defaultdict(set)
            for slot in held:
                if slot.host in tight:
                    opportunities[slot.host].add(slot.opportunity)
            if any(len(o) > 1 for o in opportunities.values()):
                return False
        if cliques_of:
            members: dict[int, list[SlotSpec]] = defaultdict(list)
            for slot in held:
                for number in cliques_of.get(slot.id, ()):
                    members[number].append(slot)
            for clique in members.values():
                for i, a in enumerate(clique):
                    for b in clique[i + 1 :]:
                        both = a.kind != b.kind or problem.max_per_kind[a.kind] >= 2
                        if a.opportunity != b.opportunity and both:
                            return False
        cap = min((a.weekly_cap for a in arcs if a.weekly_cap is not None), default=None)
        if cap is not None:
            # Per week, the longest slot of each opportunity (a student takes one of them).
            weeks: dict[int, dict[int, int]] = defaultdict(dict)
            for slot in held:
                for week, minutes in slot.week_minutes:
                    longest = weeks[week]
                    longest[slot.opportunity] = max(minutes, longest.get(slot.opportunity, 0))
            for longest in weeks.values():
                if sum(sorted(longest.values(), reverse=True)[:most]) > cap:
                    return False
    return all(len(hosts) <= 1 for hosts in group_hosts.values())


def solve_flow_exact(problem: Problem) -> FlowResult:
    """The best placement at every level (placed, preference, then travel), exactly, when
    :func:`flow_exact` holds for ``problem``.

    Level 1 over level 2 fits in one cost; travel does not (the sum would overflow), so it is
    a second flow over the *optimal face* of the first: with node potentials that prove the
    first flow optimal (complementary slackness), every optimal flow leaves the edges of
    positive reduced cost empty and fills those of negative reduced cost, so only the edges
    of zero reduced cost are free. Minimising travel over them is exact.
    """
    net = _network(problem, host_caps=True, travel=False)
    first = _run(net.tails, net.heads, net.caps, net.costs, net.supplies)
    potential = _potentials(net, first)
    reduced = net.costs + potential[net.tails] - potential[net.heads]
    forced = reduced < 0
    free = reduced == 0
    supplies = net.supplies.copy()
    np.subtract.at(supplies, net.tails[forced], net.caps[forced])
    np.add.at(supplies, net.heads[forced], net.caps[forced])
    second = _run(net.tails[free], net.heads[free], net.caps[free], net.travel[free], supplies)
    flows = np.where(forced, net.caps, 0)
    flows[free] = second
    return net.result(flows)


def _network(
    problem: Problem,
    *,
    host_caps: bool,
    travel: bool,
    excluded: Collection[tuple[int, int]] = (),
    bonus: Collection[tuple[int, int]] = (),
    extra_seats: bool = False,
    single: bool = False,
) -> _Network:
    """The flow network :func:`solve_flow` solves (same options)."""
    scale = scale_of(problem)
    excluded = set(excluded)
    slots = {s.id: s for s in problem.slots}
    hosts = {h.id: h for h in problem.hosts}
    pinned_pairs = set(problem.pins)
    pins = sorted(pinned_pairs)
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
        if pair in excluded or arc.slot not in slots or pair in pinned_pairs:
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
    travel_costs: list[int] = []
    arc_of_edge: dict[int, tuple[int, int]] = {}
    extra_edge: dict[int, int] = {}

    def edge(tail: int, head: int, cap: int, cost: int, level3: int = 0) -> int:
        tails.append(tail)
        heads.append(head)
        caps.append(cap)
        costs.append(cost)
        travel_costs.append(level3)
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
        taken_kinds: dict[int, int] = defaultdict(int)
        if pinned:
            if single:
                continue  # already placed; level 1 gains nothing from more
            for slot in pinned:
                taken_kinds[slot.kind] += 1
            pinned_opps = {slot.opportunity for slot in pinned}
            arcs = [
                a
                for a in arcs
                if slots[a.slot].opportunity not in pinned_opps
                and not any(slots_overlap(slots[a.slot], p) for p in pinned)
            ]
        kinds = {slots[a.slot].kind for a in arcs}
        room_per_kind = {k: problem.max_per_kind[k] - taken_kinds[k] for k in kinds}
        room_per_kind = {k: r for k, r in room_per_kind.items() if r > 0}
        if len(room_per_kind) < len(kinds):
            arcs = [a for a in arcs if slots[a.slot].kind in room_per_kind]
        if not arcs:
            continue
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
                if bonus and (arc.student, arc.slot) in bonus:
                    cost -= bonus_weight
                index = edge(tail, slot_node[arc.slot], 1, cost, scale.travel(arc))
                arc_of_edge[index] = (arc.student, arc.slot)
    edge(source, sink, supply, 0)

    net = _Network(
        num_nodes=next_node,
        tails=np.asarray(tails, dtype=np.int32),
        heads=np.asarray(heads, dtype=np.int32),
        caps=np.asarray(caps, dtype=np.int64),
        costs=np.asarray(costs, dtype=np.int64),
        travel=np.asarray(travel_costs, dtype=np.int64),
        supplies=np.zeros(next_node, dtype=np.int64),
        arc_of_edge=arc_of_edge,
        extra_edge=extra_edge,
        pins=tuple(pins),
    )
    net.supplies[source] = supply
    net.supplies[sink] = -supply
    return net


@dataclass
class _Network:
    """A built flow network; edge ``i`` is (tails[i] -> heads[i], caps[i], costs[i])."""

    num_nodes: int
    tails: np.ndarray
    heads: np.ndarray
    caps: np.ndarray
    costs: np.ndarray  # levels 1 and 2 (and the travel tie-breaker, if asked for)
    travel: np.ndarray  # level 3 (solver.objective.Scale.travel) on the placement edges
    supplies: np.ndarray
    arc_of_edge: dict[int, tuple[int, int]]
    extra_edge: dict[int, int]
    pins: tuple[tuple[int, int], ...]

    def result(self, flows: np.ndarray) -> FlowResult:
        """The placement a flow vector (one value per edge) stands for."""
        edges = np.fromiter(self.arc_of_edge, dtype=np.int64, count=len(self.arc_of_edge))
        pairs = list(self.arc_of_edge.values())
        chosen = [pairs[i] for i in np.flatnonzero(flows[edges] > 0)]
        extra = {slot: int(flows[e]) for e, slot in self.extra_edge.items() if flows[e] > 0}
        return FlowResult(tuple(sorted(set(chosen) | set(self.pins))), extra)


def _run(
    tails: np.ndarray, heads: np.ndarray, caps: np.ndarray, costs: np.ndarray, supplies: np.ndarray
) -> np.ndarray:
    """Solve one min-cost flow; the flow on every edge, copied out of OR-Tools."""
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
    flow.set_nodes_supplies(np.arange(len(supplies), dtype=np.int32), supplies)
    status = flow.solve()
    if status != flow.OPTIMAL:
        raise FlowError(f"min-cost flow failed with status {status}")
    if not len(tails):
        return np.zeros(0, dtype=np.int64)
    return np.asarray(flow.flows(np.arange(len(tails), dtype=np.int64)), dtype=np.int64)


def _potentials(net: _Network, flows: np.ndarray) -> np.ndarray:
    """Node potentials proving ``flows`` optimal: shortest distances in the residual graph.

    Bellman-Ford from a virtual root joined to every node, vectorised: each round relaxes
    every residual edge at once. An optimal flow leaves no negative cycle, so the rounds end
    within the number of nodes; then no residual edge has a negative reduced cost.
    """
    forward = flows < net.caps
    backward = flows > 0
    tails = np.concatenate([net.tails[forward], net.heads[backward]])
    heads = np.concatenate([net.heads[forward], net.tails[backward]])
    weights = np.concatenate([net.costs[forward], -net.costs[backward]])
    order = np.argsort(heads, kind="stable")
    tails, heads, weights = tails[order], heads[order], weights[order]
    targets, starts = np.unique(heads, return_index=True)
    distance = np.zeros(net.num_nodes, dtype=np.int64)
    for _ in range(net.num_nodes + 1):
        if not len(targets):
            break
        best = np.minimum.reduceat(distance[tails] + weights, starts)
        improved = best < distance[targets]
        if not improved.any():
            return distance
        distance[targets[improved]] = best[improved]
    else:
        raise FlowError("the flow is not optimal: its residual graph has a negative cycle")
    return distance


def _max_travel(problem: Problem) -> int:
    return max((a.travel_min for a in problem.arcs), default=0)


def _best_preference(problem: Problem, scale: Scale) -> int:
    return max((scale.preference(a) for a in problem.arcs), default=0)


def _level2_range(problem: Problem, scale: Scale) -> int:
    """More than level 2 can change by over all students, so level 1 dominates it."""
    best = _best_preference(problem, scale)
    penalties = sum(scale.count_penalty(k) for k in range(1, scale.max_placements + 1))
    return (best * scale.max_placements + penalties) * max(1, len(problem.students))
