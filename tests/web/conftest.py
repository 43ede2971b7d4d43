"""Web fixtures: an app over a fresh database holding the tiny term, and signed-in clients
for each kind of account (coordinator, host A and B, student A and B)."""

from __future__ import annotations

import dataclasses
import re
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.bundles import write_tiny_bundle
from wbl.db import make_engine, transaction
from wbl.geocode import AddressLocator
from wbl.models import (
    Host,
    Opportunity,
    Placement,
    PlacementStatus,
    Role,
    SolveRun,
    SolveStatus,
    Student,
    Term,
    User,
)
from wbl.services.bundles import import_bundle
from web import create_app
from web.accounts import create_user, set_password
from web.solves import wait_for_all_solves

PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Ids:
    """Database ids of the tiny term's rows, by bundle code, and the accounts' emails."""

    term: int
    hosts: dict[str, int]
    students: dict[str, int]
    users: dict[str, int]  # by ACCOUNTS key
    run: int  # a finished solve run of the term
    opportunities: dict[str, int]
    # Ben's (S2, student_b) published placement in CAD Cleanup (O3 of H2, host_b); only in
    # the ids of ``placed_ids``.
    placement: int = 0


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
    # A test (or the form fuzzer) may have started a background solve: let it end before
    # the database goes away.
    assert wait_for_all_solves(120), "a background solve did not finish"
    app.extensions["wbl_engine"].dispose()


@pytest.fixture
def ids(app: Flask) -> Ids:
    with app.app_context():
        from web.db import db

        term = db().scalars(select(Term)).one()
        emails = {u.email: u.id for u in db().scalars(select(User))}
        run = SolveRun(term_id=term.id, status=SolveStatus.OPTIMAL, wall_time_s=0.5)
        db().add(run)
        opportunities = {o.code: o.id for o in db().scalars(select(Opportunity))}
        db().commit()
        return Ids(
            term=term.id,
            hosts={h.code: h.id for h in db().scalars(select(Host))},
            students={s.code: s.id for s in db().scalars(select(Student))},
            users={key: emails[email] for key, (email, _, _) in ACCOUNTS.items()},
            run=run.id,
            opportunities=opportunities,
        )


@pytest.fixture
def placed_ids(app: Flask, ids: Ids) -> Ids:
    """:func:`ids` after adding Ben's published placement in O3 (host_b's)."""
    with app.app_context():
        from web.db import db

        slot = db().get(Opportunity, ids.opportunities["O3"]).slots[0]  # type: ignore[union-attr]
        placement = Placement(
            term_id=ids.term,
            student_id=ids.students["S2"],
            slot_id=slot.id,
            status=PlacementStatus.PUBLISHED,
            rank=1,
            travel_min=0.0,
        )
        db().add(placement)
        db().commit()
        return dataclasses.replace(ids, placement=placement.id)


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


def free_port() -> int:
    """A free TCP port on loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Inbox:
    """What the test SMTP server received."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.messages.append(message_from_bytes(envelope.content))  # type: ignore[attr-defined]
        return "250 OK"


@pytest.fixture
def smtp_inbox(app: Flask) -> Iterator[Inbox]:
    """A real SMTP server on 127.0.0.1, set as the app's mail server."""
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, MAIL_FROM="wbl@example.org")
    try:
        yield inbox
    finally:
        controller.stop()
