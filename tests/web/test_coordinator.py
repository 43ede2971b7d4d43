"""Coordinator pages: the terms list, the dashboard's readiness checks, and uploading a term
bundle as a zip (every problem listed at its file and line, nothing written on error)."""

from __future__ import annotations

import html
import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select
from werkzeug.test import TestResponse

import web.coordinator
from tests.bundles import STUDENTS_CSV, TERM_TOML, write_broken_bundle, write_tiny_bundle
from tests.web.conftest import Ids, csrf_of
from wbl.cli import SAMPLE_TERM
from wbl.models import (
    Opportunity,
    Placement,
    PlacementStatus,
    Preference,
    Slot,
    SolveRun,
    SolveStatus,
    Student,
    Term,
    utcnow,
)
from web.db import db

Client = Callable[[str], FlaskClient]


def _words(markup: str) -> str:
    """Text with tags removed and entities decoded, whitespace collapsed as a reader sees it."""
    text = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())
    return re.sub(r" ([,)])", r"\1", text)


def _text(page: TestResponse) -> str:
    return _words(page.text)


def _section(page: TestResponse, anchor: str) -> str:
    match = re.search(rf'<section[^>]*id="{anchor}".*?</section>', page.text, re.S)
    assert match, f"no section #{anchor}"
    return _words(match.group(0))


def _zip_folder(folder: Path, prefix: str = "") -> bytes:
    """The files of ``folder`` zipped, under ``prefix`` (a folder inside the zip) if given."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, prefix + path.relative_to(folder).as_posix())
    return buffer.getvalue()


def _zip_files(files: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _upload(client: FlaskClient, data: bytes, name: str = "bundle.zip", **fields: str):
    page = client.get("/coordinator/upload")
    form = {"bundle": (io.BytesIO(data), name), "csrf_token": csrf_of(page.text), **fields}
    return client.post("/coordinator/upload", data=form, content_type="multipart/form-data")


def _term_names(app: Flask) -> list[str]:
    with app.app_context():
        return list(db().scalars(select(Term.name).order_by(Term.name)))


def _spring_bundle(tmp_path: Path, **replace: str | bytes | None) -> Path:
    """The tiny bundle under another term name, so importing it creates a second term."""
    toml = TERM_TOML.replace('name = "Tiny Term"', 'name = "Spring 2027"')
    return write_tiny_bundle(tmp_path / "spring", **{"term_toml": toml, **replace})


# ---------------------------------------------------------------------------------------------
# Terms and dashboard


def test_coordinator_terms_lists_each_term_with_its_counts(client_as: Client, ids: Ids) -> None:
    page = client_as("coordinator").get("/coordinator/")
    assert page.status_code == 200
    text = _text(page)
    assert "Tiny Term 2027-01-25 to 2027-05-28 (America/Denver) 3 2 3" in text
    assert f'href="/coordinator/terms/{ids.term}"' in page.text
    assert 'href="/coordinator/upload"' in page.text
    assert f'href="/coordinator/terms/{ids.term}/runs/{ids.run}"' in page.text  # latest solve


def test_coordinator_dashboard_lists_students_with_no_reachable_opportunity(
    client_as: Client, ids: Ids
) -> None:
    page = client_as("coordinator").get(f"/coordinator/terms/{ids.term}")
    assert page.status_code == 200
    section = _section(page, "check-unreachable")
    # Ana's ranked choices are ruled out (no Wednesday window; no work permit, unchecked host)
    # and Cai (14) can only go to a host without a background check; Ben reaches three.
    assert "Ana Ruiz" in section and "Cai Lin" in section and "Ben Okafor" not in section
    assert "choice #2 Robotics Assembly Intern: no work permit" in section
    assert "outside release windows" in section
    people = f"/coordinator/terms/{ids.term}/people"
    assert f'href="{people}#student-{ids.students["S1"]}"' in page.text
    assert f'href="{people}#student-{ids.students["S3"]}"' in page.text
    target = client_as("coordinator").get(people)
    assert f'id="student-{ids.students["S1"]}"' in target.text  # the anchor exists


def test_coordinator_dashboard_lists_hosts_without_background_check(
    client_as: Client, ids: Ids
) -> None:
    page = client_as("coordinator").get(f"/coordinator/terms/{ids.term}")
    section = _section(page, "check-background")
    assert "Front Range Robotics, Inc. (H2), 2 open opportunities" in section
    assert "Platte River Dental Group" not in section
    assert "take no student under 18" in section


def test_coordinator_dashboard_lists_opportunities_nobody_ranked(
    app: Flask, client_as: Client, ids: Ids
) -> None:
    client = client_as("coordinator")
    assert "Every open opportunity has been ranked" in _section(
        client.get(f"/coordinator/terms/{ids.term}"), "check-unranked"
    )
    with app.app_context():
        o3 = db().scalars(select(Opportunity.id).where(Opportunity.code == "O3")).one()
        db().execute(delete(Preference).where(Preference.opportunity_id == o3))
        db().commit()
    section = _section(client.get(f"/coordinator/terms/{ids.term}"), "check-unranked")
    assert "CAD Cleanup Project (O3, micro-internship) at Front Range Robotics, Inc." in section
    assert "Dental Office Shadow" not in section


def test_coordinator_dashboard_counts_people_without_accounts(client_as: Client, ids: Ids) -> None:
    page = client_as("coordinator").get(f"/coordinator/terms/{ids.term}")
    section = _section(page, "check-accounts")
    # Cai has no account and ranked nothing; both hosts have accounts.
    assert "Students who have not ranked anything: 1" in section
    assert "Students without an account: 1" in section
    assert "Hosts without an account: none" in section
    assert f'href="/coordinator/terms/{ids.term}/people"' in page.text


def test_coordinator_dashboard_shows_counts_per_kind(client_as: Client, ids: Ids) -> None:
    text = _text(client_as("coordinator").get(f"/coordinator/terms/{ids.term}"))
    assert "3 students 2 hosts 3 opportunities 8 seats" in text
    # O1: 2 dated slots of 2; O2: 1 weekly slot of 1; O3: 1 flexible remote slot of 3.
    assert "Job shadows 1 2 4 0 2" in text
    assert "Internships 1 1 1 0 1" in text
    assert "Micro-internships 1 1 3 1 1" in text


def test_coordinator_dashboard_big_term_runs_reachability_only_on_request(
    client_as: Client, ids: Ids, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(web.coordinator, "INLINE_CHECKS_MAX_STUDENTS", 2)
    client = client_as("coordinator")
    page = client.get(f"/coordinator/terms/{ids.term}")
    section = _section(page, "check-unreachable")
    assert "Not checked yet" in section and "Run checks" in section
    assert "Ana Ruiz" not in section
    # The cheap checks are still there.
    assert "Front Range Robotics" in _section(page, "check-background")
    checked = _section(client.get(f"/coordinator/terms/{ids.term}?checks=1"), "check-unreachable")
    assert "Ana Ruiz" in checked and "Cai Lin" in checked and "Not checked yet" not in checked


def test_coordinator_dashboard_of_unknown_term_is_404(client_as: Client, ids: Ids) -> None:
    assert client_as("coordinator").get(f"/coordinator/terms/{ids.term + 99}").status_code == 404


# ---------------------------------------------------------------------------------------------
# Upload


def test_coordinator_upload_lists_every_problem_at_its_line_and_writes_nothing(
    app: Flask, client_as: Client, ids: Ids, tmp_path: Path
) -> None:
    folder = write_broken_bundle(tmp_path / "broken")
    answer = _upload(client_as("coordinator"), _zip_folder(folder))
    assert answer.status_code == 400
    text = _text(answer)
    assert "Nothing was imported: 14 problems" in text
    for problem in (
        "students.csv:2: birth_date: must be a date as YYYY-MM-DD, got '2010-02-30'",
        "students.csv:3: transport: must be one of walk, bike, transit, car; got 'hovercraft'",
        "hosts.csv:1: name: required column is missing from the header",
        "preferences.csv:3: rank: must be a positive whole number (1 is best), got '0'",
        "term.toml:12: not valid UTF-8",
    ):
        assert problem in text
    assert _term_names(app) == ["Tiny Term"]


def test_coordinator_upload_error_in_existing_term_changes_nothing(
    app: Flask, client_as: Client, ids: Ids, tmp_path: Path
) -> None:
    students = STUDENTS_CSV.replace("Ana Ruiz", "Ana Ruiz-Ortega").replace(
        "2009-01-15", "2009-13-15"
    )
    folder = write_tiny_bundle(tmp_path / "edit", students_csv=students)
    answer = _upload(client_as("coordinator"), _zip_folder(folder))
    assert answer.status_code == 400
    assert "students.csv:3: birth_date: must be a date as YYYY-MM-DD, got '2009-13-15'" in (
        _text(answer)
    )
    with app.app_context():
        assert db().get(Student, ids.students["S1"]).name == "Ana Ruiz"


def test_coordinator_upload_good_bundle_creates_the_term(
    app: Flask, client_as: Client, ids: Ids, tmp_path: Path
) -> None:
    # Zipped as most tools zip a folder: the files inside a folder of the bundle's name.
    data = _zip_folder(_spring_bundle(tmp_path), prefix="spring/")
    answer = _upload(client_as("coordinator"), data)
    assert answer.status_code == 200, _text(answer)
    text = _text(answer)
    assert "Created term Spring 2027" in text
    assert "Students 3 0 0 0" in text and "Opportunities 3 0 0 0" in text
    # Cai's origin is an address: placed at the ZIP centroid, offline, and said so.
    assert "1 location looked up from an address, 1 of them approximate" in text
    assert "students.csv:4: S3: approximated by ZIP-code centroid" in text
    assert _term_names(app) == ["Spring 2027", "Tiny Term"]
    with app.app_context():
        term = db().scalars(select(Term).where(Term.name == "Spring 2027")).one()
        assert db().scalar(select(func.count(Student.id)).where(Student.term_id == term.id)) == 3
    assert f'href="/coordinator/terms/{term.id}"' in answer.text


def test_coordinator_upload_sample_term_with_its_calendars(
    app: Flask, client_as: Client, ids: Ids
) -> None:
    answer = _upload(client_as("coordinator"), _zip_folder(SAMPLE_TERM, prefix="sample-term/"))
    assert answer.status_code == 200, _text(answer)
    assert "Created term Spring 2027" in _text(answer)
    with app.app_context():
        from_ics = db().scalar(
            select(func.count(Opportunity.id)).where(Opportunity.schedule_ics.is_not(None))
        )
    listed = (SAMPLE_TERM / "opportunities.csv").read_text().count(",ics:calendars/")
    assert listed and from_ics == listed


def test_coordinator_upload_same_bundle_again_changes_nothing(
    client_as: Client, ids: Ids, tmp_path: Path
) -> None:
    answer = _upload(client_as("coordinator"), _zip_folder(write_tiny_bundle(tmp_path / "t")))
    assert answer.status_code == 200
    text = _text(answer)
    assert "Updated term Tiny Term" in text
    assert "Students 0 0 0 3" in text and "Preferences 0 0 0 4" in text


def test_coordinator_upload_refuses_a_file_that_is_not_a_zip(app: Flask, client_as: Client) -> None:
    answer = _upload(client_as("coordinator"), STUDENTS_CSV.encode(), name="students.csv")
    assert answer.status_code == 400
    assert "That file is not a .zip archive" in _text(answer)
    assert _term_names(app) == ["Tiny Term"]


@pytest.mark.parametrize("evil", ["../students.csv", "/etc/cron.d/x", "spring/../../x.csv"])
def test_coordinator_upload_refuses_paths_outside_the_folder(
    app: Flask, client_as: Client, tmp_path: Path, evil: str
) -> None:
    folder = _spring_bundle(tmp_path)
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    answer = _upload(client_as("coordinator"), _zip_files({**files, evil: b"x"}))
    assert answer.status_code == 400
    assert "a path outside the bundle folder" in _text(answer)
    assert _term_names(app) == ["Tiny Term"]


def test_coordinator_upload_refuses_a_zip_without_term_toml(
    app: Flask, client_as: Client, tmp_path: Path
) -> None:
    folder = write_tiny_bundle(tmp_path / "no-toml", term_toml=None)
    answer = _upload(client_as("coordinator"), _zip_folder(folder))
    assert answer.status_code == 400
    assert "The zip has no term.toml" in _text(answer)


def test_coordinator_upload_refuses_a_zip_that_unpacks_too_big(
    app: Flask, client_as: Client, tmp_path: Path
) -> None:
    app.config["BUNDLE_MAX_BYTES"] = 4096
    files = {p.name: p.read_bytes() for p in _spring_bundle(tmp_path).iterdir()}
    answer = _upload(client_as("coordinator"), _zip_files({**files, "notes.txt": b"0" * 10_000}))
    assert answer.status_code == 400
    assert "The bundle is too big" in _text(answer)
    assert _term_names(app) == ["Tiny Term"]


def test_coordinator_upload_refuses_a_damaged_zip(
    app: Flask, client_as: Client, tmp_path: Path
) -> None:
    data = bytearray(_zip_files({"term.toml": TERM_TOML * 20}))
    data[60:70] = b"\xff" * 10  # inside the compressed data: a CRC or inflate error
    answer = _upload(client_as("coordinator"), bytes(data))
    assert answer.status_code == 400
    assert "term.toml cannot be unpacked: the zip is damaged" in _text(answer)


def test_coordinator_upload_over_the_request_limit_says_so(
    app: Flask, client_as: Client, tmp_path: Path
) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 2000
    answer = _upload(client_as("coordinator"), _zip_folder(_spring_bundle(tmp_path)))
    assert answer.status_code == 413
    assert "The file is too big to upload" in _text(answer)
    assert _term_names(app) == ["Tiny Term"]


def _publish_ana_in_o1(app: Flask, ids: Ids) -> None:
    with app.app_context():
        slot = (
            db()
            .scalars(
                select(Slot.id).join(Slot.opportunity).where(Opportunity.code == "O1").limit(1)
            )
            .one()
        )
        db().add(
            Placement(
                term_id=ids.term,
                student_id=ids.students["S1"],
                slot_id=slot,
                status=PlacementStatus.PUBLISHED,
            )
        )
        db().commit()


def test_coordinator_upload_deleting_a_published_placement_needs_force(
    app: Flask, client_as: Client, ids: Ids, tmp_path: Path
) -> None:
    _publish_ana_in_o1(app, ids)
    without_ana = "\n".join(line for line in STUDENTS_CSV.splitlines() if "Ana Ruiz" not in line)
    preferences = "student_id,opportunity_id,rank\nS2,O2,1\nS2,O3,1\n"
    reviews = "opportunity_id,student_id,decision,rank\nO2,S2,accept,1\n"
    folder = write_tiny_bundle(
        tmp_path / "gone",
        students_csv=without_ana + "\n",
        preferences_csv=preferences,
        host_reviews_csv=reviews,
    )
    client = client_as("coordinator")
    refused = _upload(client, _zip_folder(folder))
    assert refused.status_code == 400
    assert "would delete the published placement of S1 in O1" in _text(refused)
    with app.app_context():
        assert db().get(Student, ids.students["S1"]) is not None
    forced = _upload(client, _zip_folder(folder), force="y")
    assert forced.status_code == 200, _text(forced)
    assert "Students 0 0 1 2" in _text(forced)
    with app.app_context():
        assert db().get(Student, ids.students["S1"]) is None


def test_coordinator_upload_waits_for_a_running_solve_of_the_term(
    app: Flask, client_as: Client, ids: Ids, tmp_path: Path
) -> None:
    with app.app_context():
        # Started just now (by the server's clock, which decides what is stale).
        db().add(SolveRun(term_id=ids.term, status=SolveStatus.RUNNING, started_at=utcnow()))
        db().commit()
    answer = _upload(client_as("coordinator"), _zip_folder(write_tiny_bundle(tmp_path / "t")))
    assert answer.status_code == 400
    assert "A solve of 'Tiny Term' is running" in _text(answer)
