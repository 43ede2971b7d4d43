"""Import a term bundle into the database, and export a term back out as a bundle.

Import makes the term in the database equal to the bundle: rows are matched by their bundle
id, so re-importing the same bundle changes nothing, and an edited bundle updates rows in place
(keeping their placements) and removes rows it no longer lists. Like every service here it
takes a session and never commits: the caller owns the transaction, so a failed import
writes nothing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from wbl.bundle import (
    HOSTS_FILE,
    STUDENTS_FILE,
    Bundle,
    BundleError,
    HostRow,
    OpportunityRow,
    PreferenceRow,
    Problem,
    ReviewRow,
    StudentRow,
    TermSpec,
    calendar_path,
    read_bundle,
    write_bundle,
)
from wbl.geocode import AddressLocator
from wbl.models import (
    Decision,
    Host,
    HostReview,
    Kind,
    Opportunity,
    Preference,
    Slot,
    Student,
    Term,
    Transport,
)
from wbl.models import Session as SlotSession
from wbl.schedule import SlotPlan

Obj = TypeVar("Obj")


class TermNotFound(LookupError):
    """No term has that name; ``known`` lists the names there are."""

    def __init__(self, name: str, known: list[str]) -> None:
        self.name, self.known = name, known
        listing = ", ".join(repr(k) for k in known) if known else "none yet"
        super().__init__(f"no term named {name!r} (terms: {listing})")


@dataclass
class Changes:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0

    def __str__(self) -> str:
        parts = [f"{n} {label}" for label, n in dataclasses.asdict(self).items() if n]
        return ", ".join(parts) or "none"


@dataclass
class ImportReport:
    """What an import did, for the coordinator to read."""

    term: str
    created: bool
    changes: dict[str, Changes] = field(default_factory=dict)
    # Rows whose location was looked up from their address, as "file:line: id: how".
    located: list[str] = field(default_factory=list)
    approximated: int = 0
    geocoder_unavailable: bool = False


def get_term(session: Session, name: str) -> Term:
    term = session.scalar(select(Term).where(Term.name == name))
    if term is None:
        raise TermNotFound(name, list(session.scalars(select(Term.name).order_by(Term.name))))
    return term


# ---------------------------------------------------------------------------------------------
# Import


def locate_rows(bundle: Bundle, locator: AddressLocator) -> tuple[Bundle, list[Problem], list[str]]:
    """Fill in coordinates of rows given only an address.

    Returns the completed bundle, a problem for each address that cannot be found, and a note
    for each row that was located (saying when it is only a ZIP-code approximation).
    """
    problems: list[Problem] = []
    notes: list[str] = []

    def find(file: str, line: int, code: str, column: str, address: str) -> tuple[float, float]:
        where = locator.locate(address)
        if where is None:
            problems.append(
                Problem(
                    file,
                    line,
                    column,
                    f"cannot locate {address!r}; give "
                    "coordinates or a full street address with a ZIP code",
                )
            )
            return (0.0, 0.0)
        how = (
            "approximated by ZIP-code centroid" if where.approximate else f"found by {where.source}"
        )
        notes.append(f"{file}:{line}: {code}: {how} ({where.lat:.5f}, {where.lon:.5f})")
        return (where.lat, where.lon)

    students = []
    for s in bundle.students:
        if s.origin_lat is None:
            lat, lon = find(STUDENTS_FILE, s.line, s.code, "origin_address", s.origin_address)
            s = dataclasses.replace(s, origin_lat=lat, origin_lon=lon)
        students.append(s)
    hosts = []
    for h in bundle.hosts:
        if h.lat is None:
            lat, lon = find(HOSTS_FILE, h.line, h.code, "address", h.address)
            h = dataclasses.replace(h, lat=lat, lon=lon)
        hosts.append(h)
    return dataclasses.replace(bundle, students=students, hosts=hosts), problems, notes


def import_bundle(session: Session, folder: Path | str, locator: AddressLocator) -> ImportReport:
    """Validate the bundle in ``folder`` and make its term in the database equal to it.

    Raises :class:`BundleError` with every problem found; then the session holds no changes
    worth keeping (the caller rolls back).
    """
    parsed = read_bundle(folder)
    located, problems, notes = locate_rows(parsed, locator)
    if problems:
        raise BundleError(problems)
    geocoded_students = {s.code for s in parsed.students if s.origin_lat is None}
    geocoded_hosts = {h.code for h in parsed.hosts if h.lat is None}
    report = store_bundle(session, located, geocoded_students, geocoded_hosts)
    report.located = notes
    report.approximated = sum("approximated" in n for n in notes)
    report.geocoder_unavailable = locator.unavailable
    return report


def _sync(
    session: Session,
    existing: dict[Hashable, Obj],
    wanted: Iterable[tuple[Hashable, dict[str, Any]]],
    make: Callable[[dict[str, Any]], Obj],
) -> tuple[Changes, dict[Hashable, Obj]]:
    """Make the rows ``existing`` equal to ``wanted``: update by key, add, delete the rest."""
    changes = Changes()
    result: dict[Hashable, Obj] = {}
    leftover = dict(existing)
    for key, values in wanted:
        obj = leftover.pop(key, None)
        if obj is None:
            obj = make(values)
            session.add(obj)
            changes.added += 1
        else:
            dirty = False
            for attr, value in values.items():
                if getattr(obj, attr) != value:
                    setattr(obj, attr, value)
                    dirty = True
            changes.updated += dirty
            changes.unchanged += not dirty
        result[key] = obj
    for obj in leftover.values():
        session.delete(obj)
        changes.removed += 1
    return changes, result


def _student_values(s: StudentRow, geocoded: bool) -> dict[str, Any]:
    return {
        "code": s.code,
        "name": s.name,
        "email": s.email,
        "school": s.school,
        "grade": s.grade,
        "birth_date": s.birth_date,
        "origin_lat": s.origin_lat,
        "origin_lon": s.origin_lon,
        "origin_address": s.origin_address,
        "origin_geocoded": geocoded,
        "transport": Transport(s.transport),
        "max_travel_min": s.max_travel_min,
        "available": s.available,
        "flags": list(s.flags),
        "guardian_consent": s.guardian_consent,
        "work_permit": s.work_permit,
        "prior_clusters": list(s.prior_clusters),
        "group_code": s.group or None,
    }


def _host_values(h: HostRow, geocoded: bool) -> dict[str, Any]:
    return {
        "code": h.code,
        "name": h.name,
        "career_cluster": h.career_cluster,
        "lat": h.lat,
        "lon": h.lon,
        "address": h.address,
        "geocoded": geocoded,
        "max_students": h.max_students,
        "mentor_background_checked": h.mentor_background_checked,
    }


def _opportunity_values(o: OpportunityRow, calendars: dict[str, str]) -> dict[str, Any]:
    path = calendar_path(o.schedule)
    ics = calendars.get(path) if path else None
    return {
        "code": o.code,
        "kind": Kind(o.kind),
        "title": o.title,
        "career_cluster": o.career_cluster,
        "capacity": o.capacity,
        "schedule": o.schedule,
        "schedule_ics": ics,
        "min_age": o.min_age,
        "min_grade": o.min_grade,
        "requires_consent": o.requires_consent,
        "requires_work_permit": o.requires_work_permit,
        "hazardous": o.hazardous,
        "remote": o.remote,
        "hours": o.hours,
    }


def _slot_key(position: int, plan: SlotPlan) -> tuple[Any, ...]:
    return (
        position,
        plan.label,
        plan.flexible,
        plan.span_start,
        plan.span_end,
        plan.weekly_hours,
        plan.total_hours,
        plan.sessions,
    )


def _stored_slot_key(slot: Slot) -> tuple[Any, ...]:
    sessions = tuple((s.start, s.end) for s in slot.sessions)
    return (
        slot.position,
        slot.label,
        slot.flexible,
        slot.span_start,
        slot.span_end,
        slot.weekly_hours,
        slot.total_hours,
        sessions,
    )


def _new_slot(position: int, plan: SlotPlan) -> Slot:
    return Slot(
        position=position,
        label=plan.label,
        flexible=plan.flexible,
        span_start=plan.span_start,
        span_end=plan.span_end,
        weekly_hours=plan.weekly_hours,
        total_hours=plan.total_hours,
        sessions=[SlotSession(start=start, end=end) for start, end in plan.sessions],
    )


def store_bundle(
    session: Session,
    bundle: Bundle,
    geocoded_students: AbstractSet[str] = frozenset(),
    geocoded_hosts: AbstractSet[str] = frozenset(),
) -> ImportReport:
    """Write a validated, fully located bundle: the term ends up equal to it."""
    spec = bundle.term
    term = session.scalar(
        select(Term)
        .where(Term.name == spec.name)
        .options(
            selectinload(Term.students).selectinload(Student.preferences),
            selectinload(Term.hosts)
            .selectinload(Host.opportunities)
            .selectinload(Opportunity.slots)
            .selectinload(Slot.sessions),
        )
    )
    created = term is None
    if term is None:
        term = Term(name=spec.name, start=spec.start, end=spec.end, timezone=spec.timezone)
        session.add(term)
    term.start, term.end, term.timezone = spec.start, spec.end, spec.timezone
    term.rules = spec.rules
    report = ImportReport(term=spec.name, created=created)
    # Read before anything is deleted: a removed student or opportunity takes its reviews along
    # through the database's cascade, and the report should count those as removed.
    existing_reviews: dict[Hashable, HostReview] = {}
    if not created:
        for review in session.scalars(
            select(HostReview)
            .join(HostReview.opportunity)
            .where(Opportunity.term_id == term.id)
            .options(selectinload(HostReview.opportunity), selectinload(HostReview.student))
        ):
            existing_reviews[(review.opportunity.code, review.student.code)] = review

    report.changes["hosts"], hosts = _sync(
        session,
        {h.code: h for h in term.hosts},
        ((h.code, _host_values(h, h.code in geocoded_hosts)) for h in bundle.hosts),
        lambda values: Host(term=term, **values),
    )
    report.changes["students"], students = _sync(
        session,
        {s.code: s for s in term.students},
        ((s.code, _student_values(s, s.code in geocoded_students)) for s in bundle.students),
        lambda values: Student(term=term, **values),
    )
    existing_opps = {o.code: o for h in term.hosts for o in h.opportunities}
    opp_host = {o.code: hosts[o.host] for o in bundle.opportunities}
    report.changes["opportunities"], opportunities = _sync(
        session,
        existing_opps,
        (
            (o.code, {**_opportunity_values(o, bundle.calendars), "host": opp_host[o.code]})
            for o in bundle.opportunities
        ),
        lambda values: Opportunity(term=term, **values),
    )

    # Slots are derived from schedules; an opportunity keeps its slots (and so the placements
    # in them) unless its schedule now yields different ones.
    slot_changes = Changes()
    rebuild: list[tuple[Opportunity, tuple[SlotPlan, ...]]] = []
    for code, opp in opportunities.items():
        plans = bundle.slots.get(code, ())
        wanted = [_slot_key(i, p) for i, p in enumerate(plans)]
        if code in existing_opps and [_stored_slot_key(s) for s in opp.slots] == wanted:
            slot_changes.unchanged += len(plans)
            continue
        rebuild.append((opp, plans))
    # Old slots go first (one flush), so the new ones can reuse their positions.
    for opp, _plans in rebuild:
        for old in opp.slots:
            session.delete(old)
            slot_changes.removed += 1
    if slot_changes.removed:
        session.flush()
    for opp, plans in rebuild:
        opp.slots = [_new_slot(i, p) for i, p in enumerate(plans)]
        slot_changes.added += len(plans)
    report.changes["slots"] = slot_changes

    existing_prefs: dict[Hashable, Preference] = {
        (s.code, p.opportunity.code): p for s in term.students for p in s.preferences
    }
    report.changes["preferences"], _ = _sync(
        session,
        existing_prefs,
        (
            (
                (p.student, p.opportunity),
                {
                    "rank": p.rank,
                    "student": students[p.student],
                    "opportunity": opportunities[p.opportunity],
                },
            )
            for p in bundle.preferences
        ),
        lambda values: Preference(**values),
    )
    report.changes["host reviews"], _ = _sync(
        session,
        existing_reviews,
        (
            (
                (r.opportunity, r.student),
                {
                    "decision": Decision(r.decision),
                    "rank": r.rank,
                    "opportunity": opportunities[r.opportunity],
                    "student": students[r.student],
                },
            )
            for r in bundle.reviews
        ),
        lambda values: HostReview(**values),
    )
    session.flush()
    return report


# ---------------------------------------------------------------------------------------------
# Export


def bundle_from_term(session: Session, term: Term) -> Bundle:
    """The term as a bundle, rows in the order they were first imported."""
    students = session.scalars(
        select(Student).where(Student.term_id == term.id).order_by(Student.id)
    ).all()
    hosts = session.scalars(select(Host).where(Host.term_id == term.id).order_by(Host.id)).all()
    opportunities = session.scalars(
        select(Opportunity)
        .where(Opportunity.term_id == term.id)
        .order_by(Opportunity.id)
        .options(selectinload(Opportunity.host))
    ).all()
    student_code = {s.id: s.code for s in students}
    opp_code = {o.id: o.code for o in opportunities}
    preferences = session.execute(
        select(Preference.student_id, Preference.opportunity_id, Preference.rank)
        .join(Preference.student)
        .where(Student.term_id == term.id)
        .order_by(Preference.id)
    ).all()
    reviews = session.execute(
        select(
            HostReview.opportunity_id, HostReview.student_id, HostReview.decision, HostReview.rank
        )
        .join(HostReview.opportunity)
        .where(Opportunity.term_id == term.id)
        .order_by(HostReview.id)
    ).all()
    return Bundle(
        term=TermSpec(term.name, term.start, term.end, term.timezone, term.rules),
        students=[
            StudentRow(
                code=s.code,
                name=s.name,
                email=s.email,
                school=s.school,
                grade=s.grade,
                birth_date=s.birth_date,
                # A geocoded origin was not in the bundle: leave it for the next import to look up.
                origin_lat=None if s.origin_geocoded else s.origin_lat,
                origin_lon=None if s.origin_geocoded else s.origin_lon,
                origin_address=s.origin_address,
                transport=s.transport.value,
                max_travel_min=s.max_travel_min,
                available=s.available,
                flags=tuple(s.flags),
                guardian_consent=s.guardian_consent,
                work_permit=s.work_permit,
                prior_clusters=tuple(s.prior_clusters),
                group=s.group_code or "",
            )
            for s in students
        ],
        hosts=[
            HostRow(
                code=h.code,
                name=h.name,
                career_cluster=h.career_cluster,
                lat=None if h.geocoded else h.lat,
                lon=None if h.geocoded else h.lon,
                address=h.address,
                max_students=h.max_students,
                mentor_background_checked=h.mentor_background_checked,
            )
            for h in hosts
        ],
        opportunities=[
            OpportunityRow(
                code=o.code,
                host=o.host.code,
                kind=o.kind.value,
                title=o.title,
                career_cluster=o.career_cluster,
                capacity=o.capacity,
                schedule=o.schedule,
                min_age=o.min_age,
                min_grade=o.min_grade,
                requires_consent=o.requires_consent,
                requires_work_permit=o.requires_work_permit,
                hazardous=o.hazardous,
                remote=o.remote,
                hours=o.hours,
            )
            for o in opportunities
        ],
        preferences=[PreferenceRow(student_code[s], opp_code[o], r) for s, o, r in preferences],
        reviews=[ReviewRow(opp_code[o], student_code[s], d.value, r) for o, s, d, r in reviews],
        calendars={
            path: o.schedule_ics
            for o in opportunities
            if (path := calendar_path(o.schedule)) and o.schedule_ics is not None
        },
    )


def export_term(session: Session, name: str, folder: Path | str) -> list[Path]:
    """Write term ``name`` as a bundle into ``folder``; returns the files written."""
    return write_bundle(bundle_from_term(session, get_term(session, name)), folder)
