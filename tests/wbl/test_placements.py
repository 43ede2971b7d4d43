"""Hand edits to placements (check, move, pin, withdraw, publish) and the sortable list, on
SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.bundles import HOSTS_CSV, OPPORTUNITIES_CSV, STUDENTS_CSV, write_tiny_bundle
from wbl.geocode import AddressLocator
from wbl.models import (
    Host,
    Opportunity,
    Placement,
    PlacementStatus,
    Role,
    Slot,
    SolveRun,
    SolveStatus,
    Student,
    Term,
    User,
)
from wbl.services.bundles import get_term, import_bundle
from wbl.services.candidates import student_options
from wbl.services.placements import (
    Mover,
    OverCapacity,
    PlacementError,
    RulesBroken,
    SolveRunning,
    accounts_of,
    check_slot,
    count_proposals,
    list_placements,
    move_student,
    publish_term,
    set_pinned,
    slot_options,
    withdraw_placement,
)
from wbl.services.solving import SolveOptions, solve_term

# The tiny term plus: O4, an internship at H1 whose Tuesday sessions overlap O2's; O5 and O6,
# remote job shadows of 10 hours each in the same week (2027-02-01 is a Monday).
EXTRA_OPPORTUNITIES = (
    'O4,H1,internship,Front Desk Intern,Health Science,1,"2027-02-01/2027-04-30 Tue 14:00-16:00"'
    ",,,false,false,false,false,\n"
    "O5,H1,job_shadow,Chart Review,Health Science,2,2027-02-01/2027-02-07 flexible,,,"
    "false,false,false,true,10\n"
    "O6,H1,job_shadow,Billing Review,Health Science,2,2027-02-01/2027-02-07 flexible,,,"
    "false,false,false,true,10\n"
)


def _term(session: Session, tmp_path: Path, **files: str) -> Term:
    folder = write_tiny_bundle(tmp_path / "bundle", **files)
    import_bundle(session, folder, AddressLocator(session, None))
    return get_term(session, "Tiny Term")


@pytest.fixture
def term(session: Session, tmp_path: Path) -> Term:
    return _term(session, tmp_path, opportunities_csv=OPPORTUNITIES_CSV + EXTRA_OPPORTUNITIES)


def student(session: Session, code: str) -> Student:
    return session.scalars(select(Student).where(Student.code == code)).one()


def slot(session: Session, opportunity: str, position: int = 0) -> Slot:
    return session.scalars(
        select(Slot)
        .join(Opportunity)
        .where(Opportunity.code == opportunity, Slot.position == position)
    ).one()


def place(
    session: Session,
    term: Term,
    code: str,
    opportunity: str,
    position: int = 0,
    status: PlacementStatus = PlacementStatus.PROPOSED,
    pinned: bool = False,
    travel_min: float | None = None,
) -> Placement:
    placement = Placement(
        term_id=term.id,
        student_id=student(session, code).id,
        slot_id=slot(session, opportunity, position).id,
        status=status,
        pinned=pinned,
        travel_min=travel_min,
    )
    session.add(placement)
    session.flush()
    return placement


def live_of(session: Session, code: str) -> list[tuple[str, int, PlacementStatus, bool]]:
    rows = session.execute(
        select(Opportunity.code, Slot.position, Placement.status, Placement.pinned)
        .join(Placement.slot)
        .join(Slot.opportunity)
        .where(Placement.student_id == student(session, code).id)
        .order_by(Placement.id)
    ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


# --- checks -----------------------------------------------------------------------------------


def test_check_slot_names_the_per_pair_rules_a_student_breaks(session: Session, term: Term) -> None:
    ana = student(session, "S1")
    internship = check_slot(session, term, ana, slot(session, "O2").id)
    assert internship.broken == (
        "no work permit",
        "host mentor not background-checked (student is a minor)",
    )
    assert internship.blocking == () and not internship.fits
    shadow = check_slot(session, term, ana, slot(session, "O1").id)
    assert len(shadow.broken) == 1
    assert "session Wed 2027-02-10 09:00" in shadow.broken[0]
    assert "outside release windows (none on Wed)" in shadow.broken[0]
    assert shadow.rank == 1 and 11 < shadow.travel_min < 13


def test_check_slot_judges_each_pair_as_student_options_does(session: Session, term: Term) -> None:
    compared = 0
    for code in ("S1", "S2", "S3"):
        one = student(session, code)
        mover = Mover(session, term, one)
        for option in student_options(session, term, one.id).values():
            for slot_id in (*option.open_slots, *option.slot_reasons):
                choice = mover.check(slot_id)
                assert choice.broken == option.slot_reasons.get(slot_id, ()), (code, slot_id)
                assert choice.travel_min == pytest.approx(option.travel_min)
                compared += 1
    assert compared == 3 * 7  # every student against all seven slots


def test_check_slot_passes_a_slot_that_fits(session: Session, term: Term) -> None:
    choice = check_slot(session, term, student(session, "S2"), slot(session, "O1").id)
    assert choice.fits and choice.broken == () and choice.blocking == ()
    assert choice.rank is None and choice.taken == 0 and choice.capacity == 2
    assert choice.start.isoformat() == "2027-02-10T09:00:00-07:00"


def test_check_slot_sees_overlap_and_kind_limit_with_other_placements(
    session: Session, term: Term
) -> None:
    ben = student(session, "S2")
    held = place(session, term, "S2", "O2")
    choice = check_slot(session, term, ben, slot(session, "O4").id)
    assert choice.broken == (
        "sessions overlap their placement in Robotics Assembly Intern (O2)",
        "2 internships with this one; the term allows 1",
        # Ben is in a buddy group: its internships go to one host.
        "their group (G1) has its internships at Front Range Robotics, Inc.",
    )
    assert not choice.clashes_with_kept  # a re-solve may still move O2
    held.pinned = True
    session.flush()
    assert check_slot(session, term, ben, slot(session, "O4").id).clashes_with_kept


def test_check_slot_moving_out_of_a_placement_frees_its_rules(session: Session, term: Term) -> None:
    held = place(session, term, "S2", "O2")
    choice = check_slot(
        session, term, student(session, "S2"), slot(session, "O4").id, replacing=held
    )
    assert choice.fits
    current = check_slot(session, term, student(session, "S2"), held.slot_id, replacing=held)
    assert current.current and current.blocking == ("the student is in this slot now",)


def test_check_slot_allows_one_slot_per_opportunity(session: Session, term: Term) -> None:
    place(session, term, "S2", "O1", 0)
    choice = check_slot(session, term, student(session, "S2"), slot(session, "O1", 1).id)
    assert choice.broken == ("already has another slot of Dental Office Shadow (O1)",)


def test_check_slot_adds_up_weekly_hours(session: Session, term: Term) -> None:
    place(session, term, "S3", "O5")  # Cai is 14: at most 18 hours a week
    choice = check_slot(session, term, student(session, "S3"), slot(session, "O6").id)
    assert choice.broken == ("busiest week 20.0 h with this one > weekly cap 18 h",)
    assert check_slot(session, term, student(session, "S1"), slot(session, "O6").id).fits


def test_check_slot_keeps_a_group_at_one_host(session: Session, term: Term) -> None:
    place(session, term, "S2", "O2")  # Ana's buddy Ben interns at H2
    choice = check_slot(session, term, student(session, "S1"), slot(session, "O4").id)
    assert choice.broken == ("their group (G1) has its internships at Front Range Robotics, Inc.",)


def test_check_slot_blocks_a_full_slot_and_a_host_at_its_cap(session: Session, term: Term) -> None:
    place(session, term, "S2", "O2")
    full = check_slot(session, term, student(session, "S1"), slot(session, "O2").id)
    assert full.blocking == ("Robotics Assembly Intern (O2) is full: 1 of 1 seat taken",)
    session.scalars(select(Host).where(Host.code == "H1")).one().max_students = 1
    place(session, term, "S2", "O1")
    capped = check_slot(session, term, student(session, "S3"), slot(session, "O5").id)
    assert capped.blocking == ("Platte River Dental Group takes at most 1 student and has 1",)
    # Ben is already one of H1's students: another H1 slot does not count him twice.
    assert check_slot(session, term, student(session, "S2"), slot(session, "O5").id).blocking == ()


# --- moves ------------------------------------------------------------------------------------


def test_move_student_needs_an_override_to_break_a_rule(session: Session, term: Term) -> None:
    ana = student(session, "S1")
    with pytest.raises(RulesBroken) as refused:
        move_student(session, term, ana, slot(session, "O1").id)
    assert "outside release windows" in refused.value.choice.broken[0]
    assert live_of(session, "S1") == []
    placement, choice = move_student(session, term, ana, slot(session, "O1").id, override=True)
    assert live_of(session, "S1") == [("O1", 0, PlacementStatus.PROPOSED, True)]
    assert placement.rank == 1 and placement.travel_min == pytest.approx(choice.travel_min)
    assert placement.solve_run_id is None


def test_move_student_never_overfills_a_slot(session: Session, term: Term) -> None:
    place(session, term, "S2", "O2")
    with pytest.raises(OverCapacity) as refused:
        move_student(session, term, student(session, "S1"), slot(session, "O2").id, override=True)
    assert refused.value.problems == ["Robotics Assembly Intern (O2) is full: 1 of 1 seat taken"]
    assert live_of(session, "S1") == []


def test_move_student_moves_a_proposal_in_place(session: Session, term: Term) -> None:
    held = place(session, term, "S2", "O3")
    placement, _ = move_student(
        session, term, student(session, "S2"), slot(session, "O1", 1).id, replacing=held
    )
    assert placement.id == held.id and placement.slot.opportunity.code == "O1"
    assert live_of(session, "S2") == [("O1", 1, PlacementStatus.PROPOSED, True)]


def test_move_student_out_of_a_published_placement_withdraws_it(
    session: Session, term: Term
) -> None:
    held = place(session, term, "S2", "O3", status=PlacementStatus.PUBLISHED)
    placement, _ = move_student(
        session, term, student(session, "S2"), slot(session, "O1").id, replacing=held
    )
    assert placement.id != held.id
    assert live_of(session, "S2") == [
        ("O3", 0, PlacementStatus.WITHDRAWN, False),
        ("O1", 0, PlacementStatus.PROPOSED, True),
    ]


def test_move_student_refuses_another_students_placement(session: Session, term: Term) -> None:
    held = place(session, term, "S2", "O3")
    with pytest.raises(PlacementError, match="another student"):
        move_student(session, term, student(session, "S1"), slot(session, "O1").id, replacing=held)


def test_edits_wait_while_a_solve_runs(session: Session, term: Term) -> None:
    held = place(session, term, "S2", "O3")
    session.add(SolveRun(term_id=term.id, status=SolveStatus.RUNNING))
    session.flush()
    with pytest.raises(SolveRunning):
        move_student(session, term, student(session, "S2"), slot(session, "O1").id)
    with pytest.raises(SolveRunning):
        set_pinned(session, term, held, True)
    with pytest.raises(SolveRunning):
        publish_term(session, term)
    assert live_of(session, "S2") == [("O3", 0, PlacementStatus.PROPOSED, False)]


def test_set_pinned_pins_and_unpins_only_live_placements(session: Session, term: Term) -> None:
    held = place(session, term, "S2", "O3")
    set_pinned(session, term, held, True)
    assert held.pinned
    set_pinned(session, term, held, False)
    assert not held.pinned
    withdraw_placement(session, term, held)
    with pytest.raises(PlacementError, match="withdrawn placement cannot be pinned"):
        set_pinned(session, term, held, True)
    with pytest.raises(PlacementError, match="already withdrawn"):
        withdraw_placement(session, term, held)


# --- withdraw, re-solve, publish --------------------------------------------------------------


def test_withdraw_frees_the_seat_for_a_resolve_keeping_published(
    session: Session, tmp_path: Path
) -> None:
    # Ana may intern at H2 here (a work permit; H2's mentor checked), so she wants O2's one
    # seat too, as her second choice; Ben, who ranked it first, gets it.
    term = _term(
        session,
        tmp_path,
        students_csv=STUDENTS_CSV.replace("low_income,true,false", "low_income,true,true"),
        hosts_csv=HOSTS_CSV.replace(",,,false", ",,,true"),
    )
    solve_term(session, term, SolveOptions(time_limit_s=10))
    ben_o2 = session.scalars(
        select(Placement)
        .join(Placement.slot)
        .join(Slot.opportunity)
        .where(Opportunity.code == "O2")
    ).one()
    assert ben_o2.student.code == "S2"
    published = publish_term(session, term).placements
    before = {code: live_of(session, code) for code in ("S1", "S2", "S3")}
    withdraw_placement(session, term, ben_o2)
    solve_term(session, term, SolveOptions(time_limit_s=10, keep_published=True))
    # The seat went to Ana; every other published placement stayed as it was.
    assert live_of(session, "S1") == [*before["S1"], ("O2", 0, PlacementStatus.PROPOSED, False)]
    assert live_of(session, "S2") == [
        ("O2", 0, PlacementStatus.WITHDRAWN, False) if p[0] == "O2" else p for p in before["S2"]
    ]
    assert live_of(session, "S3") == before["S3"]
    assert count_proposals(session, term).placements == 1 and published >= 2


def test_publish_term_publishes_every_proposal_and_says_whose(session: Session, term: Term) -> None:
    place(session, term, "S2", "O2", pinned=True)
    place(session, term, "S2", "O3")
    place(session, term, "S3", "O5", status=PlacementStatus.CONFIRMED)
    place(session, term, "S1", "O1", status=PlacementStatus.WITHDRAWN)
    assert count_proposals(session, term).placements == 2
    done = publish_term(session, term)
    ben = student(session, "S2")
    h2 = session.scalars(select(Host).where(Host.code == "H2")).one()
    assert done.placements == 2
    assert done.student_ids == {ben.id} and done.host_ids == {h2.id}
    assert [s for *_, s, _ in live_of(session, "S2")] == [PlacementStatus.PUBLISHED] * 2
    assert live_of(session, "S3")[0][2] == PlacementStatus.CONFIRMED
    assert live_of(session, "S1")[0][2] == PlacementStatus.WITHDRAWN
    assert count_proposals(session, term).placements == 0


def test_accounts_of_finds_active_accounts_of_students_and_hosts(
    session: Session, term: Term
) -> None:
    ben, ana = student(session, "S2"), student(session, "S1")
    h2 = session.scalars(select(Host).where(Host.code == "H2")).one()
    h1 = session.scalars(select(Host).where(Host.code == "H1")).one()
    users = [
        User(email="ben@x.org", role=Role.STUDENT, student_id=ben.id, nonce="a"),
        User(email="ana@x.org", role=Role.STUDENT, student_id=ana.id, nonce="b", active=False),
        User(email="h2@x.org", role=Role.HOST, host_id=h2.id, nonce="c"),
        User(email="h1@x.org", role=Role.HOST, host_id=h1.id, nonce="d"),
        User(email="boss@x.org", role=Role.COORDINATOR, nonce="e"),
    ]
    session.add_all(users)
    session.flush()
    found = accounts_of(session, [ben.id, ana.id], [h2.id])
    assert [u.email for u in found] == ["ben@x.org", "h2@x.org"]
    assert accounts_of(session, [], []) == []


# --- the list and the options -----------------------------------------------------------------


def test_list_placements_sorts_with_blanks_last_either_way(session: Session, term: Term) -> None:
    place(session, term, "S2", "O2", travel_min=12.6)
    place(session, term, "S2", "O3", travel_min=0.0)  # remote: no travel, sorts last
    place(session, term, "S1", "O1", travel_min=11.6)
    place(session, term, "S3", "O5", status=PlacementStatus.WITHDRAWN)

    def order(**kwargs: object) -> list[str]:
        return [r.opportunity_code for r in list_placements(session, term, **kwargs)]  # type: ignore[arg-type]

    assert order(sort="travel") == ["O1", "O2", "O3"]
    assert order(sort="travel", descending=True) == ["O2", "O1", "O3"]
    assert order(sort="start") == ["O3", "O2", "O1"]  # Feb 1 (flexible), Feb 2, Feb 10
    # Ben, Ben, Ana; a student's placements stay in start order.
    assert order(sort="student", descending=True) == ["O3", "O2", "O1"]
    assert order(sort="kind") == ["O1", "O2", "O3"]
    assert order(sort="nonsense") == order(sort="student")
    assert order(status="all", sort="status") == ["O1", "O3", "O2", "O5"]
    assert order(status="withdrawn") == ["O5"]
    assert order(kind="micro_internship") == ["O3"]
    assert order(query="robot") == ["O3", "O2"]  # O3 by its host's name
    assert order(query="ana ") == ["O1"]
    assert order(query="100%") == []  # LIKE wildcards are plain text


def test_slot_options_lists_ranked_choices_then_nearest(session: Session, term: Term) -> None:
    options = slot_options(session, term, student(session, "S1"))
    codes = [(o.opportunity_code, o.rank) for o in options]
    # Ranked first (O1's two slots, O2), then slots that fit (remote O5, O6 are 0 minutes
    # away; O4 is at H1), then the rest.
    assert codes[:3] == [("O1", 1), ("O1", 1), ("O2", 2)]
    assert {c for c, _ in codes[3:6]} == {"O4", "O5", "O6"}
    assert all(o.fits for o in options[3:6])
    assert [o.opportunity_code for o in options[6:]] == ["O3"]  # H2 has no checked mentor
    found = slot_options(session, term, student(session, "S1"), query="dental")
    # By title: Billing Review, Chart Review, Dental Office Shadow (2 slots), Front Desk Intern.
    assert [o.opportunity_code for o in found] == ["O6", "O5", "O1", "O1", "O4"]
