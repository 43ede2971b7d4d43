"""What the solver returns: status, the placements, the objective level by level, and why.

Plain frozen dataclasses, integers where the model is integral. ``objective`` and ``bound``
are given per level of the lexicographic objective (DESIGN.md, "Objective"), so a caller can
say exactly which level is proven optimal and how far the rest may still be from its bound.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OPTIMAL, FEASIBLE, INFEASIBLE, TIMED_OUT = "optimal", "feasible", "infeasible", "timed_out"


@dataclass(frozen=True)
class Stage:
    """One step of the solve: which level it optimised, how, and what it proved."""

    level: str
    method: str  # "min_cost_flow", "cp_sat", "deferred_acceptance", ...
    status: str  # OPTIMAL, FEASIBLE, INFEASIBLE or TIMED_OUT
    objective: int
    bound: int
    wall_s: float


@dataclass(frozen=True)
class Solution:
    """A placement for a :class:`~solver.problem.Problem`.

    ``status`` is OPTIMAL only when every level is proven optimal; FEASIBLE when a valid
    placement was found but some level is not proven; INFEASIBLE when the hard rules (pins,
    usually) admit no placement; TIMED_OUT when the time ran out before any placement.
    """

    status: str
    assignments: tuple[tuple[int, int], ...]  # sorted (student, slot) pairs
    # One value per objective level, named in ``levels`` (see solver.objective): placed,
    # [kept,] preference, travel. ``bound`` is the best proven bound of each, same order.
    levels: tuple[str, ...]
    objective: tuple[int, ...]
    bound: tuple[int, ...]
    wall_s: float
    stages: tuple[Stage, ...] = ()
    # Students with no placement, sorted.
    unplaced: tuple[int, ...] = ()
    # Placements that differ from the previous ones given to a re-solve (None: not a re-solve).
    moved: int | None = None
    # Pairs (student, slot) that would both rather have each other (stable-mode definition).
    blocking_pairs: int | None = None
    message: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def gap(self) -> float | None:
        """Relative gap of the levels after the first, 0.0 when they are proven optimal;
        None when some level has no bound (stable mode optimises none of them).

        The first level (students placed) is reported separately by :attr:`placed_proven`;
        a gap over a total dominated by it would hide how far the rest may be from optimal.
        """
        if len(self.bound) != len(self.objective):
            return None
        worst = 0.0
        for value, bound in zip(self.objective[1:], self.bound[1:], strict=False):
            worst = max(worst, abs(bound - value) / max(1, abs(bound)))
        return worst

    @property
    def placed_proven(self) -> bool:
        """True when the priority-weighted number placed equals its proven bound."""
        return bool(self.objective) and self.objective[0] == self.bound[0]
