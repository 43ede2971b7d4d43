"""A student's choices: the options and reasons agree with build_problem (the tiny term, the
rules term of test_candidates and part of the sample term), the ranking rules (limit, only what
the student can take, nothing lost), the placements a student sees, accepts and declines, the
readable schedules and travel, and the ``max_choices`` rule."""

from __future__ import annotations

import dataclasses
import math
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.bundles import write_tiny_bundle
from tests.conftest import SAMPLE_TERM
from tests.wbl.test_candidates import HOME, View, _import, _north, _rules_term
from wbl.models import (
    Opportunity,
    Party,
    Placement,
    PlacementStatus,
    Preference,
    Slot,
    Student,
    Term,
)
from wbl.rules import DEFAULT_MAX_CHOICES, Rules, parse_rules
from wbl.services import choices
from wbl.services.candidates import NOTHING_SCHEDULED, build_problem, student_options
from wbl.services.choices import ChoiceError, NotYours
from wbl.travel import travel_minutes

DENVER = ZoneInfo("America/Denver")


# --- the options agree with build_problem -------------------------------------------------------


def _agree(session: Session, term: Term, students: list[Student] | None = None) -> int:
    """Check every (student, opportunity) of ``term`` against build_problem with every feasible
    pair an arc: ok exactly when there is an arc, the same travel, the reachable count, and
    the ranked cuts' reasons word for word. Returns how many pairs were ok."""
    assert term.rules.place_unranked  # so that every feasible pair gets an arc
    built = build_problem(session, term, unranked_limit=None)
    view = View(session, term, built)
    opportunities = session.scalars(select(Opportunity).where(Opportunity.term_id == term.id)).all()
    slot_opp = {x: o.id for o in opportunities for x in view.slots[o.code]}
    arcs_by_pair: dict[tuple[int, int], list[int]] = {}
    for arc in built.problem.arcs:
        arcs_by_pair.setdefault((arc.student, slot_opp[arc.slot]), []).append(arc.slot)
    students = students or list(
        session.scalars(select(Student).where(Student.term_id == term.id)).all()
    )
    ok_pairs = 0
    for student in students:
        options = student_options(session, term, student.id)
        assert set(options) == {o.id for o in opportunities}
        cuts = {c.opportunity_id: c for c in built.ranked_cuts[student.id]}
        for oid, option in options.items():
            arcs = arcs_by_pair.get((student.id, oid), [])
            assert sorted(option.open_slots) == sorted(arcs), (student.code, oid)
            assert option.ok == bool(arcs)
            assert (option.reasons == ()) == option.ok
            for slot in arcs:
                assert option.travel_min == pytest.approx(built.travel[student.id, slot], abs=1e-6)
            if oid in cuts:
                assert option.reasons == cuts[oid].reasons, (student.code, oid)
        assert sum(o.ok for o in options.values()) == built.reachable[student.id]
        ok_pairs += sum(o.ok for o in options.values())
    return ok_pairs


def test_choices_options_agree_with_build_problem_on_the_tiny_term(
    session: Session, tmp_path: Path
) -> None:
    term = _import(session, write_tiny_bundle(tmp_path / "tiny"))
    assert _agree(session, term) == 3  # Ben can take all three; Ana and Cai none


def test_choices_options_agree_with_build_problem_on_the_rules_term(
    session: Session, tmp_path: Path
) -> None:
    term = _rules_term(session, tmp_path, place_unranked=True)
    assert _agree(session, term) > 0
    # With a closed opportunity, and a travel limit that cuts more pairs.
    closed = session.scalars(
        select(Opportunity).where(Opportunity.term_id == term.id, Opportunity.code == "CONSENT")
    ).one()
    closed.closed = True
    term.rules = dataclasses.replace(term.rules, max_travel_min=20)
    session.flush()
    assert _agree(session, term) > 0


def test_choices_options_agree_with_build_problem_on_sample_students(session: Session) -> None:
    term = _import(session, SAMPLE_TERM)
    students = session.scalars(
        select(Student).where(Student.term_id == term.id).order_by(Student.id)
    ).all()
    assert _agree(session, term, list(students[::16])) > 0


def _options(session: Session, term: Term, student: str) -> dict[str, object]:
    sid = session.scalars(
        select(Student.id).where(Student.term_id == term.id, Student.code == student)
    ).one()
    codes = dict(
        session.execute(
            select(Opportunity.id, Opportunity.code).where(Opportunity.term_id == term.id)
        ).all()
    )
    return {codes[oid]: option for oid, option in student_options(session, term, sid).items()}


def test_choices_options_say_why_in_the_cut_sentences(session: Session, tmp_path: Path) -> None:
    term = _rules_term(session, tmp_path)
    fifteen = _options(session, term, "FIFTEEN")
    assert fifteen["AGE16"].reasons == (  # type: ignore[attr-defined]
        "age 15 on 2027-02-10 < minimum 16",
        "age 15 on 2027-03-10 < minimum 16",
    )
    far = _options(session, term, "FAR")
    minutes = travel_minutes(_north(9.7), HOME, "transit")
    assert far["FRIDAY"].reasons == (f"too far: {math.ceil(minutes)} min by transit > 45",)  # type: ignore[attr-defined]
    assert far["FRIDAY"].travel_min == pytest.approx(minutes, abs=1e-6)  # type: ignore[attr-defined]
    assert far["FRIDAY"].mode == "transit"  # type: ignore[attr-defined]
    assert far["REMOTE"].ok and far["REMOTE"].remote and far["REMOTE"].travel_min == 0.0  # type: ignore[attr-defined]
    assert _options(session, term, "SEVENTEEN")["VETO"].reasons == ("vetoed by the host",)  # type: ignore[attr-defined]


def test_choices_options_name_the_slot_that_does_not_fit(session: Session, tmp_path: Path) -> None:
    term = _rules_term(session, tmp_path)
    # AGE16 meets on 2027-02-10 (TURNS16 is 15) and 2027-03-10 (16 by then).
    option = _options(session, term, "TURNS16")["AGE16"]
    early, late = session.scalars(
        select(Slot.id)
        .join(Slot.opportunity)
        .where(Opportunity.term_id == term.id, Opportunity.code == "AGE16")
        .order_by(Slot.position)
    ).all()
    assert option.ok and option.open_slots == (late,)  # type: ignore[attr-defined]
    assert option.slot_reasons == {early: ("age 15 on 2027-02-10 < minimum 16",)}  # type: ignore[attr-defined]


def test_choices_options_for_an_opportunity_with_no_slot(session: Session, tmp_path: Path) -> None:
    term = _import(session, write_tiny_bundle(tmp_path / "tiny"))
    o3 = session.scalars(select(Opportunity).where(Opportunity.code == "O3")).one()
    for slot in list(o3.slots):
        session.delete(slot)
    session.flush()
    option = _options(session, term, "S2")["O3"]
    assert not option.ok and option.reasons == (NOTHING_SCHEDULED,)  # type: ignore[attr-defined]


def test_choices_options_of_a_student_not_in_the_term(session: Session, tmp_path: Path) -> None:
    term = _import(session, write_tiny_bundle(tmp_path / "tiny"))
    with pytest.raises(LookupError):
        student_options(session, term, 10**6)


# --- ranking ------------------------------------------------------------------------------------


@pytest.fixture
def tiny(session: Session, tmp_path: Path) -> Term:
    return _import(session, write_tiny_bundle(tmp_path / "tiny"))


def _student(session: Session, code: str) -> Student:
    return session.scalars(select(Student).where(Student.code == code)).one()


def _opp(session: Session, code: str) -> int:
    return session.scalars(select(Opportunity.id).where(Opportunity.code == code)).one()


def _ranks(session: Session, student: Student) -> list[tuple[str, int]]:
    return [(p.opportunity.code, p.rank) for p in choices.ranking(session, student)]


def test_choices_ranking_ties_show_by_title(session: Session, tiny: Term) -> None:
    # Ben ranked O2 and O3 both 1: shown by title (CAD Cleanup before Robotics).
    assert _ranks(session, _student(session, "S2")) == [("O3", 1), ("O2", 1)]


def test_choices_save_ranking_replaces_in_order(session: Session, tiny: Term) -> None:
    ben = _student(session, "S2")
    o1, o2, o3 = (_opp(session, c) for c in ("O1", "O2", "O3"))
    choices.save_ranking(session, ben, [o2, o1, o3])
    assert _ranks(session, ben) == [("O2", 1), ("O1", 2), ("O3", 3)]
    choices.save_ranking(session, ben, [o3])
    assert _ranks(session, ben) == [("O3", 1)]
    assert session.scalars(select(Preference).where(Preference.student_id == ben.id)).all()
    choices.save_ranking(session, ben, [])
    assert _ranks(session, ben) == []


def _refused(session: Session, student: Student, ids: list[int]) -> str:
    before = _ranks(session, student)
    with pytest.raises(ChoiceError) as error:
        choices.save_ranking(session, student, ids)
    assert _ranks(session, student) == before
    return str(error.value)


def test_choices_save_ranking_refuses_duplicates_and_unknown_ids(
    session: Session, tiny: Term
) -> None:
    ben = _student(session, "S2")
    o2 = _opp(session, "O2")
    assert _refused(session, ben, [o2, o2]) == "“Robotics Assembly Intern” is in the list twice."
    assert _refused(session, ben, [o2, 99999]) == "There is no opportunity 99999 in your term."


def test_choices_save_ranking_refuses_what_the_student_cannot_take(
    session: Session, tiny: Term
) -> None:
    cai = _student(session, "S3")
    assert _refused(session, cai, [_opp(session, "O1")]) == (
        # The three reasons both dates share (the window sentences differ by date).
        "You cannot take “Dental Office Shadow”: no guardian consent; vetoed by the host; "
        "too far: 49 min by walk > 45."
    )


def test_choices_ruled_out_ranked_ones_stay_until_removed(session: Session, tiny: Term) -> None:
    # Ana's imported ranking holds O1 and O2, which she cannot take: she may reorder and
    # remove them, not add them back.
    ana = _student(session, "S1")
    o1, o2 = _opp(session, "O1"), _opp(session, "O2")
    choices.move_choice(session, ana, o2, -1)
    assert _ranks(session, ana) == [("O2", 1), ("O1", 2)]
    choices.remove_choice(session, ana, o1)
    assert _ranks(session, ana) == [("O2", 1)]
    assert _refused(session, ana, [o2, o1]).startswith("You cannot take “Dental Office Shadow”")


def test_choices_limit(session: Session, tiny: Term) -> None:
    tiny.rules = dataclasses.replace(tiny.rules, max_choices=2)
    session.flush()
    ben = _student(session, "S2")
    o1, o2, o3 = (_opp(session, c) for c in ("O1", "O2", "O3"))
    choices.save_ranking(session, ben, [o1, o2])
    assert _refused(session, ben, [o1, o2, o3]) == "You can rank at most 2 opportunities."
    with pytest.raises(ChoiceError):
        choices.add_choice(session, ben, o3)
    # A longer imported ranking can still be reordered and shortened, but not added to.
    tiny.rules = dataclasses.replace(tiny.rules, max_choices=1)
    session.flush()
    choices.move_choice(session, ben, o2, -1)
    assert _ranks(session, ben) == [("O2", 1), ("O1", 2)]
    assert _refused(session, ben, [o2, o3]) == "You can rank at most 1 opportunities."
    choices.remove_choice(session, ben, o1)
    assert _ranks(session, ben) == [("O2", 1)]


def test_choices_add_move_remove(session: Session, tiny: Term) -> None:
    ben = _student(session, "S2")
    o1, o2, o3 = (_opp(session, c) for c in ("O1", "O2", "O3"))
    choices.save_ranking(session, ben, [o3])
    choices.add_choice(session, ben, o1)
    choices.add_choice(session, ben, o1)  # already there: no change
    assert _ranks(session, ben) == [("O3", 1), ("O1", 2)]
    choices.move_choice(session, ben, o1, -1)
    assert _ranks(session, ben) == [("O1", 1), ("O3", 2)]
    choices.move_choice(session, ben, o1, -1)  # at the top already
    assert _ranks(session, ben) == [("O1", 1), ("O3", 2)]
    choices.move_choice(session, ben, o1, 1)
    assert _ranks(session, ben) == [("O3", 1), ("O1", 2)]
    with pytest.raises(NotYours):
        choices.move_choice(session, ben, o2, 1)
    with pytest.raises(NotYours):
        choices.remove_choice(session, ben, o2)


def test_choices_closed_opportunity_cannot_be_added(session: Session, tiny: Term) -> None:
    ben = _student(session, "S2")
    o1 = session.scalars(select(Opportunity).where(Opportunity.code == "O1")).one()
    o1.closed = True
    session.flush()
    assert _refused(session, ben, [o1.id]) == (
        "You cannot take “Dental Office Shadow”: opportunity closed by the host."
    )


def test_choices_list_sort_and_filter_options(session: Session, tiny: Term) -> None:
    code = {_opp(session, c): c for c in ("O1", "O2", "O3")}
    ben = _student(session, "S2")
    rows = choices.list_options(session, ben)
    # Nearest first among the ones he can take: remote CAD, then the dental office (9 min by
    # car), then the robotics shop (13 min).
    assert [(code[r.opportunity_id], r.ok, r.travel_text, r.rank) for r in rows] == [
        ("O3", True, "remote", 1),
        ("O1", True, "9 min by car", None),
        ("O2", True, "13 min by car", 1),
    ]
    assert [(r.title, r.kind_name, r.host_name, r.cluster) for r in rows[1:]] == [
        ("Dental Office Shadow", "Job shadow", "Platte River Dental Group", "Health Science"),
        ("Robotics Assembly Intern", "Internship", "Front Range Robotics, Inc.", "Manufacturing"),
    ]
    by_title = choices.sort_options(rows, "title")
    assert [code[r.opportunity_id] for r in by_title] == ["O3", "O1", "O2"]  # C, D, R
    internships = choices.filter_options(rows, kind=rows[2].kind)
    assert [code[r.opportunity_id] for r in internships] == ["O2"]
    health = choices.filter_options(rows, cluster="Health Science")
    assert [code[r.opportunity_id] for r in health] == ["O1"]
    ana_rows = choices.list_options(session, _student(session, "S1"))
    assert choices.filter_options(ana_rows) == []
    shown = choices.filter_options(ana_rows, show_ruled_out=True)
    assert [r.reasons for r in shown if code[r.opportunity_id] == "O2"] == [
        ("no work permit", "host mentor not background-checked (student is a minor)")
    ]
    # The able come first whatever the order: Ben's nearest-first rows are all able.
    assert [r.ok for r in choices.sort_options(ana_rows + rows, "title")] == [True] * 3 + [
        False
    ] * 3


def test_choices_load_shown_reads_only_the_rows_asked_for(session: Session, tiny: Term) -> None:
    rows = choices.list_options(session, _student(session, "S2"))
    session.expunge_all()  # nothing loaded before
    loaded = choices.load_shown(session, rows[1:2])
    (opportunity,) = loaded.values()
    assert opportunity.id == rows[1].opportunity_id and opportunity.code == "O1"
    assert "slots" in opportunity.__dict__ and "host" in opportunity.__dict__
    assert [len(x.sessions) for x in opportunity.slots] == [1, 1]
    assert choices.load_shown(session, []) == {}


# --- placements ---------------------------------------------------------------------------------


def _place(session: Session, term: Term, student: Student, opp: str, **kw: object) -> Placement:
    slot = session.scalars(
        select(Slot).join(Slot.opportunity).where(Opportunity.code == opp).order_by(Slot.position)
    ).first()
    assert slot is not None
    placement = Placement(term_id=term.id, student_id=student.id, slot_id=slot.id, **kw)
    session.add(placement)
    session.flush()
    return placement


def test_choices_students_see_published_placements_only(session: Session, tiny: Term) -> None:
    ben, ana = _student(session, "S2"), _student(session, "S1")
    proposed = _place(session, tiny, ben, "O1")
    published = _place(session, tiny, ben, "O2", status=PlacementStatus.PUBLISHED)
    by_host = _place(
        session, tiny, ben, "O3", status=PlacementStatus.DECLINED, declined_by=Party.HOST
    )
    assert choices.visible_placements(session, ben) == [published]
    assert choices.visible_placements(session, ana) == []
    for hidden in (proposed, by_host):
        with pytest.raises(NotYours):
            choices.placement_for(session, ben, hidden.id)
    with pytest.raises(NotYours):
        choices.placement_for(session, ana, published.id)  # not hers
    with pytest.raises(NotYours):
        choices.accept_placement(session, ana, published.id)
    with pytest.raises(NotYours):
        choices.accept_placement(session, ben, proposed.id)
    assert proposed.status is PlacementStatus.PROPOSED


def test_choices_accept_then_decline(session: Session, tiny: Term) -> None:
    ben = _student(session, "S2")
    placement = _place(session, tiny, ben, "O2", status=PlacementStatus.PUBLISHED)
    choices.accept_placement(session, ben, placement.id)
    assert placement.status is PlacementStatus.CONFIRMED and placement.declined_by is None
    choices.accept_placement(session, ben, placement.id)  # again: still confirmed
    assert placement.status is PlacementStatus.CONFIRMED
    choices.decline_placement(session, ben, placement.id)
    assert placement.status is PlacementStatus.DECLINED
    assert placement.declined_by is Party.STUDENT
    assert choices.visible_placements(session, ben) == [placement]  # shown as declined
    with pytest.raises(ChoiceError, match="already declined"):
        choices.decline_placement(session, ben, placement.id)
    with pytest.raises(ChoiceError, match="ask your coordinator"):
        choices.accept_placement(session, ben, placement.id)
    assert placement.status is PlacementStatus.DECLINED


# --- reading times and travel -------------------------------------------------------------------


def _slots_of(session: Session, code: str) -> list[Slot]:
    return list(
        session.scalars(
            select(Slot)
            .join(Slot.opportunity)
            .where(Opportunity.code == code)
            .order_by(Slot.position)
        )
    )


def test_choices_describe_slot_in_the_term_timezone(session: Session, tiny: Term) -> None:
    (weekly,) = _slots_of(session, "O2")
    assert choices.describe_slot(weekly, DENVER) == (
        "Tue, Thu 13:30–16:30, Tue 2 Feb to Thu 29 Apr 2027 (26 sessions)"
    )
    # The clocks change on 2027-03-14; the sessions stay at 13:30 local.
    lines = choices.session_lines(weekly, DENVER)
    assert lines[0] == "Tue 2 Feb 2027, 13:30–16:30"
    assert "Tue 16 Mar 2027, 13:30–16:30" in lines and len(lines) == 26
    first, _ = _slots_of(session, "O1")
    assert choices.describe_slot(first, DENVER) == "Wed 10 Feb 2027, 09:00–12:00"
    (flexible,) = _slots_of(session, "O3")
    assert choices.describe_slot(flexible, DENVER) == (
        "Flexible: 20 hours between Mon 1 Feb and Mon 15 Mar 2027"
    )
    assert choices.session_lines(flexible, DENVER) == []


def test_choices_describe_travel() -> None:
    assert choices.describe_travel(22.2, "transit", remote=False) == "23 min by transit"
    assert choices.describe_travel(12.0, "walk", remote=False) == "12 min on foot"
    assert choices.describe_travel(0.0, "bike", remote=True) == "remote"
    assert choices.describe_travel(None, "car", remote=False) == "travel time unknown"


def test_choices_placement_travel(session: Session, tiny: Term) -> None:
    ben = _student(session, "S2")
    local = _place(session, tiny, ben, "O2", status=PlacementStatus.PUBLISHED)
    remote = _place(session, tiny, ben, "O3", status=PlacementStatus.PUBLISHED)
    assert choices.placement_travel(local, ben) == "13 min by car"
    assert choices.placement_travel(remote, ben) == "remote"
    local.travel_min = 30.2  # what the solve's travel model said
    assert choices.placement_travel(local, ben) == "31 min by car"


def test_choices_format_day() -> None:
    assert choices.format_day(date(2027, 2, 10)) == "Wed 10 Feb 2027"
    assert choices.format_day(date(2027, 2, 10), year=False) == "Wed 10 Feb"


# --- the max_choices rule -----------------------------------------------------------------------


def test_rules_max_choices_default_and_validation() -> None:
    assert Rules().max_choices == DEFAULT_MAX_CHOICES == 10
    rules, problems = parse_rules({"max_choices": 5})
    assert rules.max_choices == 5 and problems == []
    for bad, message in (
        (0, "must be at least 1, got 0"),
        (-2, "must not be negative, got -2"),
        ("five", "must be a whole number, got 'five'"),
        (True, "must be a whole number, got True"),
        (2.5, "must be a whole number, got 2.5"),
    ):
        rules, problems = parse_rules({"max_choices": bad})
        assert problems == [("max_choices", message)] and rules.max_choices == 10


def test_rules_max_choices_written_only_when_set() -> None:
    # Bundles that never mention it are written back as they were.
    assert "max_choices" not in Rules().to_toml()
    assert Rules(max_choices=3).to_toml()["max_choices"] == 3
    assert Rules(max_choices=3).to_dict()["max_choices"] == 3
