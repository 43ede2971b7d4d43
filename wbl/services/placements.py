"""What a coordinator does with a term's placements by hand, and the list they do it from.

Pin or unpin a placement, move a student to another slot (or place an unplaced one), withdraw
a student from a placement, and publish the term's proposals. A move is checked against every
hard rule before it is saved, by the code the solve itself relies on: the per-pair rules
(eligibility, travel, release windows, vetoes, a closed opportunity, a slot over the weekly
cap) by :mod:`wbl.services.candidates`, and the rules across a student's placements (overlap,
per-kind limits, one slot per opportunity, weekly hours, buddy groups) by
:func:`solver.check.check_assignments`.

A move that breaks such a rule may still be saved, as the coordinator's override, and is
pinned. A move that would put more students in a slot than its capacity, or at a host than its
``max_students``, never is: a solve must keep pinned placements, and no solve could keep that
one. Nothing is edited while a solve of the term is running, since the solve replaces the
term's unpinned proposals when it finishes.

Like every service, these take a session and never commit.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from solver.check import Violation, check_assignments
from solver.problem import KIND_NAMES, Arc, Problem, StudentSpec
from wbl.models import (
    Decision,
    Host,
    Kind,
    Opportunity,
    Party,
    Placement,
    PlacementStatus,
    Preference,
    Role,
    Slot,
    Student,
    Term,
    User,
)
from wbl.models import Session as SlotSession
from wbl.services import candidates
from wbl.services.outcome import KIND_LABELS, LIVE, sort_key
from wbl.services.solving import running_run

FIXED = (PlacementStatus.PUBLISHED, PlacementStatus.CONFIRMED)
"""Statuses a re-solve always keeps (as it keeps pinned placements)."""

SORTS = (
    "student", "school", "opportunity", "host", "kind", "start", "rank", "travel", "status",
    "pinned", "response",
)  # fmt: skip
"""Columns the placements list sorts by."""

OPTIONS_SHOWN = 40
"""Slots offered for a move: the student's ranked ones, then the nearest that fit."""

# Rules of solver.check that concern one student's own placements; capacities are checked
# apart (they block a move), and every pair given to the checker has its arc.
_OWN_RULES = ("overlap", "kind_limit", "one_per_opportunity", "weekly_hours", "group")


class PlacementError(ValueError):
    """An edit that cannot be made; the message says why, for the coordinator."""


class SolveRunning(PlacementError):
    """A solve of the term is running: its result would overwrite the edit."""


class OverCapacity(PlacementError):
    """The slot (or its host) has no room: the move cannot be saved, not even as an override."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


class RulesBroken(PlacementError):
    """The move breaks hard rules: it needs the coordinator's explicit override."""

    def __init__(self, choice: SlotChoice) -> None:
        super().__init__("; ".join(choice.broken))
        self.choice = choice


# ---------------------------------------------------------------------------------------------
# Looking rows up


def placement_in_term(session: Session, term: Term, placement_id: int) -> Placement:
    """The placement ``placement_id`` of ``term``; LookupError if it is not one."""
    placement = session.get(Placement, placement_id)
    if placement is None or placement.term_id != term.id:
        raise LookupError(f"no placement {placement_id} in this term")
    return placement


def student_in_term(session: Session, term: Term, student_id: int) -> Student:
    """The student ``student_id`` of ``term``; LookupError if it is not one."""
    student = session.get(Student, student_id)
    if student is None or student.term_id != term.id:
        raise LookupError(f"no student {student_id} in this term")
    return student


def student_ids_by_code(session: Session, term: Term) -> dict[str, int]:
    return dict(
        session.execute(select(Student.code, Student.id).where(Student.term_id == term.id)).all()
    )


def solve_running(session: Session, term: Term) -> bool:
    return running_run(session, term) is not None


def _refuse_while_solving(session: Session, term: Term) -> None:
    if solve_running(session, term):
        raise SolveRunning(
            "A solve of this term is running; its result would overwrite this change. "
            "Try again when it has finished."
        )


def _first_starts(session: Session, slot_ids: Iterable[int]) -> dict[int, datetime]:
    ids = list(set(slot_ids))
    if not ids:
        return {}
    return dict(
        session.execute(
            select(SlotSession.slot_id, func.min(SlotSession.start))
            .where(SlotSession.slot_id.in_(ids))
            .group_by(SlotSession.slot_id)
        ).all()
    )


def local_start(
    zone: ZoneInfo, flexible: bool, span_start: date, first: datetime | None
) -> datetime:
    """When a slot begins on the term's clock: its first session, or a flexible slot's first
    day at 00:00 (as :func:`wbl.services.exports.slot_start`)."""
    if first is not None and not flexible:
        return first.astimezone(zone)
    return datetime.combine(span_start, time(), tzinfo=zone).astimezone(UTC).astimezone(zone)


# ---------------------------------------------------------------------------------------------
# The list


@dataclass(frozen=True)
class PlacementRow:
    """One placement as the coordinator's table shows it."""

    id: int
    student_id: int
    student_code: str
    student_name: str
    school: str
    opportunity_code: str
    opportunity_title: str
    host_code: str
    host_name: str
    kind: Kind
    remote: bool
    slot_label: str
    flexible: bool
    start: datetime  # in the term's timezone
    rank: int | None
    travel_min: float | None
    status: PlacementStatus
    pinned: bool
    host_response: Decision | None

    @property
    def live(self) -> bool:
        return self.status in LIVE


_STATUS_ORDER = {s: i for i, s in enumerate(PlacementStatus)}
_KIND_ORDER = {k: i for i, k in enumerate(Kind)}


def _sort_value(row: PlacementRow, column: str) -> Any:
    """The value a column sorts by (None sorts last either way)."""
    return {
        "student": lambda: (row.student_name.casefold(), sort_key(row.student_code)),
        "school": lambda: row.school.casefold() or None,
        "opportunity": lambda: (row.opportunity_title.casefold(), sort_key(row.opportunity_code)),
        "host": lambda: row.host_name.casefold(),
        "kind": lambda: _KIND_ORDER[row.kind],
        "start": lambda: row.start,
        "rank": lambda: row.rank,
        "travel": lambda: None if row.remote else row.travel_min,
        "status": lambda: _STATUS_ORDER[row.status],
        "pinned": lambda: not row.pinned,  # pinned first when ascending
        "response": lambda: None if row.host_response is None else row.host_response.value,
    }[column]()


def list_placements(
    session: Session,
    term: Term,
    *,
    status: str = "live",
    kind: str = "",
    query: str = "",
    sort: str = "student",
    descending: bool = False,
) -> list[PlacementRow]:
    """The term's placements, filtered and sorted.

    ``status`` is ``"live"`` (proposed, published or confirmed), ``"all"``, or one status
    value; ``kind`` a kind value or empty for all; ``query`` matches the student's name or id,
    the opportunity's title or id, or the host's name (any case). Unknown filter or sort
    values are treated as their defaults, so a hand-edited URL still shows a list. Rows
    without a value in the sort column (no rank, remote travel, no host answer) come last.
    """
    statuses: Sequence[PlacementStatus]
    if status == "all":
        statuses = tuple(PlacementStatus)
    elif status in {s.value for s in PlacementStatus}:
        statuses = (PlacementStatus(status),)
    else:
        statuses = LIVE
    stmt = (
        select(
            Placement.id, Placement.student_id, Student.code, Student.name, Student.school,
            Opportunity.code, Opportunity.title, Host.code, Host.name, Opportunity.kind,
            Opportunity.remote, Slot.id, Slot.label, Slot.flexible, Slot.span_start,
            Placement.rank, Placement.travel_min, Placement.status, Placement.pinned,
            Placement.host_response,
        )
        .join(Student, Placement.student_id == Student.id)
        .join(Slot, Placement.slot_id == Slot.id)
        .join(Opportunity, Slot.opportunity_id == Opportunity.id)
        .join(Host, Opportunity.host_id == Host.id)
        .where(Placement.term_id == term.id, Placement.status.in_(statuses))
    )  # fmt: skip
    if kind in {k.value for k in Kind}:
        stmt = stmt.where(Opportunity.kind == Kind(kind))
    query = query.strip()
    if query:
        stmt = stmt.where(
            or_(
                *(
                    column.icontains(query, autoescape=True)
                    for column in (
                        Student.name, Student.code, Opportunity.title, Opportunity.code,
                        Host.name,
                    )
                )
            )
        )  # fmt: skip
    rows = session.execute(stmt).all()
    starts = _first_starts(session, (r[11] for r in rows))
    zone = ZoneInfo(term.timezone)
    out = [
        PlacementRow(
            id=r[0], student_id=r[1], student_code=r[2], student_name=r[3], school=r[4],
            opportunity_code=r[5], opportunity_title=r[6], host_code=r[7], host_name=r[8],
            kind=r[9], remote=r[10], slot_label=r[12], flexible=r[13],
            start=local_start(zone, r[13], r[14], starts.get(r[11])),
            rank=r[15], travel_min=r[16], status=r[17], pinned=r[18], host_response=r[19],
        )
        for r in rows
    ]  # fmt: skip
    column = sort if sort in SORTS else "student"
    # Ties: by student, then by start, so the order is the same on every request.
    out.sort(key=lambda row: (_sort_value(row, "student"), row.start, row.id))
    valued = [row for row in out if _sort_value(row, column) is not None]
    blank = [row for row in out if _sort_value(row, column) is None]
    valued.sort(key=lambda row: _sort_value(row, column), reverse=descending)
    return valued + blank


# ---------------------------------------------------------------------------------------------
# Checking a slot for a student


@dataclass(frozen=True)
class SlotChoice:
    """A slot a student could be moved to, and what moving them there would break."""

    slot_id: int
    opportunity_code: str
    title: str
    host_name: str
    kind: Kind
    remote: bool
    label: str
    flexible: bool
    start: datetime  # in the term's timezone
    capacity: int
    taken: int  # live placements in the slot, not counting the one being moved
    rank: int | None
    travel_min: float
    broken: tuple[str, ...]  # hard rules the move breaks (it can be saved as an override)
    blocking: tuple[str, ...]  # why it cannot be saved at all (capacity, already there)
    # A broken rule involves a pinned or published placement, which a re-solve keeps too.
    clashes_with_kept: bool = False
    current: bool = False  # the slot of the placement being moved

    @property
    def fits(self) -> bool:
        return not self.broken and not self.blocking


class _Rulebook:
    """One student's rules exactly as the solve applies them, loaded once.

    :mod:`wbl.services.candidates` is the one implementation of the per-pair rules (and of
    travel times, sessions, weekly minutes and the weekly cap for an age), so its loader and
    rule helpers, module-private as they are, are used here for the one student rather than
    written again; the result matches :func:`candidates.student_options` sentence for sentence
    (a test holds it to that), from a single load of the term. The rules across placements
    are judged by :func:`solver.check.check_assignments` on a small problem: the term's slots
    and the arcs of the pairs asked about.
    """

    def __init__(self, session: Session, term: Term, student: Student) -> None:
        d = candidates._load(session, term, student.id)
        if len(d.s_id) != 1:
            raise LookupError(f"no student {student.id} in this term")
        self.d = d
        every = np.arange(len(d.x_id), dtype=np.int64)
        first = np.zeros(len(every), np.int64)  # the one student, at index 0
        self.minutes = candidates._travel_pairs(d, candidates._StraightLine(d), first, every)
        self.bits = candidates._failures(d, first, every, self.minutes)
        self.slot_at = {xid: i for i, xid in enumerate(d.x_id.tolist())}
        self.specs = {spec.id: spec for spec in candidates._slot_specs(d)}
        (self.spec,) = candidates._student_specs(d)
        rules = d.rules
        self.max_per_kind = (
            rules.max_job_shadows, rules.max_internships, rules.max_micro_internships
        )  # fmt: skip

    def pair(self, slot_id: int) -> tuple[float, list[str]]:
        """Travel minutes (0 for remote) and the per-pair rules the student breaks in a slot."""
        x = self.slot_at[slot_id]
        minutes, bits = float(self.minutes[x]), int(self.bits[x])
        return minutes, candidates._reasons(self.d, 0, x, minutes, bits) if bits else []

    def by_opportunity(self) -> Iterator[tuple[int, list[tuple[int, float, bool]]]]:
        """Each opportunity id with its slots: (slot id, travel minutes, passes every
        per-pair rule)."""
        d = self.d
        for o in range(d.n_opps):
            own = range(int(d.o_first[o]), int(d.o_first[o + 1]))
            yield (
                int(d.o_id[o]),
                [(int(d.x_id[x]), float(self.minutes[x]), not self.bits[x]) for x in own],
            )

    def problem(self, own: Iterable[int], mates: Iterable[tuple[int, int]]) -> Problem:
        """A problem with arcs for the student's ``own`` slots (with their weekly caps) and
        the group mates' ``(student, slot)`` placements, whatever per-pair rules they break."""
        slots = np.array(sorted({self.slot_at[x] for x in own}), np.int64)
        zeros = np.zeros(len(slots), np.int64)
        arcs, _ = candidates._arcs(self.d, zeros, slots, self.minutes[slots], zeros[:0])
        mates = sorted(set(mates))
        others = sorted({m for m, _ in mates})
        return Problem(
            students=(self.spec, *(StudentSpec(m, 1, self.spec.group) for m in others)),
            hosts=(),  # host caps are checked apart: they block a move
            slots=tuple(self.specs.values()),
            arcs=(*arcs, *(Arc(m, x, None) for m, x in mates)),
            max_per_kind=self.max_per_kind,
        )


@dataclass(frozen=True)
class _Held:
    """A live placement the student (or a group mate) keeps through the move."""

    placement_id: int
    student_id: int
    slot_id: int
    opportunity_code: str
    title: str
    host_id: int
    host_name: str
    kind: Kind
    kept: bool  # pinned, published or confirmed: a re-solve keeps it


def _held(
    session: Session, term: Term, student: Student, replacing: Placement | None
) -> tuple[list[_Held], list[_Held]]:
    """The student's live placements other than ``replacing``, and their group mates'
    live internships."""
    stmt = (
        select(
            Placement.id, Placement.student_id, Placement.slot_id, Opportunity.code,
            Opportunity.title, Host.id, Host.name, Opportunity.kind, Placement.pinned,
            Placement.status,
        )
        .join(Slot, Placement.slot_id == Slot.id)
        .join(Opportunity, Slot.opportunity_id == Opportunity.id)
        .join(Host, Opportunity.host_id == Host.id)
        .where(Placement.term_id == term.id, Placement.status.in_(LIVE))
    )  # fmt: skip
    if student.group_code:
        mates = select(Student.id).where(
            Student.term_id == term.id, Student.group_code == student.group_code
        )
        stmt = stmt.where(Placement.student_id.in_(mates))
    else:
        stmt = stmt.where(Placement.student_id == student.id)
    own: list[_Held] = []
    mates_held: list[_Held] = []
    for pid, sid, slot, code, title, host_id, host, kind, pinned, status in session.execute(stmt):
        if replacing is not None and pid == replacing.id:
            continue
        held = _Held(pid, sid, slot, code, title, host_id, host, kind, pinned or status in FIXED)
        if sid == student.id:
            own.append(held)
        elif kind == Kind.INTERNSHIP:
            mates_held.append(held)
    return own, mates_held


def _room(
    session: Session, slots: Sequence[Slot], replacing: Placement | None
) -> tuple[dict[int, int], dict[int, set[int]]]:
    """Live placements per slot, and distinct students per host, leaving out ``replacing``
    (the seat the move frees)."""
    skip = replacing.id if replacing is not None else -1
    slot_ids = [s.id for s in slots]
    taken = Counter(
        session.scalars(
            select(Placement.slot_id).where(
                Placement.slot_id.in_(slot_ids),
                Placement.status.in_(LIVE),
                Placement.id != skip,
            )
        )
    )
    host_ids = {s.opportunity.host_id for s in slots}
    at_host: dict[int, set[int]] = defaultdict(set)
    for host_id, student_id in session.execute(
        select(Opportunity.host_id, Placement.student_id)
        .join(Slot, Placement.slot_id == Slot.id)
        .join(Opportunity, Slot.opportunity_id == Opportunity.id)
        .where(
            Opportunity.host_id.in_(host_ids),
            Placement.status.in_(LIVE),
            Placement.id != skip,
        )
    ):
        at_host[host_id].add(student_id)
    return dict(taken), at_host


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


class Mover:
    """Moves one student by hand: checks slots (everything :class:`SlotChoice` reports),
    offers them, and saves the move, loading the student's rules once. ``replacing`` is the
    placement the move takes them out of (None: a placement in addition to theirs). After a
    successful :meth:`move`, make a new one for the next move."""

    def __init__(
        self, session: Session, term: Term, student: Student, replacing: Placement | None = None
    ) -> None:
        if replacing is not None and replacing.student_id != student.id:
            raise PlacementError("that placement belongs to another student")
        self.session = session
        self.term = term
        self.student = student
        self.replacing = replacing
        self.book = _Rulebook(session, term, student)
        self.own, self.mates = _held(session, term, student, replacing)
        self.ranks = dict(
            session.execute(
                select(Preference.opportunity_id, Preference.rank).where(
                    Preference.student_id == student.id
                )
            ).all()
        )
        self.zone = ZoneInfo(term.timezone)

    def _judge(self, slots: Sequence[Slot]) -> list[SlotChoice]:
        if not slots:
            return []
        student = self.student
        taken, at_host = _room(self.session, slots, self.replacing)
        base = [(h.student_id, h.slot_id) for h in (*self.own, *self.mates)]
        problem = self.book.problem(
            [h.slot_id for h in self.own] + [s.id for s in slots],
            [(h.student_id, h.slot_id) for h in self.mates],
        )
        before = set(check_assignments(problem, base))
        starts = _first_starts(self.session, (s.id for s in slots))
        choices = []
        for slot in slots:
            travel, per_pair = self.book.pair(slot.id)
            opportunity = slot.opportunity
            host = opportunity.host
            current = self.replacing is not None and self.replacing.slot_id == slot.id
            blocking: list[str] = []
            if current:
                blocking.append("the student is in this slot now")
            elif any(h.slot_id == slot.id for h in self.own):
                blocking.append("the student already has this slot")
            seats = taken.get(slot.id, 0)
            if not current and seats >= opportunity.capacity:
                blocking.append(
                    f"{opportunity.title} ({opportunity.code}) is full: "
                    f"{seats} of {_plural(opportunity.capacity, 'seat', 'seats')} taken"
                )
            students_there = at_host.get(host.id, set())
            if (
                host.max_students is not None
                and student.id not in students_there
                and len(students_there) >= host.max_students
            ):
                blocking.append(
                    f"{host.name} takes at most "
                    f"{_plural(host.max_students, 'student', 'students')} and has "
                    f"{len(students_there)}"
                )
            pair = (student.id, slot.id)
            new = [
                v
                for v in check_assignments(problem, [*base, pair])
                if v not in before and v.rule in _OWN_RULES
            ]
            if any("weekly cap" in r for r in per_pair):
                # The slot alone is over the cap: said once, by the per-pair rule.
                new = [v for v in new if v.rule != "weekly_hours"]
            across, involved = self._explain(problem, pair, slot, new)
            choices.append(
                SlotChoice(
                    slot_id=slot.id,
                    opportunity_code=opportunity.code,
                    title=opportunity.title,
                    host_name=host.name,
                    kind=opportunity.kind,
                    remote=opportunity.remote,
                    label=slot.label,
                    flexible=slot.flexible,
                    start=local_start(self.zone, slot.flexible, slot.span_start,
                                      starts.get(slot.id)),
                    capacity=opportunity.capacity,
                    taken=seats,
                    rank=self.ranks.get(opportunity.id),
                    travel_min=0.0 if opportunity.remote else travel,
                    broken=tuple(per_pair + across),
                    blocking=tuple(blocking),
                    clashes_with_kept=any(h.kept for h in involved),
                    current=current,
                )
            )  # fmt: skip
        return choices

    def _explain(
        self, problem: Problem, pair: tuple[int, int], slot: Slot, new: list[Violation]
    ) -> tuple[list[str], list[_Held]]:
        """Sentences for the checker's violations, and the placements they involve."""
        out: list[str] = []
        involved: list[_Held] = []
        rules = {v.rule for v in new}
        opportunity = slot.opportunity
        if "overlap" in rules:
            for h in self.own:
                clash = check_assignments(problem, [pair, (h.student_id, h.slot_id)])
                if any(v.rule == "overlap" for v in clash):
                    out.append(
                        f"sessions overlap their placement in {h.title} ({h.opportunity_code})"
                    )
                    involved.append(h)
        if "kind_limit" in rules:
            kind = opportunity.kind
            same = [h for h in self.own if h.kind == kind]
            limit = problem.max_per_kind[KIND_NAMES.index(kind.value)]
            out.append(
                f"{len(same) + 1} {KIND_LABELS[kind.value]} with this one; the term allows {limit}"
            )
            involved += same
        if "one_per_opportunity" in rules:
            same = [h for h in self.own if h.opportunity_code == opportunity.code]
            out.append(f"already has another slot of {opportunity.title} ({opportunity.code})")
            involved += same
        if "weekly_hours" in rules:
            weeks: Counter[int] = Counter()
            for slot_id in [pair[1], *(h.slot_id for h in self.own)]:
                for week, minutes in self.book.specs[slot_id].week_minutes:
                    weeks[week] += minutes
            arcs = {(a.student, a.slot): a for a in problem.arcs}
            caps = [
                arcs[p].weekly_cap
                for p in [pair, *((h.student_id, h.slot_id) for h in self.own)]
                if arcs[p].weekly_cap is not None
            ]
            busiest = max(weeks.values(), default=0) / 60
            out.append(
                f"busiest week {busiest:.1f} h with this one > weekly cap {min(caps) / 60:g} h"
            )
            involved += self.own
        if "group" in rules:
            others = [
                h
                for h in (*self.own, *self.mates)
                if h.kind == Kind.INTERNSHIP and h.host_id != opportunity.host_id
            ]
            hosts = ", ".join(sorted({h.host_name for h in others}))
            out.append(f"their group ({self.student.group_code}) has its internships at {hosts}")
            involved += others
        return out, involved

    def check(self, slot_id: int) -> SlotChoice:
        """What moving the student to slot ``slot_id`` would break; LookupError if the slot
        is not one of the term's."""
        slots = _slots(self.session, self.term, [slot_id])
        if not slots:
            raise LookupError(f"no slot {slot_id} in this term")
        return self._judge(slots)[0]

    def options(self, query: str = "", limit: int = OPTIONS_SHOWN) -> list[SlotChoice]:
        """Slots to offer, each checked.

        Without ``query``: the slots of the opportunities the student ranked (best rank
        first, whatever they break, so the coordinator sees why), then the nearest slots that
        pass every per-pair rule, then the nearest others, ``limit`` in all. With ``query``:
        slots whose opportunity id or title, or host name, contain it.
        """
        query = query.strip()
        if query:
            ids = self.session.scalars(
                select(Slot.id)
                .join(Opportunity, Slot.opportunity_id == Opportunity.id)
                .join(Host, Opportunity.host_id == Host.id)
                .where(
                    Opportunity.term_id == self.term.id,
                    or_(
                        Opportunity.code.icontains(query, autoescape=True),
                        Opportunity.title.icontains(query, autoescape=True),
                        Host.name.icontains(query, autoescape=True),
                    ),
                )
                .order_by(Opportunity.title, Opportunity.id, Slot.position)
                .limit(limit)
            ).all()
            return self._judge(_slots(self.session, self.term, ids))
        ranked: list[tuple[int, int]] = []  # (rank, slot id)
        fitting: list[tuple[float, int]] = []  # (travel, slot id)
        others: list[tuple[float, int]] = []
        for opportunity_id, slots in self.book.by_opportunity():
            rank = self.ranks.get(opportunity_id)
            for slot_id, travel, passes in slots:
                if rank is not None:
                    ranked.append((rank, slot_id))
                elif passes:
                    fitting.append((travel, slot_id))
                else:
                    others.append((travel, slot_id))
        chosen = [x for _, x in sorted(ranked)] + [x for _, x in sorted(fitting)]
        chosen += [x for _, x in sorted(others)]
        return self._judge(_slots(self.session, self.term, chosen[:limit]))

    def move(self, slot_id: int, *, override: bool = False) -> tuple[Placement, SlotChoice]:
        """Put the student in slot ``slot_id`` (out of ``replacing``); the placement is
        pinned. Raises :class:`OverCapacity` when there is no room (always),
        :class:`RulesBroken` when a hard rule breaks and ``override`` is not set, and
        LookupError for a slot of another term.

        A proposed placement is moved in place. A published or confirmed one is withdrawn and
        a new, proposed placement made, so the old host's roster shows the change and the new
        one is announced when the term is next published.
        """
        session, term, replacing = self.session, self.term, self.replacing
        _refuse_while_solving(session, term)
        if replacing is not None and replacing.status not in LIVE:
            raise PlacementError(f"a {replacing.status.value} placement cannot be moved")
        choice = self.check(slot_id)
        if choice.blocking:
            raise OverCapacity(choice.blocking)
        if choice.broken and not override:
            raise RulesBroken(choice)
        if replacing is not None and replacing.status == PlacementStatus.PROPOSED:
            placement = replacing
        else:
            if replacing is not None:
                withdraw_placement(session, term, replacing)
            placement = Placement(term_id=term.id, student_id=self.student.id)
            session.add(placement)
        placement.slot_id = slot_id
        placement.status = PlacementStatus.PROPOSED
        placement.pinned = True
        placement.rank = choice.rank
        placement.travel_min = choice.travel_min
        placement.solve_run_id = None  # made by hand
        placement.host_response = None
        placement.declined_by = None
        session.flush()
        session.refresh(placement)  # its slot relationship now follows the new slot_id
        return placement, choice


def _slots(session: Session, term: Term, slot_ids: Iterable[int]) -> list[Slot]:
    ids = list(dict.fromkeys(slot_ids))
    found = {
        s.id: s
        for s in session.scalars(
            select(Slot)
            .join(Opportunity)
            .where(Slot.id.in_(ids), Opportunity.term_id == term.id)
            .options(selectinload(Slot.opportunity).selectinload(Opportunity.host))
        )
    }
    return [found[i] for i in ids if i in found]


def check_slot(
    session: Session,
    term: Term,
    student: Student,
    slot_id: int,
    *,
    replacing: Placement | None = None,
) -> SlotChoice:
    """:meth:`Mover.check` for one slot."""
    return Mover(session, term, student, replacing).check(slot_id)


def slot_options(
    session: Session,
    term: Term,
    student: Student,
    *,
    replacing: Placement | None = None,
    query: str = "",
    limit: int = OPTIONS_SHOWN,
) -> list[SlotChoice]:
    """:meth:`Mover.options` for one student."""
    return Mover(session, term, student, replacing).options(query, limit)


def move_student(
    session: Session,
    term: Term,
    student: Student,
    slot_id: int,
    *,
    replacing: Placement | None = None,
    override: bool = False,
) -> tuple[Placement, SlotChoice]:
    """:meth:`Mover.move` for one move."""
    return Mover(session, term, student, replacing).move(slot_id, override=override)


# ---------------------------------------------------------------------------------------------
# Edits


def set_pinned(session: Session, term: Term, placement: Placement, pinned: bool) -> None:
    """Pin a placement (a re-solve keeps it) or unpin it (a re-solve may change it)."""
    _refuse_while_solving(session, term)
    if placement.status not in LIVE:
        raise PlacementError(f"a {placement.status.value} placement cannot be pinned or unpinned")
    placement.pinned = pinned


def withdraw_placement(session: Session, term: Term, placement: Placement) -> None:
    """Take the student out of the placement (status withdrawn): the seat is free for a
    re-solve, which also no longer offers this student that slot."""
    _refuse_while_solving(session, term)
    if placement.status not in LIVE:
        raise PlacementError(f"this placement is already {placement.status.value}")
    placement.status = PlacementStatus.WITHDRAWN
    placement.pinned = False
    placement.declined_by = Party.COORDINATOR


@dataclass(frozen=True)
class Published:
    """What a publish changed: how many placements, and whose."""

    placements: int
    student_ids: frozenset[int]
    host_ids: frozenset[int]


def count_proposals(session: Session, term: Term) -> Published:
    """What publishing would change now."""
    rows = session.execute(
        select(Placement.student_id, Opportunity.host_id)
        .join(Slot, Placement.slot_id == Slot.id)
        .join(Opportunity, Slot.opportunity_id == Opportunity.id)
        .where(Placement.term_id == term.id, Placement.status == PlacementStatus.PROPOSED)
    ).all()
    return Published(
        placements=len(rows),
        student_ids=frozenset(student for student, _ in rows),
        host_ids=frozenset(host for _, host in rows),
    )


def publish_term(session: Session, term: Term) -> Published:
    """Every proposed placement of the term becomes published; says what changed."""
    _refuse_while_solving(session, term)
    done = count_proposals(session, term)
    session.execute(
        update(Placement)
        .where(Placement.term_id == term.id, Placement.status == PlacementStatus.PROPOSED)
        .values(status=PlacementStatus.PUBLISHED)
    )
    return done


def accounts_of(
    session: Session, student_ids: Iterable[int], host_ids: Iterable[int]
) -> list[User]:
    """The active accounts of these students and hosts (to notify them), in id order."""
    students, hosts = list(student_ids), list(host_ids)
    if not students and not hosts:
        return []
    return list(
        session.scalars(
            select(User)
            .where(
                User.active.is_(True),
                or_(
                    (User.role == Role.STUDENT) & User.student_id.in_(students),
                    (User.role == Role.HOST) & User.host_id.in_(hosts),
                ),
            )
            .order_by(User.id)
        )
    )
