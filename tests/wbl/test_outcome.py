"""The outcome of a solve in numbers and as the terminal's text, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.bundles import OPPORTUNITIES_CSV, STUDENTS_CSV, write_tiny_bundle
from wbl.geocode import AddressLocator
from wbl.models import (
    Opportunity,
    Placement,
    PlacementStatus,
    Slot,
    SolveRun,
    SolveStatus,
    Student,
    Term,
)
from wbl.services.bundles import get_term, import_bundle
from wbl.services.outcome import (
    FlagRate,
    KindCount,
    Suggestion,
    UnplacedStudent,
    compute_outcome,
    format_outcome,
    map_points,
    sort_key,
)

STAMP = datetime(2027, 1, 20, 12, 0, tzinfo=UTC)

# The tiny term plus a job shadow on both sides of the 2027-03-14 daylight-saving change and a
# fourth student whose name is an attempt at markup injection.
EXTRA_OPPORTUNITY = (
    "O4,H1,job_shadow,Front Desk Shadow,Health Science,2,"
    "2027-03-11 09:00-12:00;2027-03-18 09:00-12:00,,,false,false,false,false,\n"
)
SCRIPT_NAME = "<script>alert(1)</script>"
EXTRA_STUDENT = (
    f"S4,{SCRIPT_NAME},dee@students.example.org,East High,11,2010-05-05,39.7400,-104.9800,,"
    "bike,,,first_gen,true,true,,\n"
)


@dataclass
class SolvedTerm:
    term: Term
    students: dict[str, Student]
    opportunities: dict[str, Opportunity]
    run: SolveRun


def slot_of(session: Session, opportunity: str, position: int) -> Slot:
    return session.scalars(
        select(Slot)
        .join(Slot.opportunity)
        .where(Opportunity.code == opportunity, Slot.position == position)
    ).one()


def import_tiny_term(session: Session, folder: Path) -> Term:
    bundle = write_tiny_bundle(
        folder,
        students_csv=STUDENTS_CSV + EXTRA_STUDENT,
        opportunities_csv=OPPORTUNITIES_CSV + EXTRA_OPPORTUNITY,
    )
    import_bundle(session, bundle, AddressLocator(session, None))
    session.flush()
    return get_term(session, "Tiny Term")


def solved_term(session: Session, folder: Path) -> SolvedTerm:
    """The tiny term after a solve: S1 and S2 placed twice each, S3 and S4 unplaced.

    S1: internship O2 (rank 2, 22.46 min, published, pinned) and shadow O1 on 2027-02-10
    (rank 1, 31.25 min, proposed). S2: remote micro-internship O3 (rank 1, travel 0.0) and
    shadow O4 on 2027-03-18 (unranked, 12.04 min, confirmed). S3 had a shadow and declined it.
    """
    term = import_tiny_term(session, folder)
    students = {s.code: s for s in session.scalars(select(Student)).all()}
    opportunities = {o.code: o for o in session.scalars(select(Opportunity)).all()}
    older = SolveRun(
        term=term,
        status=SolveStatus.FEASIBLE,
        metrics={"unplaced": {str(students["S1"].id): {"reason": "rules", "detail": "old"}}},
    )
    session.add(older)
    session.flush()
    run = SolveRun(
        term=term,
        status=SolveStatus.OPTIMAL,
        mode="welfare",
        objective=12.0,
        best_bound=12.0,
        gap=0.0,
        wall_time_s=0.42,
        started_at=datetime(2027, 1, 20, 11, 59, tzinfo=UTC),
        metrics={
            "unplaced": {
                str(students["S3"].id): {
                    "reason": "no_reachable",
                    "detail": "too far: O1 is 52 min away on foot (limit 45)",
                },
                str(students["S4"].id): {
                    "reason": "filled",
                    "detail": "O1 filled by S1 (higher rank)",
                },
            },
            "suggestions": [
                {"opportunity_id": opportunities["O1"].id, "extra_seats": 1, "would_place": 1},
                {"opportunity_id": opportunities["O2"].id, "extra_seats": 2, "would_place": 2},
            ],
            "blocking_pairs": 0,
            "moved": 1,
            "stages": [{"level": "placed"}],
        },
    )
    session.add(run)
    session.flush()

    def place(student: str, opportunity: str, position: int, **values: object) -> None:
        session.add(
            Placement(
                term=term,
                student=students[student],
                slot=slot_of(session, opportunity, position),
                solve_run_id=run.id,
                created_at=STAMP,
                updated_at=STAMP,
                **values,
            )
        )

    place("S1", "O2", 0, rank=2, travel_min=22.46, status=PlacementStatus.PUBLISHED, pinned=True)
    place("S1", "O1", 0, rank=1, travel_min=31.25, status=PlacementStatus.PROPOSED)
    place("S2", "O3", 0, rank=1, travel_min=0.0, status=PlacementStatus.PROPOSED)
    place("S2", "O4", 1, rank=None, travel_min=12.04, status=PlacementStatus.CONFIRMED)
    place("S3", "O1", 1, rank=None, travel_min=40.0, status=PlacementStatus.DECLINED)
    session.flush()
    return SolvedTerm(term, students, opportunities, run)


def test_compute_outcome_counts_a_solved_term(session: Session, tmp_path: Path) -> None:
    solved = solved_term(session, tmp_path)
    outcome = compute_outcome(session, solved.term)

    assert (outcome.students, outcome.placed, outcome.placements) == (4, 2, 4)
    assert outcome.placed_share == 0.5
    assert outcome.kinds == {
        "job_shadow": KindCount(placements=2, students=2),
        "internship": KindCount(placements=1, students=1),
        "micro_internship": KindCount(placements=1, students=1),
    }
    # Both placed students hold a first choice somewhere.
    assert outcome.top3_share == 1.0
    assert outcome.mean_rank == 4 / 3
    assert outcome.ranks == {"1": 2, "2": 1, "unranked": 1}
    # The remote micro-internship's 0.0 is not a commute: three in-person trips count.
    assert outcome.travel_placements == 3
    assert outcome.travel_median == 22.46
    assert outcome.travel_p90 == 31.25
    assert outcome.travel_histogram == [(0, 0), (5, 0), (10, 1), (15, 0), (20, 1), (25, 0), (30, 1)]
    assert outcome.flags == {
        "first_gen": FlagRate(students=2, placed=1),
        "low_income": FlagRate(students=1, placed=1),
        "no_prior_wbl": FlagRate(students=1, placed=0),
        "none": FlagRate(students=1, placed=1),
    }
    assert outcome.unplaced == [
        UnplacedStudent(
            "S3", "Cai Lin", "no_reachable", "too far: O1 is 52 min away on foot (limit 45)"
        ),
        UnplacedStudent("S4", SCRIPT_NAME, "filled", "O1 filled by S1 (higher rank)"),
    ]
    assert outcome.suggestions == [
        Suggestion("O2", "Robotics Assembly Intern", "H2", "Front Range Robotics, Inc.", 2, 2),
        Suggestion("O1", "Dental Office Shadow", "H1", "Platte River Dental Group", 1, 1),
    ]
    solve = outcome.solve
    assert solve is not None
    assert (solve.run_id, solve.status, solve.objective, solve.best_bound, solve.gap) == (
        solved.run.id, "optimal", 12.0, 12.0, 0.0,
    )  # fmt: skip
    assert (solve.wall_time_s, solve.blocking_pairs, solve.moved) == (0.42, 0, 1)


def test_compute_outcome_before_any_solve(session: Session, tmp_path: Path) -> None:
    term = import_tiny_term(session, tmp_path)
    outcome = compute_outcome(session, term)
    assert (outcome.students, outcome.placed, outcome.placements) == (4, 0, 0)
    assert outcome.solve is None
    assert outcome.top3_share is None and outcome.mean_rank is None
    assert outcome.travel_median is None and outcome.travel_histogram == []
    assert outcome.ranks == {"unranked": 0}
    assert [(u.student_id, u.reason) for u in outcome.unplaced] == [
        ("S1", "not_solved"), ("S2", "not_solved"), ("S3", "not_solved"), ("S4", "not_solved"),
    ]  # fmt: skip
    text = format_outcome(outcome)
    assert text.startswith("Outcome of 'Tiny Term': no solve has run yet\n")
    assert "Placed 0 of 4 students (0.0%), 0 placements" in text
    assert "Top-3 choice: n/a of placed" in text
    assert "Travel: no in-person placements" in text
    assert "  S1 Ana Ruiz — not_solved: no solve has run for this term yet" in text


def test_compute_outcome_explains_a_placement_withdrawn_after_the_solve(
    session: Session, tmp_path: Path
) -> None:
    solved = solved_term(session, tmp_path)
    for p in session.scalars(select(Placement).where(Placement.student == solved.students["S2"])):
        p.status = PlacementStatus.WITHDRAWN
    session.flush()
    outcome = compute_outcome(session, solved.term)
    assert outcome.placed == 1
    withdrawn = {u.student_id: u for u in outcome.unplaced}["S2"]
    assert withdrawn.reason == "withdrawn"
    assert "was withdrawn after solve run" in withdrawn.detail
    assert outcome.flags["none"] == FlagRate(students=1, placed=0)


def test_format_outcome_reads_as_a_compact_block(session: Session, tmp_path: Path) -> None:
    solved = solved_term(session, tmp_path)
    lines = format_outcome(compute_outcome(session, solved.term)).splitlines()
    assert lines[0] == (
        f"Outcome of 'Tiny Term' (solve run #{solved.run.id}: optimal in 0.4 s, "
        "objective 12, bound 12, gap 0.0%)"
    )
    assert lines[1:6] == [
        "Placed 2 of 4 students (50.0%), 4 placements",
        "  kind               placements  students",
        "  job shadows                 2         2",
        "  internships                 1         1",
        "  micro-internships           1         1",
    ]
    assert lines[6:10] == [
        "Top-3 choice: 100.0% of placed",
        "Mean rank 1.3 over 3 ranked placements (1 unranked)",
        "Travel: median 22 min, p90 31 min (3 in-person placements)",
        "Blocking pairs 0, students moved 1",
    ]
    assert lines[10:17] == [
        "",
        "  placement rate by flag students  placed    rate",
        "  first_gen                     2       1   50.0%",
        "  low_income                    1       1  100.0%",
        "  no_prior_wbl                  1       0    0.0%",
        "  none                          1       1  100.0%",
        "",
    ]
    assert lines[17:] == [
        "Unplaced (2): no_reachable 1, filled 1",
        "  S3 Cai Lin — no_reachable: too far: O1 is 52 min away on foot (limit 45)",
        f"  S4 {SCRIPT_NAME} — filled: O1 filled by S1 (higher rank)",
        "",
        "Extra seats that would place more students:",
        "  +2 seats in O2 Robotics Assembly Intern (H2 Front Range Robotics, Inc.): "
        "places 2 more students",
        "  +1 seat in O1 Dental Office Shadow (H1 Platte River Dental Group): "
        "places 1 more student",
    ]


def test_format_outcome_lists_ten_unplaced_then_points_to_the_file(
    session: Session, tmp_path: Path
) -> None:
    outcome = compute_outcome(session, solved_term(session, tmp_path).term)
    many = [UnplacedStudent(f"S{i:04d}", f"Student {i}", "filled", "") for i in range(1, 30)]
    lines = format_outcome(dataclasses.replace(outcome, unplaced=many)).splitlines()
    start = lines.index("Unplaced (29): filled 29")
    assert lines[start + 1] == "  S0001 Student 1 — filled"
    assert lines[start + 10] == "  S0010 Student 10 — filled"
    assert lines[start + 11] == "  … and 19 more (see unplaced.csv)"


def test_map_points_mark_placed_students_and_size_hosts(session: Session, tmp_path: Path) -> None:
    solved = solved_term(session, tmp_path)
    points = map_points(session, solved.term)
    ana = solved.students["S1"]
    assert (ana.origin_lat, ana.origin_lon, True) in points.students
    assert sum(placed for *_, placed in points.students) == 2
    assert {h.host_id: h.placements for h in points.hosts} == {"H1": 2, "H2": 2}


def test_sort_key_orders_ids_as_people_read_them() -> None:
    assert sorted(["S10", "S2", "s1", "S1a", "T1"], key=sort_key) == [
        "s1", "S1a", "S2", "S10", "T1",
    ]  # fmt: skip


def test_welfare_blocking_pairs_are_explained_and_stable_ones_are_not(
    session: Session, tmp_path: Path
) -> None:
    from wbl.report import render_report

    solved = solved_term(session, tmp_path)
    solved.run.metrics = {**solved.run.metrics, "blocking_pairs": 3}
    session.flush()
    outcome = compute_outcome(session, solved.term)
    lines = format_outcome(outcome).splitlines()
    at = lines.index("Blocking pairs 3, students moved 1")
    assert lines[at + 1].startswith("  (blocking pairs: pairs of a student and a slot that")
    assert "Solve in stable mode for none" in lines[at + 1]
    html = render_report(outcome, map_points(session, solved.term))
    assert "<dd>3: pairs of a student and a slot that would both rather be together" in html

    # In stable mode the count is what a stable matching could not avoid: no such advice.
    solved.run.mode = "stable"
    session.flush()
    outcome = compute_outcome(session, solved.term)
    lines = format_outcome(outcome).splitlines()
    assert lines[lines.index("Blocking pairs 3, students moved 1") + 1] == ""
    assert "<dd>3</dd>" in render_report(outcome, map_points(session, solved.term))
