"""The coordinator's results and placements pages on a solved tiny term: figures and charts,
the sortable table, unplaced reasons, pin, move (with rule warnings and the capacity block),
publish with notices (SMTP and the log), withdraw, and the exports."""

from __future__ import annotations

import csv
import io
import logging
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import icalendar
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

import web.placements
from tests.bundles import TERM_TOML, write_tiny_bundle
from tests.web.conftest import Ids, Inbox, csrf_of
from wbl.geocode import AddressLocator
from wbl.models import Opportunity, Placement, PlacementStatus, Slot, SolveRun, Student, Term
from wbl.services.bundles import import_bundle
from wbl.services.exports import PLACEMENT_COLUMNS
from wbl.services.outcome import latest_run
from wbl.services.solving import SolveOptions, solve_term
from web.db import db

Client = Callable[[str], FlaskClient]


@pytest.fixture
def solved(app: Flask, ids: Ids) -> Ids:
    """The tiny term after a real solve: Ben (S2) holds O2 and O3; Ana (S1) and Cai (S3)
    reach nothing."""
    with app.app_context():
        solve_term(db(), db().get(Term, ids.term), SolveOptions(time_limit_s=10))
        db().commit()
    return ids


def url(ids: Ids, path: str) -> str:
    return f"/coordinator/terms/{ids.term}{path}"


def slot_id(app: Flask, opportunity: str, position: int = 0) -> int:
    with app.app_context():
        return (
            db()
            .scalars(
                select(Slot.id)
                .join(Opportunity)
                .where(Opportunity.code == opportunity, Slot.position == position)
            )
            .one()
        )


def rows(app: Flask) -> dict[tuple[str, str], tuple[int, PlacementStatus, bool]]:
    """Every placement: (student, opportunity) -> (id, status, pinned)."""
    with app.app_context():
        found = db().execute(
            select(Student.code, Opportunity.code, Placement.id, Placement.status, Placement.pinned)
            .join(Placement.student)
            .join(Placement.slot)
            .join(Slot.opportunity)
        )
        return {(s, o): (i, status, pinned) for s, o, i, status, pinned in found}


def post(client: FlaskClient, target: str, data: dict[str, str], page: str | None = None):  # type: ignore[no-untyped-def]
    form = client.get(page or target)
    return client.post(target, data={**data, "csrf_token": csrf_of(form.text)})


def assert_csp_safe(html: str) -> None:
    """Nothing the page's CSP (script-src 'self'; style-src 'self') would block."""
    assert not re.search(r"\sstyle\s*=", html), "a style attribute"
    assert "<style" not in html
    assert all("src=" in tag for tag in re.findall(r"<script[^>]*>", html)), "an inline script"
    assert not re.search(r"\son[a-z]+\s*=", html), "an inline event handler"


def body_rows(html: str) -> list[str]:
    """The student and opportunity of each row of the placements table, in order."""
    return re.findall(
        r'<tr id="placement-\d+".*?<small>\((S\d)\)</small>.*?<small>\((O\d)\)', html, re.S
    )


# --- results ----------------------------------------------------------------------------------


def test_results_show_the_outcome_figures_and_the_solve(client_as: Client, solved: Ids) -> None:
    page = client_as("coordinator").get(url(solved, "/results"))
    assert page.status_code == 200
    html = page.text
    text = re.sub(r"<[^>]+>", " ", html)
    text = re.sub(r"\s+", " ", text)
    # The report's headline: 1 of 3 placed, top-3 share, mean rank, travel median and p90.
    assert "Placed 1 of 3" in text and "33.3% of students, 2 placements" in text
    assert "Top-3 choice 100.0%" in text
    assert "Mean rank 1.0" in text and "2 ranked, 0 unranked" in text
    assert "Travel, median 13 min" in text and "p90 13 min" in text
    # Per kind, and the placement rate per equity flag.
    assert "internships 1 1" in text and "job shadows 0 0" in text
    assert "first_gen 1 0 0.0%" in text and "none (no flag) 1 1 100.0%" in text
    # The latest solve run.
    assert "Status optimal" in text and "Objective 1" in text and "Best bound 1" in text
    assert "Gap 0.0%" in text and "Wall time" in text
    # Charts: inline SVG, labelled for screen readers.
    for title in ("Placements by the rank", "In-person placements by one-way travel time",
                  "Placement rate by equity flag", "Map of student origins"):  # fmt: skip
        assert re.search(rf'<svg[^>]*role="img"[^>]*>\s*<title[^>]*>{title}', html), title
    assert_csp_safe(html)


def test_results_list_unplaced_students_with_reasons(client_as: Client, solved: Ids) -> None:
    html = client_as("coordinator").get(url(solved, "/results")).text
    assert "Unplaced (2)" in html
    assert "Ana Ruiz" in html and "Cai Lin" in html
    assert "no reachable opportunity" in html
    assert "choice #2 Robotics Assembly Intern (O2): no work permit" in html
    assert f'href="{url(solved, "/students/" + str(solved.students["S1"]) + "/place")}"' in html


def test_results_list_the_extra_seats_that_would_help(
    app: Flask, client_as: Client, solved: Ids
) -> None:
    with app.app_context():
        run = latest_run(db(), db().get(Term, solved.term))
        o1 = db().scalars(select(Opportunity).where(Opportunity.code == "O1")).one()
        run.metrics = {
            **run.metrics,
            "suggestions": [
                {"opportunity_id": o1.id, "host_id": o1.host_id, "extra_seats": 2, "would_place": 1}
            ],
        }
        db().commit()
    html = client_as("coordinator").get(url(solved, "/results")).text
    row = re.search(
        r"<caption>Extra seats that would place the most students</caption>.*?</table>", html, re.S
    )
    assert row, html
    assert (
        re.sub(r"<[^>]+>", "|", row.group(0)).count(
            "|O1||Dental Office Shadow||H1 Platte River Dental Group||2||1|"
        )
        == 1
    )


def test_results_before_a_solve_say_so(client_as: Client, ids: Ids) -> None:
    html = client_as("coordinator").get(url(ids, "/results")).text
    assert "Placed</dt><dd>0 of 3" in html
    assert "No proposed placements wait to be published." in html
    assert "Ranks: none" in html


# --- the table --------------------------------------------------------------------------------


def place_ana_in_o1(app: Flask, client_as: Client, ids: Ids) -> None:
    """Ana (S1) in O1's first slot, saved anyway (it breaks her release windows)."""
    answer = post(
        client_as("coordinator"),
        url(ids, f"/students/{ids.students['S1']}/place"),
        {"slot": str(slot_id(app, "O1")), "confirm": "y"},
    )
    assert answer.status_code == 302, answer.text


def test_table_sorts_by_its_links_without_script(
    app: Flask, client_as: Client, solved: Ids
) -> None:
    place_ana_in_o1(app, client_as, solved)
    coordinator = client_as("coordinator")
    by_travel = coordinator.get(url(solved, "/placements?sort=travel&dir=asc")).text
    # 12 min, 13 min, then the remote one (no travel) last.
    assert body_rows(by_travel) == [("S1", "O1"), ("S2", "O2"), ("S2", "O3")]
    heading = re.search(
        r'<th scope="col" data-sort-key="travel"[^>]*>\s*<a href="([^"]+)"', by_travel
    )
    assert heading and 'aria-sort="ascending"' in heading.group(0)
    reverse = heading.group(1).replace("&amp;", "&")
    assert "sort=travel" in reverse and "dir=desc" in reverse
    descending = coordinator.get(reverse).text
    assert body_rows(descending) == [("S2", "O2"), ("S1", "O1"), ("S2", "O3")]
    assert 'aria-sort="descending"' in descending
    by_start = coordinator.get(url(solved, "/placements?sort=start")).text
    assert body_rows(by_start) == [("S2", "O3"), ("S2", "O2"), ("S1", "O1")]
    # One page: the script may sort it in place.
    assert "data-sortable" in by_start and "/static/sort.js" in by_start
    assert_csp_safe(by_start)


def test_table_filters_by_status_and_kind(app: Flask, client_as: Client, solved: Ids) -> None:
    coordinator = client_as("coordinator")
    assert body_rows(coordinator.get(url(solved, "/placements?kind=internship")).text) == [
        ("S2", "O2")
    ]
    assert body_rows(coordinator.get(url(solved, "/placements?status=published")).text) == []
    (o3, _, _) = rows(app)[("S2", "O3")]
    post(coordinator, url(solved, f"/placements/{o3}/withdraw"), {})
    assert body_rows(coordinator.get(url(solved, "/placements")).text) == [("S2", "O2")]
    assert body_rows(coordinator.get(url(solved, "/placements?status=withdrawn")).text) == [
        ("S2", "O3")
    ]
    everything = coordinator.get(url(solved, "/placements?status=all&sort=status")).text
    assert body_rows(everything) == [("S2", "O2"), ("S2", "O3")]
    assert "No placements match." in coordinator.get(url(solved, "/placements?q=zzz")).text


def test_table_pages_a_long_list_and_sorts_it_on_the_server(
    client_as: Client, solved: Ids, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(web.placements, "PAGE_SIZE", 1)
    coordinator = client_as("coordinator")
    first = coordinator.get(url(solved, "/placements?sort=start&dir=desc")).text
    assert body_rows(first) == [("S2", "O2")]
    assert "data-sortable" not in first  # the script would sort only one page
    assert "Page 1 of 2" in first
    second = re.search(r'<a href="([^"]+)" rel="next">', first)
    assert second
    assert body_rows(coordinator.get(second.group(1).replace("&amp;", "&")).text) == [("S2", "O3")]


def test_unplaced_page_gives_each_reason_and_filters(client_as: Client, solved: Ids) -> None:
    coordinator = client_as("coordinator")
    html = coordinator.get(url(solved, "/unplaced")).text
    assert "no reachable opportunity (2)" in html
    assert "ranked nothing, and no opportunity passes the rules for this student" in html
    assert "<li>choice #2 Robotics Assembly Intern (O2): no work permit" in html
    assert html.count("Place by hand") == 2
    none = coordinator.get(url(solved, "/unplaced?reason=filled")).text
    assert "Ana Ruiz" not in none and "0 unplaced students" in none


# --- pin, move, withdraw ----------------------------------------------------------------------


def test_pin_and_unpin_return_to_the_table(app: Flask, client_as: Client, solved: Ids) -> None:
    coordinator = client_as("coordinator")
    (o2, _, pinned) = rows(app)[("S2", "O2")]
    assert not pinned
    back = url(solved, "/placements?sort=travel&dir=desc")
    answer = post(
        coordinator, url(solved, f"/placements/{o2}/pin"), {"pinned": "1", "next": back}, back
    )
    assert answer.status_code == 302 and answer.location == back
    assert rows(app)[("S2", "O2")][2] is True
    page = coordinator.get(back).text
    assert "Ben Okafor&#39;s placement in Robotics Assembly Intern is pinned" in page
    assert 'aria-label="Unpin Ben Okafor in Robotics Assembly Intern"' in page
    post(coordinator, url(solved, f"/placements/{o2}/pin"), {"pinned": "0"}, back)
    assert rows(app)[("S2", "O2")][2] is False
    bad = post(coordinator, url(solved, f"/placements/{o2}/pin"), {"pinned": "yes"}, back)
    assert bad.status_code == 400 and rows(app)[("S2", "O2")][2] is False


def test_move_that_breaks_a_rule_needs_save_anyway(
    app: Flask, client_as: Client, solved: Ids
) -> None:
    coordinator = client_as("coordinator")
    target = url(solved, f"/students/{solved.students['S1']}/place")
    o1 = str(slot_id(app, "O1"))
    warned = post(coordinator, target, {"slot": o1})
    assert warned.status_code == 200
    assert "This move breaks 1 hard rule" in warned.text
    assert "outside release windows (none on Wed)" in warned.text
    assert "Save anyway, as a pinned override" in warned.text
    assert ("S1", "O1") not in rows(app)  # nothing saved yet
    confirm = re.search(r'<input type="hidden" name="confirm" value="([^"]+)">', warned.text)
    assert confirm
    saved = coordinator.post(
        target, data={"slot": o1, "confirm": confirm.group(1), "csrf_token": csrf_of(warned.text)}
    )
    assert saved.status_code == 302
    (_, status, pinned) = rows(app)[("S1", "O1")]
    assert status == PlacementStatus.PROPOSED and pinned
    shown = coordinator.get(saved.location).text
    assert "Ana Ruiz is placed in Dental Office Shadow (O1) as a pinned override" in shown


def test_move_over_capacity_is_refused_even_with_save_anyway(
    app: Flask, client_as: Client, solved: Ids
) -> None:
    coordinator = client_as("coordinator")
    target = url(solved, f"/students/{solved.students['S1']}/place")
    o2 = slot_id(app, "O2")
    form = coordinator.get(target).text
    radio = re.search(rf'<input type="radio" name="slot" value="{o2}"[^>]*>', form)
    assert radio and "disabled" in radio.group(0)
    refused = post(coordinator, target, {"slot": str(o2), "confirm": "y"})
    assert refused.status_code == 400
    assert "Cannot be saved: Robotics Assembly Intern (O2) is full: 1 of 1 seat taken." in (
        refused.text
    )
    assert ("S1", "O2") not in rows(app)


def test_move_to_a_slot_that_fits_saves_it_pinned(
    app: Flask, client_as: Client, solved: Ids
) -> None:
    coordinator = client_as("coordinator")
    (o3, _, _) = rows(app)[("S2", "O3")]
    answer = post(
        coordinator, url(solved, f"/placements/{o3}/move"), {"slot": str(slot_id(app, "O1", 1))}
    )
    assert answer.status_code == 302
    after = rows(app)
    assert ("S2", "O3") not in after and after[("S2", "O1")] == (o3, PlacementStatus.PROPOSED, True)
    assert (
        "Ben Okafor is placed in Dental Office Shadow (O1), pinned."
        in coordinator.get(answer.location).text
    )


def test_move_refuses_a_slot_that_is_not_listed(app: Flask, client_as: Client, solved: Ids) -> None:
    coordinator = client_as("coordinator")
    (o3, _, _) = rows(app)[("S2", "O3")]
    target = url(solved, f"/placements/{o3}/move")
    for value, message in [
        ("", "Choose a slot."),
        ("abc", "Not a valid integer value."),
        ("99999999999999", "Choose one of the slots listed."),
        ("987654", "Choose one of the slots listed."),
    ]:
        answer = post(coordinator, target, {"slot": value})
        assert answer.status_code == 400, value
        assert message in answer.text, value
    assert rows(app)[("S2", "O3")] == (o3, PlacementStatus.PROPOSED, False)


def test_withdraw_a_published_placement_tells_the_student_and_host(
    app: Flask, client_as: Client, solved: Ids, caplog: pytest.LogCaptureFixture
) -> None:
    coordinator = client_as("coordinator")
    publish(coordinator, solved, 2)
    (o2, _, _) = rows(app)[("S2", "O2")]
    confirm = coordinator.get(url(solved, f"/placements/{o2}/withdraw"))
    assert confirm.status_code == 200 and "Withdraw Ben Okafor?" in confirm.text
    assert "are told, if they have an account" in confirm.text
    assert rows(app)[("S2", "O2")][1] == PlacementStatus.PUBLISHED  # a GET changes nothing
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        done = coordinator.post(
            url(solved, f"/placements/{o2}/withdraw"), data={"csrf_token": csrf_of(confirm.text)}
        )
    assert done.status_code == 302
    assert rows(app)[("S2", "O2")] == (o2, PlacementStatus.WITHDRAWN, False)
    told = sorted(int(n) for n in re.findall(r"notice for account (\d+) \(no SMTP\)", caplog.text))
    assert told == sorted([solved.users["student_b"], solved.users["host_b"]])
    page = coordinator.get(done.location).text
    assert "Ben Okafor is withdrawn from Robotics Assembly Intern" in page
    again = post(coordinator, url(solved, f"/placements/{o2}/withdraw"), {})
    assert again.status_code == 302
    assert "already withdrawn" in coordinator.get(again.location).text


# --- publish ----------------------------------------------------------------------------------


def publish(client: FlaskClient, ids: Ids, expected: int):  # type: ignore[no-untyped-def]
    page = client.get(url(ids, "/publish"))
    assert f'name="expected" value="{expected}"' in page.text
    return client.post(
        url(ids, "/publish"), data={"expected": str(expected), "csrf_token": csrf_of(page.text)}
    )


def test_publish_publishes_proposals_and_mails_notices(
    app: Flask, client_as: Client, solved: Ids, smtp_inbox: Inbox
) -> None:
    coordinator = client_as("coordinator")
    page = coordinator.get(url(solved, "/publish")).text
    assert "2 proposed placements" in page and "1 student" in page and "1 host" in page
    assert "2 accounts of these students and hosts are told" in page and "by email" in page
    done = publish(coordinator, solved, 2)
    assert done.status_code == 302 and done.location == url(solved, "/results")
    assert {status for _, status, _ in rows(app).values()} == {PlacementStatus.PUBLISHED}
    mails = {m["To"]: m for m in smtp_inbox.messages}
    assert set(mails) == {"ben@example.org", "h2@example.org"}
    assert mails["ben@example.org"]["Subject"] == "Your placement for Tiny Term is published"
    assert mails["h2@example.org"]["Subject"] == "Students are placed with you for Tiny Term"
    body = mails["ben@example.org"].get_payload(decode=True).decode()  # type: ignore[union-attr]
    assert "http://localhost/student/" in body
    shown = coordinator.get(done.location).text
    assert "Published 2 placements for 1 student at 1 host. 2 notices: 2 emailed." in shown
    assert "No proposed placements wait to be published." in shown


def test_publish_without_smtp_logs_one_line_per_account(
    app: Flask, client_as: Client, solved: Ids, caplog: pytest.LogCaptureFixture
) -> None:
    coordinator = client_as("coordinator")
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        done = publish(coordinator, solved, 2)
    told = sorted(int(n) for n in re.findall(r"notice for account (\d+) \(no SMTP\)", caplog.text))
    assert told == sorted([solved.users["student_b"], solved.users["host_b"]])
    for personal in ("ben@", "h2@", "Ben", "Okafor", "Front Range"):
        assert personal not in caplog.text
    assert "2 written to the server log" in coordinator.get(done.location).text


def test_publish_needs_the_count_its_page_showed(
    app: Flask, client_as: Client, solved: Ids
) -> None:
    coordinator = client_as("coordinator")
    missing = post(coordinator, url(solved, "/publish"), {})
    assert missing.status_code == 400
    stale = post(coordinator, url(solved, "/publish"), {"expected": "5"})
    assert stale.status_code == 409
    assert "The proposed placements changed since the page was loaded" in stale.text
    assert {status for _, status, _ in rows(app).values()} == {PlacementStatus.PROPOSED}


# --- exports ----------------------------------------------------------------------------------


def download(client: FlaskClient, ids: Ids, name: str) -> bytes:
    answer = client.get(url(ids, f"/export/{name}"))
    assert answer.status_code == 200, name
    assert answer.headers["Content-Disposition"] == f'attachment; filename="Tiny_Term-{name}"'
    return answer.data


def test_exports_download_and_parse(client_as: Client, solved: Ids) -> None:
    coordinator = client_as("coordinator")
    results = coordinator.get(url(solved, "/results")).text
    for name in ("bundle.zip", "placements.csv", "unplaced.csv", "calendars.zip", "report.html"):
        assert f'href="{url(solved, "/export/" + name)}" download' in results
    bundle = zipfile.ZipFile(io.BytesIO(download(coordinator, solved, "bundle.zip")))
    names = set(bundle.namelist())
    assert {"Tiny_Term/term.toml", "Tiny_Term/students.csv", "Tiny_Term/opportunities.csv"} <= names
    assert b'name = "Tiny Term"' in bundle.read("Tiny_Term/term.toml")

    placements = list(
        csv.reader(io.StringIO(download(coordinator, solved, "placements.csv").decode()))
    )
    assert tuple(placements[0]) == PLACEMENT_COLUMNS
    assert sorted((r[0], r[1]) for r in placements[1:]) == [("S2", "O2"), ("S2", "O3")]
    unplaced = list(csv.reader(io.StringIO(download(coordinator, solved, "unplaced.csv").decode())))
    assert unplaced[0] == ["student_id", "reason", "detail"]
    assert [(r[0], r[1]) for r in unplaced[1:]] == [("S1", "no_reachable"), ("S3", "no_reachable")]

    calendars = zipfile.ZipFile(io.BytesIO(download(coordinator, solved, "calendars.zip")))
    ben = icalendar.Calendar.from_ical(
        calendars.read("Tiny_Term-calendars/calendars/students/S2.ics")
    )
    summaries = {str(e["SUMMARY"]) for e in ben.walk("VEVENT")}
    assert summaries == {
        "Robotics Assembly Intern at Front Range Robotics, Inc.",
        "CAD Cleanup Project at Front Range Robotics, Inc.",
    }
    # O2 meets Tuesdays and Thursdays from 2027-02-02 to 2027-04-29: 26 sessions, and O3 is
    # one all-day event over its span.
    assert len(list(ben.walk("VEVENT"))) == 27
    h1 = icalendar.Calendar.from_ical(calendars.read("Tiny_Term-calendars/calendars/hosts/H1.ics"))
    assert list(h1.walk("VEVENT")) == []

    report = download(coordinator, solved, "report.html").decode()
    assert "<title>Placement outcome: Tiny Term</title>" in report
    assert coordinator.get(url(solved, "/export/passwords.txt")).status_code == 404


# --- ownership and the page rules -------------------------------------------------------------


def test_rows_of_another_term_are_not_found(
    app: Flask, client_as: Client, solved: Ids, tmp_path: Path
) -> None:
    folder = write_tiny_bundle(tmp_path / "other", term_toml=TERM_TOML.replace("Tiny", "Other"))
    with app.app_context():
        import_bundle(db(), folder, AddressLocator(db(), None))
        other = db().scalars(select(Term).where(Term.name == "Other Term")).one()
        student = db().scalars(select(Student).where(Student.term_id == other.id)).first()
        slot = (
            db()
            .scalars(select(Slot).join(Opportunity).where(Opportunity.term_id == other.id))
            .first()
        )
        placement = Placement(term_id=other.id, student_id=student.id, slot_id=slot.id)
        db().add(placement)
        db().commit()
        ids = (placement.id, student.id, slot.id)
    coordinator = client_as("coordinator")
    theirs, their_student, their_slot = ids
    for path in (f"/placements/{theirs}/move", f"/placements/{theirs}/withdraw",
                 f"/students/{their_student}/place"):  # fmt: skip
        assert coordinator.get(url(solved, path)).status_code == 404, path
    page = coordinator.get(url(solved, "/placements")).text
    token = csrf_of(page)
    for path, data in [
        (f"/placements/{theirs}/pin", {"pinned": "1"}),
        (f"/placements/{theirs}/withdraw", {}),
        (f"/placements/{theirs}/move", {"slot": "1"}),
    ]:
        assert (
            coordinator.post(url(solved, path), data={**data, "csrf_token": token}).status_code
            == 404
        )
    # A slot of the other term is no choice for a student of this one.
    (o3, _, _) = rows(app)[("S2", "O3")]
    answer = post(coordinator, url(solved, f"/placements/{o3}/move"), {"slot": str(their_slot)})
    assert answer.status_code == 400 and "Choose one of the slots listed." in answer.text
    with app.app_context():
        assert db().get(Placement, theirs).status == PlacementStatus.PROPOSED


def test_pages_pass_the_content_security_policy(app: Flask, client_as: Client, solved: Ids) -> None:
    coordinator = client_as("coordinator")
    (o2, _, _) = rows(app)[("S2", "O2")]
    paths = ["/results", "/placements", "/unplaced", "/publish", f"/placements/{o2}/move",
             f"/placements/{o2}/withdraw", f"/students/{solved.students['S3']}/place"]  # fmt: skip
    for path in paths:
        page = coordinator.get(url(solved, path))
        assert page.status_code == 200, path
        assert_csp_safe(page.text)


def test_hostile_search_and_form_values_get_a_clear_answer(
    app: Flask, client_as: Client, solved: Ids
) -> None:
    coordinator = client_as("coordinator")
    (o2, _, _) = rows(app)[("S2", "O2")]
    hostile = [
        "/placements?q=%01%27%22<script>&sort=%7F&dir=x&page=-5&status=x&kind=x",
        "/placements?page=99999999999999999999&q=" + "é" * 5000,
        f"/placements/{o2}/move?q=%1F%27;--<script>",
        "/unplaced?reason=<script>",
    ]
    for path in hostile:
        page = coordinator.get(url(solved, path))
        assert page.status_code == 200, path
        assert "<script>" not in page.text
    # NUL, which PostgreSQL refuses in text, is turned away before any view.
    assert coordinator.get(url(solved, "/placements?q=%00")).status_code == 400
    for expected in ("\u00b2", "-1", "1e3", "9" * 40):
        answer = post(coordinator, url(solved, "/publish"), {"expected": expected})
        assert answer.status_code in (400, 409), expected
    assert {status for _, status, _ in rows(app).values()} == {PlacementStatus.PROPOSED}


def test_edits_wait_while_a_solve_runs(app: Flask, client_as: Client, solved: Ids) -> None:
    with app.app_context():
        db().add(SolveRun(term_id=solved.term))  # status RUNNING
        db().commit()
    coordinator = client_as("coordinator")
    (o2, _, _) = rows(app)[("S2", "O2")]
    pinned = post(
        coordinator,
        url(solved, f"/placements/{o2}/pin"),
        {"pinned": "1"},
        url(solved, "/placements"),
    )
    assert "A solve of this term is running" in coordinator.get(pinned.location).text
    page = coordinator.get(url(solved, "/publish")).text
    assert "A solve of this term is running: publish when it has finished." in page
    refused = publish(coordinator, solved, 2)
    assert refused.status_code == 302
    moved = post(
        coordinator, url(solved, f"/placements/{o2}/move"), {"slot": str(slot_id(app, "O1"))}
    )
    assert moved.status_code == 409
    assert {(s, p) for _, s, p in rows(app).values()} == {(PlacementStatus.PROPOSED, False)}
