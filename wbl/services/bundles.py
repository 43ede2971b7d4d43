"""Import a term bundle into the database, and export a term back out as a bundle.

Import makes the term in the database equal to the bundle: rows are matched by their bundle
id, so re-importing the same bundle changes nothing, and an edited bundle updates rows in place
(keeping their placements) and removes rows it no longer lists. Like every service here it
takes a session and never commits: the caller owns the transaction, so a failed import
writes nothing.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import and_, delete, select, update
from sqlalchemy.orm import Session, selectinload

from wbl.bundle import (
    HOSTS_FILE,
    OPPORTUNITY_FIELDS,
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
    check_bundle,
    write_bundle,
)
from wbl.geocode import AddressLocator, Location
from wbl.models import (
    Decision,
    Host,
    HostReview,
    Kind,
    Opportunity,
    Placement,
    PlacementStatus,
    Preference,
    Slot,
    Student,
    Term,
    Transport,
)
from wbl.models import Session as SlotSession
from wbl.schedule import SlotPlan


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


@dataclass(frozen=True)
class LocatedRow:
    """A bundle row whose coordinates were looked up from its address."""

    file: str
    line: int
    code: str
    location: Location

    def __str__(self) -> str:
        where = self.location
        how = (
            "approximated by ZIP-code centroid" if where.approximate else f"found by {where.source}"
        )
        return f"{self.file}:{self.line}: {self.code}: {how} ({where.lat:.5f}, {where.lon:.5f})"


@dataclass
class PreparedImport:
    """A bundle that passed validation, every row located: ready for :func:`store_bundle`."""

    bundle: Bundle
    located: list[LocatedRow] = field(default_factory=list)
    # Why the configured geocoder was given up on (ZIP centroids served instead), if it was.
    geocoder_unavailable: str | None = None

    def geocoded(self, file: str) -> set[str]:
        return {row.code for row in self.located if row.file == file}


@dataclass
class ImportReport:
    """What an import did, for the coordinator to read."""

    term: str
    created: bool
    changes: dict[str, Changes] = field(default_factory=dict)
    located: list[LocatedRow] = field(default_factory=list)
    geocoder_unavailable: str | None = None

    @property
    def approximated(self) -> int:
        return sum(row.location.approximate for row in self.located)


def get_term(session: Session, name: str) -> Term:
    term = session.scalar(select(Term).where(Term.name == name))
    if term is None:
        raise TermNotFound(name, list(session.scalars(select(Term.name).order_by(Term.name))))
    return term


# ---------------------------------------------------------------------------------------------
# Import


def locate_rows(
    bundle: Bundle, locator: AddressLocator
) -> tuple[Bundle, list[LocatedRow], list[Problem]]:
    """Fill in the coordinates of rows that give only an address.

    Returns the completed bundle, the rows located, and a problem for each address that
    cannot be found anywhere.
    """
    located: list[LocatedRow] = []
    problems: list[Problem] = []

    def find(file: str, line: int, code: str, column: str, address: str) -> tuple[float, float]:
        where = locator.locate(address)
        if where is None:
            message = (
                f"cannot locate {address!r}; give coordinates or a full street address "
                "with a ZIP code"
            )
            problems.append(Problem(file, line, column, message))
            return (0.0, 0.0)
        located.append(LocatedRow(file, line, code, where))
        return (where.lat, where.lon)

    # A row with neither coordinates nor an address was already reported by the reader.
    students = []
    for s in bundle.students:
        if s.origin_lat is None and s.origin_address:
            lat, lon = find(STUDENTS_FILE, s.line, s.code, "origin_address", s.origin_address)
            s = dataclasses.replace(s, origin_lat=lat, origin_lon=lon)
        students.append(s)
    hosts = []
    for h in bundle.hosts:
        if h.lat is None and h.address:
            lat, lon = find(HOSTS_FILE, h.line, h.code, "address", h.address)
            h = dataclasses.replace(h, lat=lat, lon=lon)
        hosts.append(h)
    return dataclasses.replace(bundle, students=students, hosts=hosts), located, problems


def prepare_import(folder: Path | str, locator: AddressLocator) -> PreparedImport:
    """Read, validate and locate a bundle, reporting every problem (bad rows and addresses
    that cannot be found) in one :class:`BundleError`. Writes nothing but the locator's
    geocode cache, which the caller may keep even when the bundle is rejected."""
    bundle, problems = check_bundle(folder)
    located_bundle, located, not_found = locate_rows(bundle, locator)
    if problems or not_found:
        raise BundleError([*problems, *not_found])
    return PreparedImport(located_bundle, located, locator.unavailable_reason)


def import_bundle(
    session: Session, folder: Path | str, locator: AddressLocator, *, force: bool = False
) -> ImportReport:
    """Validate the bundle in ``folder`` and make its term in the database equal to it.

    Raises :class:`BundleError` with every problem found (see :func:`store_bundle` for
    ``force``); the caller then rolls back.
    """
    return store_bundle(session, prepare_import(folder, locator), force=force)


_CHUNK = 900  # ids per DELETE ... IN (...): well inside every backend's parameter limit


def _load(
    session: Session, model: type[Any], key_columns: tuple[str, ...], scope: Any
) -> dict[Hashable, tuple[int, dict[str, Any]]]:
    """Existing rows of ``model`` in ``scope`` as ``key -> (id, {column: value})``."""
    names = [c.key for c in model.__table__.columns if c.key != "id"]
    rows = session.execute(select(model.id, *(getattr(model, c) for c in names)).where(scope))
    loaded: dict[Hashable, tuple[int, dict[str, Any]]] = {}
    for row in rows:
        values = dict(zip(names, row[1:], strict=True))
        loaded[
            tuple(values[c] for c in key_columns)
            if len(key_columns) > 1
            else values[key_columns[0]]
        ] = (row[0], values)
    return loaded


def _delete(session: Session, model: type[Any], ids: list[int]) -> None:
    for i in range(0, len(ids), _CHUNK):
        session.execute(delete(model).where(model.id.in_(ids[i : i + _CHUNK])))


def _insert(
    session: Session,
    model: type[Any],
    key_columns: tuple[str, ...],
    rows: list[dict[str, Any]],
    scope: Any,
) -> dict[Hashable, int]:
    """Insert rows in bulk; returns ``key -> new id`` for them.

    A plain executemany followed by one SELECT of the ids: INSERT ... RETURNING with the
    parameter order kept grew worse than linearly (50,000 students took 50 s on SQLite).
    """
    if not rows:
        return {}
    session.execute(model.__table__.insert(), rows)
    keys = [
        tuple(row[c] for c in key_columns) if len(key_columns) > 1 else row[key_columns[0]]
        for row in rows
    ]
    found = session.execute(
        select(model.id, *(getattr(model, c) for c in key_columns)).where(scope)
    )
    ids = {(tuple(r[1:]) if len(key_columns) > 1 else r[1]): r[0] for r in found}
    return {k: ids[k] for k in keys}


def _sync(
    session: Session,
    model: type[Any],
    key_columns: tuple[str, ...],
    scope: Any,
    existing: dict[Hashable, tuple[int, dict[str, Any]]],
    wanted: dict[Hashable, dict[str, Any]],
) -> tuple[Changes, dict[Hashable, int]]:
    """Make the rows ``existing`` equal to ``wanted`` (both by key) in a few bulk statements.

    Rows are updated in place (keeping their id, and so what refers to them), added, or
    deleted, with the database's ON DELETE CASCADE taking their dependents along.
    """
    changes = Changes()
    ids: dict[Hashable, int] = {}
    updates: list[dict[str, Any]] = []
    added: list[Hashable] = []
    for wanted_key, values in wanted.items():
        if wanted_key not in existing:
            added.append(wanted_key)
            continue
        row_id, stored = existing[wanted_key]
        ids[wanted_key] = row_id
        dirty = {c: v for c, v in values.items() if stored.get(c) != v}
        if dirty:
            updates.append({"id": row_id, **dirty})
        changes.updated += bool(dirty)
        changes.unchanged += not dirty
    gone = [row_id for k, (row_id, _) in existing.items() if k not in wanted]
    _delete(session, model, gone)
    changes.removed = len(gone)
    # One UPDATE per set of changed columns (ORM bulk update by primary key needs the same keys).
    by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for update_row in updates:
        by_columns.setdefault(tuple(sorted(update_row)), []).append(update_row)
    for batch in by_columns.values():
        session.execute(update(model), batch)
    ids.update(_insert(session, model, key_columns, [wanted[k] for k in added], scope))
    changes.added = len(added)
    return changes, ids


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
        **{name: getattr(o, name) for name in OPPORTUNITY_FIELDS},
        "schedule_ics": ics,
    }


_SLOT_COLUMNS = (
    "position", "label", "flexible", "span_start", "span_end", "weekly_hours", "total_hours",
)  # fmt: skip


def _slot_values(position: int, plan: SlotPlan) -> dict[str, Any]:
    """A slot row's columns (``_SLOT_COLUMNS``, in order) for the ``position``-th plan."""
    values = (position, plan.label, plan.flexible, plan.span_start, plan.span_end,
              plan.weekly_hours, plan.total_hours)  # fmt: skip
    return dict(zip(_SLOT_COLUMNS, values, strict=True))


def plan_content(plan: SlotPlan) -> tuple[Any, ...]:
    """A planned slot's columns but its position, and its sessions: what :func:`sync_slots`
    compares to keep a stored slot (see :func:`slot_content`)."""
    return (*list(_slot_values(0, plan).values())[1:], tuple(plan.sessions))


def slot_content(slot: Slot) -> tuple[Any, ...]:
    """A stored slot's counterpart of :func:`plan_content`."""
    return (
        *(getattr(slot, c) for c in _SLOT_COLUMNS[1:]),
        tuple((s.start, s.end) for s in slot.sessions),
    )


def sync_slots(
    session: Session,
    term: Term,
    opp_ids: Mapping[Hashable, int],
    plans: Mapping[str, tuple[SlotPlan, ...]],
) -> Changes:
    """Make the slots and sessions of the opportunities ``opp_ids`` (code -> id) of ``term``
    equal to ``plans`` (code -> the schedule's slots, as ``parse_schedule`` gives them).

    Slots are matched one by one: a stored slot equal to a planned one (the same label,
    span, hours and sessions) is kept, with the placements in it, and only takes its new
    position; stored slots the plans no longer have are deleted (with their placements) and
    new ones are added. So a host adding a date to a job shadow keeps the students of the
    other dates. The import and the host's schedule builder both go through here. Like every
    service, it never commits.
    """
    in_term = Slot.opportunity_id.in_(select(Opportunity.id).where(Opportunity.term_id == term.id))
    if len(opp_ids) <= _CHUNK:
        # A few opportunities (a host saving one): read only their slots, not the whole term's.
        in_term = and_(in_term, Slot.opportunity_id.in_(list(opp_ids.values())))
    stored: dict[int, list[tuple[int, list[Any]]]] = {}
    for row in session.execute(
        select(Slot.id, Slot.opportunity_id, *(getattr(Slot, c) for c in _SLOT_COLUMNS))
        .where(in_term)
        .order_by(Slot.opportunity_id, Slot.position)
    ):
        stored.setdefault(row[1], []).append((row[0], [*row[2:], []]))
    by_slot = {slot_id: key for keys in stored.values() for slot_id, key in keys}
    for slot_id, start, end in session.execute(
        select(SlotSession.slot_id, SlotSession.start, SlotSession.end)
        .join(SlotSession.slot)
        .where(in_term)
        .order_by(SlotSession.slot_id, SlotSession.start)
    ):
        by_slot[slot_id][-1].append((start, end))

    changes = Changes()
    stale: list[int] = []
    fresh: list[tuple[int, int, SlotPlan]] = []
    moved: list[tuple[int, int]] = []  # (kept slot id, its new position)
    for code, opp_id in opp_ids.items():
        wanted = [
            (*_slot_values(i, p).values(), p.sessions)
            for i, p in enumerate(plans.get(str(code), ()))
        ]
        current = stored.get(opp_id, [])
        if [(*key[:-1], tuple(key[-1])) for _, key in current] == wanted:
            changes.unchanged += len(wanted)
            continue
        # Everything but the position (the first column) says whether two slots are equal:
        # the stored side of plan_content.
        keep: dict[tuple[Any, ...], list[tuple[int, int]]] = defaultdict(list)
        for slot_id, key in current:
            keep[(*key[1:-1], tuple(key[-1]))].append((slot_id, key[0]))
        for i, p in enumerate(plans.get(str(code), ())):
            same = keep.get(plan_content(p))
            if same:
                slot_id, position = same.pop(0)
                changes.unchanged += 1
                if position != i:
                    moved.append((slot_id, i))
            else:
                fresh.append((opp_id, i, p))
        stale += [slot_id for left in keep.values() for slot_id, _ in left]
    # Old slots go first, so the new ones can take their positions; kept slots that move
    # pass through a free (negative) position, as two may swap.
    _delete(session, Slot, stale)
    changes.removed = len(stale)
    for final in (False, True):
        for slot_id, position in moved:
            session.execute(
                update(Slot)
                .where(Slot.id == slot_id)
                .values(position=position if final else -1 - slot_id)
            )
    slot_ids = _insert(
        session,
        Slot,
        ("opportunity_id", "position"),
        [{"opportunity_id": opp_id, **_slot_values(i, p)} for opp_id, i, p in fresh],
        in_term,
    )
    sessions = [
        {"slot_id": slot_ids[(opp_id, i)], "start": start, "end": end}
        for opp_id, i, plan in fresh
        for start, end in plan.sessions
    ]
    if sessions:
        session.execute(SlotSession.__table__.insert(), sessions)
    changes.added = len(fresh)
    return changes


_KEPT = (PlacementStatus.PUBLISHED, PlacementStatus.CONFIRMED)


def _kept_placements(session: Session, term_id: int) -> dict[int, tuple[str, str, str]]:
    """Published and confirmed placements of a term: id -> (student, opportunity, slot)."""
    rows = session.execute(
        select(Placement.id, Student.code, Opportunity.code, Slot.label)
        .join(Placement.student)
        .join(Placement.slot)
        .join(Slot.opportunity)
        .where(Placement.term_id == term_id, Placement.status.in_(_KEPT))
    )
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


def store_bundle(
    session: Session, prepared: PreparedImport, *, force: bool = False
) -> ImportReport:
    """Write a validated, fully located bundle: the term ends up equal to it.

    Works in set-based statements rather than one ORM object per row, so a 10,000-student
    term imports in seconds; ORM objects already in ``session`` are expired afterwards.

    Removing a student or opportunity, or changing a schedule, deletes the placements that
    hang on it. Unless ``force``, an import that would delete a published or confirmed
    placement raises :class:`BundleError` naming each one (the caller rolls back).
    """
    bundle = prepared.bundle
    geocoded_students = prepared.geocoded(STUDENTS_FILE)
    geocoded_hosts = prepared.geocoded(HOSTS_FILE)
    spec = bundle.term
    term = session.scalar(select(Term).where(Term.name == spec.name))
    created = term is None
    if term is None:
        term = Term(name=spec.name, start=spec.start, end=spec.end, timezone=spec.timezone)
        session.add(term)
    term.start, term.end, term.timezone = spec.start, spec.end, spec.timezone
    term.rules = spec.rules
    session.flush()
    report = ImportReport(
        term=spec.name,
        created=created,
        located=prepared.located,
        geocoder_unavailable=prepared.geocoder_unavailable,
    )
    kept_before = {} if created else _kept_placements(session, term.id)

    term_students = select(Student.id).where(Student.term_id == term.id)
    term_opps = select(Opportunity.id).where(Opportunity.term_id == term.id)
    # Each table: its model, the key rows are matched by, and which rows belong to the term.
    tables: dict[str, tuple[type[Any], tuple[str, ...], Any]] = {
        "hosts": (Host, ("code",), Host.term_id == term.id),
        "students": (Student, ("code",), Student.term_id == term.id),
        "opportunities": (Opportunity, ("code",), Opportunity.term_id == term.id),
        "preferences": (
            Preference, ("student_id", "opportunity_id"),
            Preference.student_id.in_(term_students),
        ),
        "host reviews": (
            HostReview, ("opportunity_id", "student_id"),
            HostReview.opportunity_id.in_(term_opps),
        ),
    }  # fmt: skip
    # Read every table before anything is deleted: a removed student takes its preferences
    # and reviews along through the database's cascade, and the report should count them.
    old = {name: _load(session, model, key, scope) for name, (model, key, scope) in tables.items()}

    def sync(name: str, wanted: dict[Hashable, dict[str, Any]]) -> dict[Hashable, int]:
        model, key, scope = tables[name]
        report.changes[name], ids = _sync(session, model, key, scope, old[name], wanted)
        return ids

    host_ids = sync(
        "hosts",
        {
            h.code: {"term_id": term.id, **_host_values(h, h.code in geocoded_hosts)}
            for h in bundle.hosts
        },
    )
    student_ids = sync(
        "students",
        {
            s.code: {"term_id": term.id, **_student_values(s, s.code in geocoded_students)}
            for s in bundle.students
        },
    )
    opp_ids = sync(
        "opportunities",
        {
            o.code: {"term_id": term.id, "host_id": host_ids[o.host],
                     **_opportunity_values(o, bundle.calendars)}
            for o in bundle.opportunities
        },
    )  # fmt: skip
    report.changes["slots"] = sync_slots(session, term, opp_ids, bundle.slots)
    sync(
        "preferences",
        {
            (student_ids[p.student], opp_ids[p.opportunity]): {
                "student_id": student_ids[p.student], "opportunity_id": opp_ids[p.opportunity],
                "rank": p.rank,
            }
            for p in bundle.preferences
        },
    )  # fmt: skip
    sync(
        "host reviews",
        {
            (opp_ids[r.opportunity], student_ids[r.student]): {
                "opportunity_id": opp_ids[r.opportunity], "student_id": student_ids[r.student],
                "decision": Decision(r.decision), "rank": r.rank,
            }
            for r in bundle.reviews
        },
    )  # fmt: skip
    if kept_before and not force:
        lost = kept_before.keys() - _kept_placements(session, term.id).keys()
        if lost:
            raise BundleError(
                Problem(
                    spec.name, None, None,
                    f"this import would delete the published placement of {student} in "
                    f"{opportunity} ({slot}); keep them in the bundle, withdraw the placement "
                    "first, or import with --force",
                )
                for student, opportunity, slot in (kept_before[i] for i in sorted(lost))
            )  # fmt: skip
    session.expire_all()
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
