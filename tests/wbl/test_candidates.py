"""Candidate generation: every per-pair hard rule, pins, cuts, host ranks and the unranked limit,
on tiny hand-written terms (SQLite and PostgreSQL), plus the 400-student sample term re-checked
pair by pair against a slow, straightforward reference."""
# ruff: noqa: E501  (CSV fixtures read best one row per line)

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from geopy.distance import geodesic
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from solver.check import check_assignments
from solver.problem import INTERNSHIP, JOB_SHADOW, MICRO_INTERNSHIP, Arc
from tests.bundles import write_tiny_bundle
from tests.conftest import SAMPLE_TERM
from wbl.geocode import AddressLocator
from wbl.models import (
    Decision,
    HostReview,
    Opportunity,
    Placement,
    PlacementStatus,
    Slot,
    Student,
    Term,
)
from wbl.schedule import parse_windows
from wbl.services.bundles import get_term, import_bundle
from wbl.services.candidates import (
    UNRANKED_LIMIT,
    BuiltProblem,
    Cut,
    _StraightLine,
    build_problem,
    geodesic_km,
    tie_key,
)
from wbl.travel import MODES, travel_minutes

# --- a tiny term with a satisfied and a violated pair per rule ----------------------------------

HOME = (39.7392, -104.9903)  # where H1 and H2 are; most students live there too
KM_NORTH = 1 / 111.0  # degrees of latitude, roughly


def _north(km: float) -> tuple[float, float]:
    return (round(HOME[0] + km * KM_NORTH, 6), HOME[1])


TERM_TOML = """\
name = "Candidates Term"
start = 2027-01-25
end = 2027-05-28
timezone = "America/Denver"

[rules]
max_travel_min = 45
weekly_hours_cap_under_16 = 18
background_check_for_minors = true
place_unranked = false
seed = 7

[rules.priority]
first_gen = 3
"""

STUDENT_HEADER = "student_id,name,email,school,grade,birth_date,origin_lat,origin_lon,origin_address,transport,max_travel_min,available,flags,guardian_consent,work_permit,prior_clusters,group\n"
ADULT, SEVENTEEN, FIFTEEN = "2008-06-01", "2010-01-10", "2011-09-01"
TURNS_16 = "2011-03-01"  # 15 until 2027-02-28, 16 from 2027-03-01


def _student(
    code: str,
    birth: str = ADULT,
    *,
    grade: int = 11,
    at: tuple[float, float] = HOME,
    transport: str = "walk",
    limit: str = "",
    available: str = "",
    flags: str = "",
    consent: bool = True,
    permit: bool = True,
    prior: str = "",
    group: str = "",
) -> str:
    return (
        f"{code},Student {code},{code.lower()}@example.org,North High,{grade},{birth},{at[0]},{at[1]},,"
        f'{transport},{limit},"{available}",{flags},{str(consent).lower()},{str(permit).lower()},'
        f'"{prior}",{group}\n'
    )


STUDENTS = STUDENT_HEADER + "".join(
    [
        _student("ADULT", grade=12, flags="first_gen", prior="Health Science", group="G1"),
        _student("SEVENTEEN", SEVENTEEN, group="G1"),
        _student("FIFTEEN", FIFTEEN, grade=9),
        _student("TURNS16", TURNS_16, grade=9),
        _student("GRADE10", SEVENTEEN, grade=10),
        _student("NOCONSENT", SEVENTEEN, consent=False),
        _student("ADULTNOCONSENT", consent=False, permit=False),
        _student("NOPERMIT", SEVENTEEN, permit=False),
        _student("FAR", at=_north(9.7), transport="transit"),
        _student("FAR60", at=_north(9.7), transport="transit", limit="60"),
        _student("NEARWIN", at=_north(1.0), available="Tue 13:30-17:00"),
        _student("FARWIN", at=_north(2.0), available="Tue 13:30-17:00"),
    ]
)

HOSTS = f"""\
host_id,name,career_cluster,lat,lon,address,max_students,mentor_background_checked
H1,Checked Clinic,Health Science,{HOME[0]},{HOME[1]},,3,true
H2,Unchecked Garage,Manufacturing,{HOME[0]},{HOME[1]},,,false
"""

OPP_HEADER = "opportunity_id,host_id,kind,title,career_cluster,capacity,schedule,min_age,min_grade,requires_consent,requires_work_permit,hazardous,remote,hours\n"
OPPORTUNITIES = OPP_HEADER + (
    "AGE16,H1,job_shadow,Age 16 Shadow,,2,2027-02-10 09:00-12:00;2027-03-10 09:00-12:00,16,,false,false,false,false,\n"
    "GRADE11,H1,job_shadow,Grade 11 Shadow,,2,2027-02-11 09:00-12:00,,11,false,false,false,false,\n"
    "CONSENT,H1,job_shadow,Consent Shadow,,2,2027-02-12 09:00-12:00,,,true,false,false,false,\n"
    'PERMIT,H1,internship,Paid Internship,,2,"2027-02-01/2027-04-30 Tue,Thu 09:00-11:00",,,false,true,false,false,\n'
    "HAZARD,H1,job_shadow,Shop Floor Shadow,,2,2027-02-16 09:00-12:00,,,false,false,true,false,\n"
    "UNCHECKED,H2,job_shadow,Garage Shadow,,2,2027-02-17 09:00-12:00,,,false,false,false,false,\n"
    "VETO,H1,job_shadow,Vetoed Shadow,,2,2027-02-18 09:00-12:00,,,false,false,false,false,\n"
    "FULLTIME,H1,internship,Full Afternoons,,2,2027-02-01/2027-04-30 Mon-Fri 14:00-18:00,,,false,false,false,false,\n"
    "TUESDAY,H1,job_shadow,Tuesday Shadow,,2,2027-02-09 14:00-17:00,,,false,false,false,false,\n"
    "FRIDAY,H1,job_shadow,Friday Shadow,,4,2027-02-19 14:00-16:00,,,false,false,false,false,\n"
    "REMOTE,H1,micro_internship,Remote Project,Marketing,3,2027-02-01/2027-03-15 flexible,,,false,false,false,true,20\n"
)

PREFERENCES = "student_id,opportunity_id,rank\n" + "".join(
    f"{s},{o},{r}\n"
    for s, prefs in {
        "ADULT": ["HAZARD", "UNCHECKED", "VETO", "FULLTIME", "CONSENT", "REMOTE"],
        "SEVENTEEN": ["HAZARD", "UNCHECKED", "VETO", "FULLTIME", "GRADE11"],
        "FIFTEEN": ["FULLTIME", "AGE16", "CONSENT"],
        "TURNS16": ["AGE16", "FULLTIME"],
        "GRADE10": ["GRADE11"],
        "NOCONSENT": ["CONSENT"],
        "ADULTNOCONSENT": ["CONSENT", "PERMIT"],
        "NOPERMIT": ["PERMIT"],
        "FAR": ["FRIDAY", "REMOTE"],
        "FAR60": ["FRIDAY"],
        "NEARWIN": ["TUESDAY"],
        "FARWIN": ["TUESDAY"],
    }.items()
    for r, o in enumerate(prefs, start=1)
)

REVIEWS = "opportunity_id,student_id,decision,rank\nVETO,SEVENTEEN,veto,\nVETO,ADULT,accept,1\n"


def _import(session: Session, folder: Path) -> Term:
    report = import_bundle(session, folder, AddressLocator(session, None))
    return get_term(session, report.term)


def _rules_term(session: Session, tmp_path: Path, **rules: object) -> Term:
    """The tiny rules term, imported, with some rules changed."""
    term = _import(
        session,
        write_tiny_bundle(
            tmp_path / "rules",
            term_toml=TERM_TOML,
            students_csv=STUDENTS,
            hosts_csv=HOSTS,
            opportunities_csv=OPPORTUNITIES,
            preferences_csv=PREFERENCES,
            host_reviews_csv=REVIEWS,
        ),
    )
    if rules:
        term.rules = dataclasses.replace(term.rules, **rules)  # type: ignore[arg-type]
        session.flush()
    return term


class View:
    """A built problem read by bundle codes."""

    def __init__(self, session: Session, term: Term, built: BuiltProblem) -> None:
        self.built = built
        self.problem = built.problem
        self.student = {
            s.code: s.id for s in session.scalars(select(Student).where(Student.term_id == term.id))
        }
        self.code = {v: k for k, v in self.student.items()}
        opps = session.scalars(
            select(Opportunity)
            .where(Opportunity.term_id == term.id)
            .options(selectinload(Opportunity.slots))
        ).all()
        self.opportunity = {o.code: o.id for o in opps}
        self.slots = {o.code: [x.id for x in o.slots] for o in opps}
        self.arcs: dict[tuple[int, int], Arc] = {(a.student, a.slot): a for a in self.problem.arcs}

    def arcs_of(self, student: str, opportunity: str) -> list[Arc]:
        sid = self.student[student]
        return [self.arcs[sid, x] for x in self.slots[opportunity] if (sid, x) in self.arcs]

    def has(self, student: str, opportunity: str) -> bool:
        return bool(self.arcs_of(student, opportunity))

    def cut(self, student: str, opportunity: str) -> Cut:
        (found,) = [
            c
            for c in self.built.ranked_cuts[self.student[student]]
            if c.opportunity_id == self.opportunity[opportunity]
        ]
        return found


def _view(session: Session, term: Term, **kwargs: object) -> View:
    return View(session, term, build_problem(session, term, **kwargs))  # type: ignore[arg-type]


@pytest.fixture
def rules_view(session: Session, tmp_path: Path) -> View:
    return _view(session, _rules_term(session, tmp_path))


def test_candidates_age_is_taken_on_each_slots_first_day(rules_view: View) -> None:
    # AGE16 has a slot on 2027-02-10 (TURNS16 is 15) and one on 2027-03-10 (16 by then).
    early, late = rules_view.slots["AGE16"]
    sid = rules_view.student["TURNS16"]
    assert (sid, early) not in rules_view.arcs
    assert (sid, late) in rules_view.arcs
    assert not rules_view.has("FIFTEEN", "AGE16")
    assert rules_view.cut("FIFTEEN", "AGE16").reasons == (
        "age 15 on 2027-02-10 < minimum 16",
        "age 15 on 2027-03-10 < minimum 16",
    )


def test_candidates_grade(rules_view: View) -> None:
    assert rules_view.has("SEVENTEEN", "GRADE11")
    assert not rules_view.has("GRADE10", "GRADE11")
    assert rules_view.cut("GRADE10", "GRADE11").reasons == ("grade 10 < minimum 11",)


def test_candidates_consent_only_asked_of_minors(rules_view: View) -> None:
    assert rules_view.has("ADULT", "CONSENT")
    assert rules_view.has("ADULTNOCONSENT", "CONSENT")  # 18: no consent needed
    assert not rules_view.has("NOCONSENT", "CONSENT")
    assert rules_view.cut("NOCONSENT", "CONSENT").reasons == ("no guardian consent",)


def test_candidates_work_permit_only_asked_of_minors(rules_view: View) -> None:
    assert rules_view.has("ADULTNOCONSENT", "PERMIT")
    assert not rules_view.has("NOPERMIT", "PERMIT")
    assert rules_view.cut("NOPERMIT", "PERMIT").reasons == ("no work permit",)


def test_candidates_hazardous_work_only_at_18(rules_view: View) -> None:
    assert rules_view.has("ADULT", "HAZARD")
    assert not rules_view.has("SEVENTEEN", "HAZARD")
    assert rules_view.cut("SEVENTEEN", "HAZARD").reasons == (
        "hazardous work needs age 18 (age 17)",
    )


def test_candidates_unchecked_mentor_takes_no_minor(rules_view: View) -> None:
    assert rules_view.has("ADULT", "UNCHECKED")
    assert not rules_view.has("SEVENTEEN", "UNCHECKED")
    assert rules_view.cut("SEVENTEEN", "UNCHECKED").reasons == (
        "host mentor not background-checked (student is a minor)",
    )


def test_candidates_background_check_rule_can_be_off(session: Session, tmp_path: Path) -> None:
    view = _view(session, _rules_term(session, tmp_path, background_check_for_minors=False))
    assert view.has("SEVENTEEN", "UNCHECKED")


def test_candidates_host_veto(rules_view: View) -> None:
    assert rules_view.has("ADULT", "VETO")
    assert not rules_view.has("SEVENTEEN", "VETO")
    assert rules_view.cut("SEVENTEEN", "VETO").reasons == ("vetoed by the host",)


def test_candidates_closed_opportunity_takes_nobody(session: Session, tmp_path: Path) -> None:
    term = _rules_term(session, tmp_path)
    closed = session.scalars(
        select(Opportunity).where(Opportunity.term_id == term.id, Opportunity.code == "CONSENT")
    ).one()
    closed.closed = True
    session.flush()
    view = _view(session, term)
    assert not view.has("ADULT", "CONSENT")
    assert view.cut("ADULT", "CONSENT").reasons == ("opportunity closed by the host",)
    assert view.built.reachable[view.student["ADULT"]] == 10  # one fewer than when open


def test_candidates_reachable_counts_feasible_opportunities(rules_view: View) -> None:
    reachable = rules_view.built.reachable
    assert reachable[rules_view.student["ADULT"]] == 11  # every one of them
    # Not HAZARD, UNCHECKED (a minor) nor VETO (vetoed), ranked or not.
    assert reachable[rules_view.student["SEVENTEEN"]] == 8
    assert reachable[rules_view.student["FAR"]] == 1  # only REMOTE is near enough
    assert reachable[rules_view.student["FAR60"]] == 11


def test_candidates_travel_limit_default_and_student_override(rules_view: View) -> None:
    minutes = travel_minutes(_north(9.7), HOME, "transit")
    assert 45 < minutes < 60
    assert not rules_view.has("FAR", "FRIDAY")
    assert rules_view.cut("FAR", "FRIDAY").reasons == (
        f"too far: {math.ceil(minutes)} min by transit > 45",
    )
    (arc,) = rules_view.arcs_of("FAR60", "FRIDAY")
    assert arc.travel_min == round(minutes)
    assert rules_view.built.travel[arc.student, arc.slot] == pytest.approx(minutes, abs=1e-6)


def test_candidates_remote_needs_no_travel(rules_view: View) -> None:
    (arc,) = rules_view.arcs_of("FAR", "REMOTE")
    assert arc.travel_min == 0
    assert rules_view.built.travel[arc.student, arc.slot] == 0.0


def test_candidates_window_widened_by_travel(rules_view: View) -> None:
    # TUESDAY meets 14:00-17:00; the windows open at 13:30, so 30 minutes of travel fit.
    near = travel_minutes(_north(1.0), HOME, "walk")
    far = travel_minutes(_north(2.0), HOME, "walk")
    assert near < 30 < far < 45
    assert rules_view.has("NEARWIN", "TUESDAY")
    assert not rules_view.has("FARWIN", "TUESDAY")
    shown = math.ceil(far)
    start = datetime(2027, 2, 9, 14, 0) - timedelta(minutes=shown)
    assert rules_view.cut("FARWIN", "TUESDAY").reasons == (
        f"session Tue 2027-02-09 14:00 (with {shown} min travel from {start:%H:%M}) "
        "outside release windows Tue 13:30-17:00",
    )


def test_candidates_weekly_cap_of_one_slot_by_age(rules_view: View) -> None:
    # FULLTIME is 20 h a week: over the 18 h cap under 16, no cap at 16 and 17 (none set).
    assert not rules_view.has("FIFTEEN", "FULLTIME")
    assert rules_view.cut("FIFTEEN", "FULLTIME").reasons == (
        "busiest week 20.0 h > weekly cap 18 h for age 15",
    )
    assert not rules_view.has("TURNS16", "FULLTIME")  # 15 on its first day, 2027-02-01
    (arc,) = rules_view.arcs_of("SEVENTEEN", "FULLTIME")
    assert arc.weekly_cap is None
    (arc,) = rules_view.arcs_of("FIFTEEN", "CONSENT")
    assert arc.weekly_cap == 18 * 60


def test_candidates_arc_fields(rules_view: View) -> None:
    (hazard,) = rules_view.arcs_of("ADULT", "HAZARD")
    assert (hazard.rank, hazard.travel_min, hazard.weekly_cap) == (1, 0, None)
    assert hazard.new_cluster is False  # H1's cluster, Health Science, is in prior_clusters
    (remote,) = rules_view.arcs_of("ADULT", "REMOTE")
    assert remote.new_cluster is True and remote.rank == 6  # Marketing
    (veto,) = rules_view.arcs_of("ADULT", "VETO")
    assert veto.host_rank == 1
    assert hazard.host_rank is None  # HAZARD's host ranked nobody
    (late,) = rules_view.arcs_of("TURNS16", "AGE16")
    assert late.weekly_cap is None  # 16 on the slot's day: the 16-17 cap, none here


def test_candidates_problem_specs(rules_view: View) -> None:
    problem = rules_view.problem
    assert problem.max_per_kind == (2, 1, 1)
    students = {s.id: s for s in problem.students}
    adult, seventeen = (
        students[rules_view.student["ADULT"]],
        students[rules_view.student["SEVENTEEN"]],
    )
    assert (adult.weight, seventeen.weight) == (4, 1)
    assert adult.group is not None and adult.group == seventeen.group
    assert students[rules_view.student["FIFTEEN"]].group is None
    slots = {x.id: x for x in problem.slots}
    (shadow,) = [slots[x] for x in rules_view.slots["GRADE11"]]
    start = int(datetime(2027, 2, 11, 16, 0, tzinfo=UTC).timestamp()) // 60  # 09:00 MST
    assert shadow.sessions == ((start, start + 180),)
    assert shadow.kind == JOB_SHADOW and shadow.capacity == 2
    assert shadow.week_minutes == ((date(2027, 2, 8).toordinal(), 180),)
    (remote,) = [slots[x] for x in rules_view.slots["REMOTE"]]
    assert remote.kind == MICRO_INTERNSHIP and remote.sessions == ()
    # 20 h over the 7 ISO weeks from Mon 2027-02-01 to Mon 2027-03-15.
    assert remote.week_minutes == tuple(
        ((date(2027, 2, 1) + timedelta(weeks=k)).toordinal(), round(1200 / 7)) for k in range(7)
    )
    (fulltime,) = [slots[x] for x in rules_view.slots["FULLTIME"]]
    assert fulltime.kind == INTERNSHIP and max(m for _, m in fulltime.week_minutes) == 1200
    hosts = {h.id: h.max_students for h in problem.hosts}
    assert sorted(hosts.values(), key=str) == [3, None]


def test_candidates_unranked_only_with_place_unranked(session: Session, tmp_path: Path) -> None:
    off = _view(session, _rules_term(session, tmp_path))
    assert all(a.rank is not None for a in off.problem.arcs)
    assert off.built.unranked_before_limit == 0
    term = get_term(session, "Candidates Term")
    term.rules = dataclasses.replace(term.rules, place_unranked=True)
    session.flush()
    on = _view(session, term, unranked_limit=None)
    assert not on.has("FAR", "TUESDAY")  # too far: not a candidate, ranked or not
    (arc,) = on.arcs_of("FIFTEEN", "REMOTE")
    assert arc.rank is None
    unranked = [a for a in on.problem.arcs if a.rank is None]
    assert len(unranked) == on.built.unranked_before_limit > 0
    # Reachable counts do not depend on place_unranked.
    assert on.built.reachable == off.built.reachable


def test_candidates_ranked_cuts_for_every_student_best_rank_first(rules_view: View) -> None:
    cuts = rules_view.built.ranked_cuts
    assert set(cuts) == set(rules_view.student.values())
    assert cuts[rules_view.student["ADULT"]] == []
    ranks = [c.rank for c in cuts[rules_view.student["SEVENTEEN"]]]
    assert ranks == sorted(ranks) == [1, 2, 3]  # HAZARD, UNCHECKED, VETO


# --- pins and previous placements ---------------------------------------------------------------


def _place(session: Session, term: Term, view: View, student: str, opp: str, **kw: object) -> None:
    slot = session.get(Slot, view.slots[opp][0])
    session.add(Placement(term_id=term.id, student_id=view.student[student], slot_id=slot.id, **kw))
    session.flush()


def test_candidates_pins_keep_published_and_previous(session: Session, tmp_path: Path) -> None:
    term = _rules_term(session, tmp_path)
    view = _view(session, term)
    _place(session, term, view, "FIFTEEN", "FULLTIME", pinned=True)  # breaks the weekly cap
    _place(session, term, view, "GRADE10", "GRADE11", status=PlacementStatus.PUBLISHED)
    _place(session, term, view, "NOPERMIT", "PERMIT", pinned=True, status=PlacementStatus.DECLINED)
    _place(session, term, view, "ADULT", "CONSENT")  # proposed: previous
    _place(session, term, view, "SEVENTEEN", "CONSENT")  # proposed, unranked: no arc kept

    def pair(student: str, opp: str) -> tuple[int, int]:
        return (view.student[student], view.slots[opp][0])

    fresh = _view(session, term)
    problem = fresh.problem
    assert problem.pins == (pair("FIFTEEN", "FULLTIME"),)
    assert set(problem.previous) == {pair("ADULT", "CONSENT"), pair("SEVENTEEN", "CONSENT")}
    assert fresh.has("FIFTEEN", "FULLTIME")  # the override gets its arc
    assert not fresh.has("GRADE10", "GRADE11")
    assert not fresh.has("SEVENTEEN", "CONSENT")  # place_unranked is off
    assert fresh.built.warnings == [
        "pinned placement of FIFTEEN in FULLTIME breaks a rule (busiest week 20.0 h > weekly "
        "cap 18 h for age 15); kept as the coordinator's override"
    ]
    # The override lifts the cap on its own arc, or no solution could keep the pin.
    (pinned,) = fresh.arcs_of("FIFTEEN", "FULLTIME")
    assert pinned.weekly_cap is None and pinned.rank == 1
    assert [c.rank for c in fresh.built.ranked_cuts[view.student["FIFTEEN"]]] == [2]  # AGE16
    assert check_assignments(problem, problem.pins) == []

    published = _view(session, term, keep_published=True)
    assert set(published.problem.pins) == {pair("FIFTEEN", "FULLTIME"), pair("GRADE10", "GRADE11")}
    assert published.has("GRADE10", "GRADE11")
    assert published.built.warnings[1] == (
        "published placement of GRADE10 in GRADE11 breaks a rule (grade 10 < minimum 11); "
        "kept as the coordinator's override"
    )


def test_candidates_previous_unranked_pair_keeps_its_arc_beyond_the_limit(
    session: Session, tmp_path: Path
) -> None:
    term = _rules_term(session, tmp_path, place_unranked=True)
    view = _view(session, term, unranked_limit=0)
    assert not view.has("SEVENTEEN", "CONSENT")
    _place(session, term, view, "SEVENTEEN", "CONSENT")
    again = _view(session, term, unranked_limit=0)
    (arc,) = again.arcs_of("SEVENTEEN", "CONSENT")
    assert arc.rank is None and again.built.warnings == []


# --- the unranked limit, host ranks, multi-slot cuts --------------------------------------------

NEAREST_STUDENTS = STUDENT_HEADER + _student("ME") + _student("YOU")
NEAREST_HOSTS = (
    "host_id,name,career_cluster,lat,lon,address,max_students,mentor_background_checked\n"
    + "".join(
        f"{h},Host {h},Finance,{_north(km)[0]},{_north(km)[1]},,,true\n"
        for h, km in (("FAR", 1.5), ("MID", 1.0), ("NEAR", 0.5), ("TWIN", 0.5))
    )
)
NEAREST_OPPORTUNITIES = (
    OPP_HEADER
    + "".join(
        f"{code},{host},job_shadow,{code} Shadow,,2,2027-02-{day} 14:00-16:00,,,false,false,false,false,\n"
        for day, code, host in [
            ("08", "OFAR", "FAR"),
            ("09", "OMID", "MID"),
            ("10", "ONEAR", "NEAR"),
            ("11", "OTWIN", "TWIN"),
        ]
    )
    + "OREMOTE,FAR,micro_internship,Remote,,2,2027-02-01/2027-03-15 flexible,,,false,false,false,true,10\n"
)


def _nearest_term(session: Session, tmp_path: Path, preferences: str = "") -> Term:
    return _import(
        session,
        write_tiny_bundle(
            tmp_path / "nearest",
            term_toml=TERM_TOML.replace("place_unranked = false", "place_unranked = true"),
            students_csv=NEAREST_STUDENTS,
            hosts_csv=NEAREST_HOSTS,
            opportunities_csv=NEAREST_OPPORTUNITIES,
            preferences_csv="student_id,opportunity_id,rank\n" + preferences,
            host_reviews_csv=None,
        ),
    )


def _kept(view: View, student: str) -> list[str]:
    return sorted(o for o in view.slots if view.has(student, o))


def test_candidates_unranked_limit_keeps_the_nearest(session: Session, tmp_path: Path) -> None:
    term = _nearest_term(session, tmp_path, "ME,ONEAR,1\n")
    assert _kept(_view(session, term, unranked_limit=1), "YOU") == ["OREMOTE"]
    # ONEAR and OTWIN are equally near (same place): YOU's lottery decides which one.
    winner = min(("ONEAR", "OTWIN"), key=lambda code: tie_key(term.rules.seed, "YOU", code))
    assert _kept(_view(session, term, unranked_limit=2), "YOU") == sorted([winner, "OREMOTE"])
    assert _kept(_view(session, term, unranked_limit=3), "YOU") == ["ONEAR", "OREMOTE", "OTWIN"]
    # A ranked opportunity is not one of the unranked: ME keeps ONEAR (ranked) and two more.
    view = _view(session, term, unranked_limit=2)
    assert _kept(view, "ME") == ["ONEAR", "OREMOTE", "OTWIN"]
    (ranked,) = view.arcs_of("ME", "ONEAR")
    assert ranked.rank == 1
    everything = _view(session, term, unranked_limit=None)
    assert _kept(everything, "YOU") == ["OFAR", "OMID", "ONEAR", "OREMOTE", "OTWIN"]
    assert everything.built.reachable == view.built.reachable
    assert view.built.unranked_before_limit == 5 + 4


LOTTERY_STUDENTS = STUDENT_HEADER + "".join(_student(f"L{k}") for k in range(1, 8))
LOTTERY_REVIEWS = (
    "opportunity_id,student_id,decision,rank\n"
    + "".join(
        f"ONEAR,L{k},accept,{rank}\n"
        for k, rank in zip(range(1, 7), (3, 2, 2, 2, 2, 1), strict=True)
    )
    + "ONEAR,L7,accept,\n"
)


def _host_ranks(session: Session, term: Term) -> dict[str, int | None]:
    view = _view(session, term)
    return {
        view.code[a.student]: a.host_rank
        for a in view.problem.arcs
        if a.slot in view.slots["ONEAR"]
    }


def test_candidates_host_rank_lottery_is_seeded(session: Session, tmp_path: Path) -> None:
    term = _import(
        session,
        write_tiny_bundle(
            tmp_path / "lottery",
            term_toml=TERM_TOML,
            students_csv=LOTTERY_STUDENTS,
            hosts_csv=NEAREST_HOSTS,
            opportunities_csv=NEAREST_OPPORTUNITIES,
            preferences_csv="student_id,opportunity_id,rank\n"
            + "".join(f"L{k},ONEAR,1\n" for k in range(1, 8)),
            host_reviews_csv=LOTTERY_REVIEWS,
        ),
    )
    first = _host_ranks(session, term)
    assert first["L6"] == 1 and first["L1"] == 6 and first["L7"] is None
    assert sorted(first[f"L{k}"] for k in range(2, 6)) == [2, 3, 4, 5]
    assert _host_ranks(session, term) == first
    orders = set()
    for seed in range(8):
        term.rules = dataclasses.replace(term.rules, seed=seed)
        session.flush()
        ranks = _host_ranks(session, term)
        assert ranks["L6"] == 1 and ranks["L1"] == 6
        orders.add(tuple(ranks[f"L{k}"] for k in range(2, 6)))
    assert len(orders) > 1


MULTI_OPPORTUNITY = OPP_HEADER + (
    "SHADOWS,NEAR,job_shadow,Four Days,,2,2027-02-08 14:00-16:00;2027-02-09 14:00-16:00;"
    "2027-02-10 09:00-11:00;2027-02-11 14:00-16:00,,,true,false,false,false,\n"
)


def test_candidates_multi_slot_cut_gives_distinct_reasons(session: Session, tmp_path: Path) -> None:
    students = STUDENT_HEADER + _student(
        "WIN", SEVENTEEN, available="Tue 13:00-18:00|Wed 12:00-18:00", consent=False
    )
    term = _import(
        session,
        write_tiny_bundle(
            tmp_path / "multi",
            term_toml=TERM_TOML,
            students_csv=students,
            hosts_csv=NEAREST_HOSTS,
            opportunities_csv=MULTI_OPPORTUNITY,
            preferences_csv="student_id,opportunity_id,rank\nWIN,SHADOWS,1\n",
            host_reviews_csv=None,
        ),
    )
    view = _view(session, term)
    minutes = math.ceil(travel_minutes(HOME, _north(0.5), "walk"))
    assert minutes < 10
    # Consent fails on all four slots; the windows on three, each its own sentence. The Tuesday
    # session fits (13:00 window), and at most three reasons are given, most common first.
    assert view.cut("WIN", "SHADOWS") == Cut(
        view.opportunity["SHADOWS"],
        1,
        (
            "no guardian consent",
            f"session Mon 2027-02-08 14:00 (with {minutes} min travel from 13:{60 - minutes}) "
            "outside release windows (none on Mon)",
            f"session Wed 2027-02-10 09:00 (with {minutes} min travel from 08:{60 - minutes}) "
            "outside release windows Wed 12:00-18:00",
        ),
    )


class ConstantModel:
    """A travel model (a router, say) that says every trip takes the same time."""

    def __init__(self, minutes: float) -> None:
        self.value = minutes

    def minutes(self, origin: tuple[float, float], dest: tuple[float, float], mode: str) -> float:
        return self.value


def test_candidates_any_travel_model(session: Session, tmp_path: Path) -> None:
    term = _rules_term(session, tmp_path)
    view = View(session, term, build_problem(session, term, travel=ConstantModel(25.0)))
    (arc,) = view.arcs_of("FAR", "FRIDAY")
    assert view.built.travel[arc.student, arc.slot] == 25.0
    assert view.has("FARWIN", "TUESDAY")  # 25 minutes from 13:35: inside the 13:30 window
    slow = View(session, term, build_problem(session, term, travel=ConstantModel(50.0)))
    assert slow.has("FAR60", "FRIDAY")
    assert slow.cut("ADULT", "HAZARD").reasons == ("too far: 50 min by walk > 45",)
    assert slow.has("ADULT", "REMOTE")


# --- distances ----------------------------------------------------------------------------------


def test_geodesic_km_matches_geopy() -> None:
    rng = np.random.default_rng(7)
    n = 3000
    lat1 = rng.uniform(-80, 80, n)
    lon1 = rng.uniform(-180, 180, n)
    spread = np.where(np.arange(n) % 2 == 0, 0.5, 20.0)  # metro pairs and far ones
    lat2 = np.clip(lat1 + rng.uniform(-1, 1, n) * spread, -89, 89)
    lon2 = lon1 + rng.uniform(-1, 1, n) * spread
    ours = geodesic_km(lat1, lon1, lat2, lon2)
    theirs = [
        geodesic((a, b), (c, e)).km for a, b, c, e in zip(lat1, lon1, lat2, lon2, strict=True)
    ]
    assert np.abs(ours - np.array(theirs)).max() < 1e-7


def _stub(n_students: int, n_hosts: int, seed: int) -> SimpleNamespace:
    rng = np.random.default_rng(seed)
    return SimpleNamespace(
        s_lat=rng.uniform(39.6, 39.85, n_students),
        s_lon=rng.uniform(-105.1, -104.7, n_students),
        s_mode=rng.integers(0, len(MODES), n_students),
        h_lat=rng.uniform(39.6, 39.85, n_hosts),
        h_lon=rng.uniform(-105.1, -104.7, n_hosts),
    )


def test_straight_line_exact_matches_travel_minutes() -> None:
    d = _stub(60, 50, seed=1)
    model = _StraightLine(d)  # type: ignore[arg-type]
    students = np.repeat(np.arange(60), 50)
    hosts = np.tile(np.arange(50), 60)
    ours = model.exact(students, hosts)
    modes = list(MODES)
    for s, h, minutes in zip(students.tolist(), hosts.tolist(), ours.tolist(), strict=True):
        reference = travel_minutes(
            (d.s_lat[s], d.s_lon[s]), (d.h_lat[h], d.h_lon[h]), modes[d.s_mode[s]]
        )
        assert abs(minutes - reference) < 1e-6


def test_straight_line_keys_bound_the_exact_time() -> None:
    """A distance key at or under ``sure`` is within the limit, one over ``maybe`` is not."""
    d = _stub(300, 400, seed=2)
    model = _StraightLine(d)  # type: ignore[arg-type]
    keys = model.matrix(np.arange(300))
    for mode in range(len(MODES)):
        students = np.flatnonzero(d.s_mode == mode)
        limits = np.linspace(0, 90, 400)
        sure, maybe = model.keys(mode, limits)
        exact = model.exact(np.repeat(students, 400), np.tile(np.arange(400), len(students)))
        exact = exact.reshape(len(students), 400)
        within = exact <= limits
        assert within[keys[students] <= sure].all()
        assert not within[keys[students] > maybe].any()
        # The band in between is thin: almost every pair is decided by its key.
        assert ((keys[students] > sure) & (keys[students] <= maybe)).mean() < 1e-3


# --- the sample term, re-checked pair by pair ---------------------------------------------------


def _age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def _reference(
    session: Session, term: Term, students: list[Student]
) -> dict[tuple[int, int], float]:
    """Every (student, slot) that passes the per-pair rules, with its travel minutes: the
    rules as DESIGN.md states them, one pair at a time, with travel_minutes and datetimes."""
    rules = term.rules
    zone = ZoneInfo(term.timezone)
    opportunities = session.scalars(
        select(Opportunity)
        .where(Opportunity.term_id == term.id)
        .options(
            selectinload(Opportunity.slots).selectinload(Slot.sessions),
            selectinload(Opportunity.host),
        )
    ).all()
    vetoes = {
        (r.student_id, r.opportunity_id)
        for r in session.scalars(select(HostReview).where(HostReview.decision == Decision.VETO))
    }
    out: dict[tuple[int, int], float] = {}
    for st in students:
        windows = parse_windows(st.available)
        limit = rules.max_travel_min if st.max_travel_min is None else st.max_travel_min
        for o in opportunities:
            host = o.host
            minutes = (
                0.0
                if o.remote
                else travel_minutes(
                    (st.origin_lat, st.origin_lon), (host.lat, host.lon), st.transport.value
                )
            )
            for slot in o.slots:
                sessions = [
                    (s.start.astimezone(zone), s.end.astimezone(zone)) for s in slot.sessions
                ]
                first = sessions[0][0].date() if sessions else slot.span_start
                age = _age_on(st.birth_date, first)
                minor = age < 18
                cap = (
                    rules.weekly_hours_cap_under_16
                    if age < 16
                    else rules.weekly_hours_cap_16_17
                    if minor
                    else None
                )
                ok = (
                    (o.min_age is None or age >= o.min_age)
                    and (o.min_grade is None or st.grade >= o.min_grade)
                    and not (minor and o.requires_consent and not st.guardian_consent)
                    and not (minor and o.requires_work_permit and not st.work_permit)
                    and not (o.hazardous and minor)
                    and not (
                        rules.background_check_for_minors
                        and minor
                        and not host.mentor_background_checked
                    )
                    and (st.id, o.id) not in vetoes
                    and minutes <= limit
                    and (cap is None or slot.weekly_hours <= cap)
                )
                # Each session, started `minutes` earlier on the wall clock, inside a window.
                fits = all(
                    any(
                        w.weekday == start.weekday()
                        and widened.date() == start.date()
                        and w.start <= widened.time()
                        and end.time() <= w.end
                        for w in windows
                    )
                    for start, end in sessions
                    for widened in [start.replace(tzinfo=None) - timedelta(minutes=minutes)]
                )
                if ok and fits:
                    out[st.id, slot.id] = minutes
    return out


@pytest.fixture
def sample_term(session: Session) -> Term:
    return _import(session, SAMPLE_TERM)


def test_candidates_sample_term_every_arc_passes_and_every_pair_is_an_arc(
    session: Session, sample_term: Term
) -> None:
    everything = build_problem(session, sample_term, unranked_limit=None)
    limited = build_problem(session, sample_term)
    students = session.scalars(
        select(Student).where(Student.term_id == sample_term.id).order_by(Student.id)
    ).all()[::8]
    reference = _reference(session, sample_term, list(students))
    assert reference  # the sample has feasible pairs
    chosen = {s.id for s in students}
    all_arcs = {(a.student, a.slot): a for a in everything.problem.arcs if a.student in chosen}
    assert set(all_arcs) == set(reference)
    for pair, minutes in reference.items():
        assert everything.travel[pair] == pytest.approx(minutes, abs=1e-6)
        assert all_arcs[pair].travel_min == round(minutes)

    slot_opp = {x.id: x.opportunity for x in everything.problem.slots}
    per_student: dict[int, set[int]] = defaultdict(set)
    for student, slot in reference:
        per_student[student].add(slot_opp[slot])
    for s in students:
        assert everything.reachable[s.id] == len(per_student[s.id])
        assert limited.reachable[s.id] == everything.reachable[s.id]

    # With the limit: every ranked feasible pair is an arc, and the unranked ones are the
    # nearest UNRANKED_LIMIT feasible opportunities (ties by the student's lottery), all their
    # slots.
    ranked = {(p.student_id, p.opportunity_id): p.rank for s in students for p in s.preferences}
    arcs = {(a.student, a.slot): a for a in limited.problem.arcs if a.student in chosen}
    assert set(arcs) <= set(reference)
    opp_code = {o.id: o.code for o in session.scalars(select(Opportunity))}
    seed = sample_term.rules.seed
    for s in students:
        feasible = {x for (st, x) in reference if st == s.id}
        unranked = sorted(
            {
                (reference[s.id, x], tie_key(seed, s.code, opp_code[slot_opp[x]]), slot_opp[x])
                for x in feasible
                if (s.id, slot_opp[x]) not in ranked
            }
        )
        unranked = [(minutes, o) for minutes, _, o in unranked]
        kept = {o for _, o in unranked[:UNRANKED_LIMIT]}
        for x in feasible:
            o = slot_opp[x]
            expected = (s.id, o) in ranked or o in kept
            assert ((s.id, x) in arcs) == expected, (s.code, o)
            if expected:
                assert arcs[s.id, x].rank == ranked.get((s.id, o))


def test_candidates_sample_term_problem_is_consistent(session: Session, sample_term: Term) -> None:
    built = build_problem(session, sample_term)
    problem = built.problem
    assert check_assignments(problem, []) == []
    student_ids = {s.id for s in problem.students}
    slot_ids = {x.id for x in problem.slots}
    assert all(a.student in student_ids and a.slot in slot_ids for a in problem.arcs)
    assert len({(a.student, a.slot) for a in problem.arcs}) == len(problem.arcs)
    assert set(built.travel) == {(a.student, a.slot) for a in problem.arcs}
    assert set(built.ranked_cuts) == set(built.reachable) == student_ids
    # Host ranks are distinct per opportunity.
    by_opp: dict[int, list[int]] = defaultdict(list)
    slot_opp = {x.id: x.opportunity for x in problem.slots}
    seen = set()
    for a in problem.arcs:
        if a.host_rank is not None and (a.student, slot_opp[a.slot]) not in seen:
            seen.add((a.student, slot_opp[a.slot]))
            by_opp[slot_opp[a.slot]].append(a.host_rank)
    assert by_opp and all(len(v) == len(set(v)) for v in by_opp.values())
    # Every ranked opportunity is either an arc or a cut.
    ranked_pairs = {
        (p.student_id, p.opportunity_id)
        for s in session.scalars(select(Student).where(Student.term_id == sample_term.id))
        for p in s.preferences
    }
    arc_pairs = {(a.student, slot_opp[a.slot]) for a in problem.arcs if a.rank is not None}
    cut_pairs = {(s, c.opportunity_id) for s, cuts in built.ranked_cuts.items() for c in cuts}
    assert arc_pairs | cut_pairs == ranked_pairs and not arc_pairs & cut_pairs
    assert all(c.reasons for cuts in built.ranked_cuts.values() for c in cuts)


def test_candidates_unranked_students_spread_over_equally_near_remote_opportunities(
    session: Session, tmp_path: Path
) -> None:
    # Twelve students, none ranked anything, and six remote opportunities: all equally near
    # (0 minutes). With room for two each, taking ties by id would give every student the
    # same two; each student's lottery picks its own.
    remote = "".join(
        f"R{k},FAR,micro_internship,Remote {k},,2,2027-02-01/2027-03-15 flexible,,,"
        "false,false,false,true,10\n"
        for k in range(6)
    )
    term = _import(
        session,
        write_tiny_bundle(
            tmp_path / "spread",
            term_toml=TERM_TOML.replace("place_unranked = false", "place_unranked = true"),
            students_csv=STUDENT_HEADER + "".join(_student(f"S{k}") for k in range(12)),
            hosts_csv=NEAREST_HOSTS,
            opportunities_csv=OPP_HEADER + remote,
            preferences_csv="student_id,opportunity_id,rank\n",
            host_reviews_csv=None,
        ),
    )
    view = _view(session, term, unranked_limit=2)
    kept = {f"S{k}": _kept(view, f"S{k}") for k in range(12)}
    assert all(len(opps) == 2 for opps in kept.values())
    chosen = {code for opps in kept.values() for code in opps}
    assert len(chosen) >= 5  # by id, it would be {"R0", "R1"}
    for student, opps in kept.items():  # each student's two are their lottery's first two
        order = sorted(
            (f"R{k}" for k in range(6)), key=lambda c: tie_key(term.rules.seed, student, c)
        )
        assert opps == sorted(order[:2])
