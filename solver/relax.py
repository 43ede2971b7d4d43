"""HiGHS on a placement model's linear rows: LP bounds, reduced-cost fixing, small MIPs.

:class:`solver.model.PlacementModel` records every constraint it gives CP-SAT as a linear row
too, so what HiGHS sees here is the same rules, not a second copy. HiGHS runs in this process
through ``highspy``, pinned to the HiGHS that OR-Tools bundles (another version fails to load
beside it).

- :class:`Relaxation` keeps one LP of the whole model and re-optimises it level after level,
  each from the last one's basis (measured at 10,000 students: the travel LP takes 3.8 s so,
  19 s from scratch). For each level it gives a **bound** no integer placement can beat,
  rounded outwards, the LP's **support** (measured: 4,854 of 211,898 arcs, nearly all at 0
  or 1) and the reduced costs that **fix arcs**: an arc at 0 whose reduced cost is worse
  than the LP's margin over a target cannot be in any placement that reaches the target
  (:meth:`LpResult.needed`). At 10,000 students that drops 164,000 of 212,000 arcs from the
  search for one more placement.
- :func:`solve_mip` solves a (small) model exactly, with branch and cut, within a time
  limit: a neighbourhood, or a model cut down by fixing. Measured at 10,000 students: it
  proves the placed count on the 48,000 arcs fixing leaves in 1.2 s, where CP-SAT does not in
  60 s, and finds the best travel on the LP's support in 1.7 s.

The formulation is what makes the bound useful: see ``PlacementModel._at_most_one_sums``.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from heapq import heappop, heappush

import highspy
import numpy as np

from solver.model import PlacementModel

# The LP's values are trusted to this relative precision before rounding to an integer.
TOLERANCE = 1e-6
_FEASIBLE = 2  # HiGHS's kSolutionStatusFeasible
_DUAL, _PRIMAL = 1, 4  # HiGHS's simplex_strategy values
# A branch-and-bound node settled without an LP value: no placement in it, or none better
# than the cutoff.
_PRUNED = (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kObjectiveBound)


@dataclass(frozen=True)
class LpResult:
    """One level's relaxation: its bound, the arcs it uses, and what fixing can drop."""

    level: str
    value: float  # the LP optimum
    bound: int  # rounded outwards: no integer placement does better
    support: frozenset[tuple[int, int]]
    wall_s: float
    # Arcs at 0 in the LP, with the LP's best value once the arc is taken (value + its
    # reduced cost): a bound on every placement that uses the arc.
    limits: tuple[tuple[tuple[int, int], float], ...]

    def needed(self, target: int, arcs: Iterable[tuple[int, int]]) -> frozenset[tuple[int, int]]:
        """Those of ``arcs`` a placement reaching ``target`` (at least, or at most for
        travel) may use: every arc but the ones whose limit falls short of it."""
        slack = TOLERANCE * max(1.0, abs(self.value)) + TOLERANCE
        if self.level == "travel":
            dropped = {arc for arc, limit in self.limits if limit > target + slack}
        else:
            dropped = {arc for arc, limit in self.limits if limit < target - slack}
        return frozenset(arc for arc in arcs if arc not in dropped)


def highs_of(
    model: PlacementModel, *, integer: bool | Sequence[int], seed: int = 0
) -> highspy.Highs:
    """A silent, single-threaded HiGHS holding ``model``'s variables (all 0/1) and rows,
    with no objective yet; ``integer``: all variables integer, none, or those indices."""
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", seed)
    n = model.num_vars
    h.addVars(n, np.zeros(n), np.ones(n))
    _add_rows(h, model.rows)
    if integer is not False:
        chosen = np.arange(n) if integer is True else np.asarray(integer)
        kinds = np.full(len(chosen), int(highspy.HighsVarType.kInteger), dtype=np.uint8)
        h.changeColsIntegrality(len(chosen), chosen.astype(np.int32), kinds)
    return h


def _add_rows(h: highspy.Highs, rows: list) -> None:
    if not rows:
        return
    inf = highspy.kHighsInf
    lower = np.array([max(row[2], -inf) for row in rows], dtype=np.float64)
    upper = np.array([min(row[3], inf) for row in rows], dtype=np.float64)
    sizes = np.fromiter((len(row[0]) for row in rows), dtype=np.int64, count=len(rows))
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int32)
    indices = np.fromiter((i for row in rows for i in row[0]), dtype=np.int32)
    values = np.fromiter((c for row in rows for c in row[1]), dtype=np.float64)
    h.addRows(len(rows), lower, upper, len(indices), starts, indices, values)


def _set_objective(h: highspy.Highs, model: PlacementModel, level: str) -> float:
    """Make ``level`` HiGHS's objective; returns its constant term."""
    variables, coefficients, constant = model.terms(level)
    _set_costs(h, model, [v.index for v in variables], coefficients, level == "travel")
    return float(constant)


def _set_costs(
    h: highspy.Highs,
    model: PlacementModel,
    columns: Sequence[int],
    coefficients: Sequence[float],
    minimise: bool,
) -> None:
    """Make HiGHS's objective the sum of ``coefficients`` times ``columns`` (every other
    variable costs nothing)."""
    n = model.num_vars
    cost = np.zeros(n)
    np.add.at(cost, np.asarray(columns, dtype=np.int64), coefficients)
    h.changeColsCost(n, np.arange(n, dtype=np.int32), cost)
    h.changeObjectiveSense(highspy.ObjSense.kMinimize if minimise else highspy.ObjSense.kMaximize)


def _start_from(
    h: highspy.Highs, model: PlacementModel, assignments: Iterable[tuple[int, int]]
) -> None:
    """Give HiGHS ``assignments`` (every variable's value) as a placement to start from."""
    values = np.asarray(model.values_of(assignments), dtype=np.float64)
    h.setSolution(len(values), np.arange(len(values), dtype=np.int32), values)


def _time_limit(h: highspy.Highs, seconds: float) -> None:
    """Let HiGHS's next run take ``seconds`` (at least 0.1). HiGHS holds its time limit
    against all the runs of one object together, not the next one alone."""
    h.setOptionValue("time_limit", h.getRunTime() + max(0.1, seconds))


def _outwards(value: float, minimise: bool) -> int:
    """An integer bound from a floating-point one, never claiming more than it."""
    slack = TOLERANCE * max(1.0, abs(value))
    return math.ceil(value - slack) if minimise else math.floor(value + slack)


class Relaxation:
    """The LP relaxation of ``model``, kept in step with the rows it gains (level holds)."""

    def __init__(self, model: PlacementModel) -> None:
        self.model = model
        self.highs = highs_of(model, integer=False)
        self._rows = len(model.rows)
        self._x = np.array([v.index for v in model.x], dtype=np.int64)
        self._arcs = [(a.student, a.slot) for a in model.arcs]
        self._pending: threading.Thread | None = None
        self._level: str | None = None  # the level HiGHS last optimised
        self._constant = 0.0  # that level's constant term

    def start(self, level: str, time_limit_s: float) -> None:
        """Begin optimising ``level`` with every row so far in the background, for the
        next :meth:`optimise` to start from. HiGHS leaves the interpreter free while it
        runs, so the caller goes on with other work on the other core; rows the model
        gains meanwhile wait for that next :meth:`optimise`."""
        self.wait()
        self._prepare(level, time_limit_s)
        self._pending = threading.Thread(target=self.highs.run, name="wbl-lp", daemon=True)
        self._pending.start()

    def wait(self) -> None:
        """Wait for a run begun by :meth:`start` to end (at the latest at its time limit)."""
        if self._pending is not None:
            self._pending.join()
            self._pending = None

    def _prepare(self, level: str, time_limit_s: float) -> float:
        """Give HiGHS the model's new rows, ``level`` as objective and the time limit;
        returns the level's constant."""
        h = self.highs
        rows = self.model.rows[self._rows :]
        _add_rows(h, rows)
        self._rows = len(self.model.rows)
        constant = _set_objective(h, self.model, level)
        # The simplex that goes on from the last basis. A new level is a new objective over
        # rows that basis already satisfies (each hold is at most the last LP's optimum):
        # primal simplex. New rows under the same objective (a hold tightened) leave the
        # basis optimal but infeasible: dual simplex. Measured on the generated terms: the
        # travel LP at 10,000 students alone in 3.0 s with primal, 11.5 s with dual (1,000:
        # 0.09 s and 0.14 s); a tightened preference hold then cost primal simplex 13 s
        # without an end, dual 2 s. On uniform random instances primal is the slower one
        # (1,200 students: 1.6 s against 0.6 s).
        if level != self._level:
            h.setOptionValue("simplex_strategy", _DUAL if self._level is None else _PRIMAL)
            self._level = level
        elif rows:
            h.setOptionValue("simplex_strategy", _DUAL)
        _time_limit(h, time_limit_s)
        return constant

    def optimise(self, level: str, time_limit_s: float) -> LpResult | None:
        """The relaxation's optimum of ``level`` with every level held so far; None when
        HiGHS does not prove it optimal within ``time_limit_s`` (which includes waiting
        for a run begun by :meth:`start`)."""
        t0 = time.perf_counter()
        self.wait()
        h = self.highs
        constant = self._prepare(level, time_limit_s - (time.perf_counter() - t0))
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        minimise = level == "travel"
        value = h.getInfo().objective_function_value + constant
        solution = h.getSolution()
        x = np.asarray(solution.col_value)[self._x]
        reduced = np.asarray(solution.col_dual)[self._x]
        arcs = self._arcs
        support = frozenset(arcs[i] for i in np.flatnonzero(x > 1e-6))
        # Taking an arc at 0 changes the LP's value by its reduced cost at best (HiGHS
        # reports it in the objective's own sense: <= 0 when maximising, >= 0 minimising).
        at_zero = np.flatnonzero(x <= 1e-9)
        limits = tuple((arcs[i], float(value + reduced[i])) for i in at_zero)
        self._constant = constant
        return LpResult(
            level,
            value,
            _outwards(value, minimise),
            support,
            time.perf_counter() - t0,
            limits,
        )

    def branch(
        self,
        columns: Sequence[int],
        cutoff: Callable[[], int],
        time_limit_s: float,
        stop: threading.Event | None = None,
    ) -> int | None:
        """A bound on the travel level (minimised) tighter than the LP's: branch and bound
        over the 0/1 ``columns`` alone (indicators such as a group's host), on the LP
        :meth:`optimise` last solved for travel, within ``time_limit_s``; None when it
        proves nothing beyond the LP.

        Nodes go best first, each LP from its parent's basis by dual simplex; a node whose
        LP has no fractional ``column`` is a leaf. Dual simplex stops a node once its value
        passes ``cutoff()``, read before each node (it may only fall, as better placements
        are found): the bound proven is then at most the cutoff, and a cutoff below the
        best placement's travel asks only for a proof within that gap, which is far
        cheaper than the most branching can prove. The bound is the least of the cutoff,
        the leaves' values and the values of the nodes still open (a node cut short by the
        clock keeps its parent's), so it holds whenever the clock stops or ``stop`` is set
        (checked between nodes).
        """
        h = self.highs
        t0 = time.perf_counter()
        cols = np.asarray(columns, dtype=np.int32)
        if not len(cols) or self._level != "travel":
            return None
        root = value = h.getInfo().objective_function_value + self._constant
        values = np.asarray(h.getSolution().col_value)[cols]
        # A heap of open nodes: (LP value, order, the node's fixings, its basis, its values;
        # None when its LP was not solved and its parent's value stands).
        order = 0
        heap: list[tuple[float, int, dict[int, float], object, np.ndarray | None]] = [
            (value, order, {}, h.getBasis(), values)
        ]
        leaves: list[float] = []
        floor = float(cutoff())
        # A node changes bounds under the same objective: dual simplex (measured at 10,000
        # students: a node in 1.0 s, where primal simplex, which the travel LP itself ran
        # from the preference level's basis, took 6.9 s).
        strategy = h.getOptionValue("simplex_strategy")[1]
        h.setOptionValue("simplex_strategy", _DUAL)
        try:
            while heap:
                floor = min(floor, float(cutoff()))
                left = time_limit_s - (time.perf_counter() - t0)
                if heap[0][0] >= floor or left <= 0 or heap[0][4] is None:
                    break
                if stop is not None and stop.is_set():
                    break
                value, _, fixed, basis, values = heappop(heap)
                fractional = np.flatnonzero((values > 1e-6) & (values < 1 - 1e-6))
                if not len(fractional):
                    leaves.append(value)
                    continue
                # The most fractional column, the lowest index on a tie.
                k = int(fractional[np.argmin(np.abs(values[fractional] - 0.5))])
                h.setOptionValue("objective_bound", floor - self._constant)
                for side in (0.0, 1.0):
                    child = {**fixed, int(cols[k]): side}
                    left = time_limit_s - (time.perf_counter() - t0)
                    order += 1
                    if left <= 0:
                        heappush(heap, (value, order, child, basis, None))
                        continue
                    solved = self._node(cols, child, basis, left)
                    if solved is not None:
                        heappush(heap, (solved[0], order, child, h.getBasis(), solved[1]))
                    elif h.getModelStatus() not in _PRUNED:  # cut short: the parent's value
                        heappush(heap, (value, order, child, basis, None))
        finally:
            h.setOptionValue("simplex_strategy", strategy)
            h.setOptionValue("objective_bound", highspy.kHighsInf)
            n = len(cols)
            h.changeColsBounds(n, cols, np.zeros(n), np.ones(n))
        bound = min([floor, *leaves, *(node[0] for node in heap)])
        return _outwards(bound, True) if bound > root else None

    def _node(
        self, cols: np.ndarray, fixed: dict[int, float], basis: object, seconds: float
    ) -> tuple[float, np.ndarray] | None:
        """The LP with ``fixed`` columns (the rest of ``cols`` free), from ``basis``: its
        value and ``cols``' values, or None when infeasible, past the cutoff or timed out."""
        h = self.highs
        lower, upper = np.zeros(len(cols)), np.ones(len(cols))
        for i, column in enumerate(cols):
            if int(column) in fixed:
                lower[i] = upper[i] = fixed[int(column)]
        h.changeColsBounds(len(cols), cols, lower, upper)
        h.setBasis(basis)
        _time_limit(h, seconds)
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        value = h.getInfo().objective_function_value + self._constant
        return value, np.asarray(h.getSolution().col_value)[cols]


@dataclass(frozen=True)
class MipResult:
    """A model solved by HiGHS: the best placement found (if any) and a proven bound."""

    assignments: tuple[tuple[int, int], ...] | None
    bound: int | None  # on the model's optimum of the level; None: no bound in time
    optimal: bool
    infeasible: bool  # proven: the model has no placement at all
    wall_s: float


def solve_mip(
    model: PlacementModel,
    level: str,
    start: Iterable[tuple[int, int]],
    time_limit_s: float,
    seed: int = 0,
    integer: bool | Sequence[int] = True,
    exact: bool = False,
) -> MipResult:
    """Optimise ``level`` over ``model`` (holds included) with HiGHS's branch and cut,
    starting from ``start`` where the model allows it.

    ``integer`` may name the only variables (by index) kept integer; the bound stays
    valid (fewer integer variables only relax the model), and a solution counts only
    where every arc's value is integral all the same. ``exact`` solves travel in two
    steps (:func:`_travel_mip`), for a proof to the last unit; a search that needs no
    proof is faster without (measured at 10,000 students: 1.7 s instead of 12 s)."""
    t0 = time.perf_counter()
    h = highs_of(model, integer=integer, seed=seed)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.setOptionValue("mip_abs_gap", 0.999)  # every level is an integer: under 1 is a proof
    _start_from(h, model, start)
    solved_lp = integer is False or (integer is not True and len(integer) == 0)
    deadline = t0 + max(0.1, time_limit_s)
    if level == "travel" and exact:
        found, bound, optimal, infeasible = _travel_mip(h, model, deadline, solved_lp)
    else:
        constant = _set_objective(h, model, level)
        found, dual, optimal, infeasible = _run_mip(h, model, deadline, solved_lp)
        dual += constant
        bound = _outwards(dual, level == "travel") if math.isfinite(dual) else None
    return MipResult(found, bound, optimal, infeasible, time.perf_counter() - t0)


def _run_mip(
    h: highspy.Highs, model: PlacementModel, deadline: float, solved_lp: bool
) -> tuple[tuple[tuple[int, int], ...] | None, float, bool, bool]:
    """Run HiGHS until ``deadline``: the placement found (only if every arc is integral),
    the dual bound (NaN: none), and whether it proved optimality or infeasibility."""
    _time_limit(h, deadline - time.perf_counter())
    h.run()
    info = h.getInfo()
    found = None
    if info.primal_solution_status == _FEASIBLE:
        solved = np.asarray(h.getSolution().col_value)
        arcs = solved[[x.index for x in model.x]]
        if np.all(np.abs(arcs - np.round(arcs)) <= TOLERANCE):
            found = model.assignments([round(v) for v in solved])
    status = h.getModelStatus()
    optimal = status == highspy.HighsModelStatus.kOptimal
    if solved_lp:
        dual = info.objective_function_value if optimal else math.nan
    else:
        dual = info.mip_dual_bound
    return found, dual, optimal, status == highspy.HighsModelStatus.kInfeasible


def _travel_mip(
    h: highspy.Highs, model: PlacementModel, deadline: float, solved_lp: bool
) -> tuple[tuple[tuple[int, int], ...] | None, int | None, bool, bool]:
    """The travel level (minutes times the travel weight, less one per new career cluster)
    in two exact steps: the fewest minutes, then with the minutes held there the most new
    clusters. Returns the placement found, a bound on the level, and whether it is proven
    optimal or infeasible.

    HiGHS stops a single sum within a relative 1e-6 of its optimum, which at 1,000
    students leaves 36 new-cluster units of 36 million open (closing them took CP-SAT 16 s);
    each step alone is small enough to be exact. The bound holds because the travel weight
    is above any number of new clusters: a placement with more minutes than the first
    step's bound is worse than any with exactly that many.
    """
    weight = model.scale.travel_weight
    columns = np.array([x.index for x in model.x], dtype=np.int32)
    minutes = np.array([a.travel_min for a in model.arcs], dtype=np.float64)
    bonus = np.array([1.0 if a.new_cluster else 0.0 for a in model.arcs])
    _set_costs(h, model, columns, minutes, minimise=True)
    first, dual, first_optimal, infeasible = _run_mip(h, model, deadline, solved_lp)
    if infeasible or not math.isfinite(dual):
        return first, None, False, infeasible
    fewest = _outwards(dual, True)  # no placement has fewer minutes
    # Any placement has fewer new clusters than the travel weight.
    bound, found = weight * fewest - (weight - 1), first
    if first_optimal and time.perf_counter() < deadline:
        h.addRow(-highspy.kHighsInf, float(fewest), len(columns), columns, minutes)
        _set_costs(h, model, columns, bonus, minimise=False)
        if first is not None:
            _start_from(h, model, first)
        second, dual, _, none = _run_mip(h, model, deadline, solved_lp)
        if none:  # no placement has exactly ``fewest`` minutes
            bound = weight * (fewest + 1) - (weight - 1)
        elif math.isfinite(dual):
            bound = weight * fewest - _outwards(dual, False)
        if second is not None and (found is None or _travel(model, second) < _travel(model, found)):
            found = second
    optimal = found is not None and _travel(model, found) == bound
    return found, bound, optimal, False


def _travel(model: PlacementModel, assignments: Iterable[tuple[int, int]]) -> int:
    """The travel level of ``assignments`` (arcs of ``model``)."""
    return sum(model.scale.travel(model.arcs[model.index[p]]) for p in assignments)
