"""Two-sided matching over a :class:`~solver.problem.Problem`: deferred acceptance, random
serial dictatorship, the blocking pairs of any placement, and a walk that satisfies them.

Stable mode runs :func:`deferred_acceptance`, then :func:`satisfy_blocking_pairs`; the
benchmarks use deferred acceptance and serial dictatorship as baselines; :func:`blocking_pairs`
is what a report counts. The algorithms are pure functions returning sorted
``(student, slot)`` tuples that keep every hard rule :func:`solver.check.check_assignments`
checks.

Preferences, shared by all three:

- A student orders their arcs by ``rank`` (1 best; every ranked arc before every unranked
  one), then ``travel_min``, then slot id. This also orders the slots of one opportunity.
- A slot orders students by the arc's ``host_rank`` (1 best; None after every ranked student),
  then by the seeded lottery of :func:`lottery`: one random permutation of all student ids,
  the same for every slot. A host with ``max_students`` orders a student by their best key over
  the slots they hold there.

Pins are placed first and never given up; they count against capacity and host caps.
Side constraints (overlapping sessions, weekly hours, groups, host caps) can rule out every
stable matching, so a result is reported with its number of blocking pairs rather than
promised to have none; see :func:`deferred_acceptance` for what does hold, and
:func:`satisfy_blocking_pairs` for the pairs a move of one student can satisfy.
"""

from __future__ import annotations

import random
import time
from bisect import bisect_left
from collections import defaultdict, deque
from collections.abc import Iterable
from heapq import heappop, heappush
from itertools import chain

import numpy as np

from solver.check import Violation, check_assignments
from solver.problem import INTERNSHIP, Arc, Problem

Assignments = tuple[tuple[int, int], ...]
_NO_CAP = 1 << 62  # a key or cap beyond any real one
_DAY = 24 * 60


class PinConflictError(ValueError):
    """The pins alone break hard rules, so no placement can keep them all."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        super().__init__("; ".join(v.message for v in violations))


def student_preference_key(arc: Arc) -> tuple[bool, int, int, int]:
    """Sort key of a student's arc, best first: ranked before unranked, rank, travel, slot."""
    return (arc.rank is None, arc.rank or 0, arc.travel_min, arc.slot)


def preference_order(problem: Problem) -> dict[int, list[Arc]]:
    """Every student's arcs, most preferred first (see :func:`student_preference_key`).

    Every student of the problem has an entry, possibly empty; arcs naming an unknown student
    or slot are left out (the checker reports them as unknown).
    """
    slot_ids = {s.id for s in problem.slots}
    order: dict[int, list[Arc]] = {s.id: [] for s in problem.students}
    for arc in problem.arcs:
        mine = order.get(arc.student)
        if mine is not None and arc.slot in slot_ids:
            mine.append(arc)
    for arcs in order.values():
        arcs.sort(key=student_preference_key)
    return order


def lottery(problem: Problem, seed: int = 0) -> dict[int, int]:
    """Each student's place in the seeded lottery (0 is drawn first, preferred on ties).

    The lottery is ``random.Random(seed).shuffle`` of the sorted student ids: the same seed
    always gives the same order, and it is the same order for every slot and host.
    """
    ids = sorted(s.id for s in problem.students)
    random.Random(seed).shuffle(ids)
    return {student: place for place, student in enumerate(ids)}


class _Instance:
    """The problem as integer-indexed lists, built once per call.

    Arc ``j`` (after sorting) is ``slot[j]`` for one student, with the slot's key ``key[j]``
    for that student (host_rank, None last, then the lottery: lower is preferred, and no two
    students share a key at one slot) and the weekly cap ``cap[j]`` (_NO_CAP: none). Student
    ``i``'s arcs are ``first[i]`` to ``first[i + 1] - 1``, most preferred first. The sort runs
    in numpy: two million arcs are too many to order one Python tuple at a time.
    """

    def __init__(self, problem: Problem, seed: int, *, keep_pins: bool = True) -> None:
        self.problem = problem
        self.limits = problem.max_per_kind
        slots = problem.slots
        self.slot_ids = [s.id for s in slots]
        self.slot_index = {s.id: t for t, s in enumerate(slots)}
        self.kind = [s.kind for s in slots]
        self.opportunity = [s.opportunity for s in slots]
        self.host = [s.host for s in slots]
        self.capacity = [s.capacity for s in slots]
        self.weeks = [s.week_minutes for s in slots]
        self.host_cap = {h.id: h.max_students for h in problem.hosts if h.max_students is not None}
        self.slots_of_host: dict[int, list[int]] = defaultdict(list)  # capped hosts only
        for t, h in enumerate(self.host):
            if h in self.host_cap:
                self.slots_of_host[h].append(t)
        # Sessions sorted by start, with the running maximum of their ends, for a clash test
        # that bisects instead of comparing every pair of sessions.
        self.sessions = [tuple(sorted(s.sessions)) for s in slots]
        self.starts = [[a for a, _ in ss] for ss in self.sessions]
        self.max_end: list[list[int]] = []
        for ss in self.sessions:
            run, ends = -_NO_CAP, []
            for _, end in ss:
                run = max(run, end)
                ends.append(run)
            self.max_end.append(ends)
        self.span = [(st[0], ends[-1]) if st else (0, 0) for st, ends in
                     zip(self.starts, self.max_end, strict=True)]  # fmt: skip
        # The days each slot meets on, as bits: slots on disjoint days cannot clash, which one
        # AND settles for most pairs (a session touches every day from its start to its end).
        origin = min((min(a, b) for ss in self.sessions for a, b in ss), default=0)
        self.days: list[int] = []
        for ss in self.sessions:
            bits = 0
            for a, b in ss:
                for day in range((min(a, b) - origin) // _DAY, (max(a, b) - origin) // _DAY + 1):
                    bits |= 1 << day
            self.days.append(bits)

        self.student_ids = [s.id for s in problem.students]
        self.student_index = {sid: i for i, sid in enumerate(self.student_ids)}
        self.group = [s.group for s in problem.students]
        self.place = lottery(problem, seed)
        self._sort_arcs(problem)
        self.pins: list[tuple[int, int]] = []  # (student index, arc j)
        if keep_pins and problem.pins:
            self.pins = self._pins()

    def _sort_arcs(self, problem: Problem) -> None:
        n, arcs = len(self.student_ids), problem.arcs
        none = _NO_CAP  # stands for None in the integer columns
        student = np.array([a.student for a in arcs], dtype=np.int64)
        slot = np.array([a.slot for a in arcs], dtype=np.int64)
        rank = np.array([none if a.rank is None else a.rank for a in arcs], dtype=np.int64)
        ranked = rank != none
        travel = np.array([a.travel_min for a in arcs], dtype=np.int64)
        cap = np.array([none if a.weekly_cap is None else a.weekly_cap for a in arcs],
                       dtype=np.int64)  # fmt: skip
        host_rank = np.array([none if a.host_rank is None else a.host_rank for a in arcs],
                             dtype=np.int64)  # fmt: skip
        i = _lookup(self.student_ids, student)
        t = _lookup(self.slot_ids, slot)
        known = (i >= 0) & (t >= 0)
        i, t, rank, travel = i[known], t[known], rank[known], travel[known]
        ranked = ranked[known]
        cap, host_rank = cap[known], host_rank[known]
        # None ranks just after the worst rank given.
        for column in (rank, host_rank):
            given = column != none
            column[~given] = column[given].max() + 1 if given.any() else 1
        # The student's order: by rank (unranked last), then travel, then slot id.
        by_id = np.empty(len(self.slot_ids), dtype=np.int64)
        by_id[np.argsort(np.array(self.slot_ids, dtype=np.int64), kind="stable")] = np.arange(
            len(self.slot_ids)
        )
        order = _lexsort((i, rank, travel, by_id[t]))
        i, t, host_rank, cap = i[order], t[order], host_rank[order], cap[order]
        self.ranked: list[bool] = ranked[order].tolist()  # the student ranked arc j
        place = np.array([self.place[sid] for sid in self.student_ids], dtype=np.int64)
        self.slot: list[int] = t.tolist()
        self.key: list[int] = (host_rank * max(1, n) + place[i]).tolist()
        self.cap: list[int] = cap.tolist()
        self.capped_student: list[bool] = (np.bincount(i[cap != none], minlength=n) > 0).tolist()
        self.first: list[int] = [0, *np.cumsum(np.bincount(i, minlength=n)).tolist()]

    def _pins(self) -> list[tuple[int, int]]:
        """Pinned pairs as (student index, arc j); raises when they alone break a rule."""
        pins = sorted(set(self.problem.pins))
        wanted = set(pins)
        only = Problem(students=self.problem.students, hosts=self.problem.hosts,
                       slots=self.problem.slots,
                       arcs=tuple(a for a in self.problem.arcs if (a.student, a.slot) in wanted),
                       max_per_kind=self.limits, pins=tuple(pins))  # fmt: skip
        violations = check_assignments(only, pins)
        if violations:
            raise PinConflictError(violations)
        out = []
        for student, slot in pins:
            i, t = self.student_index[student], self.slot_index[slot]
            out.append((i, next(j for j in range(self.first[i], self.first[i + 1])
                                if self.slot[j] == t)))  # fmt: skip
        return out

    def clash(self, a: int, b: int) -> bool:
        """True when slots ``a`` and ``b`` have overlapping sessions (half-open intervals)."""
        sa, sb = self.starts[a], self.starts[b]
        if not sa or not sb:
            return False
        (lo_a, hi_a), (lo_b, hi_b) = self.span[a], self.span[b]
        if hi_a <= lo_b or hi_b <= lo_a:
            return False
        if len(sa) > len(sb):
            a, b, sb = b, a, sa
        ends = self.max_end[b]
        for start, end in self.sessions[a]:
            # Sessions of b that start before this one ends; does any of them end after it starts?
            k = bisect_left(sb, end)
            if k and ends[k - 1] > start:
                return True
        return False


def _lookup(ids: list[int], values: np.ndarray) -> np.ndarray:
    """Index of each value in ``ids``, -1 where it is not there."""
    if not ids:
        return np.full(len(values), -1, dtype=np.int64)
    if ids == list(range(ids[0], ids[0] + len(ids))):
        at = values - ids[0]
        return np.where((at >= 0) & (at < len(ids)), at, -1)
    keys = np.array(ids, dtype=np.int64)
    by_id = np.argsort(keys, kind="stable")
    at = np.searchsorted(keys[by_id], values).clip(0, len(ids) - 1)
    return np.where(keys[by_id][at] == values, by_id[at], -1)


def _lexsort(columns: tuple[np.ndarray, ...]) -> np.ndarray:
    """Indexes sorting rows by the columns, the first column first.

    When the columns' ranges pack into one int64, as they do at any realistic size, one
    argsort of the packed key does it, several times faster than ``np.lexsort``.
    """
    packed, room = np.zeros(len(columns[0]), dtype=np.int64), 1
    for column in columns:
        if not len(column):
            break
        low, span = int(column.min()), int(column.max()) - int(column.min()) + 1
        room *= span
        if room >= 1 << 62:
            return np.lexsort(columns[::-1])
        packed = packed * span + (column - low)
    return np.argsort(packed, kind="stable")


class _Holdings:
    """One student's placements and the own rules a new one must keep: kind limits, one slot
    per opportunity, no overlapping sessions, and weekly hours within the tightest cap."""

    __slots__ = ("busiest", "held", "inst", "kinds", "tightest", "track", "weeks")

    def __init__(self, inst: _Instance, track: bool = True) -> None:
        self.inst = inst
        # Whether to count weekly minutes: only a student with a capped arc needs them.
        self.track = track
        self.held: dict[int, int] = {}  # slot index -> weekly cap of the arc
        self.kinds = [0, 0, 0]
        self.weeks: dict[int, int] = {}
        self.busiest = 0
        self.tightest = _NO_CAP

    def fits(self, t: int, cap: int) -> bool:
        """Whether slot ``t`` (taken under weekly cap ``cap``) can join these placements."""
        inst = self.inst
        kind = inst.kind[t]
        if self.kinds[kind] >= inst.limits[kind]:
            return False
        if self.held:
            opportunity, days, same = inst.opportunity[t], inst.days[t], inst.opportunity
            for u in self.held:
                if same[u] == opportunity or (days & inst.days[u] and inst.clash(u, t)):
                    return False
        tight = cap if cap < self.tightest else self.tightest
        if tight < _NO_CAP:
            busiest, weeks = self.busiest, self.weeks
            for week, minutes in inst.weeks[t]:
                total = weeks.get(week, 0) + minutes
                if total > busiest:
                    busiest = total
            if busiest > tight:
                return False
        return True

    def add(self, t: int, cap: int) -> None:
        self.held[t] = cap
        self.kinds[self.inst.kind[t]] += 1
        if cap < self.tightest:
            self.tightest = cap
        if self.track:
            weeks = self.weeks
            for week, minutes in self.inst.weeks[t]:
                total = weeks.get(week, 0) + minutes
                weeks[week] = total
                if total > self.busiest:
                    self.busiest = total

    def remove(self, t: int) -> None:
        cap = self.held.pop(t)
        self.kinds[self.inst.kind[t]] -= 1
        if cap == self.tightest:
            self.tightest = min(self.held.values(), default=_NO_CAP)
        if self.track:
            weeks = self.weeks
            for week, minutes in self.inst.weeks[t]:
                weeks[week] -= minutes
            self.busiest = max(weeks.values(), default=0)

    def without(self, t: int) -> _Holdings:
        """A copy of these placements less slot ``t`` (to test a swap)."""
        other = _Holdings(self.inst, self.track)
        for u, cap in self.held.items():
            if u != t:
                other.add(u, cap)
        return other


def deferred_acceptance(problem: Problem, seed: int = 0) -> Assignments:
    """Student-proposing deferred acceptance, many-to-many, with every hard rule kept.

    Students take turns in lottery order, each walking down their preference list once. An
    arc whose slot (or capped host) is full of students it prefers is dropped: it would
    reject the student. Otherwise the student proposes to it if it fits what they hold right
    now (kind limit, one slot per opportunity, no overlap, weekly hours, their group's
    internship host), and sets it aside if not; every time the student loses a placement (or
    their group's last internship goes) the set-aside arcs are tried again, best first,
    before the walk goes on. A student never gives up a placement of their own accord, so a
    slot's worst held student only ever improves (save for the host cap, below). A slot keeps
    the ``capacity`` students it prefers among its proposers, rejecting the worst. A capped
    host over ``max_students`` rejects its least-preferred student from every slot they hold
    there; the proposer is rejected instead when they are the least preferred. Rejected arcs
    are never proposed again, so it ends after at most one proposal per arc.

    Stability: when the only rules tying a student's placements together are the kind limits
    and one slot per opportunity, and no host is capped, the result is stable: no blocking
    pair (:func:`blocking_pairs`). With one placement per student it is exactly the classic
    Gale-Shapley student-optimal stable matching: every student likes it at least as well as
    any other stable matching. With overlaps, weekly caps, groups or host caps a stable
    matching may not exist and some pairs can block: a student may prefer an arc that clashed
    with a placement they later lost to one they took meanwhile; a host that evicted a student
    may later lose others and have room; a group member may prefer an internship at another
    host. What always holds is that no student could *add* an arc that never rejected them
    (keeping their own rules and their group's host), and that a slot that rejected a student
    stays full of students it prefers unless a host cap later evicted one of them.

    Raises :class:`PinConflictError` when the pins alone break a hard rule.
    """
    inst = _Instance(problem, seed)
    limits, kind_of, host_of, capacity = inst.limits, inst.kind, inst.host, inst.capacity
    slot_of, key_of, cap_of, first = inst.slot, inst.key, inst.cap, inst.first
    total = sum(limits)
    n, n_slots = len(inst.student_ids), len(inst.slot_ids)
    hold = [_Holdings(inst, track) for track in inst.capped_student]
    held_key: list[dict[int, int]] = [{} for _ in range(n)]  # slot index -> key, if movable
    position = first[:-1]
    set_aside: list[list[int]] = [[] for _ in range(n)]
    # Slot t holds fixed[t] pinned students and count[t] others; heaps[t] has (-key, student)
    # for the others, lazily: an entry is stale once that student no longer holds t. bar[t]:
    # the slot takes a proposer with a lower key (the key of its worst student when full).
    heaps: list[list[tuple[int, int]]] = [[] for _ in range(n_slots)]
    count = [0] * n_slots
    fixed = [0] * n_slots
    bar = [_NO_CAP if c > 0 else -_NO_CAP for c in capacity]
    # A capped host: how many slots each student holds there, each movable student's key
    # (their best over those slots) with a lazy max-heap of keys, the pinned students, and
    # host_bar, like bar: a newcomer needs a lower key (its worst student's when full).
    host_cap = inst.host_cap
    at_host: dict[int, dict[int, int]] = {h: {} for h in host_cap}
    host_key: dict[int, dict[int, int]] = {h: {} for h in host_cap}
    host_heap: dict[int, list[tuple[int, int]]] = {h: [] for h in host_cap}
    pinned_at: dict[int, set[int]] = {h: set() for h in host_cap}
    host_bar = {h: _NO_CAP if c > 0 else -_NO_CAP for h, c in host_cap.items()}
    capped = [h in host_cap for h in host_of]
    # A group's internships: how many its members hold, and at which host.
    group_of = inst.group
    members: dict[int, list[int]] = defaultdict(list)
    for i, g in enumerate(group_of):
        if g is not None:
            members[g].append(i)
    group_count: dict[int, int] = defaultdict(int)
    group_host: dict[int, int] = {}
    # Students take turns in lottery order. Without side rules any order gives the same
    # result; this one keeps displacements rare, since every slot prefers the earlier draw
    # among the students it did not rank.
    queue = deque(sorted(range(n), key=lambda i: inst.place[inst.student_ids[i]]))
    queued = bytearray(b"\x01") * n

    def wake(i: int) -> None:
        if not queued[i]:
            queued[i] = 1
            queue.append(i)

    def refresh(t: int) -> None:
        """Recompute bar[t], dropping stale entries off the top of the slot's heap."""
        if fixed[t] + count[t] < capacity[t]:
            bar[t] = _NO_CAP
        elif not count[t]:
            bar[t] = -_NO_CAP
        else:
            heap = heaps[t]
            while t not in hold[heap[0][1]].held:
                heappop(heap)
            bar[t] = -heap[0][0]

    def host_refresh(h: int) -> None:
        """Recompute host_bar[h] for a capped host."""
        if len(at_host[h]) < host_cap[h]:
            host_bar[h] = _NO_CAP
        else:
            worst = host_worst(h)
            host_bar[h] = -_NO_CAP if worst is None else worst[0]

    def take(i: int, j: int, pinned: bool = False) -> None:
        t, key = slot_of[j], key_of[j]
        hold[i].add(t, cap_of[j])
        h = host_of[t]
        if h in host_cap:
            here = at_host[h]
            here[i] = here.get(i, 0) + 1
            if pinned:
                pinned_at[h].add(i)
                host_key[h].pop(i, None)
            elif i not in pinned_at[h]:
                held_key[i][t] = key
                best = host_key[h].get(i)
                if best is None or key < best:
                    host_key[h][i] = key
                    heappush(host_heap[h], (-key, i))
            host_refresh(h)
        g = group_of[i]
        if kind_of[t] == INTERNSHIP and g is not None:
            group_count[g] += 1
            group_host[g] = h

    def lose(i: int, t: int) -> None:
        """Student ``i`` is rejected from slot ``t`` they held (not pinned)."""
        hold[i].remove(t)
        count[t] -= 1
        refresh(t)
        h = host_of[t]
        if h in host_cap:
            here = at_host[h]
            here[i] -= 1
            held_key[i].pop(t, None)
            if not here[i]:
                del here[i]
                host_key[h].pop(i, None)
            elif i not in pinned_at[h]:
                best = min(k for u, k in held_key[i].items() if host_of[u] == h)
                if best != host_key[h][i]:
                    host_key[h][i] = best
                    heappush(host_heap[h], (-best, i))
            host_refresh(h)
        g = group_of[i]
        if kind_of[t] == INTERNSHIP and g is not None:
            group_count[g] -= 1
            if not group_count[g]:
                del group_host[g]
                for k in members[g]:
                    wake(k)
        wake(i)

    def host_worst(h: int) -> tuple[int, int] | None:
        """(key, student) of the least-preferred movable student at capped host h."""
        heap, keys = host_heap[h], host_key[h]
        while heap and keys.get(heap[0][1]) != -heap[0][0]:
            heappop(heap)
        return (-heap[0][0], heap[0][1]) if heap else None

    def propose(i: int, j: int) -> None:
        """Student ``i`` takes arc ``j``, which its slot and host would accept."""
        t, key = slot_of[j], key_of[j]
        h = host_of[t]
        if h in host_cap and i not in at_host[h]:
            here = at_host[h]
            # Displacing the slot's worst student frees a place at the host if it was their
            # only slot there.
            leaves = bar[t] < _NO_CAP and here[heaps[t][0][1]] == 1
            if len(here) + 1 - leaves > host_cap[h]:
                w = host_worst(h)[1]  # type: ignore[index]
                for u in [u for u in hold[w].held if host_of[u] == h]:
                    lose(w, u)
        if bar[t] < _NO_CAP:
            lose(heappop(heaps[t])[1], t)
        heappush(heaps[t], (-key, i))
        count[t] += 1
        take(i, j)
        refresh(t)

    def turn(i: int) -> None:
        """Student ``i`` retries their set-aside arcs, then walks on down their list."""
        mine = hold[i]
        held = mine.held
        if len(held) >= total:
            return
        group = group_of[i]
        kept: list[int] = []
        aside, walk = iter(set_aside[i]), iter(range(position[i], first[i + 1]))
        for j in chain(aside, walk):
            t = slot_of[j]
            key = key_of[j]
            if key > bar[t]:
                continue  # rejected: the slot is full of students it prefers
            if capped[t]:
                # Rejected by a full host of students it prefers. (A newcomer who displaces a
                # student leaving the host has a lower key than that student, so than the
                # host's worst too: host_bar decides alone.)
                h = host_of[t]
                if key > host_bar[h] and i not in at_host[h]:
                    continue
            if (
                group is not None
                and kind_of[t] == INTERNSHIP
                and group_count[group]
                and group_host[group] != host_of[t]
            ) or not mine.fits(t, cap_of[j]):
                kept.append(j)
                continue
            propose(i, j)
            if len(held) >= total:
                break
        # Arcs not reached stay set aside or ahead on the walk.
        kept.extend(aside)
        set_aside[i] = kept
        position[i] = next(walk, first[i + 1])

    for i, j in inst.pins:
        take(i, j, pinned=True)
        fixed[slot_of[j]] += 1
        refresh(slot_of[j])
    while queue:
        i = queue.popleft()
        queued[i] = 0
        turn(i)
    return _result(inst, hold)


def serial_dictatorship(problem: Problem, seed: int = 0) -> Assignments:
    """Random serial dictatorship: in the order of the seeded :func:`lottery`, each student
    takes, best first, every arc that fits what they hold and still has room, up to their
    kind limits.

    Pins are placed first. An arc has room when its slot is below capacity and its host is
    below ``max_students`` (or already has the student). It fits when it keeps the student's
    own rules and, for an internship, their group's host (set by the first member to take one).

    Raises :class:`PinConflictError` when the pins alone break a hard rule.
    """
    inst = _Instance(problem, seed)
    kind_of, host_of, capacity, host_cap = inst.kind, inst.host, inst.capacity, inst.host_cap
    slot_of, cap_of, first = inst.slot, inst.cap, inst.first
    total = sum(inst.limits)
    hold = [_Holdings(inst, track) for track in inst.capped_student]
    count = [0] * len(inst.slot_ids)
    at_host: dict[int, set[int]] = {h: set() for h in host_cap}
    group_host: dict[int, int] = {}

    def take(i: int, j: int) -> None:
        t = slot_of[j]
        hold[i].add(t, cap_of[j])
        count[t] += 1
        h = host_of[t]
        if h in host_cap:
            at_host[h].add(i)
        if kind_of[t] == INTERNSHIP and inst.group[i] is not None:
            group_host[inst.group[i]] = h

    for i, j in inst.pins:
        take(i, j)
    for i in sorted(range(len(inst.student_ids)), key=lambda i: inst.place[inst.student_ids[i]]):
        mine, g = hold[i], inst.group[i]
        for j in range(first[i], first[i + 1]):
            if len(mine.held) >= total:
                break
            t = slot_of[j]
            h = host_of[t]
            if count[t] >= capacity[t] or t in mine.held:
                continue
            if h in host_cap and i not in at_host[h] and len(at_host[h]) >= host_cap[h]:
                continue
            if kind_of[t] == INTERNSHIP and g is not None and group_host.get(g, h) != h:
                continue
            if mine.fits(t, cap_of[j]):
                take(i, j)
    return _result(inst, hold)


def blocking_pairs(
    problem: Problem, assignments: Iterable[tuple[int, int]], *, seed: int = 0
) -> list[tuple[int, int]]:
    """The ``(student, slot)`` arcs outside ``assignments`` that both sides would rather have.

    The student would take the slot when they could add it to their placements keeping their
    own rules (kind limit, one slot per opportunity, no overlap, weekly hours) and either
    ranked it or hold no placement yet (one who already has a placement did not ask for an
    opportunity they left unranked, and welfare mode counts it against them), or when it is
    strictly preferred to a placement they could swap out for it, making the set keep those
    rules. Pinned placements are never swapped out, and the group rule is not the student's
    own: a group member who would rather intern at another host counts.

    The slot would take the student when it has room (and its host is below ``max_students``
    or already has the student), or when it holds a student it ranks below this one by
    ``host_rank`` and the lottery of ``seed`` (pinned students are not displaced; the host cap
    is not weighed against such a swap).

    With side constraints a stable matching may not exist at all; the count of these pairs is
    what the report gives for a result, e.g. that of :func:`deferred_acceptance`. Placements
    without an arc are ignored here (the checker reports them).
    """
    return _blocking_pairs(_Instance(problem, seed, keep_pins=False), assignments)


def _blocking_pairs(
    inst: _Instance, assignments: Iterable[tuple[int, int]]
) -> list[tuple[int, int]]:
    """:func:`blocking_pairs` on an instance already built (without its pins placed)."""
    slot_of, key_of, cap_of, first = inst.slot, inst.key, inst.cap, inst.first
    index, slot_index = inst.student_index, inst.slot_index
    pins = {(index[s], slot_index[t]) for s, t in inst.problem.pins
            if s in index and t in slot_index}  # fmt: skip
    placed = {(index[s], slot_index[t]) for s, t in assignments
              if s in index and t in slot_index}  # fmt: skip
    n = len(inst.student_ids)
    hold = [_Holdings(inst, track) for track in inst.capped_student]
    where: list[dict[int, int]] = [{} for _ in range(n)]  # held slot -> arc j
    held_count = [0] * len(inst.slot_ids)
    worst = [-_NO_CAP] * len(inst.slot_ids)  # key of the least-preferred movable student held
    at_host: dict[int, set[int]] = {h: set() for h in inst.host_cap}
    for i, t in placed:
        for j in range(first[i], first[i + 1]):
            if slot_of[j] == t:
                hold[i].add(t, cap_of[j])
                where[i][t] = j
                held_count[t] += 1
                if (i, t) not in pins:
                    worst[t] = max(worst[t], key_of[j])
                if inst.host[t] in at_host:
                    at_host[inst.host[t]].add(i)
                break

    out: list[tuple[int, int]] = []
    for i in range(n):
        mine = hold[i]
        swaps: dict[int, _Holdings] = {}
        for j in range(first[i], first[i + 1]):
            t, key, cap = slot_of[j], key_of[j], cap_of[j]
            if t in mine.held:
                continue
            h = inst.host[t]
            room = held_count[t] < inst.capacity[t] and (
                h not in at_host or i in at_host[h] or len(at_host[h]) < inst.host_cap[h]
            )
            if not room and worst[t] <= key:
                continue
            # A further placement counts only if the student asked for it (see above).
            if not (mine.fits(t, cap) and (inst.ranked[j] or not where[i])):
                # Arcs come best first, so a held arc with a later j is one the student likes less.
                for u, k in where[i].items():
                    if k > j and (i, u) not in pins:
                        if u not in swaps:
                            swaps[u] = mine.without(u)
                        if swaps[u].fits(t, cap):
                            break
                else:
                    continue
            out.append((inst.student_ids[i], inst.slot_ids[t]))
    return sorted(out)


def satisfy_blocking_pairs(
    problem: Problem,
    assignments: Iterable[tuple[int, int]],
    *,
    seed: int = 0,
    max_rounds: int = 50,
    deadline: float | None = None,
) -> tuple[Assignments, list[tuple[int, int]]]:
    """``assignments`` (every hard rule kept) with blocking pairs satisfied, a round at a time,
    in the manner of Roth and Vande Vate's random paths to stability; returns the placement
    with the fewest blocking pairs seen (``assignments`` itself unless one has fewer) and
    those pairs.

    Each round takes the :func:`blocking_pairs` of the placement in a seeded random order and
    satisfies every one that touches no student, slot or host changed earlier in the round:
    the student takes the slot, giving up their least-preferred placement that makes it
    fit their own rules when it does not fit as it is (the swap that makes the pair block);
    a full slot lets go of its least-preferred movable student; a capped host then over
    ``max_students`` lets go of its least-preferred movable student at every slot they hold
    there. A student let go may block elsewhere next round, and is placed there in turn.
    Pins are never given up. A pair left alone: an internship away from the host the
    student's group already has (satisfying it would break the group rule), or one whose
    host would have to let go of the student themself.

    Without side rules :func:`deferred_acceptance` leaves no pair, and nothing changes. With
    them a stable matching may not exist and the walk may cycle, so it ends after
    ``max_rounds`` rounds, at ``deadline`` (``time.perf_counter()``), or when a round
    changes nothing.
    """
    inst = _Instance(problem, seed, keep_pins=False)
    slot_of, key_of, cap_of, first = inst.slot, inst.key, inst.cap, inst.first
    kind_of, host_of, capacity, host_cap = inst.kind, inst.host, inst.capacity, inst.host_cap
    index, slot_index = inst.student_index, inst.slot_index
    arc_of = {(i, slot_of[j]): j for i in range(len(inst.student_ids))
              for j in range(first[i], first[i + 1])}  # fmt: skip
    pins = {(index[s], slot_index[t]) for s, t in problem.pins
            if s in index and t in slot_index}  # fmt: skip
    members: dict[int, list[int]] = defaultdict(list)
    for i, g in enumerate(inst.group):
        if g is not None:
            members[g].append(i)
    rng = random.Random(seed)
    held: list[dict[int, int]] = []  # each student's slots -> arc j, this round
    occupants: list[set[int]] = []  # each slot's students, this round

    def holdings(i: int) -> _Holdings:
        mine = _Holdings(inst, inst.capped_student[i])
        for u, j in held[i].items():
            mine.add(u, cap_of[j])
        return mine

    def at_host(h: int) -> dict[int, list[int]]:
        """The students holding slots of capped host ``h``, with those slots."""
        out: dict[int, list[int]] = defaultdict(list)
        for u in inst.slots_of_host[h]:
            for k in occupants[u]:
                out[k].append(u)
        return out

    def satisfy(i: int, t: int) -> list[tuple[int, int]] | None:
        """The (student, slot) placements given up when student ``i`` takes slot ``t``
        (``i``'s own swap first); None when the pair is left alone."""
        j = arc_of[(i, t)]
        mine, h = holdings(i), host_of[t]
        leave: list[tuple[int, int]] = []
        if not (mine.fits(t, cap_of[j]) and (inst.ranked[j] or not held[i])):
            worse = [u for u, k in held[i].items() if k > j and (i, u) not in pins
                     and mine.without(u).fits(t, cap_of[j])]  # fmt: skip
            if not worse:
                return None
            leave.append((i, max(worse, key=held[i].__getitem__)))
        g = inst.group[i]
        if kind_of[t] == INTERNSHIP and g is not None:
            hosts = {host_of[u] for k in members[g] for u in held[k]
                     if kind_of[u] == INTERNSHIP and (k, u) not in leave}  # fmt: skip
            if hosts - {h}:
                return None
        if len(occupants[t]) >= capacity[t]:
            movable = [k for k in occupants[t] if (k, t) not in pins]
            if not movable:
                return None
            worst = max(movable, key=lambda k: key_of[held[k][t]])
            if key_of[held[worst][t]] < key_of[j]:
                return None
            leave.append((worst, t))
        if h in host_cap:
            there = at_host(h)
            for k, u in leave:
                if host_of[u] == h:
                    there[k].remove(u)
            there[i].append(t)
            there = {k: us for k, us in there.items() if us}
            if len(there) > host_cap[h]:
                # Each movable student's key: their best over the slots they hold there.
                keys = {k: min(key_of[j] if (k, u) == (i, t) else key_of[held[k][u]]
                               for u in us)
                        for k, us in there.items()
                        if not any((k, u) in pins for u in us)}  # fmt: skip
                if not keys:
                    return None
                worst = max(keys, key=keys.__getitem__)
                if worst == i:
                    return None
                leave.extend((worst, u) for u in there[worst])
        return leave

    current = tuple(sorted({(s, t) for s, t in assignments
                            if (index.get(s, -1), slot_index.get(t, -1)) in arc_of}))  # fmt: skip
    best = current
    best_pairs = pairs = _blocking_pairs(inst, current)
    for _ in range(max_rounds):
        if not pairs or (deadline is not None and time.perf_counter() >= deadline):
            break
        held = [{} for _ in inst.student_ids]
        occupants = [set() for _ in inst.slot_ids]
        for s, t in current:
            i, u = index[s], slot_index[t]
            held[i][u] = arc_of[(i, u)]
            occupants[u].add(i)
        touched: set[tuple[str, int]] = set()
        order = list(pairs)
        rng.shuffle(order)
        for s, t_id in order:
            i, t = index[s], slot_index[t_id]
            if touched & {("student", i), ("slot", t), ("host", host_of[t])}:
                continue
            leave = satisfy(i, t)
            if leave is None:
                continue
            for k, u in leave:
                del held[k][u]
                occupants[u].discard(k)
                touched |= {("student", k), ("slot", u), ("host", host_of[u])}
            held[i][t] = arc_of[(i, t)]
            occupants[t].add(i)
            touched |= {("student", i), ("slot", t), ("host", host_of[t])}
        if not touched:
            break  # every pair left is one the walk leaves alone
        current = tuple(sorted((inst.student_ids[i], inst.slot_ids[u])
                               for i, mine in enumerate(held) for u in mine))  # fmt: skip
        pairs = _blocking_pairs(inst, current)
        if len(pairs) < len(best_pairs):
            best, best_pairs = current, pairs
    return best, best_pairs


def _result(inst: _Instance, hold: list[_Holdings]) -> Assignments:
    return tuple(sorted((inst.student_ids[i], inst.slot_ids[t])
                        for i, mine in enumerate(hold) for t in mine.held))  # fmt: skip
