"""The app as a whole: start-up rules, security headers, error pages."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import IntegerConverter

from tests.web.conftest import Ids, csrf_of
from web import create_app


def test_app_refuses_production_without_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WBL_ENV", "production")
    monkeypatch.delenv("WBL_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="WBL_SECRET_KEY"):
        create_app({"DATABASE_URL": "sqlite://"})


def test_app_production_cookies_are_secure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WBL_ENV", "production")
    monkeypatch.setenv("WBL_SECRET_KEY", "s3cret")
    app = create_app({"DATABASE_URL": "sqlite://"})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["SECRET_KEY"] == "s3cret"


def test_app_pages_carry_security_headers(client_as: Callable[[str], FlaskClient]) -> None:
    page = client_as("anonymous").get("/login")
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert "<script>" not in page.text  # no inline script anywhere


def test_app_session_cookie_is_httponly_and_samesite(
    client_as: Callable[[str], FlaskClient],
) -> None:
    client = client_as("coordinator")
    cookie = client.get_cookie("session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"


def test_app_front_page_sends_each_role_home(client_as: Callable[[str], FlaskClient]) -> None:
    assert client_as("anonymous").get("/").location.endswith("/login")
    assert client_as("coordinator").get("/").location.endswith("/coordinator/")
    assert client_as("host_a").get("/").location.endswith("/host/")
    assert client_as("student_a").get("/").location.endswith("/student/")


def test_app_unknown_page_is_a_friendly_404(client_as: Callable[[str], FlaskClient]) -> None:
    page = client_as("coordinator").get("/no/such/page")
    assert page.status_code == 404
    assert "Not Found" in page.text and "Back to the start page" in page.text


def test_app_coordinator_sees_term_dashboard(
    client_as: Callable[[str], FlaskClient], ids: Ids, app: Flask
) -> None:
    client = client_as("coordinator")
    terms = client.get("/coordinator/")
    assert f'href="/coordinator/terms/{ids.term}"' in terms.text
    page = client.get(f"/coordinator/terms/{ids.term}")
    assert page.status_code == 200
    for figure in (
        "<strong>3</strong> students",
        "<strong>2</strong> hosts",
        "<strong>8</strong> seats",
    ):
        assert figure in page.text
    assert client.get("/coordinator/terms/99999").status_code == 404


def test_app_host_home_lists_only_its_opportunities(
    client_as: Callable[[str], FlaskClient],
) -> None:
    page = client_as("host_b").get("/host/")
    assert "Robotics Assembly Intern" in page.text and "CAD Cleanup Project" in page.text
    assert "Dental Office Shadow" not in page.text


def test_app_student_home_shows_own_choices(client_as: Callable[[str], FlaskClient]) -> None:
    page = client_as("student_a").get("/student/")
    assert "Dental Office Shadow" in page.text and "Robotics Assembly Intern" in page.text
    assert "CAD Cleanup Project" not in page.text  # Ben's choice, not Ana's


def test_app_nul_character_in_a_form_is_a_400(client_as: Callable[[str], FlaskClient]) -> None:
    # PostgreSQL cannot store NUL: the request is refused before any query (found by fuzzing).
    client = client_as("anonymous")
    page = client.get("/login")
    token = csrf_of(page.text)
    answer = client.post(
        "/login", data={"email": "a\x00@b.c", "password": "x", "csrf_token": token}
    )
    assert answer.status_code == 400 and "NUL character" in answer.text


@pytest.mark.parametrize("who", ["coordinator", "host_a", "student_a"])
def test_app_ids_beyond_the_database_range_are_404(  # 32-bit ids in PostgreSQL
    app: Flask, client_as: Callable[[str], FlaskClient], who: str
) -> None:
    client = client_as(who)
    checked: list[str] = []
    for rule in app.url_map.iter_rules():
        converters = rule._converters
        if "GET" not in (rule.methods or ()) or not any(
            isinstance(c, IntegerConverter) for c in converters.values()
        ):
            continue
        values = {
            name: 2**31 if isinstance(conv, IntegerConverter) else "x"
            for name, conv in converters.items()
        }
        url = rule.rule
        for name, value in values.items():
            url = re.sub(rf"<[^>]*:?{name}>", str(value), url)
        answer = client.get(url)
        # Another audience's route: 403 from its guard; one's own: no such row.
        assert answer.status_code in (403, 404), (url, answer.status_code)
        checked.append((url, answer.status_code))
    assert len(checked) >= 8  # every audience's routes with an id, not none by mistake
    assert any(code == 404 for _, code in checked)
