"""Export a term's outcome: placement and unplaced rosters, calendars, and the HTML report.

``export_outcome`` writes, into one folder (DESIGN.md, "Term bundle", export):

- ``placements.csv``: one row per live placement, by bundle ids;
- ``unplaced.csv``: every student with no live placement, with the reason;
- ``calendars/students/<student_id>.ics`` and ``calendars/hosts/<host_id>.ics``: one event per
  session of each placement (a flexible slot: one all-day event over its span), times in the
  term's timezone with its VTIMEZONE; every student and host gets a file, empty or not, so a
  subscription link never breaks;
- ``report.html`` (see :mod:`wbl.report`).

Everything is rendered in memory and staged in the folder first; the files then replace the
old ones, and a failure part way puts back what was there, so an export appears whole or not
at all.
"""

from __future__ import annotations

import csv
import io
import math
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import icalendar
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from wbl.models import Host, Kind, Opportunity, Placement, PlacementStatus, Slot, Student, Term
from wbl.models import Session as SlotSession
from wbl.report import render_report
from wbl.services.outcome import compute_outcome, live_placements, map_points, sort_key

PLACEMENTS_FILE = "placements.csv"
UNPLACED_FILE = "unplaced.csv"
REPORT_FILE = "report.html"
STUDENT_CALENDARS = "calendars/students"
HOST_CALENDARS = "calendars/hosts"

PLACEMENT_COLUMNS = (
    "student_id", "opportunity_id", "host_id", "kind", "slot_start", "rank", "travel_min",
    "pinned",
)  # fmt: skip
UNPLACED_COLUMNS = ("student_id", "reason", "detail")

_KIND_NAMES = {
    Kind.JOB_SHADOW: "Job shadow",
    Kind.INTERNSHIP: "Internship",
    Kind.MICRO_INTERNSHIP: "Micro-internship",
}
_PRODID = "-//wbl-scheduler//placements//EN"


def export_outcome(session: Session, term: Term, folder: Path | str) -> list[Path]:
    """Write the term's outcome files into ``folder`` (created if needed); returns them."""
    return write_files(outcome_files(session, term), folder)


def outcome_files(session: Session, term: Term) -> dict[str, bytes]:
    """Every export file's content, by path relative to the export folder."""
    zone = ZoneInfo(term.timezone)
    outcome = compute_outcome(session, term)
    placements = sorted(
        live_placements(session, term, sessions=True),
        key=lambda p: (
            sort_key(p.student.code),
            slot_start(p.slot, zone),
            sort_key(p.slot.opportunity.code),
            p.slot.position,
        ),
    )
    files = {
        PLACEMENTS_FILE: _csv(PLACEMENT_COLUMNS, (_placement_row(p, zone) for p in placements)),
        UNPLACED_FILE: _csv(
            UNPLACED_COLUMNS, ((u.student_id, u.reason, u.detail) for u in outcome.unplaced)
        ),
        REPORT_FILE: render_report(outcome, map_points(session, term)).encode("utf-8"),
    }
    files.update(_calendars(session, term, placements, zone))
    return files


def slot_start(slot: Slot, zone: ZoneInfo) -> datetime:
    """When a slot begins, in ``zone``: its first session, or a flexible slot's first day at
    00:00 (through UTC, so a midnight lost to a clock change becomes the real local time)."""
    if slot.sessions and not slot.flexible:
        return slot.sessions[0].start.astimezone(zone)
    return datetime.combine(slot.span_start, time(), tzinfo=zone).astimezone(UTC).astimezone(zone)


def _placement_row(p: Placement, zone: ZoneInfo) -> tuple[str, ...]:
    opportunity = p.slot.opportunity
    return (
        p.student.code,
        opportunity.code,
        opportunity.host.code,
        opportunity.kind.value,
        slot_start(p.slot, zone).isoformat(),
        "" if p.rank is None else str(p.rank),
        "" if p.travel_min is None else format_tenths(p.travel_min),
        "true" if p.pinned else "false",
    )


def format_tenths(value: float) -> str:
    """``value`` to one decimal, halves rounded up as a spreadsheet's ROUND does (31.25 is
    31.3, where Python's round would give 31.2), judged on the number as it prints."""
    if not math.isfinite(value):
        return ""
    return str(Decimal(repr(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _csv(header: tuple[str, ...], rows: Iterable[tuple[str, ...]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


# --- calendars ------------------------------------------------------------------------------


def calendar_name(code: str) -> str:
    """A bundle id as a file name: characters a file system could misread are %-escaped."""
    return quote(code, safe="") + ".ics"


def _vtimezone(term: Term, zone: ZoneInfo) -> icalendar.Timezone:
    """The term's zone, over the term's dates (with a margin): serves every calendar."""
    return icalendar.Timezone.from_tzinfo(
        zone,
        tzid=term.timezone,
        first_date=term.start - timedelta(days=7),
        last_date=term.end + timedelta(days=7),
    )


def _calendars(
    session: Session, term: Term, placements: list[Placement], zone: ZoneInfo
) -> dict[str, bytes]:
    students = session.scalars(select(Student).where(Student.term_id == term.id)).all()
    hosts = session.scalars(select(Host).where(Host.term_id == term.id)).all()
    vtimezone = _vtimezone(term, zone)
    times = _SessionTimes(zone)
    by_student: dict[int, list[_Entry]] = {s.id: [] for s in students}
    by_host: dict[int, list[_Entry]] = {h.id: [] for h in hosts}
    for p in placements:
        by_student[p.student_id] += _events(term, p, times, for_host=False)
        by_host[p.slot.opportunity.host_id] += _events(term, p, times, for_host=True)

    files: dict[str, bytes] = {}
    for s in sorted(students, key=lambda s: sort_key(s.code)):
        files[f"{STUDENT_CALENDARS}/{calendar_name(s.code)}"] = _calendar(
            _student_calendar_name(term, s), term, vtimezone, by_student[s.id]
        )
    for h in sorted(hosts, key=lambda h: sort_key(h.code)):
        files[f"{HOST_CALENDARS}/{calendar_name(h.code)}"] = _calendar(
            _host_calendar_name(term, h), term, vtimezone, by_host[h.id]
        )
    return files


def _student_calendar_name(term: Term, student: Student) -> str:
    return f"{student.name}: placements ({term.name})"


def _host_calendar_name(term: Term, host: Host) -> str:
    return f"{host.name}: students ({term.name})"


FEED_STATUSES = (PlacementStatus.PUBLISHED, PlacementStatus.CONFIRMED)


def feed_calendar(session: Session, owner: Student | Host) -> bytes:
    """One student's or one host's calendar for a subscription feed: the sessions of their
    published and confirmed placements only (proposals are not shown until published)."""
    term = owner.term
    zone = ZoneInfo(term.timezone)
    slot = selectinload(Placement.slot)
    query = (
        select(Placement)
        .where(Placement.term_id == term.id, Placement.status.in_(FEED_STATUSES))
        .options(
            selectinload(Placement.student),
            slot.selectinload(Slot.opportunity).selectinload(Opportunity.host),
            slot.selectinload(Slot.sessions),
        )
        .order_by(Placement.id)
    )
    if isinstance(owner, Student):
        query = query.where(Placement.student_id == owner.id)
        name = _student_calendar_name(term, owner)
    else:
        query = query.join(Placement.slot).join(Slot.opportunity)
        query = query.where(Opportunity.host_id == owner.id)
        name = _host_calendar_name(term, owner)
    times = _SessionTimes(zone)
    events = [
        entry
        for p in session.scalars(query)
        for entry in _events(term, p, times, for_host=isinstance(owner, Host))
    ]
    return _calendar(name, term, _vtimezone(term, zone), events)


# Building every event property by property with icalendar took most of an export's time on
# a large term (a weekly internship is 26 sessions, each in a student's and a host's calendar).
# So each piece is built and serialised by icalendar once: a placement's shared properties once
# per calendar, a session's start and end once for every student in its slot, and the events
# are assembled from those bytes. Only the UID, a UUID, is written by hand.
_BEGIN_EVENT, _END_EVENT = b"BEGIN:VEVENT\r\n", b"END:VEVENT\r\n"
_END_CALENDAR = b"END:VCALENDAR\r\n"

_Entry = tuple[str, str, bytes]
"""A serialised event with its sort key: start (in UTC, or the all-day date), then UID."""


def _properties(event: icalendar.Event) -> bytes:
    """An event's serialised property lines, without its BEGIN and END lines."""
    return event.to_ical()[len(_BEGIN_EVENT) : -len(_END_EVENT)]


class _SessionTimes:
    """DTSTART and DTEND lines of each session, in the term's zone, serialised once."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self.cache: dict[tuple[datetime, datetime], tuple[str, bytes]] = {}

    def lines(self, s: SlotSession) -> tuple[str, bytes]:
        """(start in UTC as ISO text, for sorting; the DTSTART and DTEND lines)."""
        key = (s.start, s.end)  # many slots share times: weekly internships, say
        if key not in self.cache:
            e = icalendar.Event()
            e.add("dtstart", s.start.astimezone(self.zone))
            e.add("dtend", s.end.astimezone(self.zone))
            self.cache[key] = (s.start.astimezone(UTC).isoformat(), _properties(e))
        return self.cache[key]


def _calendar(name: str, term: Term, vtimezone: icalendar.Timezone, events: list[_Entry]) -> bytes:
    calendar = icalendar.Calendar()
    calendar.add("prodid", _PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", term.timezone)
    # Always there, so even a calendar with no events is a valid one (RFC 5545 wants a component).
    calendar.add_component(vtimezone)
    head = calendar.to_ical()
    assert head.endswith(_END_CALENDAR)
    body = [entry[2] for entry in sorted(events)]
    return b"".join([head[: -len(_END_CALENDAR)], *body, _END_CALENDAR])


def _events(term: Term, p: Placement, times: _SessionTimes, *, for_host: bool) -> list[_Entry]:
    """One event per session of placement ``p`` (a flexible slot: one all-day event over its
    span), for the student's or the host's calendar."""
    slot = p.slot
    opportunity = slot.opportunity
    host = opportunity.host
    student = p.student
    kind = _KIND_NAMES[opportunity.kind]
    if for_host:
        summary = f"{opportunity.title}: {student.name}"
        notes = [f"{kind} {opportunity.code} with student {student.code} {student.name}."]
    else:
        summary = f"{opportunity.title} at {host.name}"
        notes = [f"{kind} {opportunity.code} at {host.name} ({host.code})."]
    if opportunity.remote:
        notes.append("Remote.")
    if slot.flexible:
        notes.append(
            f"Flexible: {slot.total_hours:g} hours any time from {slot.span_start.isoformat()} "
            f"to {slot.span_end.isoformat()}."
        )
    if p.status == PlacementStatus.PROPOSED:
        notes.append("Proposed: not yet published by the coordinator.")

    shared = icalendar.Event()
    shared.add("dtstamp", p.updated_at)
    shared.add("summary", summary)
    shared.add("description", " ".join(notes))
    if not opportunity.remote:
        shared.add("location", host.address or host.name)
        shared.add("geo", (host.lat, host.lon))
    shared.add("status", "TENTATIVE" if p.status == PlacementStatus.PROPOSED else "CONFIRMED")
    flexible = slot.flexible or not slot.sessions
    if flexible:
        shared.add("dtstart", slot.span_start)
        shared.add("dtend", slot.span_end + timedelta(days=1))  # an all-day DTEND is exclusive
        shared.add("transp", "TRANSPARENT")  # the hours go anywhere in the span: don't block it
    common = _properties(shared)
    # Stable across exports, and across re-solves that keep the student in the slot.
    audience = "host" if for_host else "student"
    key = f"wbl:{term.name}:{audience}:{student.code}:{opportunity.code}:{slot.position}"

    def entry(start_key: str, uid_part: str, when: bytes) -> _Entry:
        uid = f"{uuid.uuid5(uuid.NAMESPACE_URL, f'{key}:{uid_part}')}@wbl"
        event = b"".join([_BEGIN_EVENT, b"UID:", uid.encode(), b"\r\n", when, common, _END_EVENT])
        return start_key, uid, event

    if flexible:
        return [entry(slot.span_start.isoformat(), "flexible", b"")]
    entries = []
    for s in slot.sessions:
        start_key, when = times.lines(s)
        entries.append(entry(start_key, s.start.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ"), when))
    return entries


# --- writing --------------------------------------------------------------------------------


def write_files(files: dict[str, bytes], folder: Path | str) -> list[Path]:
    """Write ``files`` (relative path -> content) into ``folder``, all or nothing.

    Everything is staged next to its destination, then moved into place; if a move fails,
    the files already moved are taken back out and the old ones restored.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".wbl-outcome-", dir=folder))
    new, old = staging / "new", staging / "old"
    made_dirs: list[Path] = []
    moved: list[tuple[Path, Path | None]] = []  # (target, where its old file went)
    try:
        for relative, data in files.items():
            staged = new / relative
            staged.parent.mkdir(parents=True, exist_ok=True)
            staged.write_bytes(data)
        for relative in files:
            target = folder / relative
            for parent in reversed(target.relative_to(folder).parents):
                directory = folder / parent
                if not directory.exists():
                    directory.mkdir()
                    made_dirs.append(directory)
            backup = None
            if target.exists():
                backup = old / relative
                backup.parent.mkdir(parents=True, exist_ok=True)
                os.replace(target, backup)
            moved.append((target, backup))
            os.replace(new / relative, target)
    except BaseException:
        for target, backup in reversed(moved):
            if backup is not None and backup.exists():
                os.replace(backup, target)
            elif backup is None:
                target.unlink(missing_ok=True)
        for directory in reversed(made_dirs):
            if directory.exists() and not any(directory.iterdir()):
                directory.rmdir()
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [folder / relative for relative in files]
