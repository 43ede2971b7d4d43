"""A student's own choices: the opportunities they can take, their ranking, and their
placements (accept or decline), for the student's web pages.

What a student can take is decided by :func:`wbl.services.candidates.student_options`, the
same per-pair rules and sentences as the solve, never a second copy of them. The rules of
this module:

- A ranking is the student's :class:`~wbl.models.Preference` rows, ranked 1, 2, 3, ... in the
  order saved (ties an imported ``preferences.csv`` may hold are shown in rank, then title
  order, and become distinct on the first save).
- Only an opportunity the student can take may be added. One already in the ranking stays
  there when it is ruled out later (say the host closed it): the student sees why and may
  move or remove it, and the solve cuts it with the same reason; nothing is dropped silently.
- At most ``Rules.max_choices`` opportunities; a longer imported ranking may be reordered or
  shortened, but nothing added until it is within the limit.
- Students see a placement once it is published (then confirmed, or declined by them);
  proposed ones are the coordinator's draft. Accepting confirms a published placement;
  declining ends a published or confirmed one, recording that the student declined.

Functions take a :class:`~sqlalchemy.orm.Session` and never commit; the caller does.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from wbl.models import (
    Host,
    Kind,
    Opportunity,
    Party,
    Placement,
    PlacementStatus,
    Preference,
    Slot,
    Student,
)
from wbl.schedule import DAY_ABBREVIATIONS
from wbl.services.candidates import Option, student_options
from wbl.travel import travel_minutes

KIND_NAMES = {
    Kind.JOB_SHADOW: "Job shadow",
    Kind.INTERNSHIP: "Internship",
    Kind.MICRO_INTERNSHIP: "Micro-internship",
}

MODE_PHRASES = {"walk": "on foot", "bike": "by bike", "transit": "by transit", "car": "by car"}
"""How a travel time reads on the student's pages: "23 min by transit", "12 min on foot"."""

SHOWN_TO_STUDENT = (PlacementStatus.PUBLISHED, PlacementStatus.CONFIRMED)


class ChoiceError(ValueError):
    """A change the rules do not allow; ``str(error)`` is the message for the student."""


class NotYours(LookupError):
    """No such row among the student's own (the web answers 404)."""


# ---------------------------------------------------------------------------------------------
# Reading times and travel


def describe_travel(minutes: float | None, mode: str, remote: bool) -> str:
    """ "23 min by transit", or "remote". Minutes are rounded up, as in the reasons, so a
    time shown never reads as within a limit it is over."""
    if remote:
        return "remote"
    if minutes is None:
        return "travel time unknown"
    shown = max(math.ceil(minutes - 1e-9), 0)
    return f"{shown} min {MODE_PHRASES.get(mode, 'by ' + mode)}"


def format_day(day: date, *, year: bool = True) -> str:
    """ "Wed 10 Feb 2027" (or without the year)."""
    text = f"{day:%a} {day.day} {day:%b}"
    return f"{text} {day.year}" if year else text


def format_session(start: datetime, end: datetime) -> str:
    """One session on the local wall clock: "Tue 2 Feb 2027, 13:30–16:30"."""
    return f"{format_day(start.date())}, {start:%H:%M}–{end:%H:%M}"


def session_lines(slot: Slot, zone: ZoneInfo) -> list[str]:
    """Every session of a slot, readable, in the term's timezone (none for a flexible slot)."""
    return [format_session(s.start.astimezone(zone), s.end.astimezone(zone)) for s in slot.sessions]


def describe_slot(slot: Slot, zone: ZoneInfo) -> str:
    """A slot's schedule in one line, in the term's timezone: "Wed 10 Feb 2027, 09:00–12:00",
    "Tue, Thu 13:30–16:30, Tue 2 Feb to Thu 29 Apr 2027 (26 sessions)", or "Flexible: 20
    hours between Mon 1 Feb and Mon 15 Mar 2027"."""
    if slot.flexible:
        start, end = format_day(slot.span_start, year=False), format_day(slot.span_end)
        return f"Flexible: {slot.total_hours:g} hours between {start} and {end}"
    sessions = [(s.start.astimezone(zone), s.end.astimezone(zone)) for s in slot.sessions]
    if not sessions:
        return "No sessions scheduled"
    if len(sessions) == 1:
        return format_session(*sessions[0])
    # Group the weekly pattern by time of day: "Tue, Thu 13:30–16:30; Fri 09:00–11:00".
    days_by_time: dict[tuple[str, str], set[int]] = {}
    for start, end in sessions:
        days_by_time.setdefault((f"{start:%H:%M}", f"{end:%H:%M}"), set()).add(start.weekday())
    pattern = "; ".join(
        f"{', '.join(DAY_ABBREVIATIONS[d] for d in sorted(days))} {t0}–{t1}"
        for (t0, t1), days in sorted(days_by_time.items(), key=lambda kv: min(kv[1]))
    )
    first, last = sessions[0][0].date(), sessions[-1][0].date()
    return (
        f"{pattern}, {format_day(first, year=first.year != last.year)} to {format_day(last)} "
        f"({len(sessions)} sessions)"
    )


# ---------------------------------------------------------------------------------------------
# Opportunities


@dataclass(frozen=True)
class StudentOption:
    """An opportunity with what it means for this student: whether they can take it (and
    why not), the travel, and its place in their ranking (``rank``: None when unranked).
    Plain values, so a term of thousands of opportunities lists fast; :func:`load_shown`
    reads the full rows (host, slots, sessions) of the ones a page shows."""

    opportunity_id: int
    title: str
    kind: Kind
    cluster: str  # the opportunity's, or its host's when it names none
    host_name: str
    option: Option
    rank: int | None

    @property
    def ok(self) -> bool:
        return self.option.ok

    @property
    def reasons(self) -> tuple[str, ...]:
        return self.option.reasons

    @property
    def kind_name(self) -> str:
        return KIND_NAMES[self.kind]

    @property
    def travel_text(self) -> str:
        return describe_travel(self.option.travel_min, self.option.mode, self.option.remote)


def list_options(session: Session, student: Student) -> list[StudentOption]:
    """Every opportunity of the student's term: the ones the student can take first, then
    nearest first (see :func:`sort_options`)."""
    options = student_options(session, student.term, student.id)
    ranks = {p.opportunity_id: p.rank for p in ranking(session, student)}
    found = session.execute(
        select(
            Opportunity.id, Opportunity.title, Opportunity.kind, Opportunity.career_cluster,
            Host.name, Host.career_cluster,
        )
        .join(Opportunity.host)
        .where(Opportunity.term_id == student.term_id)
    ).all()  # fmt: skip
    rows = [
        StudentOption(oid, title, kind, cluster or host_cluster, host, options[oid], ranks.get(oid))
        for oid, title, kind, cluster, host, host_cluster in found
    ]
    return sort_options(rows, "near")


def sort_options(rows: Iterable[StudentOption], by: str) -> list[StudentOption]:
    """The ones the student can take first, then nearest first (``"near"``; equally near
    ones by title) or by title (``"title"``)."""
    if by == "title":
        return sorted(rows, key=lambda r: (not r.ok, r.title.casefold(), r.opportunity_id))
    return sorted(
        rows, key=lambda r: (not r.ok, r.option.travel_min, r.title.casefold(), r.opportunity_id)
    )


def load_shown(session: Session, rows: Sequence[StudentOption]) -> dict[int, Opportunity]:
    """The opportunities of ``rows`` with host, slots and sessions loaded, by id (in a few
    queries: only the ones a page shows, not the term's tens of thousands of sessions)."""
    ids = [r.opportunity_id for r in rows]
    if not ids:
        return {}
    found = session.scalars(
        select(Opportunity)
        .where(Opportunity.id.in_(ids))
        .options(
            selectinload(Opportunity.host),
            selectinload(Opportunity.slots).selectinload(Slot.sessions),
        )
    ).all()
    return {o.id: o for o in found}


def filter_options(
    rows: Iterable[StudentOption],
    *,
    kind: Kind | None = None,
    cluster: str | None = None,
    show_ruled_out: bool = False,
) -> list[StudentOption]:
    """The rows of one kind and cluster (None: any); the ruled-out ones only on request."""
    return [
        r
        for r in rows
        if (kind is None or r.kind == kind)
        and (not cluster or r.cluster == cluster)
        and (show_ruled_out or r.ok)
    ]


# ---------------------------------------------------------------------------------------------
# Ranking


def ranking(session: Session, student: Student) -> list[Preference]:
    """The student's ranked opportunities, best first (ties by title), host loaded."""
    rows = session.scalars(
        select(Preference)
        .where(Preference.student_id == student.id)
        .options(selectinload(Preference.opportunity).selectinload(Opportunity.host))
    ).all()
    return sorted(rows, key=lambda p: (p.rank, p.opportunity.title.casefold(), p.opportunity_id))


def choice_limit(student: Student) -> int:
    return student.term.rules.max_choices


def save_ranking(
    session: Session, student: Student, opportunity_ids: Sequence[int]
) -> list[Preference]:
    """Make ``opportunity_ids`` the student's ranking, best first (see the module docstring
    for what is allowed); raises :class:`ChoiceError` with every rule it breaks named in
    one message, and changes nothing then."""
    current = {p.opportunity_id: p for p in ranking(session, student)}
    wanted = list(opportunity_ids)
    limit = choice_limit(student)
    if len(wanted) > max(limit, len(current)):
        raise ChoiceError(f"You can rank at most {limit} opportunities.")
    rows = session.execute(
        select(Opportunity.id, Opportunity.title).where(
            Opportunity.term_id == student.term_id, Opportunity.id.in_(set(wanted))
        )
    )
    titles = {row.id: row.title for row in rows}
    problems: list[str] = []
    seen: set[int] = set()
    for oid in wanted:
        if oid in seen:
            problems.append(f"{_name(oid, titles)} is in the list twice.")
        seen.add(oid)
    unknown = [oid for oid in dict.fromkeys(wanted) if oid not in titles]
    problems += [f"There is no opportunity {oid} in your term." for oid in unknown]
    new = [oid for oid in dict.fromkeys(wanted) if oid not in current and oid in titles]
    if new:
        options = student_options(session, student.term, student.id)
        for oid in new:
            if not options[oid].ok:
                why = "; ".join(options[oid].reasons)
                problems.append(f"You cannot take {_name(oid, titles)}: {why}.")
    if len(wanted) > limit and new:
        problems.append(f"You can rank at most {limit} opportunities.")
    if problems:
        raise ChoiceError(" ".join(problems))
    kept: list[Preference] = []
    for rank, oid in enumerate(wanted, start=1):
        preference = current.pop(oid, None)
        if preference is None:
            preference = Preference(student_id=student.id, opportunity_id=oid, rank=rank)
            session.add(preference)
        preference.rank = rank
        kept.append(preference)
    for preference in current.values():
        session.delete(preference)
    session.flush()
    return ranking(session, student)


def _name(oid: int, titles: dict[int, str]) -> str:
    return f"“{titles[oid]}”" if oid in titles else f"opportunity {oid}"


def ranked_ids(session: Session, student: Student) -> list[int]:
    return [p.opportunity_id for p in ranking(session, student)]


def add_choice(session: Session, student: Student, opportunity_id: int) -> list[Preference]:
    """Put an opportunity at the end of the ranking (no change if it is there already)."""
    order = ranked_ids(session, student)
    if opportunity_id in order:
        return ranking(session, student)
    return save_ranking(session, student, [*order, opportunity_id])


def move_choice(
    session: Session, student: Student, opportunity_id: int, offset: int
) -> list[Preference]:
    """Move a ranked opportunity ``offset`` places (-1: up, towards rank 1), stopping at the
    ends; :class:`NotYours` if it is not in the ranking."""
    order = ranked_ids(session, student)
    if opportunity_id not in order:
        raise NotYours(opportunity_id)
    at = order.index(opportunity_id)
    to = min(max(at + offset, 0), len(order) - 1)
    order.insert(to, order.pop(at))
    return save_ranking(session, student, order)


def remove_choice(session: Session, student: Student, opportunity_id: int) -> list[Preference]:
    """Take an opportunity out of the ranking; :class:`NotYours` if it is not in it."""
    order = ranked_ids(session, student)
    if opportunity_id not in order:
        raise NotYours(opportunity_id)
    order.remove(opportunity_id)
    return save_ranking(session, student, order)


# ---------------------------------------------------------------------------------------------
# Placements


def _shown(placement: Placement) -> bool:
    return placement.status in SHOWN_TO_STUDENT or (
        placement.status is PlacementStatus.DECLINED and placement.declined_by is Party.STUDENT
    )


def visible_placements(session: Session, student: Student) -> list[Placement]:
    """The student's placements they may see (module docstring), with slot, sessions,
    opportunity and host loaded, earliest first."""
    rows = session.scalars(
        select(Placement)
        .where(Placement.student_id == student.id)
        .options(
            selectinload(Placement.slot).selectinload(Slot.sessions),
            selectinload(Placement.slot)
            .selectinload(Slot.opportunity)
            .selectinload(Opportunity.host),
        )
        .order_by(Placement.id)
    ).all()
    shown = [p for p in rows if _shown(p)]
    shown.sort(key=lambda p: (p.status is PlacementStatus.DECLINED, p.slot.span_start, p.id))
    return shown


def placement_for(session: Session, student: Student, placement_id: int) -> Placement:
    """One of the student's visible placements; :class:`NotYours` for anything else
    (another student's, a proposed one, a missing id)."""
    placement = session.get(Placement, placement_id)
    if placement is None or placement.student_id != student.id or not _shown(placement):
        raise NotYours(placement_id)
    return placement


def placement_travel(placement: Placement, student: Student) -> str:
    """How far the placement is for the student, as the student's pages say it: the travel
    time the solve used, or (a placement made by hand) the default travel model's."""
    opportunity = placement.slot.opportunity
    mode = student.transport.value
    if opportunity.remote:
        return describe_travel(0.0, mode, remote=True)
    minutes = placement.travel_min
    if minutes is None:
        host = opportunity.host
        origin = (student.origin_lat, student.origin_lon)
        minutes = travel_minutes(origin, (host.lat, host.lon), mode)
    return describe_travel(minutes, mode, remote=False)


def accept_placement(session: Session, student: Student, placement_id: int) -> Placement:
    """Confirm a published placement (no change if already confirmed)."""
    placement = placement_for(session, student, placement_id)
    if placement.status is PlacementStatus.DECLINED:
        raise ChoiceError(
            "You declined this placement. If you have changed your mind, ask your coordinator."
        )
    placement.status = PlacementStatus.CONFIRMED
    session.flush()
    return placement


def decline_placement(session: Session, student: Student, placement_id: int) -> Placement:
    """End a published or confirmed placement, recording that the student declined it."""
    placement = placement_for(session, student, placement_id)
    if placement.status is PlacementStatus.DECLINED:
        raise ChoiceError("You have already declined this placement.")
    placement.status = PlacementStatus.DECLINED
    placement.declined_by = Party.STUDENT
    session.flush()
    return placement
