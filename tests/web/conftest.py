"""Web fixtures: an app over a fresh database holding the tiny term, and signed-in clients
for each kind of account (coordinator, host A and B, student A and B)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.bundles import write_tiny_bundle
from wbl.db import make_engine, transaction
from wbl.geocode import AddressLocator
from wbl.models import Host, Role, SolveRun, SolveStatus, Student, Term, User
from wbl.services.bundles import import_bundle
from web import create_app
from web.accounts import create_user, set_password

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Ids:
    """Database ids of the tiny term's rows, by bundle code, and the accounts' emails."""

    term: int
    hosts: dict[str, int]
    students: dict[str, int]
    users: dict[str, int]  # by ACCOUNTS key
    run: int  # a finished solve run of the term


ACCOUNTS = {
    "coordinator": ("coord@example.org", Role.COORDINATOR, None),
    "host_a": ("h1@example.org", Role.HOST, "H1"),
    "host_b": ("h2@example.org", Role.HOST, "H2"),
    "student_a": ("ana@example.org", Role.STUDENT, "S1"),
    "student_b": ("ben@example.org", Role.STUDENT, "S2"),
}


def make_app(db_url: str, folder: Path, **config: object) -> Flask:
    """The app over ``db_url`` with the tiny term imported and the five :data:`ACCOUNTS`."""
    engine = make_engine(db_url)
    with transaction(engine) as session:
        import_bundle(session, write_tiny_bundle(folder), AddressLocator(session, None))
    engine.dispose()
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": db_url,
            "SECRET_KEY": "test secret",
            "LOGIN_RATE_LIMIT": "1000 per minute",
            "RESET_RATE_LIMIT": "1000 per minute",
            # scrypt's real cost (about 50 ms a hash) only slows the matrix down here.
            "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
            **config,
        }
    )
    with app.app_context():
        from web.db import db

        for email, role, code in ACCOUNTS.values():
            host = student = None
            if role is Role.HOST:
                host = db().scalars(select(Host).where(Host.code == code)).one()
            elif role is Role.STUDENT:
                student = db().scalars(select(Student).where(Student.code == code)).one()
            name = email.split("@")[0]
            user = create_user(db(), email, role, name=name, host=host, student=student)
            set_password(user, PASSWORD)
        db().commit()
    return app


@pytest.fixture
def app(db_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = make_app(db_url, tmp_path / "tiny")
    yield app
    app.extensions["wbl_engine"].dispose()


@pytest.fixture
def ids(app: Flask) -> Ids:
    with app.app_context():
        from web.db import db

        term = db().scalars(select(Term)).one()
        emails = {u.email: u.id for u in db().scalars(select(User))}
        run = SolveRun(term_id=term.id, status=SolveStatus.OPTIMAL, wall_time_s=0.5)
        db().add(run)
        db().commit()
        return Ids(
            term=term.id,
            hosts={h.code: h.id for h in db().scalars(select(Host))},
            students={s.code: s.id for s in db().scalars(select(Student))},
            users={key: emails[email] for key, (email, _, _) in ACCOUNTS.items()},
            run=run.id,
        )


def csrf_of(page_text: str) -> str:
    """The CSRF token of the first form on a page."""
    match = re.search(r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"', page_text)
    match = match or re.search(r'<input[^>]*value="([^"]+)"[^>]*name="csrf_token"', page_text)
    assert match, "no CSRF token on the page"
    return match.group(1)


def sign_in(client: FlaskClient, email: str, password: str = PASSWORD) -> None:
    page = client.get("/login")
    answer = client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_of(page.text)}
    )
    assert answer.status_code == 302, answer.text


@pytest.fixture
def client_as(app: Flask) -> Callable[[str], FlaskClient]:
    """A test client signed in as one of :data:`ACCOUNTS` ("anonymous": nobody)."""

    def make(who: str) -> FlaskClient:
        client = app.test_client()
        if who != "anonymous":
            sign_in(client, ACCOUNTS[who][0])
        return client

    return make
