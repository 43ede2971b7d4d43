"""A term at a glance: what is offered, who is asking, and whether the seats can go round."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from wbl.models import Host, Kind, Opportunity, Preference, Slot, Student, Term


@dataclass
class KindSummary:
    opportunities: int = 0
    slots: int = 0
    seats: int = 0
    remote: int = 0


@dataclass
class TermSummary:
    name: str
    start: str
    end: str
    timezone: str
    students: int
    hosts: int
    kinds: dict[str, KindSummary]
    ranked: int
    unranked: int
    preferences: int
    schools: dict[str, int]
    flags: dict[str, int]
    groups: int
    located_from_address: int
    hosts_without_background_check: int
    unranked_opportunities: int
    per_student_limits: dict[str, int] = field(default_factory=dict)

    @property
    def seats(self) -> int:
        return sum(k.seats for k in self.kinds.values())


def summarize_term(session: Session, term: Term) -> TermSummary:
    """Counts a coordinator checks before solving."""
    kinds = {k.value: KindSummary() for k in Kind}
    rows = session.execute(
        select(Opportunity.kind, Opportunity.capacity, Opportunity.remote, func.count(Slot.id))
        .outerjoin(Opportunity.slots)
        .where(Opportunity.term_id == term.id)
        .group_by(Opportunity.id)
    )
    for kind, capacity, remote, slots in rows:
        summary = kinds[kind.value]
        summary.opportunities += 1
        summary.slots += slots
        summary.seats += slots * capacity
        summary.remote += remote
    students = session.scalars(select(Student).where(Student.term_id == term.id)).all()
    ranked_ids = set(
        session.scalars(
            select(Preference.student_id).join(Preference.student).where(Student.term_id == term.id)
        )
    )
    preference_count = session.scalar(
        select(func.count(Preference.id)).join(Preference.student).where(Student.term_id == term.id)
    )
    ranked_opps = select(Preference.opportunity_id).distinct()
    unranked_opps = session.scalar(
        select(func.count(Opportunity.id)).where(
            Opportunity.term_id == term.id, Opportunity.id.not_in(ranked_opps)
        )
    )
    hosts = session.scalars(select(Host).where(Host.term_id == term.id)).all()
    flags: Counter[str] = Counter(f for s in students for f in s.flags)
    rules = term.rules
    return TermSummary(
        name=term.name,
        start=term.start.isoformat(),
        end=term.end.isoformat(),
        timezone=term.timezone,
        students=len(students),
        hosts=len(hosts),
        kinds=kinds,
        ranked=sum(s.id in ranked_ids for s in students),
        unranked=sum(s.id not in ranked_ids for s in students),
        preferences=preference_count or 0,
        schools=dict(sorted(Counter(s.school or "(no school)" for s in students).items())),
        flags=dict(flags.most_common()),
        groups=len({s.group_code for s in students if s.group_code}),
        located_from_address=sum(s.origin_geocoded for s in students)
        + sum(h.geocoded for h in hosts),
        hosts_without_background_check=sum(not h.mentor_background_checked for h in hosts),
        unranked_opportunities=unranked_opps or 0,
        per_student_limits={
            Kind.JOB_SHADOW.value: rules.max_job_shadows,
            Kind.INTERNSHIP.value: rules.max_internships,
            Kind.MICRO_INTERNSHIP.value: rules.max_micro_internships,
        },
    )


def format_summary(s: TermSummary) -> str:
    """The summary as plain text for the terminal."""
    label = {
        "job_shadow": "job shadows",
        "internship": "internships",
        "micro_internship": "micro-internships",
    }
    lines = [
        f"Term {s.name!r}: {s.start} to {s.end} ({s.timezone})",
        f"  {s.students} students, {s.hosts} hosts, "
        f"{sum(k.opportunities for k in s.kinds.values())} opportunities, {s.seats} seats",
        "",
        f"  {'kind':<18} {'opps':>6} {'slots':>6} {'seats':>6} {'remote':>6}  seats per student",
    ]
    for kind, k in s.kinds.items():
        per = k.seats / s.students if s.students else 0.0
        lines.append(
            f"  {label[kind]:<18} {k.opportunities:>6} {k.slots:>6} {k.seats:>6} {k.remote:>6}"
            f"  {per:.2f} (limit {s.per_student_limits[kind]} each)"
        )
    share = 100 * s.ranked / s.students if s.students else 0.0
    lines += [
        "",
        f"  ranked: {s.ranked} students ({share:.0f}%) with {s.preferences} choices; "
        f"unranked: {s.unranked}",
        f"  opportunities nobody ranked: {s.unranked_opportunities}",
        f"  buddy groups: {s.groups}",
        "  schools: " + ", ".join(f"{name} {n}" for name, n in s.schools.items()),
        "  equity flags: " + (", ".join(f"{f} {n}" for f, n in s.flags.items()) or "none"),
        f"  hosts without a background-checked mentor: {s.hosts_without_background_check}",
        f"  locations looked up from an address: {s.located_from_address}",
    ]
    return "\n".join(lines)
