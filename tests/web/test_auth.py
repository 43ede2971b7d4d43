"""Accounts: sign in and out, invitations, resets, rate limits, switched-off accounts."""

from __future__ import annotations

import csv
import io
import logging
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.bundles import OPPORTUNITIES_CSV, TERM_TOML, write_tiny_bundle
from tests.web.conftest import ACCOUNTS, PASSWORD, Ids, Inbox, csrf_of, sign_in
from wbl.geocode import AddressLocator
from wbl.models import Host, Student, Term
from wbl.services.bundles import import_bundle

NEW_PASSWORD = "a brand new passphrase"


def _post(client: FlaskClient, url: str, data: dict[str, str], form_page: str | None = None):
    page = client.get(form_page or url)
    return client.post(url, data={**data, "csrf_token": csrf_of(page.text)})


def _link_from(page_text: str) -> str:
    match = re.search(r'value="(http://[^"]+/(?:invite|reset)/[^"]+)"', page_text)
    assert match, page_text
    return match.group(1).replace("http://localhost", "")


def test_auth_wrong_password_is_refused_at_the_field(
    client_as: Callable[[str], FlaskClient],
) -> None:
    client = client_as("anonymous")
    answer = _post(client, "/login", {"email": "coord@example.org", "password": "nope nope"})
    assert answer.status_code == 400
    assert "Wrong email or password." in answer.text
    assert client.get("/coordinator/").status_code == 302  # still not signed in


def test_auth_unknown_email_gets_the_same_answer(client_as: Callable[[str], FlaskClient]) -> None:
    answer = _post(client_as("anonymous"), "/login", {"email": "who@x.org", "password": "x" * 12})
    assert answer.status_code == 400 and "Wrong email or password." in answer.text


def test_auth_email_is_case_insensitive(client_as: Callable[[str], FlaskClient]) -> None:
    client = client_as("anonymous")
    sign_in(client, "  COORD@Example.org ")
    assert client.get("/coordinator/").status_code == 200


def test_auth_login_goes_back_to_the_page_asked_for(
    client_as: Callable[[str], FlaskClient], ids: Ids
) -> None:
    client = client_as("anonymous")
    first = client.get(f"/coordinator/terms/{ids.term}")
    assert first.status_code == 302 and "/login?next=" in first.location
    page = client.get(first.location)
    answer = client.post(
        first.location,
        data={"email": "coord@example.org", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
    )
    assert answer.location == f"/coordinator/terms/{ids.term}"


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "javascript:x"])
def test_auth_login_never_redirects_off_site(
    client_as: Callable[[str], FlaskClient], target: str
) -> None:
    client = client_as("anonymous")
    url = f"/login?next={target}"
    answer = _post(client, url, {"email": "coord@example.org", "password": PASSWORD})
    assert answer.location == "/coordinator/"


def test_auth_logout_needs_post_with_token(client_as: Callable[[str], FlaskClient]) -> None:
    client = client_as("coordinator")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no CSRF token: refused
    assert client.get("/coordinator/").status_code == 200
    page = client.get("/coordinator/")
    client.post("/logout", data={"csrf_token": csrf_of(page.text)})
    assert client.get("/coordinator/").status_code == 302


def test_auth_invite_link_sets_password_once(
    client_as: Callable[[str], FlaskClient], ids: Ids, caplog: pytest.LogCaptureFixture
) -> None:
    coordinator = client_as("coordinator")
    url = f"/coordinator/terms/{ids.term}/invite/student/{ids.students['S3']}"
    form = coordinator.get(url)
    assert 'value="cai@students.example.org"' in form.text  # from the student's record
    with caplog.at_level(logging.WARNING):
        shown = _post(coordinator, url, {"email": "cai@students.example.org", "name": "Cai"})
    assert shown.status_code == 200 and "send this link" in shown.text
    link = _link_from(shown.text)
    # The server log has the link for the coordinator, but no name or address.
    assert link in caplog.text and "cai@" not in caplog.text and "Cai" not in caplog.text

    invitee = client_as("anonymous")
    page = invitee.get(link)
    assert page.status_code == 200 and "Choose a password" in page.text
    short = invitee.post(
        link, data={"password": "short", "confirm": "short", "csrf_token": csrf_of(page.text)}
    )
    assert short.status_code == 400 and "Field must be between 10 and 1000" in short.text
    done = invitee.post(
        link,
        data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": csrf_of(page.text)},
    )
    assert done.status_code == 302 and done.location == "/student/"
    assert "Cai Lin" in invitee.get("/student/").text
    again = client_as("anonymous").get(link)
    assert again.status_code == 400 and "used already" in again.text
    fresh = client_as("anonymous")
    sign_in(fresh, "cai@students.example.org", NEW_PASSWORD)


def test_auth_invite_refuses_an_email_already_taken(
    client_as: Callable[[str], FlaskClient], ids: Ids
) -> None:
    url = f"/coordinator/terms/{ids.term}/invite/student/{ids.students['S3']}"
    answer = _post(client_as("coordinator"), url, {"email": "ANA@example.org"})
    assert answer.status_code == 400 and "already exists" in answer.text


def test_auth_invite_of_another_terms_row_is_404(
    client_as: Callable[[str], FlaskClient], ids: Ids
) -> None:
    client = client_as("coordinator")
    assert client.get(f"/coordinator/terms/{ids.term}/invite/robot/1").status_code == 404
    missing = f"/coordinator/terms/{ids.term}/invite/host/99999"
    assert client.get(missing).status_code == 404


def test_auth_expired_link_says_so(
    app: Flask, client_as: Callable[[str], FlaskClient], ids: Ids
) -> None:
    coordinator = client_as("coordinator")
    answer = _post(coordinator, f"/coordinator/users/{ids.users['host_b']}/link", {},
                   form_page=f"/coordinator/terms/{ids.term}/people")  # fmt: skip
    link = _link_from(answer.text)
    assert "/reset/" in link  # host B has a password: a reset link
    app.config["LINK_MAX_AGE_S"] = {"invite": -1, "reset": -1}
    page = client_as("anonymous").get(link)
    assert page.status_code == 400 and "expired" in page.text


def test_auth_tampered_or_wrong_kind_of_link_is_refused(
    client_as: Callable[[str], FlaskClient], ids: Ids
) -> None:
    coordinator = client_as("coordinator")
    answer = _post(coordinator, f"/coordinator/users/{ids.users['host_b']}/link", {},
                   form_page=f"/coordinator/terms/{ids.term}/people")  # fmt: skip
    link = _link_from(answer.text)
    visitor = client_as("anonymous")
    assert visitor.get(link[:-2] + "xx").status_code == 400
    assert visitor.get(link.replace("/reset/", "/invite/")).status_code == 400


def test_auth_new_password_signs_out_other_sessions(
    client_as: Callable[[str], FlaskClient], ids: Ids
) -> None:
    elsewhere = client_as("host_b")
    assert elsewhere.get("/host/").status_code == 200
    coordinator = client_as("coordinator")
    answer = _post(coordinator, f"/coordinator/users/{ids.users['host_b']}/link", {},
                   form_page=f"/coordinator/terms/{ids.term}/people")  # fmt: skip
    link = _link_from(answer.text)
    visitor = client_as("anonymous")
    page = visitor.get(link)
    visitor.post(
        link,
        data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": csrf_of(page.text)},
    )
    assert visitor.get("/host/").status_code == 200
    assert elsewhere.get("/host/").status_code == 302  # the old session is gone


def test_auth_switched_off_account_is_signed_out_and_refused(
    client_as: Callable[[str], FlaskClient], ids: Ids
) -> None:
    student = client_as("student_b")
    coordinator = client_as("coordinator")
    _post(coordinator, f"/coordinator/users/{ids.users['student_b']}/active", {"active": "0"},
          form_page="/coordinator/")  # fmt: skip
    assert student.get("/student/").status_code == 302
    again = client_as("anonymous")
    answer = _post(again, "/login", {"email": ACCOUNTS["student_b"][0], "password": PASSWORD})
    assert answer.status_code == 400


def test_auth_coordinator_cannot_switch_self_off(
    client_as: Callable[[str], FlaskClient], ids: Ids
) -> None:
    coordinator = client_as("coordinator")
    answer = _post(coordinator, f"/coordinator/users/{ids.users['coordinator']}/active",
                   {"active": "0"}, form_page="/coordinator/")  # fmt: skip
    assert answer.status_code == 400
    assert coordinator.get("/coordinator/").status_code == 200


def test_auth_login_is_rate_limited(app: Flask, client_as: Callable[[str], FlaskClient]) -> None:
    app.config["LOGIN_RATE_LIMIT"] = "3 per minute"
    client = client_as("anonymous")
    codes = [
        _post(
            client, "/login", {"email": "coord@example.org", "password": "wrong guess"}
        ).status_code
        for _ in range(4)
    ]
    assert codes == [400, 400, 400, 429]
    assert "Too Many Requests" in _post(client, "/login", {"email": "x@y.z", "password": "x"}).text


def test_auth_reset_link_goes_by_email_when_smtp_is_set(
    client_as: Callable[[str], FlaskClient], smtp_inbox: Inbox
) -> None:
    inbox = smtp_inbox
    visitor = client_as("anonymous")
    answer = _post(visitor, "/reset", {"email": "h2@example.org"})
    assert answer.status_code == 302
    unknown = _post(visitor, "/reset", {"email": "nobody@example.org"})
    assert unknown.status_code == 302  # the same answer, and no mail
    assert len(inbox.messages) == 1
    mail = inbox.messages[0]
    assert mail["To"] == "h2@example.org" and mail["From"] == "wbl@example.org"
    body = mail.get_payload(decode=True).decode()  # type: ignore[union-attr]
    link = re.search(r"http://localhost(/reset/\S+)", body).group(1)  # type: ignore[union-attr]
    page = visitor.get(link)
    done = visitor.post(
        link,
        data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": csrf_of(page.text)},
    )
    assert done.location == "/host/"


def _csv_rows(text: str) -> dict[str, dict[str, str]]:
    return {row["student_id"]: row for row in csv.DictReader(io.StringIO(text))}


def test_auth_invite_all_students_gives_links_to_send(
    client_as: Callable[[str], FlaskClient], ids: Ids, caplog: pytest.LogCaptureFixture
) -> None:
    coordinator = client_as("coordinator")
    people = f"/coordinator/terms/{ids.term}/people"
    with caplog.at_level(logging.WARNING):
        answer = _post(coordinator, f"/coordinator/terms/{ids.term}/invite-students", {},
                       form_page=people)  # fmt: skip
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert "attachment" in answer.headers["Content-Disposition"]
    rows = _csv_rows(answer.text)
    assert rows["S1"]["result"] == rows["S2"]["result"] == "has an account already"
    assert rows["S3"]["result"] == "invited (send the link yourself)"
    assert "cai@" not in caplog.text and "Cai" not in caplog.text  # no personal data logged
    link = rows["S3"]["link"].replace("http://localhost", "")
    invitee = client_as("anonymous")
    page = invitee.get(link)
    assert page.status_code == 200 and "Welcome, Cai Lin" in page.text
    # A second run invites nobody again.
    again = _post(coordinator, f"/coordinator/terms/{ids.term}/invite-students", {},
                  form_page=people)  # fmt: skip
    assert _csv_rows(again.text)["S3"]["result"] == "has an account already"


def test_auth_invite_all_students_emails_them_when_smtp_is_set(
    client_as: Callable[[str], FlaskClient], ids: Ids, smtp_inbox: Inbox
) -> None:
    coordinator = client_as("coordinator")
    answer = _post(coordinator, f"/coordinator/terms/{ids.term}/invite-students", {},
                   form_page=f"/coordinator/terms/{ids.term}/people")  # fmt: skip
    assert _csv_rows(answer.text)["S3"]["result"] == "invited (emailed)"
    (mail,) = smtp_inbox.messages
    assert mail["To"] == "cai@students.example.org"
    assert "/invite/" in mail.get_payload(decode=True).decode()  # type: ignore[union-attr]


def test_auth_returning_host_account_moves_to_the_new_term(
    app: Flask, client_as: Callable[[str], FlaskClient], tmp_path: Path
) -> None:
    # Next term's bundle: the same dental group, a new host row in a new term.
    next_term = TERM_TOML.replace('name = "Tiny Term"', 'name = "Next Term"')
    next_term = next_term.replace("2027-01-25", "2027-08-23").replace("2027-05-28", "2027-12-17")
    opportunities = OPPORTUNITIES_CSV.replace("2027-02-10", "2027-09-08").replace(
        "2027-02-17", "2027-09-15"
    ).replace("2027-02-01/2027-04-30", "2027-09-01/2027-11-30").replace(
        "2027-02-01/2027-03-15", "2027-09-01/2027-10-15"
    )  # fmt: skip
    folder = write_tiny_bundle(tmp_path / "next", term_toml=next_term,
                               opportunities_csv=opportunities)  # fmt: skip
    with app.app_context():
        from web.db import db

        report = import_bundle(db(), folder, AddressLocator(db(), None))
        db().commit()
        term = db().scalars(select(Term).where(Term.name == report.term)).one()
        new_h1 = db().scalars(select(Host).where(Host.term_id == term.id, Host.code == "H1")).one()
        new_s1 = (
            db()
            .scalars(select(Student).where(Student.term_id == term.id, Student.code == "S1"))
            .one()
        )
    host = client_as("host_a")
    assert "Tiny Term" in host.get("/host/").text

    coordinator = client_as("coordinator")
    url = f"/coordinator/terms/{term.id}/invite/host/{new_h1.id}"
    moved = _post(coordinator, url, {"email": "H1@example.org"})
    assert moved.status_code == 302 and moved.location.endswith(f"/terms/{term.id}/people")
    assert (
        "now belongs to Platte River Dental Group in Next Term"
        in coordinator.get(moved.location).text
    )
    assert "Next Term" in host.get("/host/").text  # the same session, now the new term's host

    # Not across roles: a host's email cannot become a student's account.
    url = f"/coordinator/terms/{term.id}/invite/student/{new_s1.id}"
    refused = _post(coordinator, url, {"email": "h2@example.org"})
    assert refused.status_code == 400 and "already exists" in refused.text


def test_auth_a_student_gets_one_account(client_as: Callable[[str], FlaskClient], ids: Ids) -> None:
    coordinator = client_as("coordinator")
    url = f"/coordinator/terms/{ids.term}/invite/student/{ids.students['S1']}"  # Ana has one
    answer = _post(coordinator, url, {"email": "ana.second@example.org"})
    assert answer.status_code == 302
    assert (
        "Ana Ruiz already has an account (ana@example.org)" in coordinator.get(answer.location).text
    )
    # A host may have several (one per mentor).
    url = f"/coordinator/terms/{ids.term}/invite/host/{ids.hosts['H1']}"
    assert _post(coordinator, url, {"email": "mentor2@example.org"}).status_code == 200
