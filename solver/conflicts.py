"""Which slots clash in time, as cliques: sets of slots that all overlap one another.

A student takes at most one slot of each clique. One at-most-one constraint per clique is far
smaller than one constraint per overlapping pair, and just as strong.
"""

from __future__ import annotations

from collections.abc import Iterable

from solver.problem import SlotSpec


def overlap_cliques(slots: Iterable[SlotSpec]) -> list[tuple[int, ...]]:
    """Cliques of slot ids that covers every overlapping pair of slots.

    Sweeps the session endpoints in time order: just before the first session ends after one
    or more have started, every active session shares that instant, so their slots form a
    clique. Any two overlapping sessions are both active at such a moment, so every clashing
    pair lands in some clique. Sessions are half-open ``[start, end)``: back-to-back sessions
    do not clash. Cliques come sorted, without repeats, each of two slots or more.
    """
    events: list[tuple[int, int, int]] = []
    for slot in slots:
        for start, end in slot.sessions:
            if start < end:
                events.append((start, 1, slot.id))
                events.append((end, 0, slot.id))  # ends sort before starts at the same time
    events.sort()
    active: dict[int, int] = {}  # slot id -> sessions of it in progress
    grown = False
    cliques: set[tuple[int, ...]] = set()
    for _, is_start, slot_id in events:
        if is_start:
            active[slot_id] = active.get(slot_id, 0) + 1
            grown = True
            continue
        if grown and len(active) > 1:
            cliques.add(tuple(sorted(active)))
        grown = False
        if active[slot_id] == 1:
            del active[slot_id]
        else:
            active[slot_id] -= 1
    return sorted(_maximal(cliques))


def _maximal(cliques: set[tuple[int, ...]]) -> list[tuple[int, ...]]:
    """Drop cliques contained in a larger one (a weekly slot meets the same others often)."""
    by_size = sorted(cliques, key=len, reverse=True)
    kept: list[frozenset[int]] = []
    containing: dict[int, list[int]] = {}  # slot id -> indexes of kept cliques holding it
    for clique in by_size:
        members = frozenset(clique)
        candidates = containing.get(clique[0], [])
        if any(members <= kept[i] for i in candidates):
            continue
        for slot_id in clique:
            containing.setdefault(slot_id, []).append(len(kept))
        kept.append(members)
    return [tuple(sorted(c)) for c in kept]


def slots_overlap(a: SlotSpec, b: SlotSpec) -> bool:
    """Whether two slots clash: some session of one overlaps some session of the other."""
    return any(s1 < e2 and s2 < e1 for s1, e1 in a.sessions for s2, e2 in b.sessions)
