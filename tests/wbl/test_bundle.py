"""Reading and writing term bundles as files: validation reports every problem, located."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.bundles import (
    HOSTS_CSV,
    OPPORTUNITIES_CSV,
    PREFERENCES_CSV,
    STUDENTS_CSV,
    TERM_TOML,
    write_broken_bundle,
    write_tiny_bundle,
)
from wbl.bundle import BundleError, bundle_files, check_bundle, read_bundle, write_bundle


def _problems(folder: Path) -> list[str]:
    with pytest.raises(BundleError) as caught:
        read_bundle(folder)
    return [str(p) for p in caught.value.problems]


def test_read_bundle_tiny_bundle_reads_every_row(tmp_path: Path) -> None:
    bundle = read_bundle(write_tiny_bundle(tmp_path))
    assert bundle.term.name == "Tiny Term"
    assert bundle.term.rules.max_travel_min == 45
    assert bundle.term.rules.priority == {"first_gen": 3}
    assert bundle.term.rules.max_internships == 1  # default kept
    assert [s.code for s in bundle.students] == ["S1", "S2", "S3"]
    assert bundle.students[0].flags == ("first_gen", "low_income")
    assert bundle.students[2].origin_lat is None  # address only: located on import
    assert bundle.hosts[1].name == "Front Range Robotics, Inc."
    assert bundle.hosts[1].max_students is None
    assert len(bundle.slots["O1"]) == 2  # two dated sessions, two slots
    assert len(bundle.slots["O2"]) == 1
    assert len(bundle.slots["O2"][0].sessions) == 26  # Tue/Thu, 2027-02-01 to 04-30
    assert bundle.slots["O3"][0].flexible
    assert [r.decision for r in bundle.reviews] == ["accept", "accept", "veto"]


def test_read_bundle_booleans_accept_yes_no_any_case(tmp_path: Path) -> None:
    hosts = HOSTS_CSV.replace(",3,true", ",3,YES").replace(",,false", ",,No")
    bundle = read_bundle(write_tiny_bundle(tmp_path, hosts_csv=hosts))
    assert [h.mentor_background_checked for h in bundle.hosts] == [True, False]


def test_read_bundle_term_dates_as_quoted_strings(tmp_path: Path) -> None:
    toml = TERM_TOML.replace("start = 2027-01-25", 'start = "2027-01-25"')
    assert read_bundle(write_tiny_bundle(tmp_path, term_toml=toml)).term.start == date(2027, 1, 25)


def test_read_bundle_host_reviews_optional(tmp_path: Path) -> None:
    assert read_bundle(write_tiny_bundle(tmp_path, host_reviews_csv=None)).reviews == []


def test_read_bundle_every_problem_in_one_run(tmp_path: Path) -> None:
    """One of each error the issue lists, all reported together with file, line and column."""
    folder = write_broken_bundle(tmp_path)
    problems = _problems(folder)
    assert problems == [
        "term.toml:12: not valid UTF-8 (byte 0xe9 at character 6); save the file as UTF-8",
        "students.csv:1: file starts with a byte-order mark (BOM); save it as UTF-8 without BOM "
        "(in Excel: 'CSV (Comma delimited)', not 'CSV UTF-8')",
        "students.csv:2: birth_date: must be a date as YYYY-MM-DD, got '2010-02-30'",
        "students.csv:3: origin_lat: must be a latitude between -90 and 90, got '97.5'",
        "students.csv:3: student_id: duplicate id 'S1' (first on line 2)",
        "students.csv:3: transport: must be one of walk, bike, transit, car; got 'hovercraft'",
        "hosts.csv:1: name: required column is missing from the header",
        "hosts.csv:1: title: unknown column; expected columns: host_id, name, career_cluster, "
        "lat, lon, address, max_students, mentor_background_checked",
        'opportunities.csv:2: schedule: session every other Tuesday: bad date "every" '
        "(expected YYYY-MM-DD)",
        "opportunities.csv:4: kind: must be one of job_shadow, internship, micro_internship; "
        "got 'apprenticeship'",
        "preferences.csv:3: rank: must be a positive whole number (1 is best), got '0'",
        # S2's row became a second S1, so S2 is unknown where it is referred to.
        "preferences.csv:4: student_id: unknown student 'S2' (not in students.csv)",
        "preferences.csv:5: student_id: unknown student 'S9' (not in students.csv)",
        "host_reviews.csv:3: student_id: unknown student 'S2' (not in students.csv)",
    ]
    # The broken hosts.csv header is reported once, not echoed as unknown hosts H1 and H2.
    assert not any("unknown host" in p for p in problems)


def test_read_bundle_missing_files_and_folder(tmp_path: Path) -> None:
    problems = _problems(write_tiny_bundle(tmp_path, students_csv=None, term_toml=None))
    assert "term.toml: file is missing from the bundle" in problems
    assert "students.csv: file is missing from the bundle" in problems
    assert _problems(tmp_path / "nope") == [f"{tmp_path / 'nope'}: is not a folder"]


def test_read_bundle_term_toml_problems_point_at_lines(tmp_path: Path) -> None:
    toml = (
        TERM_TOML.replace('"America/Denver"', '"Mars/Olympus"')
        .replace("end = 2027-05-28", "end = 2027-01-01")
        .replace("seed = 7", 'seed = "seven"\nmax_interns = 2')
    )
    problems = _problems(write_tiny_bundle(tmp_path, term_toml=toml))
    assert "term.toml:3: end: 2027-01-01 is before the start 2027-01-25" in problems
    assert any(
        p.startswith("term.toml:4: timezone: unknown time zone 'Mars/Olympus'") for p in problems
    )
    assert "term.toml:8: rules.seed: must be a whole number, got 'seven'" in problems
    assert any(p.startswith("term.toml:9: rules.max_interns: unknown rule") for p in problems)


def test_read_bundle_toml_syntax_error_names_line(tmp_path: Path) -> None:
    problems = _problems(write_tiny_bundle(tmp_path, term_toml=TERM_TOML + "oops = [\n"))
    assert problems[0].startswith("term.toml:12: not valid TOML")


def test_read_bundle_session_outside_term_is_an_error(tmp_path: Path) -> None:
    opportunities = OPPORTUNITIES_CSV.replace("2027-02-17 09:00-12:00", "2027-06-02 09:00-12:00")
    problems = _problems(write_tiny_bundle(tmp_path, opportunities_csv=opportunities))
    assert len(problems) == 1
    assert problems[0].startswith("opportunities.csv:2: schedule: ")
    assert "2027-06-02" in problems[0]


def test_read_bundle_duplicate_preference_and_half_coordinates(tmp_path: Path) -> None:
    students = STUDENTS_CSV.replace("39.7392,-104.9903", "39.7392,")
    preferences = PREFERENCES_CSV + "S1,O1,3\n"
    problems = _problems(
        write_tiny_bundle(tmp_path, students_csv=students, preferences_csv=preferences)
    )
    assert any(
        p.startswith("students.csv:3: origin_lon: is blank while origin_lat") for p in problems
    )
    assert "preferences.csv:6: opportunity_id: duplicate id 'S1/O1' (first on line 2)" in problems


def test_read_bundle_ics_calendar_must_stay_inside_bundle(tmp_path: Path) -> None:
    (tmp_path / "secret.ics").write_text("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    opportunities = OPPORTUNITIES_CSV.replace(
        "2027-02-10 09:00-12:00;2027-02-17 09:00-12:00", "ics:../secret.ics"
    )
    problems = _problems(write_tiny_bundle(tmp_path / "b", opportunities_csv=opportunities))
    assert len(problems) == 1 and "not found" in problems[0]


def test_write_bundle_round_trips_files(tmp_path: Path) -> None:
    bundle = read_bundle(write_tiny_bundle(tmp_path / "in"))
    write_bundle(bundle, tmp_path / "out")
    again = read_bundle(tmp_path / "out")
    assert again == bundle
    assert bundle_files(again) == bundle_files(bundle)
    assert not list((tmp_path / "out").glob(".wbl-export-*"))  # staging folder cleaned up


_FILES = ["term.toml", "students.csv", "hosts.csv", "opportunities.csv", "preferences.csv",
          "host_reviews.csv"]  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    target=st.sampled_from(_FILES),
    garbage=st.one_of(
        st.binary(max_size=300),
        st.text(max_size=300),
        st.lists(st.text(alphabet=',"\n;:-|0123456789abcTS ', max_size=40), max_size=8).map(
            "\n".join
        ),
    ),
    keep_header=st.booleans(),
)
def test_check_bundle_garbage_never_crashes(
    target: str, garbage: object, keep_header: bool
) -> None:
    """Whatever a file holds, the reader answers with located problems, never a traceback."""
    with tempfile.TemporaryDirectory() as tmp:
        original = {"term.toml": TERM_TOML, "students.csv": STUDENTS_CSV,
                    "hosts.csv": HOSTS_CSV, "opportunities.csv": OPPORTUNITIES_CSV,
                    "preferences.csv": PREFERENCES_CSV}.get(target, "")  # fmt: skip
        data = garbage if isinstance(garbage, bytes) else str(garbage).encode()
        if keep_header and target.endswith(".csv") and original:
            data = original.splitlines(keepends=True)[0].encode() + data
        folder = write_tiny_bundle(Path(tmp), **{target.replace(".", "_"): data})
        bundle, problems = check_bundle(folder)
        for problem in problems:
            assert problem.file in _FILES or problem.file.startswith("calendars/")
            assert problem.message and "Traceback" not in problem.message
        if not problems:
            assert bundle.term.name  # a clean bundle is a usable one
