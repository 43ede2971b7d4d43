"""Overlap cliques: every clashing pair is covered, and every clique really clashes."""

from __future__ import annotations

from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st

from solver.conflicts import exclusive_cliques, overlap_cliques
from solver.problem import JOB_SHADOW, SlotSpec


def _slot(slot_id: int, *sessions: tuple[int, int]) -> SlotSpec:
    return SlotSpec(slot_id, host=1, opportunity=slot_id, kind=JOB_SHADOW, capacity=1,
                    sessions=tuple(sessions))  # fmt: skip


def _clash(a: SlotSpec, b: SlotSpec) -> bool:
    return any(s1 < e2 and s2 < e1 for s1, e1 in a.sessions for s2, e2 in b.sessions)


def test_overlap_cliques_three_at_once_is_one_clique() -> None:
    slots = [_slot(1, (0, 10)), _slot(2, (5, 15)), _slot(3, (8, 9)), _slot(4, (20, 30))]
    assert overlap_cliques(slots) == [(1, 2, 3)]


def test_overlap_cliques_back_to_back_sessions_do_not_clash() -> None:
    assert overlap_cliques([_slot(1, (0, 10)), _slot(2, (10, 20))]) == []


def test_overlap_cliques_chain_needs_two_cliques() -> None:
    # 1 clashes with 2, 2 with 3, but 1 and 3 never meet: no clique may hold 1 and 3.
    slots = [_slot(1, (0, 10)), _slot(2, (5, 15)), _slot(3, (12, 20))]
    assert overlap_cliques(slots) == [(1, 2), (2, 3)]


def test_overlap_cliques_weekly_slots_repeat_once() -> None:
    weekly = [(w * 7 * 1440 + 600, w * 7 * 1440 + 780) for w in range(12)]
    slots = [_slot(1, *weekly), _slot(2, *weekly), _slot(3, (600, 700)), _slot(4)]
    # Slot 3 meets 1 and 2 in the first week only; the later weeks' {1, 2} is inside it.
    assert overlap_cliques(slots) == [(1, 2, 3)]


_sessions = st.lists(
    st.tuples(st.integers(0, 60), st.integers(1, 15)).map(lambda t: (t[0], t[0] + t[1])),
    max_size=3,
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(_sessions, max_size=9))
def test_overlap_cliques_cover_exactly_the_clashing_pairs(sessions: list) -> None:
    slots = [_slot(i, *s) for i, s in enumerate(sessions)]
    by_id = {s.id: s for s in slots}
    cliques = overlap_cliques(slots)
    covered = {pair for clique in cliques for pair in combinations(clique, 2)}
    clashing = {(a.id, b.id) for a, b in combinations(slots, 2) if _clash(a, b)}
    assert covered == clashing  # every clashing pair covered, and nothing else
    for clique in cliques:
        assert len(clique) >= 2 and list(clique) == sorted(set(clique))
        for a, b in combinations(clique, 2):
            assert _clash(by_id[a], by_id[b])
    assert len(set(cliques)) == len(cliques)
    for a, b in combinations(cliques, 2):
        assert not set(a) <= set(b) and not set(b) <= set(a)  # only maximal ones


def test_exclusive_cliques_merge_three_pairs_into_one_triangle() -> None:
    # One slot per opportunity {1, 2}; slot 3 clashes in time with 1 and with 2.
    assert exclusive_cliques([[1, 2], [1, 3], [2, 3], [4]]) == [(1, 2, 3)]
    assert exclusive_cliques([[1, 2], [3, 4]]) == [(1, 2), (3, 4)]  # apart: as given


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.lists(st.integers(0, 8), max_size=5), max_size=8))
def test_exclusive_cliques_are_the_maximal_cliques_of_the_groups(groups: list) -> None:
    cliques = exclusive_cliques(groups)
    clashing = {pair for g in groups for pair in combinations(sorted(set(g)), 2)}
    covered = {pair for clique in cliques for pair in combinations(clique, 2)}
    assert covered == clashing  # the same rule: every clash covered, no new one
    assert len(set(cliques)) == len(cliques)
    items = {i for g in groups for i in g}
    for clique in cliques:
        assert len(clique) >= 2 and list(clique) == sorted(set(clique))
        # Maximal: no item outside clashes with every member.
        others = items - set(clique)
        assert not any(all(tuple(sorted((o, c))) in clashing for c in clique) for o in others)


def test_exclusive_cliques_past_the_limit_keep_the_groups(monkeypatch) -> None:
    monkeypatch.setattr("solver.conflicts._MOST_CLIQUES", 0)
    groups = [[2, 1], [1, 3], [2, 3], [1, 2], [1]]
    assert exclusive_cliques(groups) == [(1, 2), (1, 3), (2, 3)]
