"""The ``wbl`` command line as a coordinator uses it, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select

from tests.bundles import (
    PREFERENCES_CSV,
    STUDENTS_CSV,
    write_broken_bundle,
    write_tiny_bundle,
)
from wbl.cli import cli
from wbl.db import make_engine, transaction
from wbl.models import GeocodeCache, Student, Term

ROOT = Path(__file__).resolve().parents[2]


def _run(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--db", db_url, *args], catch_exceptions=False)


def _term_count(db_url: str) -> int:
    engine = make_engine(db_url)
    try:
        with transaction(engine) as session:
            return session.scalar(select(func.count(Term.id))) or 0
    finally:
        engine.dispose()


def test_cli_import_then_reimport(db_url: str, tmp_path: Path) -> None:
    folder = write_tiny_bundle(tmp_path / "tiny")
    first = _run(db_url, "import", str(folder))
    assert first.exit_code == 0, first.output
    assert "Created term 'Tiny Term':" in first.stdout
    assert "students: 3 added" in first.stdout
    assert "S3: approximated by ZIP-code centroid" in first.stdout
    second = _run(db_url, "import", str(folder))
    assert second.exit_code == 0
    assert "Updated term 'Tiny Term':" in second.stdout
    assert "students: 3 unchanged" in second.stdout
    assert _term_count(db_url) == 1


def test_cli_import_broken_bundle_exit_2_nothing_written(db_url: str, tmp_path: Path) -> None:
    folder = write_tiny_bundle(
        tmp_path / "bad",
        students_csv=STUDENTS_CSV.replace(",walk,", ",skateboard,"),
        preferences_csv=PREFERENCES_CSV + "S2,O404,1\n",
    )
    result = _run(db_url, "import", str(folder))
    assert result.exit_code == 2
    assert f"Nothing was imported: 2 problem(s) in {folder}:" in result.stderr
    assert (
        "students.csv:4: transport: must be one of walk, bike, transit, car; got 'skateboard'"
        in (result.stderr)
    )
    assert "preferences.csv:6: opportunity_id: unknown opportunity 'O404'" in result.stderr
    assert "Traceback" not in result.output
    assert _term_count(db_url) == 0


def test_cli_import_one_of_each_error_leaves_database_unchanged(
    db_url: str, tmp_path: Path
) -> None:
    assert _run(db_url, "import", str(write_tiny_bundle(tmp_path / "good"))).exit_code == 0
    before = _run(db_url, "export", "Tiny Term", "--out", str(tmp_path / "before"))
    assert before.exit_code == 0
    result = _run(db_url, "import", str(write_broken_bundle(tmp_path / "broken")))
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert lines[0] == f"Nothing was imported: 14 problem(s) in {tmp_path / 'broken'}:"
    for where in ("term.toml:12:", "students.csv:1:", "students.csv:2: birth_date",
                  "students.csv:3: student_id", "students.csv:3: origin_lat",
                  "students.csv:3: transport", "hosts.csv:1: name", "opportunities.csv:2: schedule",
                  "opportunities.csv:4: kind", "preferences.csv:3: rank",
                  "preferences.csv:5: student_id"):  # fmt: skip
        assert any(line.startswith(f"  {where}") for line in lines), where
    _run(db_url, "export", "Tiny Term", "--out", str(tmp_path / "after"))
    for name in ("students.csv", "hosts.csv", "opportunities.csv", "preferences.csv"):
        assert (tmp_path / "after" / name).read_text() == (tmp_path / "before" / name).read_text()


def test_cli_export_writes_bundle_and_unknown_term_fails(db_url: str, tmp_path: Path) -> None:
    _run(db_url, "import", str(write_tiny_bundle(tmp_path / "tiny")))
    out = tmp_path / "exported"
    result = _run(db_url, "export", "Tiny Term", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "host_reviews.csv", "hosts.csv", "opportunities.csv", "preferences.csv",
        "students.csv", "term.toml",
    ]  # fmt: skip
    missing = _run(db_url, "export", "Fall 2030", "--out", str(out))
    assert missing.exit_code == 1
    assert "no term named 'Fall 2030' (terms: 'Tiny Term')" in missing.stderr


def test_cli_summary_and_terms(db_url: str, tmp_path: Path) -> None:
    _run(db_url, "import", str(write_tiny_bundle(tmp_path / "tiny")))
    listing = _run(db_url, "terms")
    assert "Tiny Term\t2027-01-25 to 2027-05-28\t3 students" in listing.stdout
    summary = _run(db_url, "summary", "Tiny Term")
    assert summary.exit_code == 0
    assert "3 students, 2 hosts, 3 opportunities, 8 seats" in summary.stdout
    assert "ranked: 2 students (67%) with 4 choices; unranked: 1" in summary.stdout
    assert "hosts without a background-checked mentor: 1" in summary.stdout


def test_cli_bad_database_url_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--db", "nosuchdb://x", "terms"])
    assert result.exit_code == 1
    assert "cannot use database URL 'nosuchdb://x'" in result.stderr
    unreachable = CliRunner().invoke(
        cli, ["--db", "postgresql://nobody:secret@127.0.0.1:1/none", "terms"]
    )
    assert unreachable.exit_code == 1
    assert "cannot open the database at postgresql://nobody:***@127.0.0.1:1/none" in (
        unreachable.stderr
    )
    assert "secret" not in unreachable.output


def test_cli_import_not_a_folder(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--db", f"sqlite:///{tmp_path}/x.db", "import", "nope"])
    assert result.exit_code == 2
    assert "nope is not a folder" in result.stderr


def test_cli_generate_writes_importable_bundle(tmp_path: Path) -> None:
    out = tmp_path / "gen"
    result = CliRunner().invoke(cli, ["generate", "--students", "60", "--seed", "3", str(out)])
    assert result.exit_code == 0, result.output
    assert "Wrote 60 students" in result.stdout
    db = f"sqlite:///{tmp_path}/gen.db"
    imported = _run(db, "import", str(out))
    assert imported.exit_code == 0, imported.output
    engine = make_engine(db)
    with transaction(engine) as session:
        assert session.scalar(select(func.count(Student.id))) == 60
    engine.dispose()


def test_cli_every_command_has_help() -> None:
    runner = CliRunner()
    top = runner.invoke(cli, ["--help"])
    for command in ("init-db", "import", "check", "export", "generate", "demo", "serve", "summary"):
        assert command in top.stdout
        result = runner.invoke(cli, [command, "--help"])
        assert result.exit_code == 0, command
        assert "Usage: " in result.stdout


def test_cli_init_db(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path}/new.db"
    assert "is ready" in _run(db, "init-db").stdout
    assert "was already up to date" in _run(db, "init-db").stdout


@pytest.mark.slow
def test_cli_demo_loads_sample_term(tmp_path: Path) -> None:
    """`wbl demo` as `make demo` runs it: the installed console script, fresh SQLite."""
    env = {**os.environ, "WBL_DATABASE_URL": f"sqlite:///{tmp_path}/demo.db"}
    wbl = Path(sys.executable).parent / "wbl"
    done = subprocess.run(
        [str(wbl), "demo"], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "Created term 'Spring 2027':" in done.stdout
    assert "400 students, 120 hosts, 250 opportunities" in done.stdout
    assert "approximated by ZIP-code centroid" in done.stdout
    for kind in ("job shadows", "internships", "micro-internships"):
        assert kind in done.stdout
    # The outcome a coordinator reads: placed, choices, travel, equity, unplaced, files.
    for line in (
        "Placed ",
        "Top-3 choice:",
        "Mean rank",
        "Travel: median",
        "placement rate by flag",
    ):
        assert line in done.stdout
    assert (tmp_path / "instance" / "demo-export" / "report.html").is_file()
    assert (tmp_path / "instance" / "demo-export" / "placements.csv").is_file()


def test_cli_rejected_import_keeps_geocode_cache(db_url: str, tmp_path: Path) -> None:
    """Addresses found while checking a rejected bundle are not looked up again next time,
    and an address that cannot be found is reported together with the other problems."""
    students = STUDENTS_CSV.replace(",walk,", ",skateboard,") + (
        "S4,Dee Voss,,East High,10,2011-05-05,,,somewhere over the rainbow,bike,,,,true,false,,\n"
    )
    result = _run(db_url, "import", str(write_tiny_bundle(tmp_path / "bad", students_csv=students)))
    assert result.exit_code == 2
    assert "students.csv:4: transport: must be one of" in result.stderr
    assert "students.csv:5: origin_address: cannot locate 'somewhere over the rainbow'" in (
        result.stderr
    )
    engine = make_engine(db_url)
    try:
        with transaction(engine) as session:
            assert session.scalar(select(func.count(Term.id))) == 0
            cached = session.scalars(select(GeocodeCache.query)).all()
    finally:
        engine.dispose()
    assert cached == ["3210 race st, denver, co 80205"]


def test_cli_check_reports_without_writing(db_url: str, tmp_path: Path) -> None:
    good = _run(db_url, "check", str(write_tiny_bundle(tmp_path / "good")))
    assert good.exit_code == 0, good.output
    assert "term 'Tiny Term' would import cleanly: 3 students, 2 hosts, 3 opportunities " in (
        good.stdout
    )
    assert "(4 slots), 4 preferences, 3 host reviews." in good.stdout
    bad = _run(db_url, "check", str(write_broken_bundle(tmp_path / "bad")))
    assert bad.exit_code == 2
    assert bad.stderr.startswith("The bundle would not import: 14 problem(s) in ")
    assert _term_count(db_url) == 0
