"""A host's opportunities as a service: the schedule builder's texts, saving through the
import's slot sync, edits that never drop a student, and the host's accept and decline."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, date, datetime, time
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.bundles import OPPORTUNITIES_CSV, write_tiny_bundle
from wbl.bundle import OPPORTUNITY_FIELDS, OpportunityRow
from wbl.geocode import AddressLocator
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
    Student,
    Term,
)
from wbl.models import Session as SlotSession
from wbl.schedule import ScheduleError
from wbl.services.bundles import import_bundle
from wbl.services.opportunities import (
    OpportunityError,
    OpportunitySpec,
    ResponseError,
    accept_placement,
    check_spec,
    compose_dated,
    compose_flexible,
    compose_weekly,
    create_opportunity,
    decline_placement,
    host_placement,
    next_code,
    placement_counts,
    plan_schedule,
    roster,
    set_closed,
    split_schedule,
    update_opportunity,
)

WEEKLY = OpportunitySpec(
    kind=Kind.INTERNSHIP,
    title="Front Desk Intern",
    capacity=2,
    schedule="2027-02-01/2027-02-28 Tue,Thu 15:00-17:00",
)

CALENDAR = """\
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:lab-tour
SUMMARY:Lab tour
DTSTART;TZID=America/Denver:20270303T090000
DTEND;TZID=America/Denver:20270303T110000
END:VEVENT
END:VCALENDAR
"""


@pytest.fixture
def tiny(session: Session, tmp_path: Path) -> Session:
    """The session, with the tiny term imported (and O4, a calendar-file shadow of H1)."""
    folder = write_tiny_bundle(
        tmp_path / "tiny",
        opportunities_csv=OPPORTUNITIES_CSV
        + "O4,H1,job_shadow,Lab Tour,Health Science,2,ics:calendars/lab.ics,,,false,false,"
        "false,false,\n",
    )
    (folder / "calendars").mkdir()
    (folder / "calendars" / "lab.ics").write_text(CALENDAR)
    import_bundle(session, folder, AddressLocator(session, None))
    session.commit()
    return session


def _host(session: Session, code: str) -> Host:
    return session.scalars(select(Host).where(Host.code == code)).one()


def _opp(session: Session, code: str) -> Opportunity:
    return session.scalars(select(Opportunity).where(Opportunity.code == code)).one()


def _student(session: Session, code: str) -> Student:
    return session.scalars(select(Student).where(Student.code == code)).one()


def _place(
    session: Session, student: str, opportunity: str, status: PlacementStatus, slot: int = 0
) -> Placement:
    opp = _opp(session, opportunity)
    placement = Placement(
        term_id=opp.term_id,
        student_id=_student(session, student).id,
        slot_id=opp.slots[slot].id,
        status=status,
    )
    session.add(placement)
    session.commit()
    return placement


def _counts(session: Session) -> tuple[int, int, int, int]:
    return tuple(  # type: ignore[return-value]
        session.scalar(select(func.count()).select_from(model)) or 0
        for model in (Opportunity, Slot, SlotSession, Placement)
    )


# --- the builder's schedule texts -------------------------------------------------------------


def test_compose_texts_are_the_bundle_syntax(tiny: Session) -> None:
    term = tiny.scalars(select(Term)).one()
    dated = compose_dated(
        [(date(2027, 2, 10), time(9), time(12)), (date(2027, 2, 17), time(9), time(12, 30))]
    )
    assert dated == "2027-02-10 09:00-12:00;2027-02-17 09:00-12:30"
    weekly = compose_weekly(
        date(2027, 2, 1), date(2027, 4, 30), [3, 1, 1], time(13, 30), time(16, 30)
    )
    assert weekly == "2027-02-01/2027-04-30 Tue,Thu 13:30-16:30"
    assert compose_flexible(date(2027, 2, 1), date(2027, 3, 15)) == "2027-02-01/2027-03-15 flexible"
    assert [p.label for p in plan_schedule(term, dated, None)] == [
        "2027-02-10 09:00-12:00",
        "2027-02-17 09:00-12:30",
    ]
    assert len(plan_schedule(term, weekly, None)[0].sessions) == 26


def test_split_schedule_gives_back_the_builder_fields(tiny: Session) -> None:
    term = tiny.scalars(select(Term)).one()
    dated = split_schedule(term, "2027-02-10 09:00-12:00;2027-02-17 09:00-12:00")
    assert dated.shape == "dated"
    assert dated.sessions == (
        (date(2027, 2, 10), time(9), time(12)),
        (date(2027, 2, 17), time(9), time(12)),
    )
    weekly = split_schedule(term, "2027-02-01/2027-04-30 Tue,Thu 13:30-16:30")
    assert (weekly.shape, weekly.first, weekly.last) == (
        "weekly",
        date(2027, 2, 1),
        date(2027, 4, 30),
    )
    assert (weekly.weekdays, weekly.start, weekly.end) == ((1, 3), time(13, 30), time(16, 30))
    flexible = split_schedule(term, "2027-02-01/2027-03-15 flexible", 20)
    assert (flexible.shape, flexible.first, flexible.last) == (
        "flexible",
        date(2027, 2, 1),
        date(2027, 3, 15),
    )
    assert split_schedule(term, "ics:calendars/lab.ics").shape == "other"
    assert split_schedule(term, "every other Tuesday").shape == "other"


# --- checking ---------------------------------------------------------------------------------


def test_check_spec_reports_every_problem_at_its_field(tiny: Session) -> None:
    term = tiny.scalars(select(Term)).one()
    bad = OpportunitySpec(
        kind=Kind.JOB_SHADOW,
        title=" ",
        capacity=0,
        schedule="2027-06-01 09:00-12:00;2027-01-05 10:00-09:00",
        min_age=200,
        min_grade=-1,
        hours=float("nan"),
    )
    with pytest.raises(OpportunityError) as caught:
        check_spec(term, bad)
    problems = caught.value.problems
    assert set(problems) == {"title", "capacity", "min_age", "min_grade", "hours", "schedule"}
    assert problems["schedule"] == [
        "Session 2027-06-01 09:00-12:00 is after the term ends on 2027-05-28.",
        "Session 2027-01-05 10:00-09:00: end 09:00 is not after start 10:00.",
    ]


def test_check_spec_refuses_the_same_session_twice(tiny: Session) -> None:
    term = tiny.scalars(select(Term)).one()
    twice = OpportunitySpec(
        Kind.JOB_SHADOW, "Shadow", 1, "2027-02-10 09:00-12:00;2027-02-10 09:00-12:00"
    )
    with pytest.raises(OpportunityError, match="listed 2 times"):
        check_spec(term, twice)


def test_check_spec_uses_the_import_rules_for_flexible_hours(tiny: Session) -> None:
    term = tiny.scalars(select(Term)).one()
    spec = OpportunitySpec(Kind.MICRO_INTERNSHIP, "Survey", 1, "2027-02-01/2027-03-15 flexible")
    with pytest.raises(OpportunityError) as caught:
        check_spec(term, spec)
    assert caught.value.problems == {"schedule": ["A flexible schedule needs hours > 0."]}
    (plan,) = check_spec(term, OpportunitySpec(**{**spec.__dict__, "hours": 14.0}))
    assert plan.flexible and plan.total_hours == 14


# --- creating ---------------------------------------------------------------------------------


def test_create_opportunity_makes_the_slots_the_import_makes(tiny: Session) -> None:
    host = _host(tiny, "H1")
    # O2's schedule, posted by H1 from the builder: the same slot and sessions as imported.
    spec = OpportunitySpec(
        kind=Kind.INTERNSHIP,
        title="Robotics twin",
        capacity=1,
        schedule=_opp(tiny, "O2").schedule,
        requires_consent=True,
        min_age=16,
    )
    made = create_opportunity(tiny, host, spec)
    tiny.commit()
    imported = _opp(tiny, "O2")
    assert made.code == "H1-1" and made.host_id == host.id and made.term_id == host.term_id
    assert not made.closed and made.min_age == 16 and made.requires_consent
    (mine,), (theirs,) = made.slots, imported.slots
    columns = ("position", "label", "flexible", "span_start", "span_end", "weekly_hours",
               "total_hours")  # fmt: skip
    assert [getattr(mine, c) for c in columns] == [getattr(theirs, c) for c in columns]
    assert [(s.start, s.end) for s in mine.sessions] == [(s.start, s.end) for s in theirs.sessions]
    assert mine.sessions[0].start == datetime(2027, 2, 2, 20, 30, tzinfo=UTC)


def test_create_opportunity_codes_are_unique_in_the_term(tiny: Session) -> None:
    host = _host(tiny, "H2")
    tiny.add(
        Opportunity(term_id=host.term_id, host_id=host.id, code="H2-1", kind=Kind.JOB_SHADOW,
                    title="Taken", capacity=1, schedule="2027-02-10 09:00-12:00")
    )  # fmt: skip
    tiny.flush()
    assert next_code(tiny, host) == "H2-2"
    first = create_opportunity(tiny, host, WEEKLY)
    second = create_opportunity(tiny, host, WEEKLY)
    assert (first.code, second.code) == ("H2-2", "H2-3")
    long_host = _host(tiny, "H1")
    long_host.code = "H" * 64
    assert next_code(tiny, long_host) == "H" * 62 + "-1"


def test_create_opportunity_bad_spec_writes_nothing(tiny: Session) -> None:
    before = _counts(tiny)
    with pytest.raises(OpportunityError):
        create_opportunity(
            tiny, _host(tiny, "H1"), OpportunitySpec(Kind.INTERNSHIP, "X", -5, "soon")
        )
    tiny.rollback()
    assert _counts(tiny) == before


# --- editing ----------------------------------------------------------------------------------


def _spec_of(opp: Opportunity, **changes: object) -> OpportunitySpec:
    values = {
        "kind": opp.kind,
        "title": opp.title,
        "capacity": opp.capacity,
        "schedule": opp.schedule,
        "career_cluster": opp.career_cluster,
        "min_age": opp.min_age,
        "min_grade": opp.min_grade,
        "requires_consent": opp.requires_consent,
        "requires_work_permit": opp.requires_work_permit,
        "hazardous": opp.hazardous,
        "remote": opp.remote,
        "hours": opp.hours,
    }
    return OpportunitySpec(**{**values, **changes})  # type: ignore[arg-type]


def test_update_opportunity_keeps_slots_and_students(tiny: Session) -> None:
    placement = _place(tiny, "S2", "O2", PlacementStatus.CONFIRMED)
    opp = _opp(tiny, "O2")
    slot_ids = [s.id for s in opp.slots]
    update_opportunity(tiny, opp, _spec_of(opp, title="Robotics (paid)", capacity=4, min_age=15))
    tiny.commit()
    assert (opp.title, opp.capacity, opp.min_age) == ("Robotics (paid)", 4, 15)
    assert [s.id for s in opp.slots] == slot_ids
    assert tiny.get(Placement, placement.id) is not None


def test_update_opportunity_same_sessions_written_otherwise_keep_the_text(tiny: Session) -> None:
    placement = _place(tiny, "S2", "O2", PlacementStatus.PUBLISHED)
    opp = _opp(tiny, "O2")
    slot_ids = [s.id for s in opp.slots]
    # Sunday 31 Jan adds no Tuesday or Thursday: the same sessions, but another slot label.
    update_opportunity(
        tiny, opp, _spec_of(opp, schedule="2027-01-31/2027-04-30 Tue,Thu 13:30-16:30")
    )
    tiny.commit()
    assert opp.schedule == "2027-02-01/2027-04-30 Tue,Thu 13:30-16:30"
    assert [s.id for s in opp.slots] == slot_ids
    assert tiny.get(Placement, placement.id) is not None


def test_update_opportunity_refuses_to_drop_a_placed_slot(tiny: Session) -> None:
    placement = _place(tiny, "S1", "O1", PlacementStatus.PUBLISHED)
    opp = _opp(tiny, "O1")
    before = _counts(tiny)
    with pytest.raises(OpportunityError) as caught:
        update_opportunity(tiny, opp, _spec_of(opp, schedule="2027-02-17 09:00-12:00"))
    assert caught.value.problems["schedule"] == [
        "Ana Ruiz is placed in 2027-02-10 09:00-12:00 (published); this schedule no longer has "
        "that slot, which would drop the placement. Keep that slot's sessions as they are, or "
        "ask the coordinator to move the student first."
    ]
    tiny.rollback()
    assert _counts(tiny) == before
    assert tiny.get(Placement, placement.id) is not None
    assert _opp(tiny, "O1").schedule == "2027-02-10 09:00-12:00;2027-02-17 09:00-12:00"


def test_update_opportunity_adds_a_date_around_a_placed_student(tiny: Session) -> None:
    placement = _place(tiny, "S1", "O1", PlacementStatus.PUBLISHED)  # on 2027-02-10
    opp = _opp(tiny, "O1")
    placed_slot = placement.slot_id
    schedule = "2027-02-03 09:00-12:00;2027-02-10 09:00-12:00;2027-02-17 09:00-12:00"
    update_opportunity(tiny, opp, _spec_of(opp, schedule=schedule))
    tiny.commit()
    tiny.expire_all()
    opp = _opp(tiny, "O1")
    assert [s.label for s in opp.slots] == [
        "2027-02-03 09:00-12:00", "2027-02-10 09:00-12:00", "2027-02-17 09:00-12:00",
    ]  # fmt: skip
    assert opp.slots[1].id == placed_slot
    assert tiny.get(Placement, placement.id) is not None


def test_update_opportunity_ended_placements_do_not_block(tiny: Session) -> None:
    _place(tiny, "S1", "O1", PlacementStatus.WITHDRAWN)
    opp = _opp(tiny, "O1")
    update_opportunity(tiny, opp, _spec_of(opp, schedule="2027-03-03 09:00-12:00"))
    tiny.commit()
    assert [s.label for s in opp.slots] == ["2027-03-03 09:00-12:00"]


def test_update_opportunity_refuses_fewer_seats_or_new_kind_with_students(tiny: Session) -> None:
    _place(tiny, "S1", "O1", PlacementStatus.PROPOSED)
    _place(tiny, "S2", "O1", PlacementStatus.PROPOSED)
    opp = _opp(tiny, "O1")
    with pytest.raises(OpportunityError) as caught:
        update_opportunity(tiny, opp, _spec_of(opp, capacity=1, kind=Kind.INTERNSHIP))
    assert set(caught.value.problems) == {"capacity", "kind"}
    assert "2027-02-10 09:00-12:00 already has 2 students" in caught.value.problems["capacity"][0]
    tiny.rollback()
    assert (_opp(tiny, "O1").capacity, _opp(tiny, "O1").kind) == (2, Kind.JOB_SHADOW)


def test_update_opportunity_keeps_a_calendar_file_schedule(tiny: Session) -> None:
    placement = _place(tiny, "S1", "O4", PlacementStatus.PUBLISHED)
    opp = _opp(tiny, "O4")
    assert [s.label for s in opp.slots] == ["Lab tour"]
    update_opportunity(tiny, opp, _spec_of(opp, title="Lab tour and talk"))
    tiny.commit()
    assert opp.schedule == "ics:calendars/lab.ics" and opp.schedule_ics == CALENDAR
    assert tiny.get(Placement, placement.id) is not None


def test_update_opportunity_replaces_a_calendar_file_by_builder_text(tiny: Session) -> None:
    opp = _opp(tiny, "O4")
    # The calendar's one session written as builder text: nothing changes, the calendar stays.
    update_opportunity(tiny, opp, _spec_of(opp, schedule="2027-03-03 09:00-11:00"))
    tiny.commit()
    assert opp.schedule == "ics:calendars/lab.ics" and opp.schedule_ics == CALENDAR
    update_opportunity(tiny, opp, _spec_of(opp, schedule="2027-03-03 10:00-11:00"))
    tiny.commit()
    assert opp.schedule == "2027-03-03 10:00-11:00" and opp.schedule_ics is None
    assert [s.label for s in opp.slots] == ["2027-03-03 10:00-11:00"]


def test_plan_schedule_without_the_calendar_is_an_error(tiny: Session) -> None:
    term = tiny.scalars(select(Term)).one()
    with pytest.raises(ScheduleError, match="not found"):
        plan_schedule(term, "ics:calendars/lab.ics", None)


# --- closing, counting, the roster ------------------------------------------------------------


def test_set_closed_and_reopen(tiny: Session) -> None:
    opp = _opp(tiny, "O3")
    set_closed(opp, True)
    tiny.commit()
    assert tiny.scalar(select(Opportunity.closed).where(Opportunity.id == opp.id)) is True
    set_closed(opp, False)
    tiny.commit()
    assert tiny.scalar(select(Opportunity.closed).where(Opportunity.id == opp.id)) is False


def test_placement_counts_per_opportunity(tiny: Session) -> None:
    _place(tiny, "S1", "O1", PlacementStatus.PROPOSED)
    _place(tiny, "S2", "O1", PlacementStatus.PUBLISHED, slot=1)
    _place(tiny, "S3", "O1", PlacementStatus.DECLINED, slot=1)
    _place(tiny, "S2", "O2", PlacementStatus.PROPOSED)
    counts = placement_counts(tiny, _host(tiny, "H1"))
    assert counts == {
        _opp(tiny, "O1").id: {PlacementStatus.PROPOSED: 1, PlacementStatus.PUBLISHED: 1}
    }


def test_roster_lists_own_slots_with_live_and_declined_students(tiny: Session) -> None:
    _place(tiny, "S1", "O1", PlacementStatus.PUBLISHED)
    _place(tiny, "S3", "O1", PlacementStatus.DECLINED)
    _place(tiny, "S2", "O1", PlacementStatus.WITHDRAWN, slot=1)
    _place(tiny, "S2", "O2", PlacementStatus.PROPOSED)
    entries = roster(tiny, _host(tiny, "H1"))
    assert [(e.slot.opportunity.code, e.slot.label) for e in entries] == [
        ("O1", "2027-02-10 09:00-12:00"),
        ("O1", "2027-02-17 09:00-12:00"),
        ("O4", "Lab tour"),
    ]
    first = entries[0]
    assert [(p.student.name, p.status) for p in first.placements] == [
        ("Ana Ruiz", PlacementStatus.PUBLISHED),
        ("Cai Lin", PlacementStatus.DECLINED),
    ]
    assert first.seats_taken == 1
    assert entries[1].placements == []  # withdrawn students are not shown
    only_o4 = roster(tiny, _host(tiny, "H1"), _opp(tiny, "O4"))
    assert [e.slot.label for e in only_o4] == ["Lab tour"]


# --- the host's answers -----------------------------------------------------------------------


def test_host_placement_only_finds_the_hosts_own(tiny: Session) -> None:
    placement = _place(tiny, "S1", "O1", PlacementStatus.PROPOSED)
    assert host_placement(tiny, _host(tiny, "H1"), placement.id) is placement
    assert host_placement(tiny, _host(tiny, "H2"), placement.id) is None
    assert host_placement(tiny, _host(tiny, "H1"), placement.id + 1000) is None


def test_accept_placement_records_the_host_answer(tiny: Session) -> None:
    placement = _place(tiny, "S1", "O1", PlacementStatus.PUBLISHED)
    accept_placement(placement)
    tiny.commit()
    assert placement.host_response is Decision.ACCEPT
    assert placement.status is PlacementStatus.PUBLISHED and placement.declined_by is None


def test_accept_placement_that_ended_is_refused(tiny: Session) -> None:
    placement = _place(tiny, "S1", "O1", PlacementStatus.WITHDRAWN)
    with pytest.raises(ResponseError, match="has ended"):
        accept_placement(placement)
    assert placement.host_response is None


def test_decline_placement_ends_it_and_vetoes_the_pair(tiny: Session) -> None:
    placement = _place(tiny, "S2", "O1", PlacementStatus.PROPOSED)
    decline_placement(tiny, placement)
    tiny.commit()
    assert placement.status is PlacementStatus.DECLINED
    assert placement.declined_by is Party.HOST and placement.host_response is Decision.VETO
    review = tiny.scalars(
        select(HostReview).where(
            HostReview.opportunity_id == _opp(tiny, "O1").id,
            HostReview.student_id == _student(tiny, "S2").id,
        )
    ).one()
    assert review.decision is Decision.VETO and review.rank is None


def test_decline_placement_turns_an_accept_review_into_a_veto(tiny: Session) -> None:
    placement = _place(tiny, "S1", "O2", PlacementStatus.PUBLISHED)
    reviews_before = tiny.scalar(select(func.count()).select_from(HostReview))
    decline_placement(tiny, placement)
    tiny.commit()
    review = tiny.scalars(
        select(HostReview).where(
            HostReview.opportunity_id == _opp(tiny, "O2").id,
            HostReview.student_id == _student(tiny, "S1").id,
        )
    ).one()
    assert (review.decision, review.rank) == (Decision.VETO, None)  # it was accept, rank 2
    assert tiny.scalar(select(func.count()).select_from(HostReview)) == reviews_before


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (PlacementStatus.CONFIRMED, "contact the coordinator"),
        (PlacementStatus.DECLINED, "already ended"),
        (PlacementStatus.WITHDRAWN, "already ended"),
    ],
)
def test_decline_placement_refused_unless_proposed_or_published(
    tiny: Session, status: PlacementStatus, message: str
) -> None:
    placement = _place(tiny, "S2", "O1", status)
    reviews_before = tiny.scalar(select(func.count()).select_from(HostReview))
    with pytest.raises(ResponseError, match=message):
        decline_placement(tiny, placement)
    tiny.rollback()
    assert tiny.get(Placement, placement.id).status is status
    assert tiny.scalar(select(func.count()).select_from(HostReview)) == reviews_before


def test_a_host_form_and_a_bundle_row_fill_the_same_opportunity_columns() -> None:
    # Both are stored through OPPORTUNITY_FIELDS: a field added to one but not the list
    # (or not the other) would be dropped without a word on import or on a host's save.
    form = {f.name for f in fields(OpportunitySpec)} - {"kind"}
    row = {f.name for f in fields(OpportunityRow)} - {"code", "host", "kind", "line"}
    assert form == row == set(OPPORTUNITY_FIELDS)
    assert set(OPPORTUNITY_FIELDS) <= set(Opportunity.__table__.columns.keys())
