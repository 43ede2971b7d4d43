"""Run the placement solve for a term and store what it leaves behind.

``solve_term`` builds the solver's problem from the database (wbl.services.candidates),
solves it, explains every unplaced student in words a coordinator can act on, and writes a
:class:`SolveRun` with the proposed placements. Published, confirmed and pinned placements
are never changed: they enter the solve as fixed. With ``keep_published`` (a re-solve after a
withdrawal, a cancelled slot or new students) the previous proposals are kept wherever
possible too, and the run records how many students moved.

Like every service it takes a session and never commits: the caller owns the transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from solver.explain import Explanation, explain_unplaced, suggest_seats
from solver.matching import blocking_pairs
from solver.problem import Params, Problem
from solver.solution import INFEASIBLE, OPTIMAL, TIMED_OUT, Solution
from solver.solve import Progress, solve
from solver.stable import solve_stable
from wbl.models import (
    Host,
    Opportunity,
    Placement,
    PlacementStatus,
    Slot,
    SolveRun,
    SolveStatus,
    Student,
    Term,
    utcnow,
)
from wbl.services.candidates import BuiltProblem, build_problem

LIVE = (PlacementStatus.PROPOSED, PlacementStatus.PUBLISHED, PlacementStatus.CONFIRMED)
FIXED = (PlacementStatus.PUBLISHED, PlacementStatus.CONFIRMED)
MODES = ("welfare", "stable")


class SolveOptionsError(ValueError):
    """A solve option out of range (the message names it)."""


@dataclass(frozen=True)
class SolveOptions:
    """How to run one solve; ``None`` takes the term's rule."""

    time_limit_s: float | None = None
    workers: int = 2
    mode: str | None = None
    seed: int | None = None
    keep_published: bool = False

    def params(self, term: Term) -> Params:
        """Solver parameters from these options and the term's rules."""
        rules = term.rules
        mode = self.mode or rules.mode
        if mode not in MODES:
            raise SolveOptionsError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        limit = rules.time_limit_s if self.time_limit_s is None else self.time_limit_s
        if limit <= 0:
            raise SolveOptionsError(f"time limit must be positive, got {limit}")
        if self.workers < 1:
            raise SolveOptionsError(f"workers must be at least 1, got {self.workers}")
        seed = rules.seed if self.seed is None else self.seed
        return Params(time_limit_s=float(limit), workers=self.workers, seed=seed, mode=mode)


class SolveAlreadyRunning(RuntimeError):
    """The term has a solve running (from the web app, say); ``run`` is its row."""

    def __init__(self, run: SolveRun) -> None:
        super().__init__(f"solve run {run.id} of this term is still running; wait for it to finish")
        self.run = run


def running_run(session: Session, term: Term) -> SolveRun | None:
    """The term's solve that is running now (the oldest, should there be several)."""
    return session.scalars(
        select(SolveRun)
        .where(SolveRun.term_id == term.id, SolveRun.status == SolveStatus.RUNNING)
        .order_by(SolveRun.id)
        .limit(1)
    ).first()


def solve_term(
    session: Session,
    term: Term,
    options: SolveOptions | None = None,
    progress: Callable[[Progress], None] | None = None,
    *,
    run: SolveRun | None = None,
) -> SolveRun:
    """Solve ``term``'s placement and store the run and its proposed placements.

    ``run``, when given, is a row the caller already stored (status RUNNING, so that a page
    can follow it and a second solve of the term can be refused); it is filled in with the
    outcome instead of a new row being added. Its ``started_at`` is kept.
    """
    options = options or SolveOptions()
    params = options.params(term)
    if run is None and (busy := running_run(session, term)) is not None:
        raise SolveAlreadyRunning(busy)
    started = utcnow()
    built = build_problem(session, term, keep_published=True)
    problem = _without_declined(session, term, built.problem)
    if not options.keep_published:
        problem = replace(problem, previous=())
    solution = _solve(problem, params, progress)
    explanations = explain_unplaced(problem, solution)
    suggestions = suggest_seats(problem) if solution.unplaced else []

    outcome = {
        "finished_at": started + timedelta(seconds=solution.wall_s),
        "inputs_hash": _inputs_hash(problem, params),
        "rules_json": term.rules.to_dict(),
        "mode": params.mode,
        "seed": params.seed,
        "status": _status(solution),
        "objective": float(solution.objective[0]) if solution.objective else None,
        "best_bound": float(solution.bound[0]) if solution.bound else None,
        "gap": solution.gap if solution.objective else None,
        "wall_time_s": solution.wall_s,
        "message": solution.message,
    }
    if run is None:
        run = SolveRun(term_id=term.id, started_at=started, **outcome)
        session.add(run)
    else:
        for column, value in outcome.items():
            setattr(run, column, value)
    session.flush()
    names = _Names(session, term)
    run.metrics = {
        "levels": list(solution.levels),
        "objective": list(solution.objective),
        "bound": list(solution.bound),
        "stages": [asdict(s) for s in solution.stages],
        "placed_proven": solution.placed_proven,
        "moved": solution.moved,
        "blocking_pairs": solution.blocking_pairs,
        "arcs": len(problem.arcs),
        "warnings": list(built.warnings),
        "unplaced": {
            str(student): _unplaced_entry(
                student, explanations.get(student), built, names, solution
            )
            for student in solution.unplaced
        },
        "suggestions": [
            {
                "opportunity_id": s.opportunity,
                "host_id": s.host,
                "extra_seats": s.extra_seats,
                "would_place": s.would_place,
            }
            for s in suggestions
        ],
        **solution.metrics,
    }
    if solution.status != INFEASIBLE:
        _store_placements(session, term, run, solution, built)
    return run


def _solve(
    problem: Problem, params: Params, progress: Callable[[Progress], None] | None
) -> Solution:
    if params.mode == "stable":
        return solve_stable(problem, params)
    solution = solve(problem, params, progress)
    # Welfare mode still says how stable its answer is.
    count = len(blocking_pairs(problem, solution.assignments, seed=params.seed))
    return replace(solution, blocking_pairs=count)


def _status(solution: Solution) -> SolveStatus:
    return {
        OPTIMAL: SolveStatus.OPTIMAL,
        INFEASIBLE: SolveStatus.INFEASIBLE,
        TIMED_OUT: SolveStatus.TIMED_OUT,
    }.get(solution.status, SolveStatus.FEASIBLE)


def _without_declined(session: Session, term: Term, problem: Problem) -> Problem:
    """Drop the pairs a student declined or withdrew from: they are not offered again."""
    gone = set(
        session.execute(
            select(Placement.student_id, Placement.slot_id).where(
                Placement.term_id == term.id,
                Placement.status.in_((PlacementStatus.DECLINED, PlacementStatus.WITHDRAWN)),
            )
        ).all()
    )
    if not gone:
        return problem
    keep = set(problem.pins)
    arcs = tuple(
        a for a in problem.arcs if (a.student, a.slot) not in gone or (a.student, a.slot) in keep
    )
    previous = tuple(p for p in problem.previous if p not in gone)
    return replace(problem, arcs=arcs, previous=previous)


def _inputs_hash(problem: Problem, params: Params) -> str:
    """A fingerprint of exactly what the solver saw, to tell identical runs apart."""
    digest = hashlib.sha256()
    digest.update(json.dumps([params.mode, params.seed], sort_keys=True).encode())
    for part in (problem.students, problem.hosts, problem.slots, problem.arcs):
        for item in part:
            digest.update(repr(item).encode())
    digest.update(
        repr((problem.max_per_kind, sorted(problem.pins), sorted(problem.previous))).encode()
    )
    return digest.hexdigest()


def _store_placements(
    session: Session, term: Term, run: SolveRun, solution: Solution, built: BuiltProblem
) -> None:
    """Replace the term's unpinned proposals by the solution's; fixed placements stay."""
    session.execute(
        delete(Placement).where(
            Placement.term_id == term.id,
            Placement.status == PlacementStatus.PROPOSED,
            Placement.pinned.is_(False),
        )
    )
    live = set(
        session.execute(
            select(Placement.student_id, Placement.slot_id).where(
                Placement.term_id == term.id, Placement.status.in_(LIVE)
            )
        ).all()
    )
    ranks = {(a.student, a.slot): a.rank for a in built.problem.arcs}
    rows = [
        {
            "term_id": term.id,
            "student_id": student,
            "slot_id": slot,
            "solve_run_id": run.id,
            "status": PlacementStatus.PROPOSED,
            "pinned": False,
            "rank": ranks.get((student, slot)),
            "travel_min": built.travel.get((student, slot)),
        }
        for student, slot in solution.assignments
        if (student, slot) not in live
    ]
    if rows:
        session.execute(Placement.__table__.insert(), rows)


class _Names:
    """Codes and titles for messages, loaded once."""

    def __init__(self, session: Session, term: Term) -> None:
        self.student = dict(
            session.execute(
                select(Student.id, Student.code).where(Student.term_id == term.id)
            ).all()
        )
        self.opportunity = {
            oid: (code, title)
            for oid, code, title in session.execute(
                select(Opportunity.id, Opportunity.code, Opportunity.title).where(
                    Opportunity.term_id == term.id
                )
            ).all()
        }
        self.slot = {
            sid: (oid, label)
            for sid, oid, label in session.execute(
                select(Slot.id, Slot.opportunity_id, Slot.label)
                .join(Opportunity)
                .where(Opportunity.term_id == term.id)
            ).all()
        }
        self.host = dict(
            session.execute(select(Host.id, Host.name).where(Host.term_id == term.id)).all()
        )

    def opp(self, opportunity_id: int) -> str:
        code, title = self.opportunity.get(opportunity_id, (str(opportunity_id), ""))
        return f"{title} ({code})" if title else code

    def slot_text(self, slot_id: int) -> str:
        opportunity_id, label = self.slot.get(slot_id, (0, ""))
        return self.opp(opportunity_id) + (f" {label}" if label else "")


def _rank_text(rank: int | None) -> str:
    return f"choice #{rank}" if rank is not None else "unranked"


def _unplaced_entry(
    student: int, why: Explanation | None, built: BuiltProblem, names: _Names, solution: Solution
) -> dict[str, str]:
    """A reason code and one sentence for an unplaced student."""
    if why is None or why.reason == "no_candidate":
        cuts = built.ranked_cuts.get(student, [])
        if not cuts:
            if solution.status == INFEASIBLE:
                return {"reason": "infeasible", "detail": solution.message}
            return {
                "reason": "no_reachable",
                "detail": "ranked nothing, and no opportunity passes the rules for this student",
            }
        parts = [
            f"{_rank_text(c.rank)} {names.opp(c.opportunity_id)}: {'; '.join(c.reasons)}"
            for c in sorted(cuts, key=lambda c: (c.rank is None, c.rank or 0))
        ]
        return {"reason": "no_reachable", "detail": " | ".join(parts)}
    if why.reason == "not_proven":
        return {
            "reason": "time_limit",
            "detail": "a reachable slot has room; the solve ran out of time before placing them",
        }
    parts = []
    for blocked in why.blocked[:3]:
        what = names.slot_text(blocked.slot)
        if blocked.why == "group":
            parts.append(f"{what}: their group's internships are at another host")
            continue
        full = "full" if blocked.why == "full" else "host at its student cap"
        rivals = ", ".join(
            f"{names.student.get(h.student, h.student)} ({_rank_text(h.rank)}, priority {h.weight})"
            for h in blocked.holders[:3]
        )
        more = f" and {len(blocked.holders) - 3} more" if len(blocked.holders) > 3 else ""
        parts.append(
            f"{what} ({_rank_text(blocked.rank)}, priority {why.weight}) {full}: {rivals}{more}"
        )
    if len(why.blocked) > 3:
        parts.append(f"{len(why.blocked) - 3} more reachable slots also full")
    reason = "rules" if why.reason == "rules" else "filled"
    return {"reason": reason, "detail": " | ".join(parts)}
