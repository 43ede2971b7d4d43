"""The outcome of a term's placement solve, in numbers a coordinator reads at a glance.

The current outcome is the term's latest solve run (its status, bound and the metrics it left:
why each student is unplaced, which extra seats would help) together with the term's live
placements (proposed, published or confirmed). Placements made or ended by hand after the solve
count as they stand now; the run only explains the students it left unplaced.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from wbl.models import (
    Host,
    Kind,
    Opportunity,
    Placement,
    PlacementStatus,
    Slot,
    SolveRun,
    SolveStatus,
    Student,
    Term,
)

LIVE = (PlacementStatus.PROPOSED, PlacementStatus.PUBLISHED, PlacementStatus.CONFIRMED)
"""Placement statuses that hold a seat; declined and withdrawn ones are history."""

ENDED = (PlacementStatus.DECLINED, PlacementStatus.WITHDRAWN)

TRAVEL_BIN_MIN = 5
"""Width of a travel-time histogram bin, in minutes."""

NO_FLAG = "none"
"""The placement-rate row for students with no equity flag."""

UNRANKED = "unranked"
"""The rank-distribution key for placements in an opportunity the student did not rank."""

KIND_LABELS = {
    Kind.JOB_SHADOW.value: "job shadows",
    Kind.INTERNSHIP.value: "internships",
    Kind.MICRO_INTERNSHIP.value: "micro-internships",
}

REASON_LABELS = {
    "no_reachable": "no reachable opportunity",
    "filled": "every reachable one filled",
    "rules": "conflicts with their own rules (overlap, weekly hours, group)",
    "time_limit": "the solver ran out of time",
    "infeasible": "no valid placement exists (see the solve's message)",
    "not_solved": "not solved yet",
    "declined": "declined their placement",
    "withdrawn": "placement withdrawn",
}
"""What each unplaced reason code means, for people."""

UNPLACED_SHOWN = 10
"""How many unplaced students :func:`format_outcome` lists before "and N more"."""

SUGGESTIONS_SHOWN = 5


@dataclass(frozen=True)
class KindCount:
    """Placements of one kind, and how many distinct students hold them."""

    placements: int = 0
    students: int = 0


@dataclass(frozen=True)
class FlagRate:
    """Students carrying an equity flag (or none), and how many of them are placed."""

    students: int
    placed: int

    @property
    def rate(self) -> float:
        return self.placed / self.students if self.students else 0.0


@dataclass(frozen=True)
class UnplacedStudent:
    """A student with no live placement, and why (a reason code and a sentence)."""

    student_id: str
    name: str
    reason: str
    detail: str


@dataclass(frozen=True)
class Suggestion:
    """Extra seats in an opportunity that the solve says would place more students."""

    opportunity_id: str
    title: str
    host_id: str
    host_name: str
    extra_seats: int
    would_place: int


@dataclass(frozen=True)
class SolveSummary:
    """What the latest solve run of the term reported about itself."""

    run_id: int
    status: str
    mode: str
    objective: float | None
    best_bound: float | None
    gap: float | None
    wall_time_s: float | None
    blocking_pairs: int | None
    moved: int | None
    started_at: datetime
    finished_at: datetime | None
    message: str


def blocking_note(mode: str, pairs: int | None) -> str:
    """What a welfare solve's blocking pairs mean, for a coordinator ("" when none)."""
    if mode != "welfare" or not pairs:
        return ""
    return (
        "pairs of a student and a slot that would both rather be together, the host's side "
        "judged by its ranking of students (by lottery where it ranked none); welfare mode "
        "goes by priority and the students' choices instead, and places more students. "
        "Solve in stable mode for none, where the rules allow it"
    )


@dataclass(frozen=True)
class Outcome:
    """The term's current outcome (see the module docstring). Shares are fractions in [0, 1];
    a figure over nothing (no placed student, no ranked placement, no travel) is ``None``."""

    term: str
    timezone: str
    start: date
    end: date
    students: int
    placed: int
    placements: int
    kinds: dict[str, KindCount]
    # Share of placed students whose best placement is one of their top-3 choices.
    top3_share: float | None
    mean_rank: float | None
    # "1".."N" (every rank up to the worst one held, zeros included), then "unranked".
    ranks: dict[str, int]
    # Over in-person placements with a travel time; remote ones travel nowhere.
    travel_placements: int
    travel_median: float | None
    travel_p90: float | None
    # (first minute of the bin, placements), TRAVEL_BIN_MIN wide, from 0 to the longest trip.
    travel_histogram: list[tuple[int, int]]
    # Each flag present among the term's students (alphabetical), then NO_FLAG.
    flags: dict[str, FlagRate]
    unplaced: list[UnplacedStudent]
    suggestions: list[Suggestion]
    solve: SolveSummary | None

    @property
    def placed_share(self) -> float:
        return self.placed / self.students if self.students else 0.0

    @property
    def ranked_placements(self) -> int:
        return sum(n for key, n in self.ranks.items() if key != UNRANKED)

    @property
    def unplaced_reasons(self) -> dict[str, int]:
        """How many unplaced students have each reason, most common first."""
        return dict(Counter(u.reason for u in self.unplaced).most_common())


@dataclass(frozen=True)
class HostPoint:
    host_id: str
    name: str
    lat: float
    lon: float
    placements: int


@dataclass(frozen=True)
class MapPoints:
    """Where students start from (and whether they are placed) and where hosts are."""

    students: list[tuple[float, float, bool]] = field(default_factory=list)  # lat, lon, placed
    hosts: list[HostPoint] = field(default_factory=list)


_DIGITS = re.compile(r"(\d+)")


def sort_key(code: str) -> tuple[Any, ...]:
    """Order bundle ids the way people read them: ``S2`` before ``S10``."""
    # re.split puts text at even positions and digit runs at odd ones, so tuples compare.
    return tuple(int(p) if i % 2 else p.casefold() for i, p in enumerate(_DIGITS.split(code)))


def live_placements(session: Session, term: Term, *, sessions: bool = False) -> list[Placement]:
    """The term's placements that hold a seat, with student, slot, opportunity and host loaded
    (and the slot's sessions when ``sessions``)."""
    slot = selectinload(Placement.slot)
    options = [
        selectinload(Placement.student),
        slot.selectinload(Slot.opportunity).selectinload(Opportunity.host),
    ]
    if sessions:
        options.append(slot.selectinload(Slot.sessions))
    return list(
        session.scalars(
            select(Placement)
            .where(Placement.term_id == term.id, Placement.status.in_(LIVE))
            .order_by(Placement.id)
            .options(*options)
        )
    )


def latest_run(session: Session, term: Term) -> SolveRun | None:
    """The term's most recently created solve run, whatever its status."""
    return session.scalars(
        select(SolveRun).where(SolveRun.term_id == term.id).order_by(SolveRun.id.desc()).limit(1)
    ).first()


def finished_run(session: Session, term: Term) -> SolveRun | None:
    """The term's most recent solve run that finished with a result (not one still running
    and not one that failed): the run today's placements came from."""
    return session.scalars(
        select(SolveRun)
        .where(
            SolveRun.term_id == term.id,
            SolveRun.status.not_in((SolveStatus.RUNNING, SolveStatus.FAILED)),
        )
        .order_by(SolveRun.id.desc())
        .limit(1)
    ).first()


def compute_outcome(session: Session, term: Term) -> Outcome:
    """The term's current outcome: its live placements and its latest solve run."""
    students = session.scalars(
        select(Student).where(Student.term_id == term.id).order_by(Student.id)
    ).all()
    placements = live_placements(session, term)
    run = finished_run(session, term)
    metrics: dict[str, Any] = (run.metrics or {}) if run is not None else {}

    by_student: dict[int, list[Placement]] = {}
    for p in placements:
        by_student.setdefault(p.student_id, []).append(p)

    kind_placements: Counter[str] = Counter()
    kind_students: dict[str, set[int]] = {k.value: set() for k in Kind}
    for p in placements:
        kind = p.slot.opportunity.kind.value
        kind_placements[kind] += 1
        kind_students[kind].add(p.student_id)
    kinds = {
        k.value: KindCount(kind_placements[k.value], len(kind_students[k.value])) for k in Kind
    }

    ranked = [p.rank for p in placements if p.rank is not None]
    worst = max(ranked, default=0)
    rank_counts = Counter(ranked)
    ranks = {str(r): rank_counts[r] for r in range(1, worst + 1)}
    ranks[UNRANKED] = len(placements) - len(ranked)
    top3 = 0
    for held in by_student.values():
        best = min((p.rank for p in held if p.rank is not None), default=None)
        top3 += best is not None and best <= 3

    travel = sorted(
        p.travel_min
        for p in placements
        if p.travel_min is not None and not p.slot.opportunity.remote
    )

    flag_names = sorted({f for s in students for f in s.flags})
    flags = {}
    for name in [*flag_names, NO_FLAG]:
        group = [s for s in students if (name in s.flags if name != NO_FLAG else not s.flags)]
        flags[name] = FlagRate(len(group), sum(s.id in by_student for s in group))

    ended = _ended_placements(session, term) if run is not None else {}
    unplaced = sorted(
        (_unplaced(s, run, metrics, ended) for s in students if s.id not in by_student),
        key=lambda u: sort_key(u.student_id),
    )

    return Outcome(
        term=term.name,
        timezone=term.timezone,
        start=term.start,
        end=term.end,
        students=len(students),
        placed=len(by_student),
        placements=len(placements),
        kinds=kinds,
        top3_share=top3 / len(by_student) if by_student else None,
        mean_rank=statistics.fmean(ranked) if ranked else None,
        ranks=ranks,
        travel_placements=len(travel),
        travel_median=statistics.median(travel) if travel else None,
        travel_p90=_nearest_rank(travel, 0.9),
        travel_histogram=_histogram(travel, TRAVEL_BIN_MIN),
        flags=flags,
        unplaced=unplaced,
        suggestions=_suggestions(session, term, metrics),
        solve=_solve_summary(run, metrics),
    )


def _nearest_rank(ordered: list[float], q: float) -> float | None:
    """The ``q`` quantile by the nearest-rank method: a value that really occurs."""
    if not ordered:
        return None
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _histogram(values: list[float], width: int) -> list[tuple[int, int]]:
    if not values:
        return []
    counts = Counter(int(v // width) for v in values)
    return [(b * width, counts[b]) for b in range(max(counts) + 1)]


def _ended_placements(session: Session, term: Term) -> dict[int, tuple[str, str]]:
    """Each student's most recently ended placement: student id -> (status, opportunity)."""
    rows = session.execute(
        select(Placement.student_id, Placement.status, Opportunity.code)
        .join(Placement.slot)
        .join(Slot.opportunity)
        .where(Placement.term_id == term.id, Placement.status.in_(ENDED))
        .order_by(Placement.updated_at, Placement.id)
    )
    return {student_id: (status.value, code) for student_id, status, code in rows}


def _unplaced(
    student: Student,
    run: SolveRun | None,
    metrics: dict[str, Any],
    ended: dict[int, tuple[str, str]],
) -> UnplacedStudent:
    reasons = metrics.get("unplaced")
    entry = reasons.get(str(student.id)) if isinstance(reasons, dict) else None
    if isinstance(entry, dict):
        reason = str(entry.get("reason") or "unknown")
        return UnplacedStudent(student.code, student.name, reason, str(entry.get("detail", "")))
    if run is None:
        return UnplacedStudent(
            student.code, student.name, "not_solved", "no solve has run for this term yet"
        )
    # The run placed this student, or never saw them: say what has happened since.
    if student.id in ended:
        status, opportunity = ended[student.id]
        return UnplacedStudent(
            student.code,
            student.name,
            status,
            f"their placement in {opportunity} was {status} after solve run #{run.id}; "
            "solve again to place them elsewhere",
        )
    if run.status == SolveStatus.RUNNING:
        detail = f"solve run #{run.id} is still running"
    elif run.status == SolveStatus.FAILED:
        detail = f"solve run #{run.id} failed" + (f": {run.message}" if run.message else "")
    else:
        detail = f"solve run #{run.id} gave no reason (added to the term since?); solve again"
    return UnplacedStudent(student.code, student.name, "not_solved", detail)


def _suggestions(session: Session, term: Term, metrics: dict[str, Any]) -> list[Suggestion]:
    raw = [
        s
        for s in metrics.get("suggestions") or []
        if isinstance(s, dict) and isinstance(s.get("opportunity_id"), int)
    ]
    ids = {s["opportunity_id"] for s in raw}
    opportunities = {
        o.id: o
        for o in session.scalars(
            select(Opportunity)
            .where(Opportunity.term_id == term.id, Opportunity.id.in_(ids))
            .options(selectinload(Opportunity.host))
        )
    }
    found = [
        Suggestion(
            opportunity_id=o.code,
            title=o.title,
            host_id=o.host.code,
            host_name=o.host.name,
            extra_seats=int(s.get("extra_seats", 0)),
            would_place=int(s.get("would_place", 0)),
        )
        for s in raw
        # An opportunity removed since the solve can no longer take seats.
        if (o := opportunities.get(s["opportunity_id"])) is not None
    ]
    return sorted(found, key=lambda s: (-s.would_place, s.extra_seats, sort_key(s.opportunity_id)))


def _solve_summary(run: SolveRun | None, metrics: dict[str, Any]) -> SolveSummary | None:
    if run is None:
        return None

    def count(key: str) -> int | None:
        value = metrics.get(key)
        return int(value) if isinstance(value, int | float) else None

    return SolveSummary(
        run_id=run.id,
        status=run.status.value,
        mode=run.mode,
        objective=run.objective,
        best_bound=run.best_bound,
        gap=run.gap,
        wall_time_s=run.wall_time_s,
        blocking_pairs=count("blocking_pairs"),
        moved=count("moved"),
        started_at=run.started_at,
        finished_at=run.finished_at,
        message=run.message,
    )


def map_points(session: Session, term: Term) -> MapPoints:
    """Student origins (placed or not) and hosts with their live placement counts, for the
    report's map."""
    placed = set(
        session.scalars(
            select(Placement.student_id).where(
                Placement.term_id == term.id, Placement.status.in_(LIVE)
            )
        )
    )
    students = session.execute(
        select(Student.id, Student.origin_lat, Student.origin_lon)
        .where(Student.term_id == term.id)
        .order_by(Student.id)
    ).all()
    per_host: Counter[int] = Counter(
        session.scalars(
            select(Opportunity.host_id)
            .join(Slot, Slot.opportunity_id == Opportunity.id)
            .join(Placement, Placement.slot_id == Slot.id)
            .where(Placement.term_id == term.id, Placement.status.in_(LIVE))
        )
    )
    hosts = session.scalars(select(Host).where(Host.term_id == term.id).order_by(Host.id)).all()
    return MapPoints(
        students=[(lat, lon, sid in placed) for sid, lat, lon in students],
        hosts=[HostPoint(h.code, h.name, h.lat, h.lon, per_host[h.id]) for h in hosts],
    )


# ---------------------------------------------------------------------------------------------
# Plain text


def format_number(value: float | None) -> str:
    """An objective or bound: whole numbers without a decimal point."""
    if value is None:
        return "n/a"
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"


def format_minutes(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f} min"


def format_share(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def describe_solve(solve: SolveSummary | None) -> str:
    """One line on the latest solve run."""
    if solve is None:
        return "No solve has run for this term yet."
    parts = [f"solve run #{solve.run_id}: {solve.status}"]
    if solve.wall_time_s is not None:
        parts[0] += f" in {solve.wall_time_s:.1f} s"
    if solve.objective is not None:
        parts.append(f"objective {format_number(solve.objective)}")
    if solve.best_bound is not None:
        parts.append(f"bound {format_number(solve.best_bound)}")
    if solve.gap is not None:
        parts.append(f"gap {format_share(solve.gap)}")
    return ", ".join(parts)


def format_outcome(outcome: Outcome) -> str:
    """The outcome as the compact plain-text block the terminal shows."""
    o = outcome
    lines = [
        f"Outcome of {o.term!r} ({describe_solve(o.solve)})"
        if o.solve
        else f"Outcome of {o.term!r}: no solve has run yet",
        f"Placed {o.placed} of {o.students} students ({format_share(o.placed_share)}), "
        f"{o.placements} placements",
        f"  {'kind':<18} {'placements':>10} {'students':>9}",
    ]
    lines += [
        f"  {KIND_LABELS[kind]:<18} {k.placements:>10} {k.students:>9}"
        for kind, k in o.kinds.items()
    ]
    lines.append(f"Top-3 choice: {format_share(o.top3_share)} of placed")
    if o.mean_rank is None:
        lines.append(f"Mean rank n/a (no ranked placements; {o.ranks[UNRANKED]} unranked)")
    else:
        lines.append(
            f"Mean rank {o.mean_rank:.1f} over {o.ranked_placements} ranked placements "
            f"({o.ranks[UNRANKED]} unranked)"
        )
    if o.travel_placements:
        lines.append(
            f"Travel: median {format_minutes(o.travel_median)}, "
            f"p90 {format_minutes(o.travel_p90)} ({o.travel_placements} in-person placements)"
        )
    else:
        lines.append("Travel: no in-person placements")
    if o.solve is not None and (o.solve.blocking_pairs is not None or o.solve.moved is not None):
        extra = []
        if o.solve.blocking_pairs is not None:
            extra.append(f"blocking pairs {o.solve.blocking_pairs}")
        if o.solve.moved is not None:
            extra.append(f"students moved {o.solve.moved}")
        lines.append(", ".join(extra).capitalize())
        if note := blocking_note(o.solve.mode, o.solve.blocking_pairs):
            lines.append(f"  (blocking pairs: {note})")

    heading = "placement rate by flag"
    width = max(len(heading), *(len(f) for f in o.flags))
    lines += ["", f"  {heading:<{width}} {'students':>8} {'placed':>7} {'rate':>7}"]
    lines += [
        f"  {name:<{width}} {f.students:>8} {f.placed:>7} {format_share(f.rate):>7}"
        for name, f in o.flags.items()
    ]

    if o.unplaced:
        shown = o.unplaced[:UNPLACED_SHOWN]
        code_width = max(len(u.student_id) for u in shown)
        reasons = ", ".join(f"{reason} {n}" for reason, n in o.unplaced_reasons.items())
        lines += ["", f"Unplaced ({len(o.unplaced)}): {reasons}"]
        for u in shown:
            line = f"  {u.student_id:<{code_width}} {u.name} — {u.reason}"
            lines.append(_clip(f"{line}: {u.detail}" if u.detail else line))
        if len(o.unplaced) > len(shown):
            lines.append(f"  … and {len(o.unplaced) - len(shown)} more (see unplaced.csv)")
    else:
        lines += ["", "Unplaced: none"]

    if o.suggestions:
        lines += ["", "Extra seats that would place more students:"]
        for s in o.suggestions[:SUGGESTIONS_SHOWN]:
            seats = "seat" if s.extra_seats == 1 else "seats"
            students = "student" if s.would_place == 1 else "students"
            lines.append(
                _clip(
                    f"  +{s.extra_seats} {seats} in {s.opportunity_id} {s.title} "
                    f"({s.host_id} {s.host_name}): places {s.would_place} more {students}"
                )
            )
    return "\n".join(lines)


def _clip(line: str, width: int = 120) -> str:
    return line if len(line) <= width else line[: width - 1] + "…"
