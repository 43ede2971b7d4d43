"""`wbl solve` and the solving service on a tiny term, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner, Result
from sqlalchemy import select

from solver.check import check_assignments
from tests.bundles import STUDENTS_CSV, write_tiny_bundle
from wbl.cli import cli
from wbl.db import make_engine, transaction
from wbl.models import Placement, PlacementStatus, SolveRun, SolveStatus, Student
from wbl.services.bundles import get_term
from wbl.services.candidates import build_problem


def _run(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", db_url, *args], catch_exceptions=False)


def _placements(db_url: str) -> list[tuple[str, int, PlacementStatus]]:
    engine = make_engine(db_url)
    try:
        with transaction(engine) as session:
            rows = session.execute(
                select(Student.code, Placement.slot_id, Placement.status).join(Student)
            ).all()
            return sorted((code, slot, status) for code, slot, status in rows)
    finally:
        engine.dispose()


def _runs(db_url: str) -> list[SolveRun]:
    engine = make_engine(db_url)
    try:
        with transaction(engine) as session:
            return list(session.scalars(select(SolveRun).order_by(SolveRun.id)))
    finally:
        engine.dispose()


def _imported(db_url: str, tmp_path: Path, **files: str) -> None:
    result = _run(db_url, "import", str(write_tiny_bundle(tmp_path / "bundle", **files)))
    assert result.exit_code == 0, result.output


def test_solving_cli_stores_run_and_proposed_placements(db_url: str, tmp_path: Path) -> None:
    _imported(db_url, tmp_path)
    result = _run(db_url, "solve", "Tiny Term", "--time-limit", "10", "--quiet")
    assert result.exit_code == 0, result.output
    assert "Solve optimal" in result.output and "placed count proven optimal" in result.output
    assert "Placed " in result.output
    (run,) = _runs(db_url)
    assert run.status == SolveStatus.OPTIMAL and run.gap == 0.0
    placements = _placements(db_url)
    assert placements and all(s == PlacementStatus.PROPOSED for _, _, s in placements)
    # Every student is placed or has a reason, never both.
    placed = {code for code, _, _ in placements}
    engine = make_engine(db_url)
    with transaction(engine) as session:
        codes = dict(session.execute(select(Student.id, Student.code)).all())
        built = build_problem(session, get_term(session, "Tiny Term"))
        pairs = [(p.student_id, p.slot_id) for p in session.scalars(select(Placement))]
        assert check_assignments(built.problem, pairs) == []
    engine.dispose()
    unplaced = {codes[int(k)] for k in run.metrics["unplaced"]}
    assert placed.isdisjoint(unplaced) and placed | unplaced == set(codes.values())


def test_solving_never_changes_published_placements(db_url: str, tmp_path: Path) -> None:
    _imported(db_url, tmp_path)
    assert _run(db_url, "solve", "Tiny Term", "--time-limit", "10", "--quiet").exit_code == 0
    engine = make_engine(db_url)
    with transaction(engine) as session:
        first = session.scalars(select(Placement).order_by(Placement.id)).first()
        first.status = PlacementStatus.PUBLISHED
        published = (first.id, first.student_id, first.slot_id)
    engine.dispose()
    again = _run(db_url, "solve", "Tiny Term", "--time-limit", "10", "--mode", "stable", "--quiet")
    assert again.exit_code == 0, again.output
    engine = make_engine(db_url)
    with transaction(engine) as session:
        row = session.get(Placement, published[0])
        assert row is not None and row.status == PlacementStatus.PUBLISHED
        assert (row.student_id, row.slot_id) == published[1:]
        same_pair = session.scalars(
            select(Placement).where(
                Placement.student_id == published[1], Placement.slot_id == published[2]
            )
        ).all()
        assert len(same_pair) == 1
    engine.dispose()
    assert [r.mode for r in _runs(db_url)] == ["welfare", "stable"]
    assert _runs(db_url)[1].metrics["blocking_pairs"] is not None


def test_solving_keep_published_places_newcomer_and_counts_moves(
    db_url: str, tmp_path: Path
) -> None:
    _imported(db_url, tmp_path)
    assert _run(db_url, "solve", "Tiny Term", "--time-limit", "10", "--quiet").exit_code == 0
    before = _placements(db_url)
    newcomer = (
        "S4,Dee Park,dee@students.example.org,North High,12,2009-05-05,39.7392,-104.9903,,"
        "car,60,,,true,true,,\n"
    )
    _imported(db_url, tmp_path, **{"students.csv": STUDENTS_CSV + newcomer})
    result = _run(db_url, "solve", "Tiny Term", "--keep-published", "--time-limit", "10", "--quiet")
    assert result.exit_code == 0, result.output
    assert "moved" in result.output
    run = _runs(db_url)[-1]
    assert run.metrics["moved"] == len(set(before) - set(_placements(db_url)))
    assert run.metrics["levels"][:2] == ["placed", "kept"]


def test_solving_cli_bad_input_is_a_clear_error(db_url: str, tmp_path: Path) -> None:
    _imported(db_url, tmp_path)
    unknown = _run(db_url, "solve", "No Such Term")
    assert unknown.exit_code == 1 and "No Such Term" in unknown.output
    zero = _run(db_url, "solve", "Tiny Term", "--time-limit", "0")
    assert zero.exit_code == 2 and "--time-limit" in zero.output
    assert _runs(db_url) == []


def test_solving_cli_refuses_while_another_solve_of_the_term_runs(
    db_url: str, tmp_path: Path
) -> None:
    _imported(db_url, tmp_path)
    engine = make_engine(db_url)
    with transaction(engine) as session:
        term = get_term(session, "Tiny Term")
        session.add(SolveRun(term_id=term.id, status=SolveStatus.RUNNING))  # from the web app
    engine.dispose()
    result = _run(db_url, "solve", "Tiny Term", "--time-limit", "5", "--quiet")
    assert result.exit_code == 1
    assert "of this term is still running; wait for it to finish" in result.output
    assert [r.status for r in _runs(db_url)] == [SolveStatus.RUNNING]  # nothing else stored
    assert _placements(db_url) == []
