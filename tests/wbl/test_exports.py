"""Exporting a term's outcome: rosters, calendars and the report, written whole or not at all."""

from __future__ import annotations

import csv
import os
import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
from sqlalchemy.orm import Session

from tests.wbl.test_outcome import SCRIPT_NAME, import_tiny_term, solved_term
from wbl.report import render_report
from wbl.services import exports
from wbl.services.exports import export_outcome
from wbl.services.outcome import compute_outcome, map_points

DENVER = ZoneInfo("America/Denver")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _calendar(path: Path) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(path.read_bytes())


def _events(path: Path) -> list[icalendar.Event]:
    return list(_calendar(path).walk("VEVENT"))


def _local(event: icalendar.Event, prop: str) -> datetime:
    value = event[prop]
    assert value.params["TZID"] == "America/Denver"
    moment = value.dt
    assert isinstance(moment, datetime) and moment.utcoffset() is not None
    return moment.astimezone(DENVER)


def test_export_outcome_writes_the_rosters(session: Session, tmp_path: Path) -> None:
    solved = solved_term(session, tmp_path / "bundle")
    out = tmp_path / "out"
    written = export_outcome(session, solved.term, out)

    assert {p.relative_to(out).as_posix() for p in written} == {
        "placements.csv", "unplaced.csv", "report.html",
        "calendars/students/S1.ics", "calendars/students/S2.ics",
        "calendars/students/S3.ics", "calendars/students/S4.ics",
        "calendars/hosts/H1.ics", "calendars/hosts/H2.ics",
    }  # fmt: skip
    assert (out / "placements.csv").read_text(encoding="utf-8") == (
        "student_id,opportunity_id,host_id,kind,slot_start,rank,travel_min,pinned\n"
        "S1,O2,H2,internship,2027-02-02T13:30:00-07:00,2,22.5,true\n"
        "S1,O1,H1,job_shadow,2027-02-10T09:00:00-07:00,1,31.3,false\n"
        # The flexible micro-internship starts at 00:00 on its first day.
        "S2,O3,H2,micro_internship,2027-02-01T00:00:00-07:00,1,0.0,false\n"
        # After the clocks went forward on 2027-03-14: Mountain Daylight Time.
        "S2,O4,H1,job_shadow,2027-03-18T09:00:00-06:00,,12.0,false\n"
    )
    assert _rows(out / "unplaced.csv") == [
        {
            "student_id": "S3",
            "reason": "no_reachable",
            "detail": "too far: O1 is 52 min away on foot (limit 45)",
        },
        {"student_id": "S4", "reason": "filled", "detail": "O1 filled by S1 (higher rank)"},
    ]
    placed = {row["student_id"] for row in _rows(out / "placements.csv")}
    unplaced = [row["student_id"] for row in _rows(out / "unplaced.csv")]
    # Every student is in exactly one of the two files.
    assert placed.isdisjoint(unplaced) and len(unplaced) == len(set(unplaced))
    assert placed | set(unplaced) == set(solved.students)


def test_export_outcome_is_deterministic(session: Session, tmp_path: Path) -> None:
    solved = solved_term(session, tmp_path / "bundle")
    first = [p.read_bytes() for p in export_outcome(session, solved.term, tmp_path / "a")]
    second = [p.read_bytes() for p in export_outcome(session, solved.term, tmp_path / "b")]
    assert first == second


def test_export_outcome_student_calendar_holds_every_session_in_local_time(
    session: Session, tmp_path: Path
) -> None:
    solved = solved_term(session, tmp_path / "bundle")
    out = tmp_path / "out"
    export_outcome(session, solved.term, out)

    calendar = _calendar(out / "calendars/students/S1.ics")
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["America/Denver"]
    events = list(calendar.walk("VEVENT"))
    # The internship's 26 Tuesday and Thursday sessions and the one dental shadow.
    assert len(events) == 27
    assert len({str(e["UID"]) for e in events}) == 27
    internship = [e for e in events if str(e["SUMMARY"]).startswith("Robotics")]
    assert len(internship) == 26
    starts = [_local(e, "DTSTART") for e in internship]
    assert starts[0] == datetime(2027, 2, 2, 13, 30, tzinfo=DENVER)
    assert starts[-1] == datetime(2027, 4, 29, 13, 30, tzinfo=DENVER)
    assert all((s.hour, s.minute, s.weekday()) in {(13, 30, 1), (13, 30, 3)} for s in starts)
    assert all(_local(e, "DTEND").hour == 16 for e in internship)
    # Still 13:30 on the wall either side of the clock change, an hour apart in UTC.
    by_day = {s.date(): s for s in starts}
    assert by_day[date(2027, 3, 11)].astimezone(UTC).hour == 20
    assert by_day[date(2027, 3, 16)].astimezone(UTC).hour == 19
    first = internship[0]
    assert str(first["SUMMARY"]) == "Robotics Assembly Intern at Front Range Robotics, Inc."
    # H2 has no street address in the bundle: the host's name stands in.
    assert str(first["LOCATION"]) == "Front Range Robotics, Inc."
    assert str(first["STATUS"]) == "CONFIRMED"

    (shadow,) = [e for e in events if str(e["SUMMARY"]).startswith("Dental")]
    assert str(shadow["SUMMARY"]) == "Dental Office Shadow at Platte River Dental Group"
    assert str(shadow["LOCATION"]) == "1701 Wynkoop St, Denver, CO 80202"
    assert _local(shadow, "DTSTART") == datetime(2027, 2, 10, 9, 0, tzinfo=DENVER)
    assert _local(shadow, "DTEND") == datetime(2027, 2, 10, 12, 0, tzinfo=DENVER)
    assert str(shadow["STATUS"]) == "TENTATIVE"  # proposed, not yet published


def test_export_outcome_flexible_and_remote_placements(session: Session, tmp_path: Path) -> None:
    solved = solved_term(session, tmp_path / "bundle")
    out = tmp_path / "out"
    export_outcome(session, solved.term, out)

    micro, shadow = _events(out / "calendars/students/S2.ics")
    # A flexible slot is one all-day event over its span; DTEND is the day after it ends.
    assert micro["DTSTART"].dt == date(2027, 2, 1)
    assert micro["DTEND"].dt == date(2027, 3, 16)
    assert "LOCATION" not in micro  # remote
    assert "Remote." in str(micro["DESCRIPTION"])
    assert _local(shadow, "DTSTART") == datetime(2027, 3, 18, 9, 0, tzinfo=DENVER)
    assert shadow["DTSTART"].dt.utcoffset().total_seconds() == -6 * 3600

    # Unplaced students still get a (valid, empty) calendar to subscribe to.
    assert _events(out / "calendars/students/S3.ics") == []
    assert _calendar(out / "calendars/students/S4.ics").walk("VTIMEZONE")


def test_export_outcome_host_calendar_names_each_student(session: Session, tmp_path: Path) -> None:
    solved = solved_term(session, tmp_path / "bundle")
    out = tmp_path / "out"
    export_outcome(session, solved.term, out)

    dental = _events(out / "calendars/hosts/H1.ics")
    assert [(str(e["SUMMARY"]), _local(e, "DTSTART")) for e in dental] == [
        ("Dental Office Shadow: Ana Ruiz", datetime(2027, 2, 10, 9, 0, tzinfo=DENVER)),
        ("Front Desk Shadow: Ben Okafor", datetime(2027, 3, 18, 9, 0, tzinfo=DENVER)),
    ]
    robotics = _events(out / "calendars/hosts/H2.ics")
    assert len(robotics) == 26 + 1
    # The declined shadow of S3 appears nowhere.
    student_uids = {
        str(e["UID"]) for p in (out / "calendars/students").iterdir() for e in _events(p)
    }
    host_uids = {str(e["UID"]) for p in (out / "calendars/hosts").iterdir() for e in _events(p)}
    assert len(student_uids) == len(host_uids) == 29
    assert student_uids.isdisjoint(host_uids)


def test_export_outcome_report_shows_headline_and_escapes_names(
    session: Session, tmp_path: Path
) -> None:
    solved = solved_term(session, tmp_path / "bundle")
    out = tmp_path / "out"
    export_outcome(session, solved.term, out)
    html = (out / "report.html").read_text(encoding="utf-8")

    assert "<title>Placement outcome: Tiny Term</title>" in html
    assert "2 of 4" in html and "50.0%" in html
    assert "Top-3 choice" in html and "100.0%" in html
    assert "median 22 min" in html and "p90 31 min" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert SCRIPT_NAME not in html and "<script" not in html.lower()
    # Self-contained: nothing fetched from elsewhere.
    assert not re.search(r"\b(src|href)=", html)
    assert "https://" not in html
    for chart in ("rank", "travel", "flags", "map"):
        assert f'aria-labelledby="{chart}-t {chart}-d"' in html
    assert "no_reachable" in html and "Robotics Assembly Intern" in html
    assert "Blocking pairs" in html and "Students moved" in html


@pytest.mark.parametrize("failing_move", [1, 5, 9])
def test_export_outcome_failure_leaves_no_partial_files(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing_move: int
) -> None:
    solved = solved_term(session, tmp_path / "bundle")
    out = tmp_path / "out"
    out.mkdir()
    (out / "placements.csv").write_text("from last week\n", encoding="utf-8")
    (out / "notes.txt").write_text("mine\n", encoding="utf-8")
    real_replace = os.replace
    calls = 0

    def replace(src: Any, dst: Any) -> None:
        nonlocal calls
        # Count only moves of new files into the folder, the step being tested.
        if "/new/" in Path(src).as_posix():
            calls += 1
            if calls == failing_move:
                raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(exports.os, "replace", replace)
    with pytest.raises(OSError, match="No space left"):
        export_outcome(session, solved.term, out)

    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == [
        "notes.txt",
        "placements.csv",
    ]
    assert (out / "placements.csv").read_text(encoding="utf-8") == "from last week\n"


def test_export_outcome_failure_while_rendering_writes_nothing(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    solved = solved_term(session, tmp_path / "bundle")

    def broken(*_: object) -> str:
        raise RuntimeError("template exploded")

    monkeypatch.setattr(exports, "render_report", broken)
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        export_outcome(session, solved.term, out)
    assert not out.exists() or list(out.iterdir()) == []


def test_format_tenths_rounds_halves_up() -> None:
    assert [exports.format_tenths(v) for v in (31.25, 22.46, 0.0, 12.04, 7, 0.05)] == [
        "31.3", "22.5", "0.0", "12.0", "7.0", "0.1",
    ]  # fmt: skip


def test_calendar_name_escapes_path_characters() -> None:
    assert exports.calendar_name("S1") == "S1.ics"
    assert exports.calendar_name("../a b/c") == "..%2Fa%20b%2Fc.ics"


def test_render_report_before_any_solve(session: Session, tmp_path: Path) -> None:
    term = import_tiny_term(session, tmp_path)
    html = render_report(compute_outcome(session, term), map_points(session, term))
    assert "No solve has run for this term yet." in html
    assert "0 of 4" in html
    assert html.count("<td>not_solved</td><td>no solve has run for this term yet</td>") == 4


def test_render_report_map_marks_unplaced_and_sizes_hosts(session: Session, tmp_path: Path) -> None:
    solved = solved_term(session, tmp_path)
    html = render_report(compute_outcome(session, solved.term), map_points(session, solved.term))
    map_svg = html[html.index('aria-labelledby="map-t map-d"') :]
    map_svg = map_svg[: map_svg.index("</svg>")]
    assert map_svg.count("l3 5.5h-6z") == 2  # one triangle per unplaced student
    assert map_svg.count('r="2.2"') == 2  # one dot per placed student
    assert "<title>H1 Platte River Dental Group: 2 placements</title>" in map_svg
    assert re.search(r"<text[^>]*>\d+(\.\d+)? k?m</text>", map_svg)  # a scale bar
    # Homes appear as pixel positions only, never as coordinates.
    assert "39.7508" not in html and "104.9966" not in html
