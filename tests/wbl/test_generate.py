"""Tests for the seeded term-bundle generator and the committed sample term it produced."""

from __future__ import annotations

import csv
import re
import tomllib
from collections import Counter
from datetime import date
from pathlib import Path

import pytest
import zipcodes

from tests.conftest import SAMPLE_TERM
from wbl.bundle import read_bundle
from wbl.generate import (
    CLUSTERS,
    HOST_COLUMNS,
    OPPORTUNITY_COLUMNS,
    PREFERENCE_COLUMNS,
    REVIEW_COLUMNS,
    STUDENT_COLUMNS,
    GeneratedSummary,
    generate_bundle,
)
from wbl.schedule import parse_schedule, parse_windows

TERM_START = date(2027, 1, 25)
TERM_END = date(2027, 5, 28)
CSV_FILES = {
    "students.csv": STUDENT_COLUMNS,
    "hosts.csv": HOST_COLUMNS,
    "opportunities.csv": OPPORTUNITY_COLUMNS,
    "preferences.csv": PREFERENCE_COLUMNS,
    "host_reviews.csv": REVIEW_COLUMNS,
}
BOOLEAN_COLUMNS = {
    "students.csv": ("guardian_consent", "work_permit"),
    "hosts.csv": ("mentor_background_checked",),
    "opportunities.csv": ("requires_consent", "requires_work_permit", "hazardous", "remote"),
}


def _rows(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _files(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def bundle_400(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "term"
    generate_bundle(out, students=400, seed=2027, name="Spring 2027")
    return out


@pytest.fixture(scope="module")
def bundle_1000(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "term"
    generate_bundle(out, students=1000, seed=11)
    return out


def test_generate_bundle_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    generate_bundle(tmp_path / "a", students=150, seed=7)
    generate_bundle(tmp_path / "b", students=150, seed=7)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")


def test_generate_bundle_different_seed_gives_different_files(tmp_path: Path) -> None:
    generate_bundle(tmp_path / "a", students=150, seed=7)
    generate_bundle(tmp_path / "b", students=150, seed=8)
    a, b = _files(tmp_path / "a"), _files(tmp_path / "b")
    for name in ("students.csv", "hosts.csv", "opportunities.csv", "preferences.csv"):
        assert a[name] != b[name]


@pytest.mark.parametrize(("students", "hosts", "opportunities"), [(100, 30, 62), (400, 120, 250)])
def test_generate_bundle_counts_scale_with_students(
    tmp_path: Path, students: int, hosts: int, opportunities: int
) -> None:
    summary = generate_bundle(tmp_path, students=students, seed=3)
    prefs = _rows(tmp_path, "preferences.csv")
    assert summary == GeneratedSummary(students, hosts, opportunities, len(prefs), tmp_path)
    assert len(_rows(tmp_path, "students.csv")) == students
    assert len(_rows(tmp_path, "hosts.csv")) == hosts
    assert len(_rows(tmp_path, "opportunities.csv")) == opportunities


def test_generate_bundle_references_only_existing_ids(bundle_1000: Path) -> None:
    students = {r["student_id"] for r in _rows(bundle_1000, "students.csv")}
    hosts = {r["host_id"] for r in _rows(bundle_1000, "hosts.csv")}
    opps = _rows(bundle_1000, "opportunities.csv")
    opp_ids = {r["opportunity_id"] for r in opps}
    assert len(students) == 1000 and len(hosts) == 300 and len(opp_ids) == 625
    assert {r["host_id"] for r in opps} <= hosts
    for name in ("preferences.csv", "host_reviews.csv"):
        rows = _rows(bundle_1000, name)
        assert rows
        assert {r["student_id"] for r in rows} <= students
        assert {r["opportunity_id"] for r in rows} <= opp_ids
    pairs = {(r["student_id"], r["opportunity_id"]) for r in _rows(bundle_1000, "preferences.csv")}
    reviews = _rows(bundle_1000, "host_reviews.csv")
    assert {(r["student_id"], r["opportunity_id"]) for r in reviews} <= pairs


@pytest.mark.parametrize("students", [100, 400])
def test_generate_bundle_has_every_feature(tmp_path: Path, students: int) -> None:
    generate_bundle(tmp_path, students=students, seed=5)
    opps = _rows(tmp_path, "opportunities.csv")
    people = _rows(tmp_path, "students.csv")
    prefs = _rows(tmp_path, "preferences.csv")
    reviews = _rows(tmp_path, "host_reviews.csv")
    hosts = _rows(tmp_path, "hosts.csv")

    kinds = Counter(r["kind"] for r in opps)
    assert set(kinds) == {"job_shadow", "internship", "micro_internship"}
    assert kinds["job_shadow"] > kinds["internship"] > kinds["micro_internship"]
    assert len({r["career_cluster"] for r in opps}) >= 10
    assert {r["career_cluster"] for r in opps} <= set(CLUSTERS)
    calendars = [r["schedule"] for r in opps if r["schedule"].startswith("ics:")]
    assert 2 <= len(calendars) <= 4
    assert any(r["hazardous"] == "true" and r["min_age"] == "18" for r in opps)
    assert any(r["remote"] == "true" for r in opps)
    assert all((r["hours"] != "") == r["schedule"].endswith("flexible") for r in opps)

    groups: dict[str, list[dict[str, str]]] = {}
    for r in people:
        if r["group"]:
            groups.setdefault(r["group"], []).append(r)
    assert groups
    assert all(2 <= len(m) <= 3 and len({s["school"] for s in m}) == 1 for m in groups.values())
    windows = {r["available"] for r in people}
    assert "" in windows and len(windows) >= 5
    address_only = [r for r in people if not r["origin_lat"]]
    assert len(address_only) == 5
    for r in address_only:
        assert r["origin_lon"] == ""
        found = re.search(r"Denver, CO (802\d\d)$", r["origin_address"])
        assert found, r["origin_address"]
        assert zipcodes.matching(found.group(1))
    assert any(r["max_travel_min"] for r in people)
    assert {r["transport"] for r in people} == {"walk", "bike", "transit", "car"}

    ranked = {r["student_id"] for r in prefs}
    unranked = [r for r in people if r["student_id"] not in ranked]
    assert 0.04 * students <= len(unranked) <= 0.12 * students
    by_student: dict[str, list[int]] = {}
    for r in prefs:
        by_student.setdefault(r["student_id"], []).append(int(r["rank"]))
    assert any(len(set(ranks)) < len(ranks) for ranks in by_student.values())
    popularity = Counter(r["opportunity_id"] for r in prefs).most_common()
    assert popularity[0][1] >= 2 * (len(prefs) / len(opps))

    decisions = Counter(r["decision"] for r in reviews)
    assert decisions["veto"] >= 1 and decisions["accept"] >= 1
    assert all(r["rank"].isdigit() for r in reviews if r["decision"] == "accept")
    assert any(r["max_students"] == "" for r in hosts)
    assert any(r["mentor_background_checked"] == "false" for r in hosts)


def test_generate_bundle_schedules_lie_inside_the_term(bundle_1000: Path) -> None:
    for r in _rows(bundle_1000, "opportunities.csv"):
        schedule = r["schedule"]
        if schedule.startswith("ics:"):
            text = (bundle_1000 / schedule[4:]).read_text(encoding="utf-8")
            text = text[text.index("BEGIN:VEVENT") :]  # the VTIMEZONE's rules start in 2007
            days = re.findall(r"(?:DTSTART|DTEND|EXDATE)[^:]*:(\d{8})", text)
            days += re.findall(r"UNTIL=(\d{8})", text)
            found = [date(int(d[:4]), int(d[4:6]), int(d[6:])) for d in days]
        else:
            found = [date.fromisoformat(d) for d in re.findall(r"\d{4}-\d\d-\d\d", schedule)]
        assert found, schedule
        # UNTIL is in UTC: the end of the last local day may be the next UTC day.
        assert all(TERM_START <= d <= TERM_END for d in found), schedule


def test_generate_bundle_writes_plain_csv_and_toml(bundle_400: Path) -> None:
    for name, columns in CSV_FILES.items():
        raw = (bundle_400 / name).read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf")
        assert b"\r" not in raw
        assert raw.decode("utf-8").split("\n", 1)[0] == ",".join(columns)
        rows = _rows(bundle_400, name)
        for column in BOOLEAN_COLUMNS.get(name, ()):
            assert {r[column] for r in rows} <= {"true", "false"}, (name, column)
    for r in _rows(bundle_400, "students.csv"):
        assert r["email"].endswith("@students.example.org")
        if r["origin_lat"]:
            assert re.fullmatch(r"\d+\.\d{6}", r["origin_lat"])
            assert 39.6 <= float(r["origin_lat"]) <= 39.85
            assert -105.1 <= float(r["origin_lon"]) <= -104.7
    for r in _rows(bundle_400, "hosts.csv"):
        assert 39.6 <= float(r["lat"]) <= 39.85 and -105.1 <= float(r["lon"]) <= -104.7
    term = tomllib.loads((bundle_400 / "term.toml").read_text(encoding="utf-8"))
    assert term["name"] == "Spring 2027"
    assert (term["start"], term["end"]) == (TERM_START, TERM_END)
    assert term["timezone"] == "America/Denver"
    assert term["rules"]["seed"] == 2027 and term["rules"]["mode"] == "welfare"


def test_generate_bundle_birth_dates_match_grades(bundle_1000: Path) -> None:
    for r in _rows(bundle_1000, "students.csv"):
        born = date.fromisoformat(r["birth_date"])
        age = TERM_START.year - born.year - ((born.month, born.day) > (1, 25))
        assert int(r["grade"]) + 4 <= age <= int(r["grade"]) + 7, r
        if r["transport"] == "car":
            assert age >= 16


def test_generate_bundle_calendars_are_crlf_with_timezone(bundle_400: Path) -> None:
    files = sorted((bundle_400 / "calendars").glob("*.ics"))
    assert 2 <= len(files) <= 4
    for path in files:
        raw = path.read_bytes()
        assert raw.startswith(b"BEGIN:VCALENDAR\r\n") and raw.endswith(b"END:VCALENDAR\r\n")
        assert b"\n" not in raw.replace(b"\r\n", b"")
        assert b"BEGIN:VTIMEZONE\r\nTZID:America/Denver" in raw
        assert b"RRULE:FREQ=WEEKLY" in raw and b"EXDATE;TZID=America/Denver:202703" in raw


@pytest.mark.parametrize("students", [1, 5, 20])
def test_generate_bundle_tiny_sizes_give_a_valid_bundle(tmp_path: Path, students: int) -> None:
    summary = generate_bundle(tmp_path, students=students, seed=1)
    bundle = read_bundle(tmp_path)
    assert len(bundle.students) == summary.students == students
    assert len(bundle.opportunities) == summary.opportunities >= 1


def test_generate_bundle_no_students_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        generate_bundle(tmp_path, students=0)


def test_generate_bundle_schedules_and_windows_parse(bundle_1000: Path) -> None:
    def read_calendar(relative: str) -> bytes:
        return (bundle_1000 / relative).read_bytes()

    for r in _rows(bundle_1000, "opportunities.csv"):
        plans = parse_schedule(
            r["schedule"],
            tz="America/Denver",
            term_start=TERM_START,
            term_end=TERM_END,
            hours=float(r["hours"]) if r["hours"] else None,
            read_calendar=read_calendar,
        )
        assert plans, r["schedule"]
        for plan in plans:
            assert TERM_START <= plan.span_start <= plan.span_end <= TERM_END
    for available in sorted({r["available"] for r in _rows(bundle_1000, "students.csv")}):
        assert parse_windows(available)


def test_sample_term_matches_a_fresh_generation(bundle_400: Path) -> None:
    # The committed sample is generator output; regenerate it rather than editing it by hand.
    assert _files(SAMPLE_TERM) == _files(bundle_400)


def test_sample_term_has_the_documented_size_and_imports() -> None:
    bundle = read_bundle(SAMPLE_TERM)
    assert (len(bundle.students), len(bundle.hosts), len(bundle.opportunities)) == (400, 120, 250)
    assert bundle.term.name == "Spring 2027"
