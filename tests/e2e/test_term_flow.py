"""The whole term in a real browser, in the order it happens (issue 4's acceptance story):
a coordinator uploads a bundle with an error and sees it at its line, then a good one; a host
posts a weekly internship; a student ranks three opportunities by keyboard and by drag; the
coordinator solves, watches the progress, pins a student and publishes; the host sees the
roster; the student accepts; the student's calendar feed parses with icalendar and holds the
right sessions. Screenshots of each main page go to tests/e2e/screenshots/."""

from __future__ import annotations

import io
import re
import time
import urllib.request
import zipfile
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import icalendar
import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.bundles import write_broken_bundle, write_tiny_bundle
from tests.e2e.conftest import LiveServer, screenshot
from wbl.models import Placement, PlacementStatus, Preference, Student

INTERNSHIP = "Dental Lab Internship"


def _zip(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return buffer.getvalue()


def _db(live: LiveServer) -> Any:
    from web.db import make_sessionmaker

    return make_sessionmaker(live.app.extensions["wbl_engine"])()


def _upload(page: Any, name: str, data: bytes) -> None:
    page.goto("/coordinator/upload")
    page.set_input_files("input[type=file]", files=[
        {"name": name, "mimeType": "application/zip", "buffer": data}
    ])  # fmt: skip
    page.get_by_role("button", name="Check and import").click()


def _ranked(live: LiveServer, code: str) -> list[str]:
    with _db(live) as session:
        student = session.scalars(select(Student).where(Student.code == code)).one()
        rows = session.scalars(
            select(Preference).where(Preference.student_id == student.id).order_by(Preference.rank)
        ).all()
        return [p.opportunity.title for p in rows]


def _wait_ranked(live: LiveServer, code: str, expected: list[str]) -> None:
    """Wait until the page's script has saved ``expected`` (it saves in the background)."""
    deadline = time.monotonic() + 15
    while _ranked(live, code) != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _ranked(live, code) == expected


@pytest.mark.slow
def test_term_flow_from_upload_to_calendar(
    page_as: Callable[..., Any], live: LiveServer, tmp_path: Path
) -> None:
    # 1. The coordinator uploads a bundle with mistakes: every problem at its file and line,
    #    nothing imported. Then the good bundle (the term again, updated in place).
    coordinator = page_as("coordinator")
    _upload(coordinator, "broken.zip", _zip(write_broken_bundle(tmp_path / "broken")))
    problems = coordinator.locator(".problems-box")
    assert "students.csv:3: student_id" in problems.inner_text()
    assert "preferences.csv" in problems.inner_text()
    screenshot(coordinator, "coordinator-upload-errors")
    _upload(coordinator, "tiny.zip", _zip(write_tiny_bundle(tmp_path / "good")))
    assert "Tiny Term" in coordinator.get_by_role("heading", level=1).inner_text()
    screenshot(coordinator, "coordinator-upload-done")

    # 2. Host A posts a weekly internship, previews its sessions, saves it.
    host = page_as("host_a", phone=True)
    host.goto("/host/opportunities/new")
    host.select_option("#kind", "internship")
    host.fill("#title", INTERNSHIP)
    host.fill("#career_cluster", "Health Science")
    host.fill("#capacity", "1")
    host.check("input[name=shape][value=weekly]")
    host.fill("#weekly_first", "2027-02-01")
    host.fill("#weekly_last", "2027-04-30")
    host.check("input[name=weekly_days][value='0']")  # Mon
    host.check("input[name=weekly_days][value='2']")  # Wed
    host.fill("#weekly_start", "09:00")
    host.fill("#weekly_end", "12:00")
    host.get_by_role("button", name="Preview sessions").click()
    preview = host.locator("#preview")
    assert "26 sessions, 78.0 hours" in preview.inner_text()
    screenshot(host, "host-new-opportunity-preview-phone")
    host.get_by_role("button", name="Save and post").click()
    host.goto("/host/")
    assert INTERNSHIP in host.locator("main").inner_text()
    screenshot(host, "host-opportunities-phone")

    # 3. Student B (Ben) ranks three: the new internship joins the two he ranked at import
    #    (tied at rank 1); he moves it to the top by keyboard and swaps the other two by drag.
    student = page_as("student_b")
    student.goto("/student/opportunities")
    screenshot(student, "student-opportunities")
    card = student.locator("li, article, tr").filter(has_text=INTERNSHIP).last
    card.get_by_role("button", name=re.compile("^Add")).click()
    student.goto("/student/ranking")
    first = _ranked(live, "S2")
    assert set(first[:2]) == {"Robotics Assembly Intern", "CAD Cleanup Project"}
    assert first[2:] == [INTERNSHIP]
    # Keyboard: two presses of its Move up button (the focus stays on the moved item).
    student.get_by_role("button", name=f"Move {INTERNSHIP} up").focus()
    student.keyboard.press("Enter")
    _wait_ranked(live, "S2", [first[0], INTERNSHIP, first[1]])
    student.keyboard.press("Enter")
    _wait_ranked(live, "S2", [INTERNSHIP, *first[:2]])
    expect(student.locator("#ranking-save-status")).to_have_attribute("data-state", "saved")
    # Drag: the third by its handle onto the second place.
    handle = student.locator("li.choice", has_text=first[1]).locator("[data-drag-handle]")
    target = student.locator("li.choice", has_text=first[0])
    handle.hover()
    student.mouse.down()
    box = target.bounding_box()
    student.mouse.move(box["x"] + 20, box["y"] + 5, steps=12)
    student.mouse.up()
    _wait_ranked(live, "S2", [INTERNSHIP, first[1], first[0]])
    student.reload()  # the saved order is what the page shows
    assert student.locator("li.choice .choice-title").all_inner_texts() == [
        INTERNSHIP, first[1], first[0],
    ]  # fmt: skip
    screenshot(student, "student-ranking")

    # 4. The coordinator solves and watches its progress, then pins Ben and publishes.
    coordinator.goto("/coordinator/")
    coordinator.get_by_role("link", name="Tiny Term").click()
    screenshot(coordinator, "coordinator-dashboard")
    coordinator.get_by_role("link", name="People and accounts", exact=True).click()
    screenshot(coordinator, "coordinator-people")
    coordinator.go_back()
    coordinator.get_by_role("link", name="Start a solve").first.click()
    coordinator.fill("#time_limit", "10")
    coordinator.get_by_role("button", name="Start the solve").click()
    assert "/runs/" in coordinator.url
    coordinator.get_by_role("link", name="Review the placements").wait_for(timeout=90_000)
    run = coordinator.locator("main").inner_text()
    assert "placed" in run and "Levels" in run and "students placed (priority-weighted)" in run
    screenshot(coordinator, "coordinator-run")
    coordinator.get_by_role("link", name="Review the placements").click()
    screenshot(coordinator, "coordinator-placements")
    row = coordinator.locator("tbody tr").filter(has_text="Ben Okafor").filter(has_text=INTERNSHIP)
    row.get_by_role("button", name=re.compile("^Pin")).click()
    row = coordinator.locator("tbody tr").filter(has_text="Ben Okafor").filter(has_text=INTERNSHIP)
    assert row.get_by_role("button", name=re.compile("^Unpin")).count() == 1
    coordinator.goto(coordinator.url.split("/placements")[0] + "/results")
    screenshot(coordinator, "coordinator-results")
    coordinator.get_by_role("link", name="Publish").first.click()
    coordinator.get_by_role("button", name=re.compile("^Publish ")).click()
    assert "published" in coordinator.locator("main").inner_text().lower()
    with _db(live) as session:
        statuses = {p.status for p in session.scalars(select(Placement))}
        ben = session.scalars(select(Placement).join(Student).where(Student.code == "S2")).all()
        assert statuses == {PlacementStatus.PUBLISHED}
        held = {(p.slot.opportunity.title, p.pinned) for p in ben}
        assert (INTERNSHIP, True) in held, held

    # 5. Host A sees Ben on the roster of the internship.
    host.goto("/host/roster")
    roster = host.locator("main").inner_text()
    assert "Ben Okafor" in roster and INTERNSHIP in roster
    screenshot(host, "host-roster-phone")
    host.goto("/host/calendar")
    host.get_by_role("button", name="Create my calendar link").click()
    assert host.locator("#feed-url").input_value().endswith(".ics")
    screenshot(host, "host-calendar-phone")

    # 6. Ben accepts the internship.
    student.goto("/student/")
    student.get_by_role("button", name=f"Accept {INTERNSHIP}").click()
    assert "Accepted." in student.locator("main").inner_text()
    screenshot(student, "student-placement")

    # 7. His calendar feed holds the internship's 26 sessions (Mon and Wed 09:00-12:00,
    #    local time, from 1 February to 28 April 2027).
    student.goto("/student/calendar")
    student.locator("#new-feed").click()
    url = student.locator("#feed-url").input_value()
    screenshot(student, "student-calendar")
    with urllib.request.urlopen(url, timeout=10) as answer:
        calendar = icalendar.Calendar.from_ical(answer.read())
    sessions = [e for e in calendar.walk("VEVENT") if str(e["SUMMARY"]).startswith(INTERNSHIP)]
    starts = sorted(e.decoded("DTSTART") for e in sessions)
    assert len(starts) == 26
    assert starts[0].isoformat() == "2027-02-01T09:00:00-07:00"
    assert starts[-1].isoformat() == "2027-04-28T09:00:00-06:00"  # after the DST change
    assert {s.strftime("%a %H:%M") for s in starts} == {"Mon 09:00", "Wed 09:00"}
    assert all(isinstance(s, datetime) and s.date() >= date(2027, 2, 1) for s in starts)
