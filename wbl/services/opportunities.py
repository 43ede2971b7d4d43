"""A host's own opportunities: made and edited from the schedule builder, closed and
reopened, and the host's answer to the students placed in them.

Schedules go through the bundle's parser (:func:`wbl.schedule.parse_schedule`) and the
import's slot sync (:func:`wbl.services.bundles.sync_slots`), so an opportunity saved here is
the one an import of the same row would make. Like every service, nothing here commits; a
function that raises may have written part of its change, and the caller then rolls back.

Edits never silently drop a student: a change that would remove or rebuild a slot holding a
live placement (proposed, published or confirmed), shrink a slot below the students in it, or
change the kind of an opportunity with students is refused with the students named.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, time

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from wbl.bundle import OPPORTUNITY_FIELDS
from wbl.models import (
    Decision,
    Host,
    HostReview,
    Kind,
    Opportunity,
    Party,
    Placement,
    PlacementStatus,
    Slot,
    Term,
)
from wbl.schedule import DAY_ABBREVIATIONS, ScheduleError, SlotPlan, parse_schedule
from wbl.services.bundles import sync_slots
from wbl.services.outcome import LIVE

MAX_CAPACITY = 500
"""Seats per slot a host may offer; more is a typing slip, not a real site."""
MAX_HOURS = 1000.0
"""Hours a flexible opportunity may ask of a student over its span."""
MAX_TITLE = 200
MAX_CLUSTER = 100

SHOWN_TO_HOST = (*LIVE, PlacementStatus.DECLINED)
"""Placements a host's roster lists: those holding a seat, and those that were declined."""
ANSWERABLE = (PlacementStatus.PROPOSED, PlacementStatus.PUBLISHED)
"""Placements a host may still decline; a confirmed one goes through the coordinator."""

_SPAN = re.compile(r"\s*(\d{4}-\d{1,2}-\d{1,2})/(\d{4}-\d{1,2}-\d{1,2})\s+(.+?)\s*", re.DOTALL)


class OpportunityError(ValueError):
    """Why an opportunity cannot be saved: ``problems`` maps a field (``title``,
    ``capacity``, ``schedule``, ...) to its messages, every problem found."""

    def __init__(self, problems: Mapping[str, Sequence[str]]) -> None:
        self.problems = {name: list(messages) for name, messages in problems.items() if messages}
        super().__init__(
            "; ".join(f"{name}: {m}" for name, ms in self.problems.items() for m in ms)
        )


class ResponseError(ValueError):
    """A host's answer that cannot be taken (say, declining a confirmed placement)."""


@dataclass(frozen=True)
class OpportunitySpec:
    """What a host fills in for an opportunity; ``schedule`` is in the bundle's syntax."""

    kind: Kind
    title: str
    capacity: int
    schedule: str
    career_cluster: str = ""
    min_age: int | None = None
    min_grade: int | None = None
    requires_consent: bool = False
    requires_work_permit: bool = False
    hazardous: bool = False
    remote: bool = False
    hours: float | None = None  # read only for a flexible schedule


# --- the schedule builder's three shapes ------------------------------------------------------


def compose_dated(sessions: Iterable[tuple[date, time, time]]) -> str:
    """Dated sessions, each its own slot: ``2027-02-10 09:00-12:00;2027-02-17 09:00-12:00``."""
    return ";".join(
        f"{day.isoformat()} {_hhmm(start)}-{_hhmm(end)}" for day, start, end in sessions
    )


def compose_weekly(first: date, last: date, weekdays: Iterable[int], start: time, end: time) -> str:
    """One slot meeting weekly: ``2027-02-01/2027-04-30 Tue,Thu 13:30-16:30`` (0 = Monday)."""
    days = ",".join(DAY_ABBREVIATIONS[d] for d in sorted(set(weekdays)))
    return f"{first.isoformat()}/{last.isoformat()} {days} {_hhmm(start)}-{_hhmm(end)}"


def compose_flexible(first: date, last: date) -> str:
    """One slot with no fixed sessions: ``2027-02-01/2027-03-15 flexible``."""
    return f"{first.isoformat()}/{last.isoformat()} flexible"


@dataclass(frozen=True)
class ScheduleParts:
    """A stored schedule taken apart into the builder's fields.

    ``shape`` is ``dated``, ``weekly``, ``flexible``, or ``other`` (a calendar file, which the
    builder cannot show). Times are wall-clock times in the term's timezone.
    """

    shape: str
    sessions: tuple[tuple[date, time, time], ...] = ()
    first: date | None = None
    last: date | None = None
    weekdays: tuple[int, ...] = ()
    start: time | None = None
    end: time | None = None


def split_schedule(term: Term, schedule: str, hours: float | None = None) -> ScheduleParts:
    """The builder's fields for a stored schedule (``other`` if it cannot show it)."""
    try:
        plans = plan_schedule(term, schedule, hours if hours and hours > 0 else 1.0)
    except ScheduleError:
        return ScheduleParts("other")
    span = _SPAN.fullmatch(schedule)
    if span is None:
        if schedule.strip()[:4].lower() == "ics:" or any(len(p.sessions) != 1 for p in plans):
            return ScheduleParts("other")
        return ScheduleParts(
            "dated",
            sessions=tuple(
                (p.sessions[0][0].date(), p.sessions[0][0].time(), p.sessions[0][1].time())
                for p in plans
            ),
        )  # fmt: skip
    first, last = date.fromisoformat(_iso(span[1])), date.fromisoformat(_iso(span[2]))
    (plan,) = plans
    if plan.flexible:
        return ScheduleParts("flexible", first=first, last=last)
    begins, ends = plan.sessions[0]
    return ScheduleParts(
        "weekly",
        first=first,
        last=last,
        weekdays=tuple(sorted({s.date().weekday() for s, _ in plan.sessions})),
        start=begins.time(),
        end=ends.time(),
    )


def plan_schedule(
    term: Term, schedule: str, hours: float | None, ics: str | None = None
) -> tuple[SlotPlan, ...]:
    """The slots ``schedule`` makes in ``term``, by the import's rules (raises
    :class:`ScheduleError`). ``ics`` is the stored calendar of an ``ics:`` schedule."""

    def read_calendar(path: str) -> bytes:
        if ics is None:
            raise FileNotFoundError(path)
        return ics.encode("utf-8")

    return parse_schedule(
        schedule,
        tz=term.timezone,
        term_start=term.start,
        term_end=term.end,
        hours=hours,
        read_calendar=read_calendar,
    )


# --- checking and saving ----------------------------------------------------------------------


def check_spec(term: Term, spec: OpportunitySpec, ics: str | None = None) -> tuple[SlotPlan, ...]:
    """Every problem with ``spec`` as one :class:`OpportunityError`, else its slots."""
    problems: dict[str, list[str]] = {}

    def bad(name: str, message: str) -> None:
        problems.setdefault(name, []).append(message)

    for name, text, limit, required in (
        ("title", spec.title, MAX_TITLE, True),
        ("career_cluster", spec.career_cluster, MAX_CLUSTER, False),
    ):
        if required and not text.strip():
            bad(name, "Give it a name students will recognise.")
        if len(text) > limit:
            bad(name, f"At most {limit} characters (this has {len(text)}).")
        if has_control_characters(text):
            bad(name, "Remove the control characters (tabs, line breaks and the like).")
    if not isinstance(spec.kind, Kind):
        bad("kind", "Choose job shadow, internship or micro-internship.")
    if not 1 <= spec.capacity <= MAX_CAPACITY:
        bad("capacity", f"Seats per slot must be a whole number from 1 to {MAX_CAPACITY}.")
    if spec.min_age is not None and not 0 <= spec.min_age <= 120:
        bad("min_age", "A minimum age must be from 0 to 120.")
    if spec.min_grade is not None and not 0 <= spec.min_grade <= 13:
        bad("min_grade", "A minimum grade must be from 0 to 13.")
    if spec.hours is not None and not (math.isfinite(spec.hours) and 0 < spec.hours <= MAX_HOURS):
        bad("hours", f"Hours must be more than 0 and at most {MAX_HOURS:g}.")
    plans: tuple[SlotPlan, ...] = ()
    try:
        plans = plan_schedule(term, spec.schedule, spec.hours, ics)
    except ScheduleError as error:
        for problem in error.problems:
            bad("schedule", format_problem(problem))
    else:
        labels = Counter(p.label for p in plans)
        for label, count in labels.items():
            if count > 1:
                bad("schedule", f"The session {label} is listed {count} times; list it once.")
    if problems:
        raise OpportunityError(problems)
    return plans


def next_code(session: Session, host: Host) -> str:
    """A new opportunity code unique in the host's term: ``<host code>-<n>``."""
    taken = set(
        session.scalars(select(Opportunity.code).where(Opportunity.term_id == host.term_id))
    )
    n = 1
    while True:
        suffix = f"-{n}"
        code = host.code[: 64 - len(suffix)] + suffix
        if code not in taken:
            return code
        n += 1


def create_opportunity(session: Session, host: Host, spec: OpportunitySpec) -> Opportunity:
    """A new open opportunity of ``host`` with its slots and sessions (raises
    :class:`OpportunityError`)."""
    term = host.term
    plans = check_spec(term, spec)
    opportunity = Opportunity(
        term_id=term.id, host_id=host.id, code=next_code(session, host), **_columns(spec)
    )
    session.add(opportunity)
    session.flush()
    sync_slots(session, term, {opportunity.code: opportunity.id}, {opportunity.code: plans})
    session.expire(opportunity, ["slots"])
    return opportunity


def update_opportunity(
    session: Session, opportunity: Opportunity, spec: OpportunitySpec
) -> Opportunity:
    """Change ``opportunity`` to ``spec``, keeping every slot that holds a student (slots
    whose sessions stay the same are kept, so dates can be added around placed students).

    A schedule that yields the same sessions as the stored one keeps the stored text (so the
    slots stay as they are). Raises :class:`OpportunityError` if the change is invalid or would
    remove, rebuild or overfill a slot with a live placement, or change the kind of an
    opportunity with students; the caller then rolls back.
    """
    term = opportunity.term
    ics = opportunity.schedule_ics if spec.schedule == opportunity.schedule else None
    plans = check_spec(term, spec, ics)
    if spec.schedule != opportunity.schedule:
        try:
            current = plan_schedule(term, opportunity.schedule, opportunity.hours,
                                    opportunity.schedule_ics)  # fmt: skip
        except ScheduleError:
            current = ()
        if same_sessions(current, plans):
            # Same sessions written differently: keep the stored text, so the slot labels,
            # and so the slots and their students, stay exactly as they are.
            spec = replace(spec, schedule=opportunity.schedule)
            ics, plans = opportunity.schedule_ics, current
    placed = live_placements(session, opportunity)
    # Read now: the sync below may delete these slots (and, through the database's cascade,
    # their placements) before we can name them.
    names = {p.id: (p.student.name, p.slot.label, p.status.value) for p in placed}
    problems: dict[str, list[str]] = {}
    if placed and spec.kind != opportunity.kind:
        problems["kind"] = [
            f"{len(placed)} student(s) are placed here, so the kind cannot change; "
            "ask the coordinator."
        ]
    per_slot = Counter(p.slot_id for p in placed)
    for slot in opportunity.slots:
        if per_slot[slot.id] > spec.capacity:
            problems.setdefault("capacity", []).append(
                f"{slot.label} already has {per_slot[slot.id]} students; "
                f"seats per slot cannot go below {per_slot[slot.id]}."
            )
    if problems:
        raise OpportunityError(problems)

    for name, value in _columns(spec).items():
        setattr(opportunity, name, value)
    opportunity.schedule_ics = ics
    session.flush()
    sync_slots(session, term, {opportunity.code: opportunity.id}, {opportunity.code: plans})
    kept = {p.id for p in live_placements(session, opportunity)}
    lost = [names[p.id] for p in placed if p.id not in kept]
    if lost:
        raise OpportunityError(
            {
                "schedule": [
                    f"{student} is placed in {label} ({status}); this schedule no longer has "
                    "that slot, which would drop the placement. Keep that slot's sessions as "
                    "they are, or ask the coordinator to move the student first."
                    for student, label, status in lost
                ]
            }
        )
    session.expire(opportunity, ["slots"])
    return opportunity


def set_closed(opportunity: Opportunity, closed: bool) -> None:
    """Close (no new students; the solve leaves it out) or reopen an opportunity. Students
    already placed keep their places."""
    opportunity.closed = closed


def live_placements(session: Session, opportunity: Opportunity) -> list[Placement]:
    """The placements holding a seat in ``opportunity``, with student and slot loaded."""
    return list(
        session.scalars(
            select(Placement)
            .join(Placement.slot)
            .where(Slot.opportunity_id == opportunity.id, Placement.status.in_(LIVE))
            .options(selectinload(Placement.student), selectinload(Placement.slot))
            .order_by(Placement.id)
        )
    )


def placement_counts(session: Session, host: Host) -> dict[int, Counter[PlacementStatus]]:
    """Per opportunity of ``host``: how many placements it has in each live status."""
    counts: dict[int, Counter[PlacementStatus]] = {}
    for opportunity_id, status in session.execute(
        select(Slot.opportunity_id, Placement.status)
        .join(Placement.slot)
        .join(Slot.opportunity)
        .where(Opportunity.host_id == host.id, Placement.status.in_(LIVE))
    ):
        counts.setdefault(opportunity_id, Counter())[status] += 1
    return counts


# --- the roster and the host's answers --------------------------------------------------------


@dataclass
class SlotRoster:
    """One slot of a host's opportunity and the placements in it, in name order."""

    slot: Slot
    placements: list[Placement] = field(default_factory=list)

    @property
    def seats_taken(self) -> int:
        return sum(p.status in LIVE for p in self.placements)


def roster(
    session: Session, host: Host, opportunity: Opportunity | None = None
) -> list[SlotRoster]:
    """Every slot of ``host``'s opportunities (or of one of them) with its placements:
    those holding a seat and those declined, never withdrawn ones."""
    slots = select(Slot).join(Slot.opportunity).where(Opportunity.host_id == host.id)
    if opportunity is not None:
        slots = slots.where(Slot.opportunity_id == opportunity.id)
    rows = {
        slot.id: SlotRoster(slot)
        for slot in session.scalars(
            slots.options(selectinload(Slot.opportunity), selectinload(Slot.sessions)).order_by(
                Opportunity.closed, Opportunity.title, Opportunity.id, Slot.position
            )
        )
    }
    for placement in session.scalars(
        select(Placement)
        .where(Placement.slot_id.in_(list(rows)), Placement.status.in_(SHOWN_TO_HOST))
        .options(selectinload(Placement.student))
    ):
        rows[placement.slot_id].placements.append(placement)
    for entry in rows.values():
        entry.placements.sort(key=lambda p: (p.status not in LIVE, p.student.name, p.id))
    return list(rows.values())


def host_placement(session: Session, host: Host, placement_id: int) -> Placement | None:
    """Placement ``placement_id`` if it is in one of ``host``'s opportunities, else None."""
    return session.scalar(
        select(Placement)
        .join(Placement.slot)
        .join(Slot.opportunity)
        .where(Placement.id == placement_id, Opportunity.host_id == host.id)
        .options(selectinload(Placement.student), selectinload(Placement.slot))
    )


def accept_placement(placement: Placement) -> None:
    """The host is happy to take this student (recorded; the placement goes on as it was)."""
    if placement.status not in LIVE:
        raise ResponseError(
            f"{placement.student.name}'s placement has ended ({placement.status.value}); "
            "there is nothing to accept."
        )
    placement.host_response = Decision.ACCEPT


def decline_placement(session: Session, placement: Placement) -> None:
    """The host turns this student down: the placement ends, and a host veto keeps every
    later solve from proposing the student for this opportunity again."""
    name = placement.student.name
    if placement.status is PlacementStatus.CONFIRMED:
        raise ResponseError(
            f"{name} has already confirmed this placement. To end it, contact the coordinator."
        )
    if placement.status not in ANSWERABLE:
        raise ResponseError(f"{name}'s placement has already ended ({placement.status.value}).")
    placement.host_response = Decision.VETO
    placement.status = PlacementStatus.DECLINED
    placement.declined_by = Party.HOST
    opportunity_id = placement.slot.opportunity_id
    review = session.scalar(
        select(HostReview).where(
            HostReview.opportunity_id == opportunity_id,
            HostReview.student_id == placement.student_id,
        )
    )
    if review is None:
        session.add(
            HostReview(
                opportunity_id=opportunity_id,
                student_id=placement.student_id,
                decision=Decision.VETO,
            )
        )
    else:
        review.decision, review.rank = Decision.VETO, None


# --- helpers ----------------------------------------------------------------------------------


def has_control_characters(text: str) -> bool:
    """Characters no title needs and some databases refuse (NUL in PostgreSQL)."""
    return any(unicodedata.category(c) in ("Cc", "Cs") for c in text)


def _columns(spec: OpportunitySpec) -> dict[str, object]:
    return {
        **{name: getattr(spec, name) for name in OPPORTUNITY_FIELDS},
        "kind": spec.kind,
        "title": spec.title.strip(),
        "career_cluster": spec.career_cluster.strip(),
    }


def same_sessions(a: Sequence[SlotPlan], b: Sequence[SlotPlan]) -> bool:
    """The same slots in the same order, whatever the schedule text or labels say (so an
    edit from one to the other keeps the slots and the students in them)."""

    def key(p: SlotPlan) -> tuple[object, ...]:
        return (p.flexible, p.span_start, p.span_end, p.sessions, p.total_hours)

    return len(a) == len(b) and all(key(x) == key(y) for x, y in zip(a, b, strict=True))


def _hhmm(t: time) -> str:
    return f"{t.hour:02d}:{t.minute:02d}"


def _iso(text: str) -> str:
    year, month, day = text.split("-")
    return f"{int(year):04d}-{int(month):02d}-{int(day):02d}"


def format_problem(problem: str) -> str:
    """A parser's problem as a sentence for a page: capital first, full stop last."""
    return problem[:1].upper() + problem[1:] + ("" if problem.endswith(".") else ".")
