"""Host pages: posting opportunities with the schedule builder, editing without losing
students, closing, the roster with accept and decline, and the calendar link."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from html import unescape
from typing import Any

import icalendar
import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from tests.web.conftest import Ids, csrf_of
from wbl.models import (
    Decision,
    HostReview,
    Kind,
    Opportunity,
    Party,
    Placement,
    PlacementStatus,
    Slot,
    User,
)
from wbl.models import Session as SlotSession
from wbl.schedule import parse_schedule

Client = Callable[[str], FlaskClient]

WEEKLY = {
    "kind": "internship",
    "title": "Front Desk Intern",
    "career_cluster": "Health Science",
    "capacity": "2",
    "min_age": "16",
    "min_grade": "",
    "requires_consent": "y",
    "shape": "weekly",
    "weekly_first": "2027-02-01",
    "weekly_last": "2027-02-28",
    "weekly_days": ["1", "3"],  # Tue, Thu
    "weekly_start": "15:00",
    "weekly_end": "17:00",
}
DATED = {
    "kind": "job_shadow",
    "title": "Hygienist Shadow",
    "capacity": "1",
    "shape": "dated",
    "sessions-0-day": "2027-03-03",
    "sessions-0-start": "09:00",
    "sessions-0-end": "11:30",
    "sessions-1-day": "2027-03-10",
    "sessions-1-start": "13:00",
    "sessions-1-end": "15:00",
    "sessions-2-day": "",
    "sessions-2-start": "",
    "sessions-2-end": "",
}
FLEXIBLE = {
    "kind": "micro_internship",
    "title": "Patient Survey Summary",
    "capacity": "3",
    "remote": "y",
    "shape": "flexible",
    "flexible_first": "2027-02-01",
    "flexible_last": "2027-03-14",
    "hours": "12",
}


def _db(app: Flask) -> Any:
    from web.db import db

    return db()


def _opportunity(app: Flask, code: str) -> Opportunity:
    return _db(app).scalars(select(Opportunity).where(Opportunity.code == code)).one()


def _post(client: FlaskClient, url: str, data: dict[str, Any], page: str | None = None) -> Any:
    """POST ``data`` with the CSRF token of the page at ``page`` (default: ``url``)."""
    token = csrf_of(client.get(page or url).text)
    return client.post(url, data={**data, "csrf_token": token})


def _counts(app: Flask) -> tuple[int, int, int]:
    with app.app_context():
        s = _db(app)
        return (
            s.scalar(select(func.count()).select_from(Opportunity)),
            s.scalar(select(func.count()).select_from(Slot)),
            s.scalar(select(func.count()).select_from(SlotSession)),
        )


def _place(
    app: Flask, ids: Ids, student: str, opportunity: str, status: PlacementStatus, slot: int = 0
) -> int:
    with app.app_context():
        s = _db(app)
        target = _opportunity(app, opportunity).slots[slot]
        placement = Placement(
            term_id=ids.term,
            student_id=ids.students[student],
            slot_id=target.id,
            status=status,
            travel_min=17.4,
        )
        s.add(placement)
        s.commit()
        return placement.id


def _placement(app: Flask, placement_id: int) -> Placement | None:
    with app.app_context():
        return _db(app).get(Placement, placement_id)


def _error_at(page: str, field_id: str) -> str:
    """The error text shown at the field ``field_id`` (asserting the input is marked)."""
    match = re.search(rf'<p class="error" id="{re.escape(field_id)}-error">([^<]*)</p>', page)
    assert match, f"no error at {field_id}"
    inputs = re.findall(rf'<input[^>]*id="{re.escape(field_id)}"[^>]*>', page)
    assert all('aria-invalid="true"' in i for i in inputs), f"{field_id} not marked invalid"
    return unescape(match.group(1))


def _schedule_error(page: str) -> str:
    match = re.search(r'<div class="has-error" id="schedule-error"[^>]*>(.*?)</div>', page, re.S)
    assert match, "no schedule error"
    return unescape(re.sub(r"<[^>]+>", " ", match.group(1)))


# --- posting ----------------------------------------------------------------------------------


def test_host_posts_weekly_internship_with_its_slot_and_sessions(
    app: Flask, client_as: Client
) -> None:
    client = client_as("host_a")
    answer = _post(client, "/host/opportunities/new", WEEKLY)
    assert answer.status_code == 302
    with app.app_context():
        opp = _opportunity(app, "H1-1")
        assert opp.kind is Kind.INTERNSHIP and opp.capacity == 2 and opp.min_age == 16
        assert opp.requires_consent and not opp.closed and opp.host.code == "H1"
        assert opp.schedule == "2027-02-01/2027-02-28 Tue,Thu 15:00-17:00"
        (slot,) = opp.slots
        starts = [s.start for s in slot.sessions]
        # Tuesdays and Thursdays of February 2027, 15:00-17:00 Denver time (UTC-7).
        assert [d.day for d in starts] == [2, 4, 9, 11, 16, 18, 23, 25]
        assert starts[0] == datetime(2027, 2, 2, 22, 0, tzinfo=UTC)
        assert all((s.end - s.start).total_seconds() == 7200 for s in slot.sessions)
        assert slot.total_hours == 16 and slot.weekly_hours == 4
        # The same slot the import makes from the same schedule text.
        (plan,) = parse_schedule(
            opp.schedule, tz="America/Denver", term_start=opp.term.start, term_end=opp.term.end
        )
        assert (slot.label, slot.span_start, slot.span_end) == (
            plan.label,
            plan.span_start,
            plan.span_end,
        )
        assert [(s.start, s.end) for s in slot.sessions] == list(plan.sessions)
    page = client.get(answer.location)
    assert "Front Desk Intern is posted: 1 slot(s)" in page.text
    assert "Tue 2 Feb 2027, 15:00–17:00" in page.text
    assert "Front Desk Intern" in client.get("/host/").text


def test_host_posts_dated_sessions_as_one_slot_each(app: Flask, client_as: Client) -> None:
    client = client_as("host_a")
    assert _post(client, "/host/opportunities/new", DATED).status_code == 302
    assert _post(client, "/host/opportunities/new", DATED).status_code == 302
    with app.app_context():
        opp = _opportunity(app, "H1-2")  # a second post gets the next code
        assert [s.label for s in opp.slots] == ["2027-03-03 09:00-11:30", "2027-03-10 13:00-15:00"]
        assert [len(s.sessions) for s in opp.slots] == [1, 1]
        assert opp.slots[0].total_hours == 2.5


def test_host_posts_flexible_micro_internship(app: Flask, client_as: Client) -> None:
    assert _post(client_as("host_b"), "/host/opportunities/new", FLEXIBLE).status_code == 302
    with app.app_context():
        opp = _opportunity(app, "H2-1")
        assert opp.remote and opp.hours == 12 and opp.kind is Kind.MICRO_INTERNSHIP
        (slot,) = opp.slots
        assert slot.flexible and slot.sessions == [] and slot.total_hours == 12
        assert (slot.span_start.isoformat(), slot.span_end.isoformat()) == (
            "2027-02-01",
            "2027-03-14",
        )
        assert slot.weekly_hours == 2  # 12 hours over the 6 ISO weeks the span touches


def test_host_preview_shows_sessions_and_writes_nothing(app: Flask, client_as: Client) -> None:
    before = _counts(app)
    page = _post(client_as("host_a"), "/host/opportunities/new", {**WEEKLY, "action": "preview"})
    assert page.status_code == 200
    assert "Preview: 1 slot" in page.text
    sessions = re.findall(r"<li>((?:Tue|Thu) \d+ Feb 2027, 15:00–17:00)</li>", page.text)
    assert len(sessions) == 8 and sessions[0] == "Tue 2 Feb 2027" + ", 15:00–17:00"
    assert "16.0 hours in all, at most 4.0 in one week" in page.text
    assert _counts(app) == before
    # The form comes back filled in, ready to save.
    assert 'value="Front Desk Intern"' in page.text
    assert re.search(
        r'<input[^>]*checked[^>]*value="3"|<input[^>]*value="3"[^>]*checked', page.text
    )


def test_host_preview_of_dated_sessions_lists_each_slot(app: Flask, client_as: Client) -> None:
    page = _post(client_as("host_a"), "/host/opportunities/new", {**DATED, "action": "preview"})
    assert page.status_code == 200
    assert "Preview: 2 slots" in page.text
    assert "Slot 1: 2027-03-03 09:00-11:30" in page.text
    assert "Wed 10 Mar 2027, 13:00–15:00" in page.text
    # Without script, more rows come from a round trip: two empty ones are always there.
    assert 'name="sessions-3-day"' in page.text and 'name="sessions-4-day"' not in page.text


def test_host_new_page_says_where_and_when(client_as: Client) -> None:
    page = client_as("host_a").get("/host/opportunities/new")
    assert page.status_code == 200
    assert "1701 Wynkoop St, Denver, CO 80202" in page.text
    assert "Mon 25 Jan 2027 to Fri 28 May 2027" in page.text
    assert page.text.count('name="sessions-') == 2 * 3  # two empty rows to start with
    assert "<script src=" in page.text and "host.js" in page.text


BAD_INPUTS = [
    # (what is wrong, changes to the form, where the message is, what it says)
    ("negative capacity", {"capacity": "-3"}, "capacity", "A whole number from 1 to 500"),
    ("zero capacity", {"capacity": "0"}, "capacity", "A whole number from 1 to 500"),
    ("huge capacity", {"capacity": "9" * 40}, "capacity", "A whole number from 1 to 500"),
    ("no capacity", {"capacity": ""}, "capacity", "How many students"),
    ("words for capacity", {"capacity": "two"}, "capacity", "Not a valid integer"),
    ("age too high", {"min_age": "130"}, "min_age", "An age from 0 to 120"),
    ("negative age", {"min_age": "-1"}, "min_age", "An age from 0 to 120"),
    ("grade too high", {"min_grade": "14"}, "min_grade", "A grade from 0 to 13"),
    ("no title", {"title": "   "}, "title", "Give it a name"),
    ("control character in title", {"title": "Intern\x1b[31m"}, "title", "control characters"),
    ("long title", {"title": "x" * 201}, "title", "200"),
    ("unknown kind", {"kind": "apprenticeship"}, "kind", "Not a valid choice"),
    ("end before start", {"weekly_start": "16:00", "weekly_end": "13:00"}, "weekly_end",
     "The end must be after the start."),
    ("bad time", {"weekly_start": "25:99"}, "weekly_start", "Not a valid"),
    ("span backwards", {"weekly_first": "2027-03-01", "weekly_last": "2027-02-01"},
     "weekly_last", "must not be before the first day"),
    ("impossible date", {"weekly_first": "2027-02-30"}, "weekly_first", "Not a valid date"),
    ("no days", {"weekly_days": []}, "weekly_days", "Tick at least one day"),
    ("unknown day", {"weekly_days": ["9"]}, "weekly_days", "not a valid choice"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "field_id", "message"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
def test_host_bad_input_is_refused_at_the_field(
    app: Flask, client_as: Client, change: dict[str, Any], field_id: str, message: str
) -> None:
    before = _counts(app)
    for action in ("save", "preview"):
        page = _post(client_as("host_a"), "/host/opportunities/new", {**WEEKLY, **change,
                                                                     "action": action})  # fmt: skip
        assert page.status_code == 400
        assert message in _error_at(page.text, field_id)
        assert "Nothing was saved" in page.text and 'id="preview"' not in page.text
    assert _counts(app) == before


SCHEDULE_PROBLEMS = [
    # Rules of the bundle's schedule parser, shown in the schedule fieldset.
    ("weekly before the term", {"weekly_first": "2027-01-04"},
     "session 2027-01-05 15:00-17:00 is before the term starts on 2027-01-25"),
    ("weekly after the term", {"weekly_last": "2027-06-30"},
     "is after the term ends on 2027-05-28"),
    ("weekly span without the days", {"weekly_first": "2027-02-03", "weekly_last": "2027-02-03"},
     "span 2027-02-03/2027-02-03 contains no Tue,Thu"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "message"),
    [case[1:] for case in SCHEDULE_PROBLEMS],
    ids=[case[0] for case in SCHEDULE_PROBLEMS],
)
def test_host_impossible_weekly_schedule_is_refused(
    app: Flask, client_as: Client, change: dict[str, Any], message: str
) -> None:
    before = _counts(app)
    page = _post(client_as("host_a"), "/host/opportunities/new", {**WEEKLY, **change})
    assert page.status_code == 400
    assert message.lower() in _schedule_error(page.text).lower()
    assert _counts(app) == before


DATED_PROBLEMS = [
    ("after the term", {"sessions-1-day": "2027-06-01"}, "sessions-1-day",
     "Session 2027-06-01 13:00-15:00 is after the term ends on 2027-05-28."),
    ("end before start", {"sessions-0-end": "08:00"}, "sessions-0-end",
     "The session must end after it starts."),
    ("no start", {"sessions-0-start": ""}, "sessions-0-start", "Give a start, or clear the row."),
    ("same twice", {"sessions-1-day": "2027-03-03", "sessions-1-start": "09:00",
                    "sessions-1-end": "11:30"}, "sessions-1-day", "The same session as row 1"),
    # 2027-03-14 02:00 the clocks jump to 03:00 in Denver: 02:30-03:00 does not exist.
    ("in the DST gap", {"sessions-0-day": "2027-03-14", "sessions-0-start": "02:30",
                        "sessions-0-end": "03:00"}, "sessions-0-day",
     "ends before it starts once the daylight-saving gap on 2027-03-14 is skipped"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "field_id", "message"),
    [case[1:] for case in DATED_PROBLEMS],
    ids=[case[0] for case in DATED_PROBLEMS],
)
def test_host_impossible_dated_session_is_refused_at_its_row(
    app: Flask, client_as: Client, change: dict[str, Any], field_id: str, message: str
) -> None:
    before = _counts(app)
    page = _post(client_as("host_a"), "/host/opportunities/new", {**DATED, **change})
    assert page.status_code == 400
    assert message in _error_at(page.text, field_id)
    assert _counts(app) == before


def test_host_fields_of_other_shapes_are_ignored(app: Flask, client_as: Client) -> None:
    junk = {"sessions-0-day": "someday", "flexible_first": "2027-02-30", "hours": "lots"}
    answer = _post(client_as("host_a"), "/host/opportunities/new", {**WEEKLY, **junk})
    assert answer.status_code == 302
    with app.app_context():
        opp = _opportunity(app, "H1-1")
        assert opp.hours is None and len(opp.slots[0].sessions) == 8


def test_host_dated_schedule_needs_a_session(app: Flask, client_as: Client) -> None:
    empty = {k: ("" if k.startswith("sessions-") else v) for k, v in DATED.items()}
    page = _post(client_as("host_a"), "/host/opportunities/new", empty)
    assert page.status_code == 400
    assert "Give at least one session" in _schedule_error(page.text)


@pytest.mark.parametrize("hours", ["0", "-4", "nan", "inf", "1e9", "lots", ""])
def test_host_flexible_hours_must_be_sane(app: Flask, client_as: Client, hours: str) -> None:
    before = _counts(app)
    page = _post(client_as("host_b"), "/host/opportunities/new", {**FLEXIBLE, "hours": hours})
    assert page.status_code == 400
    assert _error_at(page.text, "hours")
    assert _counts(app) == before


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    field=st.sampled_from(
        ["capacity", "min_age", "min_grade", "title", "weekly_first", "weekly_start",
         "weekly_end", "weekly_days", "shape", "kind", "sessions-0-day"]
    ),
    value=st.one_of(
        st.text(max_size=60),
        st.sampled_from(["<script>alert(1)</script>", "' OR 1=1; --", "-1", "1e400", "NaN",
                         "9" * 5000, "2027-02-30", "24:00", "\x00", "١٢"]),
    ),
)  # fmt: skip
def test_host_new_form_never_fails_on_hostile_values(
    app: Flask, client_as: Client, field: str, value: str
) -> None:
    client = client_as("host_a")
    before = _counts(app)
    answer = _post(client, "/host/opportunities/new", {**WEEKLY, field: value})
    assert answer.status_code in (302, 400)
    after = _counts(app)
    assert after == before if answer.status_code == 400 else after[0] == before[0] + 1
    assert "<script>alert(1)</script>" not in answer.text


# --- editing ----------------------------------------------------------------------------------


def _edit_url(app: Flask, code: str) -> str:
    with app.app_context():
        return f"/host/opportunities/{_opportunity(app, code).id}/edit"


def _form_of(page: str) -> dict[str, Any]:
    """The values an edit page's form would send as it stands (text, selects, checkboxes)."""
    data: dict[str, Any] = {}
    for tag in re.findall(r"<input[^>]*>", page):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or name.group(1) == "csrf_token":
            continue
        value = re.search(r'value="([^"]*)"', tag)
        kind = re.search(r'type="([^"]+)"', tag)
        if kind and kind.group(1) in ("checkbox", "radio"):
            if "checked" in tag:
                data.setdefault(name.group(1), []).append(
                    unescape(value.group(1) if value else "y")
                )
        else:
            data[name.group(1)] = unescape(value.group(1)) if value else ""
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option[^>]*selected[^>]*value="([^"]*)"', body) or re.search(
            r'<option[^>]*value="([^"]*)"[^>]*selected', body
        )
        data[name] = chosen.group(1) if chosen else ""
    return data


def test_host_edit_page_shows_the_stored_schedule(app: Flask, client_as: Client) -> None:
    page = client_as("host_b").get(_edit_url(app, "O2")).text
    form = _form_of(page)
    assert form["shape"] == ["weekly"] and form["weekly_days"] == ["1", "3"]
    assert (form["weekly_first"], form["weekly_last"]) == ("2027-02-01", "2027-04-30")
    assert (form["weekly_start"], form["weekly_end"]) == ("13:30", "16:30")
    dated = _form_of(client_as("host_a").get(_edit_url(app, "O1")).text)
    assert dated["shape"] == ["dated"]
    assert [dated[f"sessions-{i}-day"] for i in range(2)] == ["2027-02-10", "2027-02-17"]
    flexible = _form_of(client_as("host_b").get(_edit_url(app, "O3")).text)
    assert flexible["shape"] == ["flexible"] and flexible["hours"] == "20.0"


def test_host_edit_keeps_slots_and_students_when_schedule_unchanged(
    app: Flask, ids: Ids, client_as: Client
) -> None:
    placement = _place(app, ids, "S2", "O2", PlacementStatus.PUBLISHED)
    client = client_as("host_b")
    url = _edit_url(app, "O2")
    with app.app_context():
        slot_ids = [s.id for s in _opportunity(app, "O2").slots]
    form = _form_of(client.get(url).text)
    answer = _post(client, url, {**form, "title": "Robotics Assembly Intern (paid)",
                                 "capacity": "3", "action": "save"})  # fmt: skip
    assert answer.status_code == 302
    with app.app_context():
        opp = _opportunity(app, "O2")
        assert opp.title == "Robotics Assembly Intern (paid)" and opp.capacity == 3
        assert [s.id for s in opp.slots] == slot_ids
        assert opp.schedule == "2027-02-01/2027-04-30 Tue,Thu 13:30-16:30"
    assert _placement(app, placement) is not None


def test_host_edit_refuses_to_remove_a_slot_with_students(
    app: Flask, ids: Ids, client_as: Client
) -> None:
    placement = _place(app, ids, "S1", "O1", PlacementStatus.PROPOSED, slot=0)
    client = client_as("host_a")
    url = _edit_url(app, "O1")
    form = _form_of(client.get(url).text)
    assert "1 student is placed here" in client.get(url).text
    # Move the first session (where Ana is placed) to another day.
    changed = {**form, "sessions-0-day": "2027-02-24"}
    preview = _post(client, url, {**changed, "action": "preview"})
    assert preview.status_code == 200
    assert "so saving will be refused" in preview.text
    before = _counts(app)
    answer = _post(client, url, {**changed, "action": "save"})
    assert answer.status_code == 400
    message = _schedule_error(answer.text)
    assert "Ana Ruiz is placed in 2027-02-10 09:00-12:00 (proposed)" in message
    assert _counts(app) == before
    with app.app_context():
        opp = _opportunity(app, "O1")
        assert opp.schedule == "2027-02-10 09:00-12:00;2027-02-17 09:00-12:00"
    assert _placement(app, placement) is not None


def test_host_edit_adds_a_date_around_a_placed_student(
    app: Flask, ids: Ids, client_as: Client
) -> None:
    placement = _place(app, ids, "S1", "O1", PlacementStatus.PUBLISHED, slot=0)
    client = client_as("host_a")
    url = _edit_url(app, "O1")
    form = _form_of(client.get(url).text)
    # The first empty row gets a new date after the other two.
    blank = next(k for k, v in form.items() if k.endswith("-day") and not v)
    row = blank.removesuffix("-day")
    added = {**form, blank: "2027-02-24", f"{row}-start": "09:00", f"{row}-end": "12:00"}
    preview = _post(client, url, {**added, "action": "preview"})
    assert preview.status_code == 200 and "Preview: 3 slots" in preview.text
    assert "so saving will be refused" not in preview.text
    answer = _post(client, url, {**added, "action": "save"})
    assert answer.status_code == 302
    with app.app_context():
        opp = _opportunity(app, "O1")
        assert [s.label for s in opp.slots][-1] == "2027-02-24 09:00-12:00"
        assert len(opp.slots) == 3
    kept = _placement(app, placement)
    assert kept is not None and kept.status is PlacementStatus.PUBLISHED


def test_host_edit_refuses_fewer_seats_than_students(
    app: Flask, ids: Ids, client_as: Client
) -> None:
    _place(app, ids, "S1", "O1", PlacementStatus.PUBLISHED)
    _place(app, ids, "S2", "O1", PlacementStatus.CONFIRMED)
    client = client_as("host_a")
    url = _edit_url(app, "O1")
    answer = _post(client, url, {**_form_of(client.get(url).text), "capacity": "1"})
    assert answer.status_code == 400
    assert "already has 2 students; seats per slot cannot go below 2" in _error_at(
        answer.text, "capacity"
    )
    with app.app_context():
        assert _opportunity(app, "O1").capacity == 2


def test_host_edit_refuses_kind_change_with_students(
    app: Flask, ids: Ids, client_as: Client
) -> None:
    _place(app, ids, "S1", "O1", PlacementStatus.PUBLISHED)
    client = client_as("host_a")
    url = _edit_url(app, "O1")
    answer = _post(client, url, {**_form_of(client.get(url).text), "kind": "internship"})
    assert answer.status_code == 400
    assert "the kind cannot change" in _error_at(answer.text, "kind")


def test_host_edit_without_students_rebuilds_the_slots(app: Flask, client_as: Client) -> None:
    client = client_as("host_a")
    url = _edit_url(app, "O1")
    form = _form_of(client.get(url).text)
    answer = _post(client, url, {**form, "sessions-1-day": "2027-02-24", "sessions-2-day":
                                 "2027-03-03", "sessions-2-start": "10:00",
                                 "sessions-2-end": "11:00"})  # fmt: skip
    assert answer.status_code == 302
    with app.app_context():
        opp = _opportunity(app, "O1")
        assert [s.label for s in opp.slots] == [
            "2027-02-10 09:00-12:00",
            "2027-02-24 09:00-12:00",
            "2027-03-03 10:00-11:00",
        ]


def test_host_cannot_see_or_edit_another_hosts_opportunity(app: Flask, client_as: Client) -> None:
    client = client_as("host_b")
    url = _edit_url(app, "O1")
    token = csrf_of(client.get("/host/opportunities/new").text)
    answer = client.post(url, data={**WEEKLY, "csrf_token": token})
    assert answer.status_code == 404
    assert client.get(url.removesuffix("/edit")).status_code == 404
    with app.app_context():
        assert _opportunity(app, "O1").title == "Dental Office Shadow"


# --- closing ----------------------------------------------------------------------------------


def test_host_close_and_reopen(app: Flask, client_as: Client) -> None:
    client = client_as("host_b")
    with app.app_context():
        opp_id = _opportunity(app, "O2").id
    page = f"/host/opportunities/{opp_id}"
    answer = _post(client, f"{page}/close", {}, page=page)
    assert answer.status_code == 302
    with app.app_context():
        assert _opportunity(app, "O2").closed
    shown = client.get(page).text
    assert "This opportunity is closed: the next placement run puts no new students in it" in (
        shown
    )
    assert "Reopen to new students" in shown
    assert "Closed" in client.get("/host/").text
    assert _post(client, f"{page}/reopen", {}, page=page).status_code == 302
    with app.app_context():
        assert not _opportunity(app, "O2").closed
    assert "Close to new students" in client.get(page).text


def test_host_cannot_close_another_hosts_opportunity(app: Flask, client_as: Client) -> None:
    with app.app_context():
        opp_id = _opportunity(app, "O2").id
    answer = _post(client_as("host_a"), f"/host/opportunities/{opp_id}/close", {}, page="/host/")
    assert answer.status_code == 404
    with app.app_context():
        assert not _opportunity(app, "O2").closed


# --- roster, accept and decline ---------------------------------------------------------------


def test_host_home_counts_students(app: Flask, ids: Ids, client_as: Client) -> None:
    _place(app, ids, "S1", "O1", PlacementStatus.PROPOSED)
    _place(app, ids, "S2", "O1", PlacementStatus.PUBLISHED, slot=1)
    _place(app, ids, "S3", "O1", PlacementStatus.WITHDRAWN, slot=1)
    page = client_as("host_a").get("/host/").text
    assert "1 proposed · 1 published" in page


def test_host_roster_shows_only_its_own_students(app: Flask, ids: Ids, client_as: Client) -> None:
    _place(app, ids, "S1", "O1", PlacementStatus.PUBLISHED)
    _place(app, ids, "S2", "O2", PlacementStatus.PROPOSED)
    _place(app, ids, "S3", "O1", PlacementStatus.WITHDRAWN, slot=1)
    mine = client_as("host_a").get("/host/roster").text
    assert "Ana Ruiz" in mine and "North High" in mine
    assert "ana@students.example.org" in mine  # published: the contact is shared
    assert "17 min by transit" in mine
    assert "Ben Okafor" not in mine and "Cai Lin" not in mine  # another host's; withdrawn
    theirs = client_as("host_b").get("/host/roster").text
    assert "Ben Okafor" in theirs and "Ana Ruiz" not in theirs
    # Proposed only: the contact waits for the coordinator to publish.
    assert "ben@students.example.org" not in theirs and "Shared once the coordinator" in theirs


def test_host_accept_records_the_answer(app: Flask, ids: Ids, client_as: Client) -> None:
    placement = _place(app, ids, "S1", "O1", PlacementStatus.PROPOSED)
    client = client_as("host_a")
    answer = _post(client, f"/host/placements/{placement}/accept", {"next": "/host/roster"},
                   page="/host/roster")  # fmt: skip
    assert answer.status_code == 302 and answer.location.endswith("/host/roster")
    got = _placement(app, placement)
    assert got is not None
    assert got.host_response is Decision.ACCEPT and got.status is PlacementStatus.PROPOSED
    assert "You accepted Ana Ruiz" in client.get("/host/roster").text


def test_host_decline_ends_the_placement_and_vetoes_the_pair(
    app: Flask, ids: Ids, client_as: Client
) -> None:
    placement = _place(app, ids, "S1", "O2", PlacementStatus.PUBLISHED)
    client = client_as("host_b")
    confirm = client.get(f"/host/placements/{placement}/decline")
    assert confirm.status_code == 200
    assert "will not be proposed for this opportunity again" in confirm.text
    answer = _post(client, f"/host/placements/{placement}/decline", {},
                   page=f"/host/placements/{placement}/decline")  # fmt: skip
    assert answer.status_code == 302
    with app.app_context():
        got = _db(app).get(Placement, placement)
        assert got.status is PlacementStatus.DECLINED
        assert got.declined_by is Party.HOST and got.host_response is Decision.VETO
        # The tiny bundle had O2/S1 as "accept": the review becomes a veto.
        review = (
            _db(app)
            .scalars(
                select(HostReview).where(
                    HostReview.opportunity_id == _opportunity(app, "O2").id,
                    HostReview.student_id == ids.students["S1"],
                )
            )
            .one()
        )
        assert review.decision is Decision.VETO and review.rank is None
    roster = client.get("/host/roster").text
    assert "Declined by you" in roster


def test_host_decline_adds_a_veto_review(app: Flask, ids: Ids, client_as: Client) -> None:
    placement = _place(app, ids, "S2", "O1", PlacementStatus.PROPOSED)
    answer = _post(client_as("host_a"), f"/host/placements/{placement}/decline", {},
                   page="/host/roster")  # fmt: skip
    assert answer.status_code == 302
    with app.app_context():
        reviews = _db(app).scalars(
            select(HostReview).where(HostReview.student_id == ids.students["S2"])
        )
        vetoed = {(r.opportunity.code, r.decision) for r in reviews}
        assert ("O1", Decision.VETO) in vetoed


def test_host_cannot_decline_a_confirmed_placement(app: Flask, ids: Ids, client_as: Client) -> None:
    placement = _place(app, ids, "S1", "O1", PlacementStatus.CONFIRMED)
    client = client_as("host_a")
    assert "contact the coordinator" in client.get(f"/host/placements/{placement}/decline").text
    answer = _post(client, f"/host/placements/{placement}/decline", {}, page="/host/roster")
    assert answer.status_code == 302
    assert "To end it, contact the coordinator" in client.get(answer.location).text
    got = _placement(app, placement)
    assert got is not None and got.status is PlacementStatus.CONFIRMED and got.declined_by is None
    with app.app_context():
        assert _db(app).scalar(select(func.count()).select_from(HostReview)) == 3  # as imported


def test_host_cannot_answer_for_another_hosts_student(
    app: Flask, ids: Ids, client_as: Client
) -> None:
    placement = _place(app, ids, "S1", "O1", PlacementStatus.PROPOSED)
    client = client_as("host_b")
    for action in ("accept", "decline"):
        answer = _post(client, f"/host/placements/{placement}/{action}", {}, page="/host/roster")
        assert answer.status_code == 404
    assert client.get(f"/host/placements/{placement}/decline").status_code == 404
    got = _placement(app, placement)
    assert got is not None and got.status is PlacementStatus.PROPOSED and got.host_response is None


# --- calendar ---------------------------------------------------------------------------------


def _feed_path(page: str) -> str:
    match = re.search(r'id="feed-url"[^>]*value="http://localhost(/feeds/[^"]+\.ics)"', page)
    assert match, "no feed URL on the page"
    return match.group(1)


def test_host_calendar_link_create_and_revoke(app: Flask, ids: Ids, client_as: Client) -> None:
    _place(app, ids, "S1", "O1", PlacementStatus.PUBLISHED)
    client = client_as("host_a")
    first = client.get("/host/calendar").text
    assert "You have no calendar link yet" in first and 'id="feed-url"' not in first
    assert _post(client, "/host/calendar", {}).status_code == 302
    page = client.get("/host/calendar").text
    old = _feed_path(page)
    assert "Add calendar" in page and "From URL" in page and "webcal://localhost/feeds/" in page
    visitor = client_as("anonymous")
    feed = visitor.get(old)
    assert feed.status_code == 200
    events = icalendar.Calendar.from_ical(feed.data).walk("VEVENT")
    assert len(events) == 1 and "Ana Ruiz" in str(events[0]["SUMMARY"])

    assert _post(client, "/host/calendar", {}).status_code == 302
    new = _feed_path(client.get("/host/calendar").text)
    assert new != old
    assert visitor.get(old).status_code == 404
    assert visitor.get(new).status_code == 200
    with app.app_context():
        user = _db(app).get(User, ids.users["host_a"])
        assert new == f"/feeds/{user.feed_token}.ics"
